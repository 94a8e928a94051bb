//! The generated world: synthetic inputs in the real formats (ChEMBL-schema SQLite releases,
//! Cell Painting metadata, later plates of images), driven by hidden mechanisms so that models
//! can learn from it. Everything here writes files that the ordinary readers in
//! [`crate::sources`] read; nothing takes an in-memory shortcut.

pub mod cellpainting_meta;
pub mod chembl_db;
