//! Constitutional atom ranks: atoms get equal ranks when iterative refinement of their
//! invariants (element, isotope, charge, degree, hydrogens) over neighbour ranks cannot tell
//! them apart. Stereo perception uses them to see whether a centre's neighbours are all different.
//!
//! Bond orders are deliberately left out: a ring written in Kekulé form must rank like the same
//! ring written aromatic, and bond orders already show in the hydrogen counts.

use crate::chem::mol::Mol;

/// One rank per atom; equal ranks mean "constitutionally indistinguishable by refinement".
pub fn atom_ranks(mol: &Mol) -> Vec<usize> {
    refine(mol, &vec![0; mol.atoms.len()])
}

/// Like [`atom_ranks`], with an extra per-atom label (a stereo code) in the first invariant, so
/// that mirror-image centres split the ranks of their neighbourhoods.
pub fn refine(mol: &Mol, labels: &[i8]) -> Vec<usize> {
    let n = mol.atoms.len();
    let neighbors: Vec<Vec<usize>> = (0..n)
        .map(|a| mol.atom_bonds(a).map(|b| mol.bonds[b].other(a)).collect())
        .collect();
    let invariant = |a: usize| {
        let atom = &mol.atoms[a];
        (
            atom.element,
            atom.isotope,
            atom.charge,
            neighbors[a].len(),
            atom.hydrogens,
            labels.get(a).copied().unwrap_or(0),
        )
    };
    let mut ranks = dense_ranks(&(0..n).map(invariant).collect::<Vec<_>>());
    let mut classes = distinct(&ranks);
    loop {
        let keys: Vec<(usize, Vec<usize>)> = (0..n)
            .map(|a| {
                let mut nbr: Vec<usize> = neighbors[a].iter().map(|&b| ranks[b]).collect();
                nbr.sort_unstable();
                (ranks[a], nbr)
            })
            .collect();
        let next = dense_ranks(&keys);
        let next_classes = distinct(&next);
        ranks = next;
        if next_classes == classes {
            return ranks;
        }
        classes = next_classes;
    }
}

fn distinct(ranks: &[usize]) -> usize {
    ranks.iter().copied().max().map_or(0, |m| m + 1)
}

/// Replaces each key by its position among the distinct sorted keys.
fn dense_ranks<K: Ord + Clone>(keys: &[K]) -> Vec<usize> {
    let mut sorted: Vec<K> = keys.to_vec();
    sorted.sort();
    sorted.dedup();
    keys.iter()
        .map(|k| sorted.binary_search(k).unwrap_or(0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chem::perceive::perceive;
    use crate::chem::smiles::read;

    fn ranks(s: &str) -> Vec<usize> {
        let mut m = read(s).unwrap();
        perceive(&mut m).unwrap();
        atom_ranks(&m)
    }

    #[test]
    fn symmetric_atoms_share_ranks() {
        // Cyclohexane ring of 1,4-dimethylcyclohexane: C2 = C6 and C3 = C5.
        let r = ranks("CC1CCC(C)CC1");
        assert_eq!(r[2], r[7]);
        assert_eq!(r[3], r[6]);
        assert_ne!(r[1], r[2]);
        // Kekulé and aromatic benzene rank alike: all six carbons equal.
        let k = ranks("C1=CC=CC=C1");
        assert!(k.iter().all(|&x| x == k[0]));
        // Ethanol: every atom different.
        let e = ranks("CCO");
        assert_eq!(distinct(&e), 3);
    }
}
