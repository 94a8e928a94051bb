//! The image stage: Cell Painting sites -> memory-mappable view shards.
//!
//! - [`scaling`]: the lab's 16-bit -> 8-bit per-channel scaling.

pub mod scaling;
