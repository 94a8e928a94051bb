//! Rule 6, the split: by compound, with every compound that shares an InChIKey first block
//! (the same connectivity: stereoisomers, isotopologues) in the same fold. The fold is a seeded
//! hash of the first block, so it never changes when ChEMBL changes, and needs no state.

use crate::pipeline::SplitSection;

/// A fold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fold {
    /// Training.
    Train,
    /// Validation.
    Valid,
    /// Test.
    Test,
}

impl Fold {
    /// `train`, `valid` or `test`.
    pub fn name(self) -> &'static str {
        match self {
            Fold::Train => "train",
            Fold::Valid => "valid",
            Fold::Test => "test",
        }
    }
}

/// The fold of a compound.
///
/// ```
/// use assayflow::labels::split::{fold_of, Fold};
/// use assayflow::pipeline::SplitSection;
/// let s = SplitSection { seed: 1, train: 0.7, valid: 0.1, test: 0.2 };
/// // Stereoisomers (same first block) always share a fold.
/// assert_eq!(fold_of("XEGUVFFZWHRVAV-PVQJCKRUSA-N", &s), fold_of("XEGUVFFZWHRVAV-UHFFFAOYSA-N", &s));
/// ```
pub fn fold_of(inchikey: &str, split: &SplitSection) -> Fold {
    let block = inchikey.split('-').next().unwrap_or(inchikey);
    let mut h = blake3::Hasher::new();
    h.update(&split.seed.to_le_bytes());
    h.update(block.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&h.finalize().as_bytes()[..8]);
    // Uniform in [0, 1) with 53 bits.
    let u = (u64::from_le_bytes(first) >> 11) as f64 / (1u64 << 53) as f64;
    if u < split.train {
        Fold::Train
    } else if u < split.train + split.valid {
        Fold::Valid
    } else {
        Fold::Test
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_are_respected_roughly() {
        let s = SplitSection {
            seed: 7,
            train: 0.7,
            valid: 0.1,
            test: 0.2,
        };
        let mut counts = [0u32; 3];
        for i in 0..20_000 {
            let key = format!("{:014}-UHFFFAOYSA-N", i);
            counts[fold_of(&key, &s) as usize] += 1;
        }
        assert!((13_600..14_400).contains(&counts[0]), "{counts:?}");
        assert!((1_800..2_200).contains(&counts[1]), "{counts:?}");
        assert!((3_700..4_300).contains(&counts[2]), "{counts:?}");
    }
}
