//! The paper's models (../shared/docs/reference.md), each a `tch::nn::ModuleT` from images (or
//! crops, or feature vectors) to one logit per task.
//!
//! - [`gapnet`]: GapNet, the paper's own architecture (3,694,545 parameters with 209 tasks);
//! - [`resnet`]: ResNet-101 with a five-channel stem (42,934,673);
//! - [`densenet`]: DenseNet-121 with a five-channel stem (7,174,353);
//! - [`layers`]: shared building blocks.

pub mod densenet;
pub mod gapnet;
pub mod layers;
pub mod resnet;

/// The number of scalar parameters (trainable variables) of a variable store.
pub fn parameter_count(vs: &tch::nn::VarStore) -> i64 {
    vs.trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum()
}
