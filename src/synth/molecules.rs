//! Generated molecules: analogues of real molecules, made the way a medicinal chemist's series
//! grows: a hydrogen on a carbon (or an N-H) of the parent replaced by a small substituent, one
//! to three times. Every analogue is written with the project's SMILES writer in a random atom
//! order, so generated SMILES look as varied as deposited ones, and it is valid by construction
//! (single bonds to atoms that had a hydrogen to spare).
//!
//! ```
//! use assayflow::synth::molecules::AnalogueMaker;
//! let mut maker = AnalogueMaker::new(&["c1ccccc1C(=O)O"], 7);
//! let analogue = maker.analogue(0, 2).unwrap();
//! assert!(assayflow::chem::smiles_to_inchikey(&analogue).is_ok());
//! ```

use crate::chem::mol::{Atom, Bond, BondOrder, BondSymbol, Chirality, Mol, Neighbor};
use crate::chem::perceive::perceive;
use crate::chem::smiles::{read, writer::random_smiles};
use crate::rng::SplitMix64;

/// A substituent: atoms (element, aromatic) and bonds between them; atom 0 attaches.
struct Substituent {
    atoms: &'static [u8],
    bonds: &'static [(usize, usize, BondOrder)],
    /// May it sit on a nitrogen?
    on_nitrogen: bool,
}

const F: u8 = 9;
const CL: u8 = 17;
const BR: u8 = 35;
const C: u8 = 6;
const N: u8 = 7;
const O: u8 = 8;
const S: u8 = 16;

/// The substituents, roughly by how often series use them.
const SUBSTITUENTS: &[Substituent] = &[
    Substituent {
        atoms: &[C],
        bonds: &[],
        on_nitrogen: true,
    },
    Substituent {
        atoms: &[F],
        bonds: &[],
        on_nitrogen: false,
    },
    Substituent {
        atoms: &[CL],
        bonds: &[],
        on_nitrogen: false,
    },
    Substituent {
        atoms: &[O, C],
        bonds: &[(0, 1, BondOrder::Single)],
        on_nitrogen: false,
    },
    Substituent {
        atoms: &[O],
        bonds: &[],
        on_nitrogen: false,
    },
    Substituent {
        atoms: &[N],
        bonds: &[],
        on_nitrogen: false,
    },
    Substituent {
        atoms: &[C, N],
        bonds: &[(0, 1, BondOrder::Triple)],
        on_nitrogen: false,
    },
    Substituent {
        atoms: &[C, F, F, F],
        bonds: &[
            (0, 1, BondOrder::Single),
            (0, 2, BondOrder::Single),
            (0, 3, BondOrder::Single),
        ],
        on_nitrogen: false,
    },
    Substituent {
        atoms: &[BR],
        bonds: &[],
        on_nitrogen: false,
    },
    Substituent {
        atoms: &[C, C],
        bonds: &[(0, 1, BondOrder::Single)],
        on_nitrogen: true,
    },
    Substituent {
        atoms: &[C, O, O],
        bonds: &[(0, 1, BondOrder::Double), (0, 2, BondOrder::Single)],
        on_nitrogen: false,
    },
    Substituent {
        atoms: &[C, O, N],
        bonds: &[(0, 1, BondOrder::Double), (0, 2, BondOrder::Single)],
        on_nitrogen: false,
    },
    Substituent {
        atoms: &[S, O, O, C],
        bonds: &[
            (0, 1, BondOrder::Double),
            (0, 2, BondOrder::Double),
            (0, 3, BondOrder::Single),
        ],
        on_nitrogen: true,
    },
    Substituent {
        atoms: &[C, C, C],
        bonds: &[
            (0, 1, BondOrder::Single),
            (1, 2, BondOrder::Single),
            (2, 0, BondOrder::Single),
        ],
        on_nitrogen: true,
    },
];

/// Makes analogues of a fixed set of parent molecules.
pub struct AnalogueMaker {
    parents: Vec<Option<Mol>>,
    rng: SplitMix64,
}

impl AnalogueMaker {
    /// Parents are parsed once; SMILES that do not perceive are kept as `None` (no analogues).
    pub fn new(parents: &[&str], seed: u64) -> AnalogueMaker {
        let parents = parents
            .iter()
            .map(|s| {
                let mut m = read(s).ok()?;
                perceive(&mut m).ok()?;
                Some(m)
            })
            .collect();
        AnalogueMaker {
            parents,
            rng: SplitMix64::new(seed),
        }
    }

    /// Number of parents.
    pub fn len(&self) -> usize {
        self.parents.len()
    }

    /// True without parents.
    pub fn is_empty(&self) -> bool {
        self.parents.is_empty()
    }

    /// A random-order SMILES of parent `index` itself.
    pub fn rewrite(&mut self, index: usize) -> Option<String> {
        let seed = self.rng.next_u64();
        let parent = self.parents.get(index)?.as_ref()?;
        Some(random_smiles(parent, seed, false))
    }

