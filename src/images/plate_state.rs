//! What a view export remembers about each converted plate, in `OUT/.state/plates/<plate>.json`:
//! the quick fingerprint of its inputs (which views, which files with their sizes and
//! modification times, or their contents with `--checksum`, and the conversion settings), the
//! shards written, every view's row and statistics, and the sites that failed.
//!
//! A plate whose fingerprint is unchanged and whose shards are intact is reused without
//! decoding a pixel; a plate converted by an interrupted run is found here by the rerun. The
//! state is not part of the export's contract (it holds file times, which differ between
//! copies of the same inputs): the manifest is.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic_file::AtomicFile;
use crate::export::manifest::{FileEntry, hash_file};
use crate::images::decode::ChannelStats;

/// The state directory, relative to the export.
pub const STATE_DIR: &str = ".state/plates";

/// One converted view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConvertedView {
    /// Well.
    pub well: String,
    /// Site.
    pub site: u32,
    /// Shard path relative to the export.
    pub shard: String,
    /// Row in the shard.
    pub row: u32,
    /// Per-channel statistics.
    pub stats: ChannelStats,
    /// blake3 over the source files' digests (with `--checksum`).
    #[serde(default)]
    pub source_blake3: Option<String>,
}

/// A site of the plate that could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedSite {
    /// Well.
    pub well: String,
    /// Site.
    pub site: u32,
    /// The channel whose file failed (none for a nucleus outside the image).
    pub channel: Option<String>,
    /// The file, relative to the plate source when possible.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// One single-cell crop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConvertedCell {
    /// Well.
    pub well: String,
    /// Site.
    pub site: u32,
    /// CellProfiler's ObjectNumber of the nucleus.
    pub object: i64,
    /// Nucleus centre x (pixels).
    pub x: f64,
    /// Nucleus centre y.
    pub y: f64,
    /// Part of the crop is zero padding.
    pub padded: bool,
    /// Crop shard, relative to the export.
    pub shard: String,
    /// Row in it.
    pub row: u32,
}

/// Per-well CellProfiler feature means of a plate (`None`: no value).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlateFeatures {
    /// Feature names.
    pub names: Vec<String>,
    /// (well, objects averaged, means).
    pub wells: Vec<(String, u64, Vec<Option<f64>>)>,
}

/// A converted plate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlateState {
    /// Plate.
    pub plate: String,
    /// Quick fingerprint of inputs and settings.
    pub fingerprint: String,
    /// Views written, in shard order.
    pub views: Vec<ConvertedView>,
    /// Sites that failed.
    pub failed: Vec<FailedSite>,
    /// Shards written (paths relative to the export).
    pub shards: Vec<FileEntry>,
    /// Single-cell crops, in crop shard order.
    #[serde(default)]
    pub cells: Vec<ConvertedCell>,
    /// Crop shards.
    #[serde(default)]
    pub crop_shards: Vec<FileEntry>,
    /// Nuclei left out because their crop crossed the border (policy `skip`).
    #[serde(default)]
    pub crops_skipped_at_border: u64,
    /// CellProfiler features per well.
    #[serde(default)]
    pub features: Option<PlateFeatures>,
    /// CellProfiler rows that could not be used (rejects).
    #[serde(default)]
    pub source_problems: Vec<crate::sources::cellprofiler::Problem>,
    /// Source files read.
    pub input_files: u64,
    /// Their bytes.
    pub input_bytes: u64,
    /// blake3 over the plate's inputs: every converted view's content digest in order (with
    /// `--checksum`), else every file's relative path and size.
    pub input_blake3: String,
}

fn state_path(out: &Path, plate: &str) -> PathBuf {
    out.join(STATE_DIR).join(format!("{plate}.json"))
}

impl PlateState {
    /// The state of `plate` if one was recorded, matches `fingerprint`, and its shards are
    /// present with their sizes (hashes are checked with `verify`).
    pub fn reusable(
        out: &Path,
        plate: &str,
        fingerprint: &str,
        verify: bool,
    ) -> Option<PlateState> {
        let text = std::fs::read_to_string(state_path(out, plate)).ok()?;
        let state: PlateState = serde_json::from_str(&text).ok()?;
        if state.fingerprint != fingerprint || state.plate != plate {
            return None;
        }
        for s in state.shards.iter().chain(&state.crop_shards) {
            let path = out.join(&s.path);
            if verify {
                let (hash, bytes) = hash_file(&path).ok()?;
                if hash != s.blake3 || bytes != s.bytes {
                    return None;
                }
            } else if std::fs::metadata(&path).ok()?.len() != s.bytes {
                return None;
            }
        }
        Some(state)
    }

    /// Records the state atomically (after its shards are in place).
    pub fn save(&self, out: &Path) -> std::io::Result<()> {
        let path = state_path(out, &self.plate);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let json = serde_json::to_string(self).map_err(std::io::Error::other)?;
        let mut f = AtomicFile::create(&path)?;
        f.write_all(json.as_bytes())?;
        f.commit()
    }
}
