//! Assay label tasks from ChEMBL for Cell Painting compounds (the paper's rules, configured in
//! `pipelines/*.toml`).
//!
//! - [`records`]: the records the rules work on (activities, matches, tasks, labels);
//! - [`reference`]: a plain from-scratch implementation of the rules (the test oracle);
//! - [`split`]: the seeded, first-block-grouped train/valid/test split;
//! - [`build`]: the drivers of `labels build` and `labels refresh`;
//! - the dataflow implementation is [`crate::dataflow::labels`].

pub mod build;
pub mod records;
pub mod reference;
pub mod split;
