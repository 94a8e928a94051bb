//! Stereo descriptors in InChI's 0D form, from `@`/`@@` and `/`/`\` as read.
//!
//! - [`tetrahedral`]: for each `@`/`@@` centre, four neighbours in SMILES order with the centre
//!   itself standing for its implicit hydrogen (at the place the SMILES writes it) or for the lone
//!   pair of a three-connected centre (last, as RDKit takes it), moved to the front as RDKit's
//!   InChI wrapper does; `@@` (clockwise) is InChI's even parity.
//! - [`double_bonds`]: for each written `=` with a directional bond on both ends, the ends
//!   `[x, a, b, y]` and whether `x` and `y` are trans (InChI's even parity).

use crate::chem::element;
use crate::chem::mol::{BondOrder, BondSymbol, Chirality, Mol, Neighbor};
use crate::chem::ranks;

/// A tetrahedral centre as InChI wants it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tetrahedral {
    /// The centre.
    pub center: usize,
    /// Four neighbours; the centre's own index stands for an implicit H or a lone pair.
    pub neighbors: [usize; 4],
    /// Seen from `neighbors[0]`, the other three run clockwise.
    pub even: bool,
}

/// A stereogenic double bond `x-a=b-y` as InChI wants it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DoubleBond {
    /// `[x, a, b, y]`.
    pub ends: [usize; 4],
    /// `x` and `y` are on opposite sides (E-like).
    pub even: bool,
}

/// Tetrahedral centres with their neighbour lists and parities, as RDKit passes them to InChI.
pub fn tetrahedral(mol: &Mol) -> Vec<Tetrahedral> {
    let unpaired = unpaired_ring_centres(mol);
    raw_tetrahedral(mol)
        .into_iter()
        .filter(|t| !unpaired[t.center])
        .collect()
}

/// Every marked centre with four neighbour slots, before RDKit's clean-up.
fn raw_tetrahedral(mol: &Mol) -> Vec<Tetrahedral> {
    let mut out = Vec::new();
    for (center, atom) in mol.atoms.iter().enumerate() {
        if atom.chirality == Chirality::None || atom.bracket_h.unwrap_or(0) > 1 {
            continue;
        }
        let mut list: Vec<usize> = atom
            .neighbors
            .iter()
            .map(|n| match n {
                Neighbor::Bond(b) => mol.bonds[*b].other(center),
                Neighbor::ImplicitH => center,
            })
            .collect();
        if list.len() == 3 {
            list.push(center);
        }
        let Ok(mut neighbors) = <[usize; 4]>::try_from(list) else {
            continue;
        };
        let mut even = atom.chirality == Chirality::Clockwise;
        if let Some(k) = neighbors.iter().position(|&n| n == center) {
            // Bring the centre to the front: k adjacent swaps.
            neighbors[..=k].rotate_right(1);
            if k % 2 == 1 {
                even = !even;
            }
        }
        out.push(Tetrahedral {
            center,
            neighbors,
            even,
        });
    }
    out
}

/// Marked atoms that RDKit does not pass on as stereocentres: ring atoms that can only be
/// stereogenic together with another ring atom (one end of a 1,4-disubstituted cyclohexane, a
/// ring-fusion atom, a bridgehead: two neighbours rank alike) when no other such candidate in the
/// same ring system carries a mark. InChI would keep them, with the partner undefined.
fn unpaired_ring_centres(mol: &Mol) -> Vec<bool> {
    let n = mol.atoms.len();
    let mut unpaired = vec![false; n];
    if !(0..n).any(|a| might_be_ring_pair_centre(mol, a)) {
        return unpaired;
    }
    let ranks = stereo_aware_ranks(mol);
    let ring_neighbors = |a: usize| -> Vec<usize> {
        mol.atom_bonds(a)
            .filter(|&b| mol.bonds[b].in_ring)
            .map(|b| mol.bonds[b].other(a))
            .collect()
    };
    // RDKit's `atomIsCandidateForRingStereochem`.
    let ring_candidate = |a: usize| {
        let ring = ring_neighbors(a);
        if ring.is_empty() {
            return false;
        }
        let atom = &mol.atoms[a];
        if atom.element == element::z::N
            && mol.degree(a) + usize::from(atom.hydrogens) == 3
            && ring.len() < 3
        {
            return false;
        }
        let non_ring: Vec<usize> = mol
            .atom_bonds(a)
            .filter(|&b| !mol.bonds[b].in_ring)
            .map(|b| mol.bonds[b].other(a))
            .collect();
        let mut ring_ranks: Vec<u32> = ring.iter().map(|&r| ranks[r]).collect();
        ring_ranks.sort_unstable();
        ring_ranks.dedup();
        match non_ring.len() {
            2 => ranks[non_ring[0]] != ranks[non_ring[1]],
            1 => ring.len() >= 2,
            0 => {
                (ring.len() == 4 && ring_ranks.len() == 3)
                    || (ring.len() == 3 && ring_ranks.len() == 2)
            }
            _ => false,
        }
    };
    let special: Vec<bool> = (0..n)
        .map(|a| {
            mol.atoms[a].chirality != Chirality::None
                && has_duplicate_neighbors(mol, &ranks, a)
                && ring_candidate(a)
        })
        .collect();
    for start in (0..n).filter(|&a| special[a]) {
        // Breadth-first over ring bonds for another marked candidate.
        let mut seen = vec![false; n];
        seen[start] = true;
        let mut queue = std::collections::VecDeque::from([start]);
        let mut partner = false;
        while let Some(v) = queue.pop_front() {
            if v != start && special[v] {
                partner = true;
                break;
            }
            for w in ring_neighbors(v) {
                if !seen[w] {
                    seen[w] = true;
                    queue.push_back(w);
                }
            }
        }
        unpaired[start] = !partner;
    }
    unpaired
}

