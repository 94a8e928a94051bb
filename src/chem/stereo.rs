//! Stereo descriptors in InChI's 0D form, from `@`/`@@` and `/`/`\` as read.
//!
//! - [`tetrahedral`]: for each `@`/`@@` centre, four neighbours in SMILES order with the centre
//!   itself standing for its implicit hydrogen (at the place the SMILES writes it) or for the lone
//!   pair of a three-connected centre (last, as RDKit takes it), moved to the front as RDKit's
//!   InChI wrapper does; `@@` (clockwise) is InChI's even parity.
//! - [`double_bonds`]: for each written `=` with a directional bond on both ends, the ends
//!   `[x, a, b, y]` and whether `x` and `y` are trans (InChI's even parity).

use crate::chem::mol::{BondOrder, BondSymbol, Chirality, Mol, Neighbor};

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

/// Tetrahedral centres with their neighbour lists and parities.
pub fn tetrahedral(mol: &Mol) -> Vec<Tetrahedral> {
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
    fn double_bond_parity() {
        assert!(double_bonds(&mol("F/C=C/F"))[0].even);
        assert!(!double_bonds(&mol("F/C=C\\F"))[0].even);
        assert!(!double_bonds(&mol("F/C=C1.F/1"))[0].even);
        assert!(double_bonds(&mol("F/C=C/1.F1"))[0].even);
        assert!(double_bonds(&mol("CC=CC")).is_empty());
        assert!(double_bonds(&mol("F/C=C=C/F")).is_empty());
    }
}
