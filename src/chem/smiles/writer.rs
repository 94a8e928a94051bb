//! The SMILES writer: a perceived [`Mol`] back to text, in input order or a random atom order,
//! in aromatic form (as read) or Kekulé form, with ring-closure numbers lowest-first or random.
//!
//! Stereo survives any order: `@`/`@@` are recomputed from the parity of the permutation between
//! the neighbour order read and the order written, and every `/` `\` keeps its meaning because it
//! is written from whichever end comes first. Used by the property tests (equivalent SMILES must
//! give equal keys) and by the generator of synthetic worlds.
//!
//! ```
//! use assayflow::chem::smiles::{read, writer::{write, WriteOptions}};
//! use assayflow::chem::perceive::perceive;
//! let mut mol = read("C[C@H](N)C(=O)O").unwrap();
//! perceive(&mut mol).unwrap();
//! assert_eq!(write(&mol, &WriteOptions::default()), "C[C@H](N)C(=O)O");
//! let random = write(&mol, &WriteOptions { random_seed: Some(7), ..WriteOptions::default() });
//! assert_eq!(
//!     assayflow::chem::smiles_to_inchikey(&random).unwrap(),
//!     assayflow::chem::smiles_to_inchikey("C[C@H](N)C(=O)O").unwrap(),
//! );
//! ```

use crate::chem::element;
use crate::chem::mol::{BondOrder, Chirality, Mol, Neighbor, Side};
use crate::rng::SplitMix64;

/// How to write a molecule.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// Write the Kekulé form (upper-case atoms, explicit `=`) instead of the aromatic form.
    pub kekule: bool,
    /// Shuffle start atoms, neighbour order and ring numbers with this seed; `None` keeps the
    /// order the molecule was read in.
    pub random_seed: Option<u64>,
}

/// Writes `mol` (which must have been through [`crate::chem::perceive::perceive`]) as SMILES.
pub fn write(mol: &Mol, options: &WriteOptions) -> String {
    Writer::new(mol, options).run()
}

/// A random equivalent SMILES of `mol` (random order, random ring numbers).
pub fn random_smiles(mol: &Mol, seed: u64, kekule: bool) -> String {
    write(
        mol,
        &WriteOptions {
            kekule,
            random_seed: Some(seed),
        },
    )
}

/// What a ring digit at an atom does.
#[derive(Debug, Clone, Copy)]
enum RingDigit {
    /// The ring bond opens here (this atom was written first).
    Open(usize),
    /// The ring bond closes here.
    Close(usize),
}

struct Writer<'a> {
    mol: &'a Mol,
    kekule: bool,
    rng: Option<SplitMix64>,
    parent_bond: Vec<Option<usize>>,
    children: Vec<Vec<usize>>,
    ring_digits: Vec<Vec<RingDigit>>,
    ring_number: Vec<Option<u32>>,
    numbers_in_use: Vec<bool>,
    out: String,
}

