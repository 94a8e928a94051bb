//! Constitutional atom ranks: atoms get equal ranks when iterative refinement of their
//! invariants (element, isotope, charge, degree, hydrogens) over neighbour ranks cannot tell
//! them apart. Stereo perception uses them to see whether a centre's neighbours are all different.
//!
//! Bond orders are deliberately left out: a ring written in Kekulé form must rank like the same
//! ring written aromatic, and bond orders already show in the hydrogen counts.
//!
//! The refinement works on a flat adjacency list and flat sort keys (no per-atom allocation per
//! round), since it runs for every molecule that carries `@`/`@@` marks.

use crate::chem::mol::Mol;

/// One rank per atom; equal ranks mean "constitutionally indistinguishable by refinement".
pub fn atom_ranks(mol: &Mol) -> Vec<u32> {
    refine(mol, &vec![0; mol.atoms.len()])
}

/// Like [`atom_ranks`], with an extra per-atom label (a stereo code) in the first invariant, so
/// that mirror-image centres split the ranks of their neighbourhoods.
pub fn refine(mol: &Mol, labels: &[i8]) -> Vec<u32> {
    let n = mol.atoms.len();
    // Flat adjacency (CSR).
    let mut offsets = Vec::with_capacity(n + 1);
    let mut adjacency = Vec::with_capacity(2 * mol.bonds.len());
    offsets.push(0usize);
    for a in 0..n {
        adjacency.extend(mol.atom_bonds(a).map(|b| mol.bonds[b].other(a)));
        offsets.push(adjacency.len());
    }
    let invariants: Vec<u64> = (0..n)
        .map(|a| {
            let atom = &mol.atoms[a];
            let label = labels.get(a).copied().unwrap_or(0);
            (u64::from(atom.element) << 56)
                | (u64::from(atom.isotope) << 40)
                | (u64::from(atom.charge as u8) << 32)
                | (((offsets[a + 1] - offsets[a]) as u64 & 0xff) << 24)
                | (u64::from(atom.hydrogens) << 16)
                | u64::from(label as u8)
        })
        .collect();
    let mut ranks = dense(&invariants.iter().map(|&i| [i]).collect::<Vec<_>>(), |k| k);
    let mut classes = count(&ranks);
    // Keys of one round: [own rank, sorted neighbour ranks...], flattened.
    let mut keys: Vec<u32> = Vec::with_capacity(n + adjacency.len());
    let mut key_start: Vec<usize> = Vec::with_capacity(n + 1);
    while classes < n {
        keys.clear();
        key_start.clear();
        for a in 0..n {
            key_start.push(keys.len());
            keys.push(ranks[a]);
            let first = keys.len();
            keys.extend(
                adjacency[offsets[a]..offsets[a + 1]]
                    .iter()
                    .map(|&b| ranks[b]),
            );
            keys[first..].sort_unstable();
        }
        key_start.push(keys.len());
        let slices: Vec<&[u32]> = (0..n)
            .map(|a| &keys[key_start[a]..key_start[a + 1]])
            .collect();
        let next = dense(&slices, |k| *k);
        let next_classes = count(&next);
        ranks = next;
        if next_classes == classes {
            break;
        }
        classes = next_classes;
    }
    ranks
}

fn count(ranks: &[u32]) -> usize {
    ranks.iter().copied().max().map_or(0, |m| m as usize + 1)
}

/// Dense ranks of keys: equal keys share a rank, ranks follow the keys' order.
fn dense<K, T: Ord + ?Sized>(keys: &[K], view: impl Fn(&K) -> &T) -> Vec<u32> {
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_unstable_by(|&a, &b| view(&keys[a]).cmp(view(&keys[b])));
    let mut ranks = vec![0u32; keys.len()];
    let mut rank = 0u32;
    for (i, &a) in order.iter().enumerate() {
        if i > 0 && view(&keys[order[i - 1]]) != view(&keys[a]) {
            rank += 1;
        }
        ranks[a] = rank;
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chem::perceive::perceive;
    use crate::chem::smiles::read;

    fn ranks(s: &str) -> Vec<u32> {
        let mut m = read(s).unwrap();
        perceive(&mut m).unwrap();
        atom_ranks(&m)
    }

    #[test]
    fn symmetric_atoms_share_ranks() {
        // Cyclohexane ring of 1,4-dimethylcyclohexane: C2 = C7 and C3 = C6.
        let r = ranks("CC1CCC(C)CC1");
        assert_eq!(r[2], r[7]);
        assert_eq!(r[3], r[6]);
        assert_ne!(r[1], r[2]);
        // Kekulé and aromatic benzene rank alike: all six carbons equal.
        let k = ranks("C1=CC=CC=C1");
        assert!(k.iter().all(|&x| x == k[0]));
        // Ethanol: every atom different.
        assert_eq!(count(&ranks("CCO")), 3);
    }
}