    /// A random-order SMILES of parent `index` with every stereo mark (chirality, double-bond
    /// directions) dropped: the record a depositor makes when the stereochemistry is lost.
    pub fn flat(&mut self, index: usize) -> Option<String> {
        let seed = self.rng.next_u64();
        let mut mol = self.parents.get(index)?.as_ref()?.clone();
        for atom in &mut mol.atoms {
            atom.chirality = Chirality::None;
        }
        for bond in &mut mol.bonds {
            bond.direction = None;
            if matches!(bond.symbol, BondSymbol::Up | BondSymbol::Down) {
                bond.symbol = BondSymbol::Implicit;
            }
        }
        Some(random_smiles(&mol, seed, false))
    }

    /// An analogue of parent `index` with `edits` substitutions (fewer when the parent has too
    /// few sites), as a random-order SMILES; `None` for an unusable parent.
    pub fn analogue(&mut self, index: usize, edits: usize) -> Option<String> {
        let mut mol = self.parents.get(index)?.as_ref()?.clone();
        for _ in 0..edits {
            let sites: Vec<usize> = (0..mol.atoms.len())
                .filter(|&a| {
                    let atom = &mol.atoms[a];
                    !atom.is_bracket()
                        && atom.chirality == Chirality::None
                        && atom.hydrogens > 0
                        && matches!(atom.element, C | N)
                })
                .collect();
            if sites.is_empty() {
                break;
            }
            let site = sites[self.rng.index(sites.len())];
            let on_nitrogen = mol.atoms[site].element == N;
            let choices: Vec<&Substituent> = SUBSTITUENTS
                .iter()
                .filter(|s| !on_nitrogen || s.on_nitrogen)
                .collect();
            // Earlier entries are commoner: pick from a random prefix.
            let cut = 1 + self.rng.index(choices.len());
            let sub = choices[self.rng.index(cut)];
            attach(&mut mol, site, sub);
        }
        let seed = self.rng.next_u64();
        Some(random_smiles(&mol, seed, false))
    }
}

/// Attaches `sub` to `site` with a single bond; the site loses one implicit hydrogen.
fn attach(mol: &mut Mol, site: usize, sub: &Substituent) {
    let base = mol.atoms.len();
    for &element in sub.atoms {
        let mut atom = Atom::new(element, 0);
        atom.hydrogens = 0;
        mol.atoms.push(atom);
    }
    let add_bond = |mol: &mut Mol, a: usize, b: usize, order: BondOrder| {
        let index = mol.bonds.len();
        let symbol = match order {
            BondOrder::Double => BondSymbol::Double,
            BondOrder::Triple => BondSymbol::Triple,
            _ => BondSymbol::Implicit,
        };
        mol.bonds.push(Bond {
            a,
            b,
            order,
            symbol,
            direction: None,
            position: 0,
            in_ring: false,
            aromatic: false,
        });
        mol.atoms[a].neighbors.push(Neighbor::Bond(index));
        mol.atoms[b].neighbors.push(Neighbor::Bond(index));
    };
    add_bond(mol, site, base, BondOrder::Single);
    for &(i, j, order) in sub.bonds {
        add_bond(mol, base + i, base + j, order);
    }
    mol.atoms[site].hydrogens = mol.atoms[site].hydrogens.saturating_sub(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chem::smiles_to_inchikey;
    use std::collections::BTreeSet;

    #[test]
    fn analogues_are_valid_and_varied() {
        let parents = [
            "CC(=O)Oc1ccccc1C(=O)O",
            "c1ccc2[nH]ccc2c1",
            "C[C@H](N)C(=O)O",
            "CN1CCC[C@H]1c1cccnc1",
        ];
        let mut maker = AnalogueMaker::new(&parents, 42);
        let mut keys = BTreeSet::new();
        for i in 0..400 {
            let s = maker.analogue(i % parents.len(), 1 + i % 3).unwrap();
            let key = smiles_to_inchikey(&s).unwrap_or_else(|e| panic!("{s}: {e}"));
            keys.insert(key);
        }
        assert!(keys.len() > 250, "only {} distinct analogues", keys.len());
        // Dropping stereo keeps the connectivity block and loses the stereo block.
        let flat = smiles_to_inchikey(&maker.flat(2).unwrap()).unwrap();
        let full = smiles_to_inchikey("C[C@H](N)C(=O)O").unwrap();
        assert_eq!(flat[..14], full[..14]);
        assert_ne!(flat, full);
        assert_eq!(&flat[15..25], "UHFFFAOYSA");
        // Stereo of the parent survives (an unedited chiral centre keeps its key block 2).
        let rewritten = maker.rewrite(2).unwrap();
        assert_eq!(
            smiles_to_inchikey(&rewritten).unwrap(),
            smiles_to_inchikey("C[C@H](N)C(=O)O").unwrap()
        );
    }
}
