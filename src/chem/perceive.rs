//! Chemistry checks and perception after reading, in RDKit's order (its "sanitization"):
//! ring bonds, aromatic bond orders, clean-ups, implicit hydrogens, kekulization, valences and
//! radicals. After [`perceive`] every bond has a Kekulé order and every atom its hydrogens.

use crate::chem::cleanup;
use crate::chem::element::{self, ValenceCell};
use crate::chem::error::{ErrorKind, SmilesError};
use crate::chem::kekulize::{self, aromatic_explicit_valence};
use crate::chem::mol::{BondOrder, BondSymbol, Mol};
use crate::chem::rings;

/// The most atoms the InChI library accepts (its `MAX_ATOMS`).
pub const MAX_ATOMS: usize = 1024;

/// Most bonds the InChI library accepts on one atom (its `MAXVAL`).
pub const MAX_BONDS_PER_ATOM: usize = 20;

/// Runs every perception and validation step; on success the molecule is ready for InChI.
pub fn perceive(mol: &mut Mol) -> Result<(), SmilesError> {
    if mol.atoms.len() > MAX_ATOMS {
        return Err(SmilesError::new(
            0,
            ErrorKind::NoInchi("more than 1024 atoms (the InChI library's limit)"),
        ));
    }
    rings::mark_ring_bonds(mol);
    resolve_aromatic_bonds(mol);
    let mut in_ring = vec![false; mol.atoms.len()];
    for bond in mol.bonds.iter().filter(|b| b.in_ring) {
        in_ring[bond.a] = true;
        in_ring[bond.b] = true;
    }
    for (atom, ring) in mol.atoms.iter_mut().zip(in_ring) {
        if atom.aromatic && !ring {
            return Err(SmilesError::new(atom.position, ErrorKind::NonRingAromatic));
        }
        atom.hydrogens = atom.bracket_h.unwrap_or(0);
    }
    cleanup::clean_up(mol);
    reject_dative_bonds(mol)?;
    assign_implicit_hydrogens(mol)?;
    kekulize::kekulize(mol)?;
    assign_radicals(mol)?;
    Ok(())
}

/// Bonds written without an order symbol (or with `/` `\`) between two aromatic atoms are
/// aromatic when they lie on a ring and single otherwise (the biphenyl bridge).
fn resolve_aromatic_bonds(mol: &mut Mol) {
    for bond in &mut mol.bonds {
        let implicit = matches!(
            bond.symbol,
            BondSymbol::Implicit | BondSymbol::Up | BondSymbol::Down
        );
        if implicit && mol.atoms[bond.a].aromatic && mol.atoms[bond.b].aromatic && bond.in_ring {
            // A '/' or '\\' here keeps its direction: once kekulized the bond may be the single
            // bond beside an exocyclic double bond (`N=c1/sc...`), whose stereo it then gives.
            bond.order = BondOrder::Aromatic;
        }
        bond.aromatic = bond.order == BondOrder::Aromatic;
    }
}

fn valence_error(mol: &Mol, atom: usize, valence: u32) -> SmilesError {
    let a = &mol.atoms[atom];
    SmilesError::new(
        a.position,
        ErrorKind::Valence {
            element: element::symbol(a.element),
            charge: a.charge,
            valence,
        },
    )
}

/// RDKit's valence check before kekulization, and implicit hydrogens for organic-subset atoms.
///
/// The explicit valence counts aromatic bonds as 1.5 (see [`aromatic_explicit_valence`] for
/// aromatic atoms); an organic-subset atom then gets the hydrogens that bring it to the next
/// allowed valence, and any atom above its highest allowed valence is rejected.
fn assign_implicit_hydrogens(mol: &mut Mol) -> Result<(), SmilesError> {
    for atom in 0..mol.atoms.len() {
        let a = &mol.atoms[atom];
        if a.element == 0 {
            continue;
        }
        let valence = if a.aromatic {
            aromatic_explicit_valence(mol, atom)
        } else {
            mol.rdkit_valence(atom)
        };
        match element::valence_cell(a.element, a.charge, valence) {
            Some(ValenceCell::Allowed(h)) if !a.is_bracket() => mol.atoms[atom].hydrogens = h,
            Some(ValenceCell::Allowed(_)) => {}
            _ => return Err(valence_error(mol, atom, valence)),
        }
    }
    Ok(())
}

/// After kekulization: implicit hydrogens from the Kekulé bonds, RDKit's valence check again,
/// and radical electrons on bracket atoms. Also rejects what RDKit would turn into dative bonds to metals.
fn assign_radicals(mol: &mut Mol) -> Result<(), SmilesError> {
    for atom in 0..mol.atoms.len() {
        let a = &mol.atoms[atom];
        if a.element == 0 {
            continue;
        }
        if mol.degree(atom) > MAX_BONDS_PER_ATOM {
            return Err(SmilesError::new(
                a.position,
                ErrorKind::NoInchi("an atom with more than 20 bonds (the InChI library's limit)"),
            ));
        }
        // Once kekulized RDKit recomputes implicit hydrogens from the Kekulé bonds (the S of
        // `C1CCs(C)CC1` ends up `[SH]`) and checks valences again (`C1=CC=CC=o1` passes the
        // aromatic valence rule above but not this one); bracket atoms below an allowed valence
        // carry radicals.
        let bonds = mol.kekule_valence(atom) - u32::from(a.hydrogens);
        if a.is_bracket() {
            let valence = bonds + u32::from(a.hydrogens);
            match element::valence_cell(a.element, a.charge, valence) {
                Some(ValenceCell::Allowed(r)) => mol.atoms[atom].radicals = r,
                _ => return Err(valence_error(mol, atom, valence)),
            }
        } else {
            match element::valence_cell(a.element, a.charge, bonds) {
                Some(ValenceCell::Allowed(h)) => mol.atoms[atom].hydrogens = h,
                _ => return Err(valence_error(mol, atom, bonds)),
            }
        }
    }
    Ok(())
}

