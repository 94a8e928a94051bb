//! Kekulization: turn aromatic bonds into alternating single and double bonds.
//!
//! The atoms that must receive a double bond (RDKit's "double-bond candidates", see
//! [`is_double_bond_candidate`]) are matched along aromatic bonds with Edmonds' blossom
//! algorithm, which finds a perfect matching whenever one exists, odd rings (azulene) included,
//! in polynomial time with no backtracking limit.

use std::collections::VecDeque;

use crate::chem::element;
use crate::chem::error::{ErrorKind, SmilesError};
use crate::chem::mol::{BondOrder, Mol};

/// Elements RDKit calls "early" (fewer than four valence electrons): their charge shifts the
/// default valence the other way.
fn is_early_atom(z: u8) -> bool {
    matches!(
        z,
        3..=5
            | 11..=13
            | 19..=22
            | 30..=32
            | 37..=41
            | 48..=51
            | 55..=61
            | 72..=73
            | 80..=83
            | 87..=93
            | 104..=118
    )
}

/// The normal valences (no radical) of the neutral element, ascending.
fn valence_list(z: u8) -> Vec<u32> {
    (0..16)
        .filter(|&v| element::is_normal_valence(z, 0, v))
        .collect()
}

/// The neutral element's default valence shifted by the charge as RDKit shifts it: early
/// elements (boron...) and cations of carbon move down, others up.
fn shifted_charge(z: u8, charge: i8) -> i64 {
    let charge = i64::from(charge);
    if is_early_atom(z) || (z == element::z::C && charge > 0) {
        -charge
    } else {
        charge
    }
}

/// RDKit's explicit valence of an aromatic atom: bond orders (aromatic = 1.5) plus bracket
/// hydrogens, pulled down to the nearest allowed valence when at most 1.5 above it
/// (the bare S of `c1ccsc1` counts 2, the N of `c1cccn1C` counts 3), else rounded half up.
pub fn aromatic_explicit_valence(mol: &Mol, atom: usize) -> u32 {
    let a = &mol.atoms[atom];
    let half = i64::from(mol.explicit_half_valence(atom));
    let list = valence_list(a.element);
    let chr = shifted_charge(a.element, a.charge);
    if let Some(&dv) = list.first()
        && half > 2 * (i64::from(dv) + chr)
    {
        let mut pval = i64::from(dv) + chr;
        for &v in &list {
            let val = i64::from(v) + chr;
            if 2 * val > half {
                break;
            }
            pval = val;
        }
        if half - 2 * pval <= 3 {
            return u32::try_from(pval).unwrap_or(0);
        }
    }
    u32::try_from((half + 1) / 2).unwrap_or(0)
}

/// RDKit's rule for whether an aromatic atom must take one double bond in the Kekulé form.
///
/// `sigma` counts aromatic bonds as 1 and other bonds by order, plus hydrogens; `total` is
/// RDKit's total valence (explicit as in [`aromatic_explicit_valence`], plus implicit H).
pub fn is_double_bond_candidate(mol: &Mol, atom: usize) -> bool {
    let a = &mol.atoms[atom];
    if a.element == 0 || !a.aromatic {
        return false;
    }
    let sigma: u32 = mol
        .atom_bonds(atom)
        .map(|b| mol.bonds[b].order.sigma_valence())
        .sum::<u32>()
        + u32::from(a.hydrogens);
    let implicit = if a.is_bracket() { 0 } else { a.hydrogens };
    let total = aromatic_explicit_valence(mol, atom) + u32::from(implicit);
    let list = valence_list(a.element);
    let Some(&first) = list.first() else {
        return false;
    };
    let charge = shifted_charge(a.element, a.charge);
    let mut dv = i64::from(first) + charge;
    let mut vi = 1;
    while i64::from(total) > dv && vi < list.len() {
        dv = i64::from(list[vi]) + charge;
        vi += 1;
    }
    let degree = i64::try_from(mol.degree(atom)).unwrap_or(i64::MAX) + i64::from(implicit);
    let radicals = i64::from(a.radicals);
    if degree + radicals >= dv {
        return false;
    }
    let sigma = i64::from(sigma);
    dv == sigma + 1 + radicals || (radicals == 0 && a.is_bracket() && dv == sigma + 2)
}

/// Replaces every aromatic bond by a single or double bond so that each candidate atom gets
/// exactly one double bond. Fails with [`ErrorKind::Kekulize`] at the first atom left without one.
pub fn kekulize(mol: &mut Mol) -> Result<(), SmilesError> {
    let aromatic_bonds: Vec<usize> = (0..mol.bonds.len())
        .filter(|&b| mol.bonds[b].order == BondOrder::Aromatic)
        .collect();
    let n = mol.atoms.len();
    let candidate: Vec<bool> = (0..n).map(|a| is_double_bond_candidate(mol, a)).collect();
    let mut adjacency: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    for &b in &aromatic_bonds {
        let (x, y) = (mol.bonds[b].a, mol.bonds[b].b);
        if candidate[x] && candidate[y] {
            adjacency[x].push((y, b));
            adjacency[y].push((x, b));
        }
    }
    let mate = maximum_matching(&adjacency);
    if let Some(atom) = (0..n).find(|&a| candidate[a] && mate[a].is_none()) {
        return Err(SmilesError::new(
            mol.atoms[atom].position,
            ErrorKind::Kekulize,
        ));
    }
    for &b in &aromatic_bonds {
        let bond = &mut mol.bonds[b];
        bond.order = if mate[bond.a] == Some(bond.b) {
            BondOrder::Double
        } else {
            BondOrder::Single
        };
    }
    Ok(())
}

