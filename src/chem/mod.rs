//! Chemistry: SMILES -> standard InChIKey exactly as RDKit 2026.9 computes it.
//!
//! The pipeline for one string is [`smiles::read`] (syntax) -> [`perceive::perceive`] (rings,
//! aromaticity, RDKit's clean-ups, implicit hydrogens, kekulization, valences) ->
//! [`inchikey::mol_to_inchikey`] (the IUPAC InChI library via the `inchi` crate).
//! [`smiles_to_inchikey`] runs all three; [`KeyCache`] memoises it by SMILES.
//!
//! ```
//! use assayflow::chem::smiles_to_inchikey;
//! assert_eq!(smiles_to_inchikey("CCO").unwrap(), "LFQSCWFLJHTTHZ-UHFFFAOYSA-N");
//! let err = smiles_to_inchikey("C1CC").unwrap_err();
//! assert_eq!(err.class(), "unclosed-ring");
//! ```

pub mod cache;
pub mod cleanup;
pub mod element;
mod element_tables;
pub mod error;
pub mod inchikey;
pub mod kekulize;
pub mod mol;
pub mod perceive;
pub mod ranks;
pub mod rings;
pub mod smiles;
pub mod stereo;

pub use cache::{KeyCache, KeyResult, Rejection, key_smiles};
pub use error::{ErrorKind, SmilesError};

/// Converts one SMILES string to its standard InChIKey, or says why it cannot.
pub fn smiles_to_inchikey(smiles: &str) -> Result<String, SmilesError> {
    let mut mol = smiles::read(smiles)?;
    perceive::perceive(&mut mol)?;
    inchikey::mol_to_inchikey(&mol)
}

/// Converts one SMILES string to its standard InChI, or says why it cannot.
pub fn smiles_to_inchi(smiles: &str) -> Result<String, SmilesError> {
    let mut mol = smiles::read(smiles)?;
    perceive::perceive(&mut mol)?;
    inchikey::mol_to_inchi(&mol)
}
