//! Timely dataflows. Each stage is a function from streams (later: differential collections) to
//! streams; only a driver touches workers, inputs and probes; no stage does I/O.
//!
//! - [`cluster`]: threads, processes and hosts as a [`timely::Config`];
//! - [`keying`]: SMILES -> InChIKey spread over every worker;
//! - [`labels`]: the label rules as a differential dataflow.

pub mod cluster;
pub mod keying;
pub mod labels;