/// Edmonds' blossom algorithm on an undirected graph given as adjacency lists of
/// `(neighbour, edge id)`; returns each vertex's mate.
pub fn maximum_matching(adjacency: &[Vec<(usize, usize)>]) -> Vec<Option<usize>> {
    let n = adjacency.len();
    let mut mate: Vec<Option<usize>> = vec![None; n];
    // Greedy start: most vertices get matched here, leaving few augmenting searches.
    for v in 0..n {
        if mate[v].is_none()
            && let Some(&(w, _)) = adjacency[v].iter().find(|(w, _)| mate[*w].is_none())
        {
            mate[v] = Some(w);
            mate[w] = Some(v);
        }
    }
    let mut search = BlossomSearch::new(n);
    for root in 0..n {
        if mate[root].is_none()
            && !adjacency[root].is_empty()
            && let Some(end) = search.find_augmenting_path(adjacency, &mate, root)
        {
            // Flip the matching along the path ending at `end`.
            let mut v = Some(end);
            while let Some(x) = v {
                let Some(px) = search.parent[x] else { break };
                let next = mate[px];
                mate[x] = Some(px);
                mate[px] = Some(x);
                v = next;
            }
        }
    }
    mate
}

struct BlossomSearch {
    parent: Vec<Option<usize>>,
    base: Vec<usize>,
    used: Vec<bool>,
    in_blossom: Vec<bool>,
    queue: VecDeque<usize>,
}

impl BlossomSearch {
    fn new(n: usize) -> BlossomSearch {
        BlossomSearch {
            parent: vec![None; n],
            base: (0..n).collect(),
            used: vec![false; n],
            in_blossom: vec![false; n],
            queue: VecDeque::new(),
        }
    }

    fn lowest_common_ancestor(&self, mate: &[Option<usize>], mut a: usize, mut b: usize) -> usize {
        let mut seen = vec![false; self.base.len()];
        loop {
            a = self.base[a];
            seen[a] = true;
            match mate[a].and_then(|m| self.parent[m]) {
                Some(next) => a = next,
                None => break,
            }
        }
        loop {
            b = self.base[b];
            if seen[b] {
                return b;
            }
            match mate[b].and_then(|m| self.parent[m]) {
                Some(next) => b = next,
                None => return b,
            }
        }
    }

    fn mark_path(&mut self, mate: &[Option<usize>], mut v: usize, b: usize, mut child: usize) {
        while self.base[v] != b {
            let Some(m) = mate[v] else { return };
            self.in_blossom[self.base[v]] = true;
            self.in_blossom[self.base[m]] = true;
            self.parent[v] = Some(child);
            child = m;
            match self.parent[m] {
                Some(p) => v = p,
                None => return,
            }
        }
    }

    fn find_augmenting_path(
        &mut self,
        adjacency: &[Vec<(usize, usize)>],
        mate: &[Option<usize>],
        root: usize,
    ) -> Option<usize> {
        let n = adjacency.len();
        self.used.iter_mut().for_each(|u| *u = false);
        self.parent.iter_mut().for_each(|p| *p = None);
        for (i, b) in self.base.iter_mut().enumerate() {
            *b = i;
        }
        self.queue.clear();
        self.used[root] = true;
        self.queue.push_back(root);
        while let Some(v) = self.queue.pop_front() {
            for &(to, _) in &adjacency[v] {
                if self.base[v] == self.base[to] || mate[v] == Some(to) {
                    continue;
                }
                let to_is_outer = to == root || mate[to].is_some_and(|m| self.parent[m].is_some());
                if to_is_outer {
                    let current_base = self.lowest_common_ancestor(mate, v, to);
                    self.in_blossom.iter_mut().for_each(|x| *x = false);
                    self.mark_path(mate, v, current_base, to);
                    self.mark_path(mate, to, current_base, v);
                    for i in 0..n {
                        if self.in_blossom[self.base[i]] {
                            self.base[i] = current_base;
                            if !self.used[i] {
                                self.used[i] = true;
                                self.queue.push_back(i);
                            }
                        }
                    }
                } else if self.parent[to].is_none() {
                    self.parent[to] = Some(v);
                    match mate[to] {
                        None => return Some(to),
                        Some(m) => {
                            self.used[m] = true;
                            self.queue.push_back(m);
                        }
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cycle(n: usize) -> Vec<Vec<(usize, usize)>> {
        let mut adj = vec![Vec::new(); n];
        for i in 0..n {
            let j = (i + 1) % n;
            adj[i].push((j, i));
            adj[j].push((i, i));
        }
        adj
    }

    #[test]
    fn even_cycles_match_perfectly_odd_ones_do_not() {
        assert!(maximum_matching(&cycle(6)).iter().all(|m| m.is_some()));
        assert_eq!(
            maximum_matching(&cycle(5))
                .iter()
                .filter(|m| m.is_none())
                .count(),
            1
        );
    }

    #[test]
    fn blossoms_are_handled() {
        // Azulene's skeleton (a 5-ring fused to a 7-ring) has a perfect matching that a
        // greedy pass starting badly can miss.
        let edges = [
            (0, 1),
            (1, 2),
            (2, 3),
            (3, 4),
            (4, 0), // five-ring 0-4, fused bond 0-4
            (4, 5),
            (5, 6),
            (6, 7),
            (7, 8),
            (8, 9),
            (9, 0),
        ];
        let mut adj = vec![Vec::new(); 10];
        for (i, &(a, b)) in edges.iter().enumerate() {
            adj[a].push((b, i));
            adj[b].push((a, i));
        }
        let mate = maximum_matching(&adj);
        assert!(mate.iter().all(|m| m.is_some()), "{mate:?}");
        for (v, m) in mate.iter().enumerate() {
            assert_eq!(mate[m.unwrap()], Some(v));
        }
    }
}
