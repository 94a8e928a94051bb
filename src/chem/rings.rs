//! Ring membership of bonds: a bond is in a ring exactly when it is not a bridge of the graph.
//!
//! [`mark_ring_bonds`] sets [`Bond::in_ring`](crate::chem::mol::Bond::in_ring) in linear time
//! with an iterative depth-first search (no recursion, so long chains cannot overflow the stack).

use crate::chem::mol::Mol;

/// Marks every bond that lies on a cycle.
pub fn mark_ring_bonds(mol: &mut Mol) {
    let n = mol.atoms.len();
    let mut adjacency: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    for (i, bond) in mol.bonds.iter().enumerate() {
        adjacency[bond.a].push((bond.b, i));
        adjacency[bond.b].push((bond.a, i));
    }
    const UNSEEN: usize = usize::MAX;
    let mut order = vec![UNSEEN; n];
    let mut low = vec![0usize; n];
    let mut counter = 0usize;
    let mut is_bridge = vec![false; mol.bonds.len()];
    // Stack frames: (atom, bond used to enter it, next adjacency index).
    let mut stack: Vec<(usize, usize, usize)> = Vec::new();
    for root in 0..n {
        if order[root] != UNSEEN {
            continue;
        }
        order[root] = counter;
        low[root] = counter;
        counter += 1;
        stack.push((root, usize::MAX, 0));
        while let Some(top) = stack.last_mut() {
            let (v, via, next) = *top;
            top.2 += 1;
            if let Some(&(w, bond)) = adjacency[v].get(next) {
                if bond == via {
                    continue;
                }
                if order[w] == UNSEEN {
                    order[w] = counter;
                    low[w] = counter;
                    counter += 1;
                    stack.push((w, bond, 0));
                } else {
                    low[v] = low[v].min(order[w]);
                }
            } else {
                stack.pop();
                if let Some(&(parent, _, _)) = stack.last() {
                    low[parent] = low[parent].min(low[v]);
                    if low[v] > order[parent] {
                        is_bridge[via] = true;
                    }
                }
            }
        }
    }
    for (bond, bridge) in mol.bonds.iter_mut().zip(is_bridge) {
        bond.in_ring = !bridge;
    }
}

/// True when `atom` has at least one ring bond.
pub fn atom_in_ring(mol: &Mol, atom: usize) -> bool {
    mol.atom_bonds(atom).any(|b| mol.bonds[b].in_ring)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chem::smiles::read;

    fn ring_flags(s: &str) -> Vec<bool> {
        let mut mol = read(s).unwrap();
        mark_ring_bonds(&mut mol);
        mol.bonds.iter().map(|b| b.in_ring).collect()
    }

    #[test]
    fn bridges_are_not_ring_bonds() {
        assert_eq!(ring_flags("CCC"), vec![false, false]);
        assert_eq!(ring_flags("C1CC1"), vec![true, true, true]);
        // biphenyl: the bond joining the rings is a bridge.
        let flags = ring_flags("c1ccccc1c1ccccc1");
        assert_eq!(flags.iter().filter(|f| !**f).count(), 1);
        // spiro and fused systems: every bond on a cycle.
        assert!(ring_flags("C1CCC2(CC1)CCCCC2").iter().all(|f| *f));
        assert!(ring_flags("c1ccc2ccccc2c1").iter().all(|f| *f));
    }
}
