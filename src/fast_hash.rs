//! [`FastMap`] and [`FastSet`]: hash maps keyed by small integers and integer tuples (ids,
//! tasks) with foldhash's fixed-seed hasher instead of SipHash. The refresh looks ids up a few
//! million times on its critical path; a fixed seed keeps every run's behaviour identical.
//! [`IdBits`]: a bitset of ids, for a test on every row that a hash lookup would make slower.

use std::collections::{HashMap, HashSet};

/// The hasher state: foldhash with its default fixed seed.
pub type FastState = foldhash::fast::FixedState;

/// A [`HashMap`] with [`FastState`].
pub type FastMap<K, V> = HashMap<K, V, FastState>;

/// A [`HashSet`] with [`FastState`].
pub type FastSet<T> = HashSet<T, FastState>;

/// A set of `u32` ids as one bit each. Ids above [`IdBits::DEFAULT_MAX_ID`] make it give up
/// and say every id may be in (a prefilter: callers check what passes with the exact set).
#[derive(Debug, Clone, Default)]
pub struct IdBits {
    words: Vec<u64>,
    everything: bool,
}

impl IdBits {
    /// The largest id held as a bit (32 MiB of bits).
    pub const DEFAULT_MAX_ID: u32 = 1 << 28;

    /// The set of `ids`.
    pub fn new(ids: impl IntoIterator<Item = u32> + Clone) -> IdBits {
        let max = ids.clone().into_iter().max();
        match max {
            None => IdBits::default(),
            Some(m) if m > Self::DEFAULT_MAX_ID => IdBits {
                words: Vec::new(),
                everything: true,
            },
            Some(m) => {
                let mut words = vec![0u64; m as usize / 64 + 1];
                for id in ids {
                    words[id as usize / 64] |= 1 << (id % 64);
                }
                IdBits {
                    words,
                    everything: false,
                }
            }
        }
    }

    /// Whether `id` may be in the set (exactly whether it is, unless the set gave up).
    pub fn may_contain(&self, id: u32) -> bool {
        self.everything
            || self
                .words
                .get(id as usize / 64)
                .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }
}

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

    #[test]
    fn id_bits_hold_exactly_their_ids() {
        let ids = [0u32, 63, 64, 1_700_000];
        let bits = IdBits::new(ids);
        for id in 0..1_700_100 {
            assert_eq!(bits.may_contain(id), ids.contains(&id), "{id}");
        }
        assert!(!bits.may_contain(u32::MAX));
        assert!(!IdBits::new([]).may_contain(0));
        let huge = IdBits::new([1, u32::MAX]);
        assert!(
            huge.may_contain(2) && huge.may_contain(u32::MAX),
            "gave up: everything"
        );
    }
}
