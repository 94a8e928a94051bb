//! The trainer (cargo feature `torch`): libtorch through tch, CUDA when present.
//!
//! - [`models`]: the paper's architectures, one file each, with their exact parameter counts.
//!
//! The trainer reads only what a view export holds (shards, indexes, labels): never SMILES,
//! ChEMBL or TIFFs. The staged loader, the loop, checkpoints and prediction follow (issue 6).

pub mod checkpoint;
pub mod cpu_precision;
pub mod cuda_runtime;
pub mod dataset;
pub mod device_input;
pub mod evaluate;
pub mod fit;
pub mod host_batch;
pub mod loader;
pub mod loss;
pub mod models;
pub mod predict;
pub mod sgd;
pub mod shard_map;
