//! assayflow: Cell Painting microscopy and ChEMBL bioactivity -> label shards, image shards and
//! trained models that predict pharmacological assay outcomes from images.
//!
//! The crate is organised by stage (see ARCHITECTURE.md):
//! - [`chem`]: SMILES -> standard InChIKey, matching RDKit and ChEMBL;
//! - [`sources`]: readers of input files into typed records plus rejects;
//! - [`dataflow`]: timely dataflows that spread work over workers and processes;
//! - [`labels`]: the label build and refresh (Cell Painting compounds x a ChEMBL release);
//! - [`images`]: plates of TIFFs -> view shards, crops and features;
//! - [`synth`]: the generated world in the real formats;
//! - [`export`]: writers of the tables the tool produces (TSV, Parquet), atomically;
//! - `train` (cargo feature `torch`): the libtorch trainer.

pub mod atomic_file;
pub mod chem;
pub mod dataflow;
pub mod eval;
pub mod export;
pub mod fast_hash;
pub mod images;
pub mod labels;
pub mod pipeline;
pub mod report;
pub mod rng;
pub mod sources;
pub mod synth;
#[cfg(feature = "torch")]
pub mod train;
pub mod training_settings;
