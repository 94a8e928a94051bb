//! Standard InChI and InChIKey of a perceived [`Mol`], built the way RDKit's InChI wrapper
//! builds its input: Kekulé bonds, 0D stereo, isotopes as shifts from the rounded atomic weight,
//! and hydrogens left to InChI only for C, N, O, F, Cl, Br and I atoms without radicals.

use inchi::{
    Atom as InchiAtom, BondOrder as InchiBond, ImplicitH, Molecule, Options, Parity, Stereo,
};

use crate::chem::cleanup;
use crate::chem::element;
use crate::chem::error::{ErrorKind, SmilesError};
use crate::chem::mol::{BondOrder, Mol};
use crate::chem::stereo;

/// InChI's flag for "isotopic mass given as a shift" (`ISOTOPIC_SHIFT_FLAG`).
const ISOTOPIC_SHIFT_FLAG: i32 = 10_000;

fn no_inchi(why: &'static str) -> SmilesError {
    SmilesError::new(0, ErrorKind::NoInchi(why))
}

fn inchi_error(e: inchi::InchiError) -> SmilesError {
    SmilesError::new(0, ErrorKind::Inchi(e.to_string()))
}

/// Builds the InChI library's input from a perceived molecule.
fn build_input(mol: &Mol) -> Result<Molecule, SmilesError> {
    // Only molecules with a Cl+3 need RDKit's reverse clean-up (and a copy to apply it to).
    let owned;
    let mol = if mol
        .atoms
        .iter()
        .any(|a| a.element == element::z::CL && a.charge == 3)
    {
        let mut copy = mol.clone();
        cleanup::undo_perchlorate(&mut copy);
        owned = copy;
        &owned
    } else {
        mol
    };
    let mut input = Molecule::new();
    for atom in &mol.atoms {
        if atom.element == 0 {
            return Err(SmilesError::new(
                atom.position,
                ErrorKind::NoInchi("the wildcard atom '*' has no InChI"),
            ));
        }
        let mut a = InchiAtom::new(element::symbol(atom.element)).charge(atom.charge);
        if atom.isotope != 0 {
            let shift = i32::from(atom.isotope) - i32::from(element::rounded_weight(atom.element));
            let mass = u16::try_from(ISOTOPIC_SHIFT_FLAG + shift).map_err(|_| {
                SmilesError::new(atom.position, ErrorKind::NoInchi("isotope out of range"))
            })?;
            a = a.isotope(mass);
        }
        a = if element::inchi_adds_hydrogens(atom.element) && atom.radicals == 0 {
            a.implicit_hydrogens(ImplicitH::Auto)
        } else {
            a.implicit_hydrogens(ImplicitH::Exactly(atom.hydrogens))
        };
        input.add_atom(a);
    }
    for bond in &mol.bonds {
        let order = match bond.order {
            BondOrder::Single => InchiBond::Single,
            BondOrder::Double => InchiBond::Double,
            BondOrder::Triple => InchiBond::Triple,
            BondOrder::Quadruple => return Err(no_inchi("quadruple bonds have no InChI")),
            BondOrder::Aromatic => InchiBond::Alternating,
        };
        input.add_bond(bond.a, bond.b, order).map_err(inchi_error)?;
    }
    for t in stereo::tetrahedral(mol) {
        input.add_stereo(Stereo::Tetrahedral {
            center: t.center,
            neighbors: t.neighbors,
            parity: if t.even { Parity::Even } else { Parity::Odd },
        });
    }
    for d in stereo::double_bonds(mol) {
        input.add_stereo(Stereo::DoubleBond {
            ends: d.ends,
            parity: if d.even { Parity::Even } else { Parity::Odd },
        });
    }
    Ok(input)
}

/// The standard InChI of a perceived molecule.
pub fn mol_to_inchi(mol: &Mol) -> Result<String, SmilesError> {
    let input = build_input(mol)?;
    let output = input
        .to_inchi(Options::new().aux_info(false))
        .map_err(inchi_error)?;
    Ok(output.inchi().to_string())
}

/// The standard InChIKey of a perceived molecule.
pub fn mol_to_inchikey(mol: &Mol) -> Result<String, SmilesError> {
    let inchi = mol_to_inchi(mol)?;
    inchi::inchikey(&inchi).map_err(inchi_error)
}
