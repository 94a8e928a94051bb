//! The image stage: Cell Painting sites -> memory-mappable view shards.
//!
//! - [`settings`]: the pipeline file's `[images]` section;
//! - [`scaling`]: the lab's 16-bit -> 8-bit per-channel scaling;
//! - [`decode`]: one site's TIFFs -> one shard row and its statistics;
//! - [`crops`]: single-cell crops around nucleus centres;
//! - [`plate_state`]: what an export remembers per plate (resume, change detection);
//! - [`convert`]: the driver of `assayflow images convert`.

pub mod convert;
pub mod crops;
pub mod decode;
pub mod plate_state;
pub mod scaling;
pub mod settings;
