//! Readers of real input files into typed records, with per-record problems kept, never dropped.
//!
//! - [`smiles_table`]: `.smi` files and CSV/TSV tables with a SMILES column;
//! - [`cellpainting`]: Cell Painting compound metadata (CDRP and JUMP layouts);
//! - [`chembl`]: a ChEMBL release's SQLite file;
//! - [`cellprofiler`]: CellProfiler outputs (per-plate SQLite, per-site CSVs): nucleus centres, well features;
//! - [`tiff_image`]: one 16-bit greyscale channel image (TIFF);
//! - [`plate_images`]: the channel files of every site in plate folders (CDRP, Phenix, load_data).

pub mod cellpainting;
pub mod cellprofiler;
pub mod chembl;
pub mod plate_images;
pub mod smiles_table;
pub mod tiff_image;
