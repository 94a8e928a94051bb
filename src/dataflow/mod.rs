//! Timely dataflows. Each stage is a function from streams (later: differential collections) to
//! streams; only a driver touches workers, inputs and probes; no stage does I/O.
//!
//! - [`cluster`]: threads, processes and hosts as a [`timely::Config`];
//! - [`keying`]: SMILES -> InChIKey spread over every worker;
//! - [`labels`]: the label rules as a differential dataflow;
//! - [`view_index`]: image sites joined with platemaps and a label export;
//! - [`capture`]: gathering a collection's updates for a driver.

pub mod capture;
pub mod cluster;
pub mod keying;
pub mod labels;
pub mod view_index;
