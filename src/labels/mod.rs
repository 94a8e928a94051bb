//! Assay label tasks from ChEMBL for Cell Painting compounds (the paper's rules, configured in
//! `pipelines/*.toml`).
//!
//! - [`records`]: the records the rules work on (activities, matches, tasks, labels);
//! - [`reference`](mod@reference): a plain from-scratch implementation of the rules (the test oracle);
//! - [`split`]: the seeded, first-block-grouped train/valid/test split;
//! - [`compounds`], [`chembl_side`]: what a run reads (Cell Painting compounds by key; ChEMBL
//!   matches, classified activities, assays);
//! - [`build`] and [`refresh`]: the drivers of `labels build` and `labels refresh`;
//!   [`previous`] reads an export back for a refresh;
//! - [`assemble`]: from the label state to the rows of an export;
//! - the dataflow itself is [`crate::dataflow::labels`].

pub mod assemble;
pub mod build;
pub mod chembl_side;
pub mod compounds;
pub mod previous;
pub mod records;
pub mod reference;
pub mod refresh;
pub mod split;
