//! Writers of everything the tool outputs. Every file goes through [`crate::atomic_file`], so an
//! interrupted run never leaves a half-written file that looks complete.
//!
//! - [`parquet_file`]: Parquet with the project's defaults (zstd, row groups, `created_by`);
//! - [`key_table`]: the `inchikeys` table (TSV or Parquet) and its rejects file;
//! - [`schema`]: the contracts in `data-schemas/`, and checks of written files against them.

pub mod key_table;
pub mod parquet_file;
pub mod schema;
