//! [`FastMap`] and [`FastSet`]: hash maps keyed by small integers and integer tuples (ids,
//! tasks) with foldhash's fixed-seed hasher instead of SipHash. The refresh looks ids up a few
//! million times on its critical path; a fixed seed keeps every run's behaviour identical.

use std::collections::{HashMap, HashSet};

/// The hasher state: foldhash with its default fixed seed.
pub type FastState = foldhash::fast::FixedState;

/// A [`HashMap`] with [`FastState`].
pub type FastMap<K, V> = HashMap<K, V, FastState>;

/// A [`HashSet`] with [`FastState`].
pub type FastSet<T> = HashSet<T, FastState>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_hash_the_same_way_in_every_run() {
        let a: FastSet<(u32, u32)> = (0..1000).map(|i| (i, i * 7)).collect();
        let b: FastSet<(u32, u32)> = (0..1000).rev().map(|i| (i, i * 7)).collect();
        assert_eq!(a, b);
        assert!(a.contains(&(10, 70)) && !a.contains(&(10, 71)));
        let order_a: Vec<_> = a.iter().copied().collect();
        let c: FastSet<(u32, u32)> = (0..1000).map(|i| (i, i * 7)).collect();
        let order_c: Vec<_> = c.iter().copied().collect();
        assert_eq!(order_a, order_c, "a fixed seed iterates in one order");
    }
}
