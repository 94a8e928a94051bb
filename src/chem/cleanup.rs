//! RDKit's structure clean-ups, applied before valences are checked, and the one clean-up its
//! InChI wrapper undoes again.
//!
//! - nitrogen: a neutral N of valence 5 with `=O` becomes `[N+][O-]` (nitro, N-oxides written
//!   `O=n1ccccc1`), or with `#N` becomes `=[N+]=[N-]`-like (azides `N=N#N`, diazo `C=N#N`);
//! - phosphorus: a neutral three-connected P of valence 5 with `=O` and `=C`/`=N` (that
//!   neighbour having two or more connections) becomes `=[P+][O-]`;
//! - halogens: neutral Cl, Br, I of valence 3, 5 or 7 bonded only to oxygens get every `=O`
//!   turned into `[O-]` and the matching positive charge (chlorate, perchlorate...);
//! - [`undo_perchlorate`]: RDKit's InChI wrapper turns `[O-][Cl+3]([O-])([O-])O`-shaped groups
//!   back into `O=Cl(=O)(=O)O` before calling InChI.

use crate::chem::element::z;
use crate::chem::mol::{BondOrder, Mol};

/// Applies the nitrogen, phosphorus and halogen clean-ups, atom by atom in SMILES order.
pub fn clean_up(mol: &mut Mol) {
    for atom in 0..mol.atoms.len() {
        match mol.atoms[atom].element {
            z::N => nitrogen(mol, atom),
            z::P => phosphorus(mol, atom),
            z::CL | z::BR | z::I => halogen(mol, atom),
            _ => {}
        }
    }
}

fn nitrogen(mol: &mut Mol, atom: usize) {
    if mol.atoms[atom].charge != 0 || mol.rdkit_valence(atom) != 5 {
        return;
    }
    let bonds: Vec<usize> = mol.atom_bonds(atom).collect();
    for b in bonds {
        let other = mol.bonds[b].other(atom);
        let (element, charge) = (mol.atoms[other].element, mol.atoms[other].charge);
        let order = mol.bonds[b].order;
        if element == z::O && charge == 0 && order == BondOrder::Double {
            mol.bonds[b].order = BondOrder::Single;
        } else if element == z::N && charge == 0 && order == BondOrder::Triple {
            mol.bonds[b].order = BondOrder::Double;
        } else {
            continue;
        }
        mol.atoms[atom].charge = 1;
        mol.atoms[other].charge = -1;
        return;
    }
}

fn phosphorus(mol: &mut Mol, atom: usize) {
    let valence = if mol.atoms[atom].aromatic {
        crate::chem::kekulize::aromatic_explicit_valence(mol, atom)
    } else {
        mol.rdkit_valence(atom)
    };
    if mol.atoms[atom].charge != 0 || valence != 5 || mol.degree(atom) != 3 {
        return;
    }
    let mut double_to_oxygen = None;
    let mut double_to_c_or_n = false;
    for b in mol.atom_bonds(atom) {
        if mol.bonds[b].order != BondOrder::Double {
            continue;
        }
        let other = mol.bonds[b].other(atom);
        let o = &mol.atoms[other];
        if o.element == z::O && o.charge == 0 {
            double_to_oxygen = Some((b, other));
        } else if (o.element == z::C || o.element == z::N) && mol.degree(other) >= 2 {
            double_to_c_or_n = true;
        }
    }
    if let (Some((b, oxygen)), true) = (double_to_oxygen, double_to_c_or_n) {
        mol.bonds[b].order = BondOrder::Single;
        mol.atoms[oxygen].charge = -1;
        mol.atoms[atom].charge = 1;
    }
}

fn halogen(mol: &mut Mol, atom: usize) {
    let valence = mol.rdkit_valence(atom);
    if mol.atoms[atom].charge != 0 || !matches!(valence, 3 | 5 | 7) {
        return;
    }
    let bonds: Vec<usize> = mol.atom_bonds(atom).collect();
    if bonds
        .iter()
        .any(|&b| mol.atoms[mol.bonds[b].other(atom)].element != z::O)
    {
        return;
    }
    let mut charge = 0i8;
    for b in bonds {
        if mol.bonds[b].order == BondOrder::Double {
            mol.bonds[b].order = BondOrder::Single;
            let other = mol.bonds[b].other(atom);
            mol.atoms[other].charge = -1;
            charge += 1;
        }
    }
    mol.atoms[atom].charge = charge;
}

/// RDKit's "reverse clean-up" before InChI: a `Cl+3` with four singly bonded oxygens of which
/// at most one is uncharged gets its charged oxygens double-bonded and neutral again (keeping
/// one `[O-]` when all four were charged).
pub fn undo_perchlorate(mol: &mut Mol) {
    for atom in 0..mol.atoms.len() {
        let a = &mol.atoms[atom];
        if a.element != z::CL || a.charge != 3 {
            continue;
        }
        let bonds: Vec<usize> = mol.atom_bonds(atom).collect();
        let oxygens: Vec<(usize, usize)> = bonds
            .iter()
            .map(|&b| (b, mol.bonds[b].other(atom)))
            .filter(|&(b, o)| {
                mol.atoms[o].element == z::O && mol.bonds[b].order == BondOrder::Single
            })
            .collect();
        if bonds.len() != 4 || oxygens.len() != 4 {
            continue;
        }
        let neutral: Vec<usize> = oxygens
            .iter()
            .filter(|&&(_, o)| mol.atoms[o].charge == 0)
            .map(|&(_, o)| o)
            .collect();
        let charged_ok = oxygens
            .iter()
            .all(|&(_, o)| matches!(mol.atoms[o].charge, 0 | -1));
        if neutral.len() > 1 || !charged_ok {
            continue;
        }
        let mut keep_one_anion = neutral.is_empty();
        for &(b, o) in &oxygens {
            if mol.atoms[o].charge == 0 {
                continue;
            }
            if keep_one_anion {
                keep_one_anion = false;
                continue;
            }
            mol.bonds[b].order = BondOrder::Double;
            mol.atoms[o].charge = 0;
        }
        mol.atoms[atom].charge = 0;
    }
}
