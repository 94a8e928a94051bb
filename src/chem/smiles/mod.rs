//! SMILES text in and out: [`read`] parses OpenSMILES into a [`Mol`](crate::chem::mol::Mol);
//! [`writer`] writes a molecule back, optionally in a random atom order or Kekulé form.

mod reader;
pub mod writer;

pub use reader::{MAX_RING_NUMBER, read};