/// RDKit turns a single bond from a hypervalent non-metal to a metal into a dative bond, and its
/// InChI wrapper has no dative bonds: such molecules get no key.
fn reject_dative_bonds(mol: &Mol) -> Result<(), SmilesError> {
    for atom in 0..mol.atoms.len() {
        if is_hypervalent_non_metal(mol, atom)
            && mol.atom_bonds(atom).any(|b| {
                mol.bonds[b].order == BondOrder::Single
                    && element::is_metal(mol.atoms[mol.bonds[b].other(atom)].element)
            })
        {
            return Err(SmilesError::new(
                mol.atoms[atom].position,
                ErrorKind::NoInchi(
                    "RDKit makes this atom's single bond to a metal dative, and InChI has no dative bonds",
                ),
            ));
        }
    }
    Ok(())
}

/// RDKit's test for a non-metal above the octet-rule valences of its isoelectronic element.
fn is_hypervalent_non_metal(mol: &Mol, atom: usize) -> bool {
    let a = &mol.atoms[atom];
    if element::is_metal(a.element) || matches!(a.element, 0 | 1 | 2 | 9 | 10) {
        return false;
    }
    let effective = i16::from(a.element) - i16::from(a.charge);
    let Ok(effective) = u8::try_from(effective) else {
        return false;
    };
    if effective == 0 || effective > element::MAX_ELEMENT {
        return false;
    }
    let max_normal = (0..16u32)
        .filter(|&v| element::is_normal_valence(effective, 0, v))
        .max();
    let rejects_high = element::valence_cell(effective, 0, 15) == Some(ValenceCell::Rejected);
    let valence = if a.aromatic {
        aromatic_explicit_valence(mol, atom)
    } else {
        mol.rdkit_valence(atom)
    };
    match max_normal {
        Some(max) if rejects_high => valence > max && valence <= 4,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chem::smiles::read;

    fn perceived(s: &str) -> Result<Mol, SmilesError> {
        let mut mol = read(s)?;
        perceive(&mut mol)?;
        Ok(mol)
    }

    fn hydrogens(s: &str) -> Vec<u8> {
        perceived(s)
            .unwrap()
            .atoms
            .iter()
            .map(|a| a.hydrogens)
            .collect()
    }

    #[test]
    fn implicit_hydrogens() {
        assert_eq!(hydrogens("CC(=O)O"), vec![3, 0, 0, 1]);
        assert_eq!(hydrogens("c1ccccc1"), vec![1; 6]);
        assert_eq!(hydrogens("c1cc[nH]c1"), vec![1, 1, 1, 1, 1]);
        assert_eq!(hydrogens("CP(C)(C)C"), vec![3, 1, 3, 3, 3]);
        assert_eq!(hydrogens("CS(C)(C)C"), vec![3, 0, 3, 3, 3]);
    }

    #[test]
    fn kekulizes_common_and_charged_aromatics() {
        for s in [
            "c1ccccc1",
            "c1ccc2ccccc2c1",
            "c1ccc2cccc2cc1",
            "c1cc[nH]c1",
            "c1cc[o+]cc1",
            "[cH-]1cccc1",
            "O=c1cccc[nH]1",
            "c1cc[n+]cc1",
            "[c]1ccccc1",
            "c1cc[se]c1",
            "Cn1c(=O)c2c(ncn2C)n(C)c1=O",
        ] {
            let mol = perceived(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert!(
                mol.bonds.iter().all(|b| b.order != BondOrder::Aromatic),
                "{s}"
            );
        }
    }

    #[test]
    fn rejects_what_rdkit_rejects() {
        let class = |s: &str| perceived(s).err().map(|e| e.class());
        assert_eq!(class("c1ccccc1c"), Some("non-ring-aromatic"));
        assert_eq!(class("n1cccc1"), Some("kekulize"));
        assert_eq!(class("c1cc1"), Some("kekulize"));
        assert_eq!(class("CC(C)(C)(C)C"), Some("valence"));
        assert_eq!(class("C[Cl]C"), Some("valence"));
        assert_eq!(class("FCl(=O)(=O)=O"), Some("valence"));
        assert_eq!(class("CN(C)(C)[Pt]"), Some("no-inchi"));
        assert_eq!(class("CN(=O)=O"), None);
        assert_eq!(class("Cl[I]Cl"), None);
    }

    #[test]
    fn clean_ups() {
        let mol = perceived("CN(=O)=O").unwrap();
        let charges: Vec<i8> = mol.atoms.iter().map(|a| a.charge).collect();
        assert_eq!(charges, vec![0, 1, -1, 0]);
        let mol = perceived("O=n1ccccc1").unwrap();
        assert_eq!(mol.atoms[1].charge, 1);
        let mol = perceived("OCl(=O)(=O)=O").unwrap();
        assert_eq!(mol.atoms[1].charge, 3);
        let mol = perceived("Cl[I]Cl").unwrap();
        assert_eq!(mol.atoms[1].radicals, 1);
    }
}
