//! Writers of everything the tool outputs. Every file goes through [`crate::atomic_file`], so an
//! interrupted run never leaves a half-written file that looks complete.
//!
//! - [`parquet_file`]: Parquet with the project's defaults (zstd, row groups, `created_by`);
//! - [`key_table`]: the `inchikeys` table (TSV or Parquet) and its rejects file;
//! - [`label_tables`], [`label_export`], [`authors_format`], [`manifest`]: label exports;
//! - [`npy`]: `.npy` tensor shards (numpy format), memory-mappable;
//! - [`view_tables`]: the tables of a view export (views, rejects, incomplete wells);
//! - [`schema`]: the contracts in `data-schemas/`, and checks of written files against them.

pub mod authors_format;
pub mod key_table;
pub mod label_export;
pub mod label_tables;
pub mod manifest;
pub mod npy;
pub mod parquet_file;
pub mod prediction_tables;
pub mod schema;
pub mod view_tables;