/// A cheap pre-check: a marked atom with two ring bonds and two neighbours that look alike
/// (element, isotope, charge, degree, hydrogens). Only then can it be an unpaired ring centre.
fn might_be_ring_pair_centre(mol: &Mol, a: usize) -> bool {
    if mol.atoms[a].chirality == Chirality::None
        || mol.atom_bonds(a).filter(|&b| mol.bonds[b].in_ring).count() < 2
    {
        return false;
    }
    let look = |x: usize| {
        let atom = &mol.atoms[x];
        (
            atom.element,
            atom.isotope,
            atom.charge,
            mol.degree(x),
            atom.hydrogens,
        )
    };
    let nbrs: Vec<usize> = mol.atom_bonds(a).map(|b| mol.bonds[b].other(a)).collect();
    (0..nbrs.len()).any(|i| (i + 1..nbrs.len()).any(|j| look(nbrs[i]) == look(nbrs[j])))
}

/// True when two bonded neighbours of `a` share a rank.
fn has_duplicate_neighbors(mol: &Mol, ranks: &[u32], a: usize) -> bool {
    let mut seen: Vec<u32> = mol
        .atom_bonds(a)
        .map(|b| ranks[mol.bonds[b].other(a)])
        .collect();
    let total = seen.len();
    seen.sort_unstable();
    seen.dedup();
    seen.len() < total
}

/// Ranks in which marked centres whose neighbours all differ carry their configuration (like
/// RDKit's CIP ranking with chirality tie-breaking), so that the two sides of a meso ring (the
/// exo/endo carbon of a tropane) rank apart. Iterated until no new centre becomes distinguishable.
fn stereo_aware_ranks(mol: &Mol) -> Vec<u32> {
    let n = mol.atoms.len();
    let raw = raw_tetrahedral(mol);
    let mut labels = vec![0i8; n];
    let mut ranks = ranks::atom_ranks(mol);
    loop {
        let mut changed = false;
        for t in &raw {
            if labels[t.center] != 0 || has_duplicate_neighbors(mol, &ranks, t.center) {
                continue;
            }
            // Parity of the permutation that sorts the neighbours by rank (the centre itself,
            // standing for H or a lone pair, ranks lowest).
            let key = |x: usize| if x == t.center { 0 } else { ranks[x] + 1 };
            let keys: Vec<u32> = t.neighbors.iter().map(|&x| key(x)).collect();
            let inversions = (0..4)
                .flat_map(|i| (i + 1..4).map(move |j| (i, j)))
                .filter(|&(i, j)| keys[i] > keys[j])
                .count();
            labels[t.center] = if t.even ^ (inversions % 2 == 1) {
                1
            } else {
                -1
            };
            changed = true;
        }
        if !changed {
            return ranks;
        }
        ranks = ranks::refine(mol, &labels);
    }
}

/// The first directional single bond on `atom` other than `skip`, with its far atom.
fn directional_neighbor(mol: &Mol, atom: usize, skip: usize) -> Option<(usize, usize)> {
    mol.atom_bonds(atom)
        .filter(|&b| b != skip)
        .find(|&b| mol.bonds[b].order == BondOrder::Single && mol.bonds[b].direction.is_some())
        .map(|b| (b, mol.bonds[b].other(atom)))
}