impl<'a> Writer<'a> {
    fn new(mol: &'a Mol, options: &WriteOptions) -> Writer<'a> {
        let n = mol.atoms.len();
        Writer {
            mol,
            kekule: options.kekule,
            rng: options.random_seed.map(SplitMix64::new),
            parent_bond: vec![None; n],
            children: vec![Vec::new(); n],
            ring_digits: vec![Vec::new(); n],
            ring_number: vec![None; mol.bonds.len()],
            numbers_in_use: vec![false; 100],
            out: String::new(),
        }
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        if let Some(rng) = self.rng.as_mut() {
            rng.shuffle(items);
        }
    }

    fn run(mut self) -> String {
        let n = self.mol.atoms.len();
        let mut starts: Vec<usize> = (0..n).collect();
        self.shuffle(&mut starts);
        let mut visited = vec![false; n];
        let mut roots = Vec::new();
        for &s in &starts {
            if !visited[s] {
                roots.push(s);
                self.spanning_tree(s, &mut visited);
            }
        }
        for (i, &root) in roots.iter().enumerate() {
            if i > 0 {
                self.out.push('.');
            }
            self.write_from(root);
        }
        self.out
    }

    /// Depth-first search from `root`: tree edges become chain/branches, the others ring bonds.
    fn spanning_tree(&mut self, root: usize, visited: &mut [bool]) {
        let mut bond_seen = vec![false; self.mol.bonds.len()];
        let mut stack: Vec<(usize, Vec<usize>, usize)> = Vec::new();
        visited[root] = true;
        let mut first: Vec<usize> = self.mol.atom_bonds(root).collect();
        self.shuffle(&mut first);
        stack.push((root, first, 0));
        while let Some(top) = stack.last_mut() {
            let v = top.0;
            let Some(&e) = top.1.get(top.2) else {
                stack.pop();
                continue;
            };
            top.2 += 1;
            if bond_seen[e] {
                continue;
            }
            bond_seen[e] = true;
            let w = self.mol.bonds[e].other(v);
            if visited[w] {
                // A back edge: w is an ancestor, written before v.
                self.ring_digits[w].push(RingDigit::Open(e));
                self.ring_digits[v].push(RingDigit::Close(e));
            } else {
                visited[w] = true;
                self.parent_bond[w] = Some(e);
                self.children[v].push(e);
                let mut next: Vec<usize> = self.mol.atom_bonds(w).collect();
                self.shuffle(&mut next);
                stack.push((w, next, 0));
            }
        }
    }

    fn write_from(&mut self, root: usize) {
        // Explicit stack of (atom, incoming bond) with branch markers.
        enum Step {
            Atom(usize),
            Text(&'static str),
        }
        let mut steps = vec![Step::Atom(root)];
        while let Some(step) = steps.pop() {
            let v = match step {
                Step::Text(t) => {
                    self.out.push_str(t);
                    continue;
                }
                Step::Atom(v) => v,
            };
            if let Some(e) = self.parent_bond[v] {
                let from = self.mol.bonds[e].other(v);
                let text = self.bond_text(e, from);
                self.out.push_str(&text);
            }
            let mut digits = self.ring_digits[v].clone();
            self.shuffle(&mut digits);
            self.ring_digits[v] = digits.clone();
            let mut children = self.children[v].clone();
            self.shuffle(&mut children);
            self.children[v] = children.clone();
            self.atom_text(v);
            for digit in digits {
                match digit {
                    RingDigit::Open(e) => {
                        let number = self.allocate_ring_number();
                        self.ring_number[e] = Some(number);
                        let text = self.bond_text(e, v);
                        self.out.push_str(&text);
                        push_ring_number(&mut self.out, number);
                    }
                    RingDigit::Close(e) => {
                        let number = self.ring_number[e].unwrap_or(0);
                        push_ring_number(&mut self.out, number);
                        if let Some(slot) = self.numbers_in_use.get_mut(number as usize) {
                            *slot = false;
                        }
                    }
                }
            }
            // Children: all but the last in parentheses. Pushed in reverse onto the stack.
            let count = children.len();
            for (i, &e) in children.iter().enumerate().rev() {
                let child = self.mol.bonds[e].other(v);
                if i + 1 < count {
                    steps.push(Step::Text(")"));
                    steps.push(Step::Atom(child));
                    steps.push(Step::Text("("));
                } else {
                    steps.push(Step::Atom(child));
                }
            }
        }
    }

    fn allocate_ring_number(&mut self) -> u32 {
        let free: Vec<u32> = (1..100u32)
            .filter(|&k| !self.numbers_in_use[k as usize])
            .collect();
        let number = match self.rng.as_mut() {
            // Prefer single digits but exercise %nn too.
            Some(rng) => {
                let pool: Vec<u32> = if rng.chance(0.8) {
                    free.iter().copied().filter(|&k| k < 10).collect()
                } else {
                    free.clone()
                };
                let pool = if pool.is_empty() { free.clone() } else { pool };
                pool[rng.index(pool.len())]
            }
            None => free.first().copied().unwrap_or(1),
        };
        self.numbers_in_use[number as usize] = true;
        number
    }

    /// The bond symbol for bond `e` written from atom `from` towards its other end.
    fn bond_text(&self, e: usize, from: usize) -> String {
        let bond = &self.mol.bonds[e];
        let to = bond.other(from);
        let both_aromatic = self.mol.atoms[from].aromatic && self.mol.atoms[to].aromatic;
        if let Some(side) = bond.side_from(from)
            && bond.order == BondOrder::Single
        {
            return if side == Side::Up { "/" } else { "\\" }.to_string();
        }
        if !self.kekule && bond.aromatic {
            return String::new();
        }
        match bond.order {
            BondOrder::Single if !self.kekule && both_aromatic => "-",
            BondOrder::Single => "",
            BondOrder::Double => "=",
            BondOrder::Triple => "#",
            BondOrder::Quadruple => "$",
            BondOrder::Aromatic => ":",
        }
        .to_string()
    }

    /// The neighbour order this writer produces for `v`, as atom indices (`v` itself = the H).
    fn written_neighbors(&self, v: usize) -> Vec<usize> {
        let mut order = Vec::new();
        if let Some(e) = self.parent_bond[v] {
            order.push(self.mol.bonds[e].other(v));
        }
        if self.mol.atoms[v].bracket_h.unwrap_or(0) > 0 {
            order.push(v);
        }
        for digit in &self.ring_digits[v] {
            let (RingDigit::Open(e) | RingDigit::Close(e)) = *digit;
            order.push(self.mol.bonds[e].other(v));
        }
        for &e in &self.children[v] {
            order.push(self.mol.bonds[e].other(v));
        }
        order
    }

    fn chirality_as_written(&self, v: usize) -> Chirality {
        let atom = &self.mol.atoms[v];
        if atom.chirality == Chirality::None {
            return Chirality::None;
        }
        let read: Vec<usize> = atom
            .neighbors
            .iter()
            .map(|n| match n {
                Neighbor::Bond(b) => self.mol.bonds[*b].other(v),
                Neighbor::ImplicitH => v,
            })
            .collect();
        let written = self.written_neighbors(v);
        // Positions of the written neighbours in the read order; its parity says whether to flip.
        let perm: Vec<usize> = written
            .iter()
            .filter_map(|w| read.iter().position(|r| r == w))
            .collect();
        if perm.len() != read.len() {
            return atom.chirality;
        }
        let inversions = (0..perm.len())
            .flat_map(|i| (i + 1..perm.len()).map(move |j| (i, j)))
            .filter(|&(i, j)| perm[i] > perm[j])
            .count();
        if inversions % 2 == 1 {
            atom.chirality.invert()
        } else {
            atom.chirality
        }
    }

    fn atom_text(&mut self, v: usize) {
        let atom = &self.mol.atoms[v];
        let lower = !self.kekule && atom.aromatic;
        let symbol = element::symbol(atom.element);
        let symbol = if lower {
            symbol.to_ascii_lowercase()
        } else {
            symbol.to_string()
        };
        // Perception may have charged an organic-subset atom (nitro, azide clean-ups): such atoms
        // need brackets, with their hydrogens spelled out.
        let needs_brackets = atom.is_bracket()
            || atom.charge != 0
            || atom.isotope != 0
            || atom.class != 0
            || atom.radicals != 0
            || atom.chirality != Chirality::None;
        if !needs_brackets {
            self.out.push_str(&symbol);
            return;
        }
        let chirality = self.chirality_as_written(v);
        let atom = &self.mol.atoms[v];
        self.out.push('[');
        if atom.isotope != 0 {
            self.out.push_str(&atom.isotope.to_string());
        }
        self.out.push_str(&symbol);
        match chirality {
            Chirality::None => {}
            Chirality::Anticlockwise => self.out.push('@'),
            Chirality::Clockwise => self.out.push_str("@@"),
        }
        match atom.hydrogens {
            0 => {}
            1 => self.out.push('H'),
            h => {
                self.out.push('H');
                self.out.push_str(&h.to_string());
            }
        }
        match atom.charge {
            0 => {}
            1 => self.out.push('+'),
            -1 => self.out.push('-'),
            c if c > 0 => self.out.push_str(&format!("+{c}")),
            c => self.out.push_str(&c.to_string()),
        }
        if atom.class != 0 {
            self.out.push(':');
            self.out.push_str(&atom.class.to_string());
        }
        self.out.push(']');
    }
}

fn push_ring_number(out: &mut String, number: u32) {
    if number < 10 {
        out.push(char::from(b'0' + number as u8));
    } else {
        out.push('%');
        out.push_str(&number.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chem::perceive::perceive;
    use crate::chem::smiles::read;
    use crate::chem::smiles_to_inchikey;

    fn perceived(s: &str) -> Mol {
        let mut m = read(s).unwrap();
        perceive(&mut m).unwrap();
        m
    }

    #[test]
    fn writes_input_order_back() {
        for s in [
            "CCO",
            "c1ccccc1",
            "C1CC1",
            "F/C=C/F",
            "[13CH3][C@@H](O)Cl",
            "[Na+].[Cl-]",
        ] {
            assert_eq!(write(&perceived(s), &WriteOptions::default()), s);
        }
    }

    #[test]
    fn kekule_form() {
        let k = write(
            &perceived("c1ccccc1"),
            &WriteOptions {
                kekule: true,
                random_seed: None,
            },
        );
        assert_eq!(k.matches('=').count(), 3);
        assert_eq!(
            smiles_to_inchikey(&k).unwrap(),
            smiles_to_inchikey("c1ccccc1").unwrap()
        );
    }

    #[test]
    fn random_orders_keep_the_key() {
        for s in [
            "F[C@H](Cl)Br",
            "C[S@@](=O)c1ccccc1",
            "[S@@](=O)(C)c1ccccc1",
            "C/C=C/C=C\\C",
            "CC/N=c1/sc(S(N)(=O)=O)nn1C",
            "OC[C@H]1O[C@H](O)[C@H](O)[C@@H](O)[C@@H]1O",
            "C[C@]12CC[C@H]3[C@@H](CC=C4C[C@@H](O)CC[C@]34C)[C@@H]1CC[C@@H]2O",
        ] {
            let key = smiles_to_inchikey(s).unwrap();
            let mol = perceived(s);
            for seed in 0..20 {
                for kekule in [false, true] {
                    let r = random_smiles(&mol, seed, kekule);
                    assert_eq!(smiles_to_inchikey(&r).unwrap(), key, "{s} -> {r}");
                }
            }
        }
    }
}
