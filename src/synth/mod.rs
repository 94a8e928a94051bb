//! The generated world: synthetic inputs in the real formats (ChEMBL-schema SQLite releases,
//! Cell Painting metadata, later plates of images), driven by hidden mechanisms so that models
//! can learn from it. Everything here writes files that the ordinary readers in
//! [`crate::sources`] read; nothing takes an in-memory shortcut.
//!
//! Entry points: [`world::generate`] (`assayflow synth world`),
//! [`plates::write_plates`] (`assayflow synth plates`: images and CellProfiler tables drawn by
//! [`cells`]) and [`next_release::derive_release`] (`assayflow synth release`).

pub mod activities;
pub mod bundled;
pub mod cellpainting_meta;
pub mod cells;
pub mod chembl_db;
pub mod cp_set;
pub mod mechanisms;
pub mod molecule_stream;
pub mod molecules;
pub mod next_release;
pub mod plates;
pub mod scale;
pub mod truth;
pub mod world;