/// Number of double (or higher) bonds on `atom`.
fn multiple_bonds(mol: &Mol, atom: usize) -> usize {
    mol.atom_bonds(atom)
        .filter(|&b| {
            matches!(
                mol.bonds[b].order,
                BondOrder::Double | BondOrder::Triple | BondOrder::Quadruple
            )
        })
        .count()
}

/// Double bonds whose configuration the SMILES specifies.
pub fn double_bonds(mol: &Mol) -> Vec<DoubleBond> {
    let mut out = Vec::new();
    for (i, bond) in mol.bonds.iter().enumerate() {
        if bond.symbol != BondSymbol::Double || bond.order != BondOrder::Double {
            continue;
        }
        let (a, b) = (bond.a, bond.b);
        if multiple_bonds(mol, a) != 1 || multiple_bonds(mol, b) != 1 {
            continue; // cumulenes carry no E/Z here
        }
        let (Some((bx, x)), Some((by, y))) = (
            directional_neighbor(mol, a, i),
            directional_neighbor(mol, b, i),
        ) else {
            continue;
        };
        let (Some(side_x), Some(side_y)) = (mol.bonds[bx].side_from(a), mol.bonds[by].side_from(b))
        else {
            continue;
        };
        out.push(DoubleBond {
            ends: [x, a, b, y],
            even: side_x != side_y,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chem::perceive::perceive;
    use crate::chem::smiles::read;

    fn mol(s: &str) -> Mol {
        let mut m = read(s).unwrap();
        perceive(&mut m).unwrap();
        m
    }

    #[test]
    fn implicit_h_takes_its_smiles_place() {
        // F[C@H](Cl)Br: order F, H, Cl, Br; centre moved to the front flips the parity once.
        let t = tetrahedral(&mol("F[C@H](Cl)Br"));
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].neighbors, [1, 0, 2, 3]);
        assert!(t[0].even);
        // Same molecule written from the centre: [C@@H](F)(Cl)Br has H first.
        let u = tetrahedral(&mol("[C@@H](F)(Cl)Br"));
        assert_eq!(u[0].neighbors, [0, 1, 2, 3]);
        assert!(u[0].even);
    }

    #[test]
    fn lone_pair_goes_last() {
        let t = tetrahedral(&mol("[S@@](=O)(C)c1ccccc1"));
        assert_eq!(t[0].neighbors, [0, 1, 2, 3]);
        // O, C, c, lone pair -> lone pair moved over three places: parity flips.
        assert!(!t[0].even);
    }

    #[test]
    fn unpaired_ring_centres_are_dropped_as_rdkit_drops_them() {
        use crate::chem::smiles_to_inchikey;
        // Keys from RDKit 2026.9.1: one marked end of a ring pair carries no stereo...
        for (s, key) in [
            ("C[C@@H]1CC[CH](C)CC1", "QRMPKOFEUHIBNM-UHFFFAOYSA-N"),
            ("C1CC[CH]2CCCC[C@@H]2C1", "NNBZCPXTIHJBJL-UHFFFAOYSA-N"),
            ("C1C[C@H]2CC[CH]1C2", "UMRZSTCPUPJPOJ-UHFFFAOYSA-N"),
            // ...both marked ends do...
            ("C[C@@H]1CC[C@H](C)CC1", "QRMPKOFEUHIBNM-OCAPTIKFSA-N"),
            // ...and the exo/endo carbon of a tropane is told apart by its marked bridgeheads.
            (
                "CN1[C@@H]2CC[C@H]1C[C@@H](OC(=O)C(CO)c1ccccc1)C2",
                "RKUNBYITZUJHSG-SPUOUPEWSA-N",
            ),
        ] {
            assert_eq!(smiles_to_inchikey(s).unwrap(), key, "{s}");
        }
    }

    #[test]
    fn double_bond_parity() {
        assert!(double_bonds(&mol("F/C=C/F"))[0].even);
        assert!(!double_bonds(&mol("F/C=C\\F"))[0].even);
        assert!(!double_bonds(&mol("F/C=C1.F/1"))[0].even);
        assert!(double_bonds(&mol("F/C=C/1.F1"))[0].even);
        assert!(double_bonds(&mol("CC=CC")).is_empty());
        assert!(double_bonds(&mol("F/C=C=C/F")).is_empty());
    }
}
