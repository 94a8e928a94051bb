//! The image stage: Cell Painting sites -> memory-mappable view shards.
//!
//! - [`settings`]: the pipeline file's `[images]` section;
//! - [`scaling`]: the lab's 16-bit -> 8-bit per-channel scaling.

pub mod scaling;
pub mod settings;
