//! The paper's models (../shared/docs/reference.md), each a `tch::nn::ModuleT` from images (or
//! crops, or feature vectors) to one logit per task.
//!
//! - [`gapnet`]: GapNet, the paper's own architecture (3,694,545 parameters with 209 tasks).

pub mod gapnet;

/// The number of scalar parameters (trainable variables) of a variable store.
pub fn parameter_count(vs: &tch::nn::VarStore) -> i64 {
    vs.trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum()
}
