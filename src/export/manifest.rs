//! `manifest.json`: what an export holds (every file with its blake3 hash, size and row count),
//! what it was made from (input fingerprints, ChEMBL release, pipeline hash) and by what (tool
//! version). Written last, so a directory without a manifest is never a complete export.
//!
//! The manifest holds no timestamps and no absolute paths: the same inputs give the same bytes.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::atomic_file::AtomicFile;

/// Name of the manifest file in an export directory.
pub const MANIFEST: &str = "manifest.json";

/// Format tag of label exports.
pub const LABEL_EXPORT_FORMAT: &str = "assayflow-label-export/1";

/// A file of the export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path relative to the export directory, with `/`.
    pub path: String,
    /// blake3 of the bytes, hex.
    pub blake3: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Rows, for tables.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rows: Option<u64>,
}

/// The pipeline an export was made with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineRef {
    /// `[pipeline] name`.
    pub name: String,
    /// blake3 of the pipeline file's text.
    pub blake3: String,
}

/// What the export was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    /// The Cell Painting metadata files (relative to the metadata directory).
    pub cellpainting: Vec<FileEntry>,
    /// The ChEMBL release number.
    pub chembl_release: String,
    /// blake3 over the ChEMBL rows used (the `inputs/` snapshot tables).
    pub chembl_snapshot: String,
}

/// A label export's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format tag.
    pub format: String,
    /// `assayflow <version>`.
    pub tool: String,
    /// The pipeline.
    pub pipeline: PipelineRef,
    /// The inputs.
    pub inputs: Inputs,
    /// Report counts (rows read, matched, rejected, excluded...).
    pub stats: BTreeMap<String, u64>,
    /// Every file, sorted by path.
    pub files: Vec<FileEntry>,
}

/// Errors reading or checking a manifest.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Unreadable.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Not a manifest.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: String,
        /// The cause.
        source: serde_json::Error,
    },
    /// A listed file is missing or differs from its hash.
    #[error("export {dir}: {path} {problem}")]
    Mismatch {
        /// The export.
        dir: String,
        /// The file.
        path: String,
        /// What is wrong.
        problem: String,
    },
}

/// Bytes read at a time by [`hash_file`].
pub const DEFAULT_HASH_BUFFER: usize = 1 << 20;

/// blake3 and size of a file.
pub fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    use std::io::Read;
    thread_local! {
        // Large reads: shards are hundreds of MB, and 8 KiB reads cost a system call each. One
        // buffer per thread: a fresh megabyte per file cost a page fault per 4 KiB.
        static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let mut hasher = blake3::Hasher::new();
    let mut file = std::fs::File::open(path)?;
    let mut bytes = 0u64;
    BUFFER.with_borrow_mut(|buf| -> std::io::Result<()> {
        buf.resize(DEFAULT_HASH_BUFFER, 0);
        loop {
            let n = file.read(buf)?;
            if n == 0 {
                return Ok(());
            }
            hasher.update(&buf[..n]);
            bytes += n as u64;
        }
    })?;
    Ok((hasher.finalize().to_hex().to_string(), bytes))
}

/// A manifest entry for a file already written under `dir`.
pub fn entry(dir: &Path, rel: &str, rows: Option<u64>) -> std::io::Result<FileEntry> {
    let (blake3, bytes) = hash_file(&dir.join(rel))?;
    Ok(FileEntry {
        path: rel.to_string(),
        blake3,
        bytes,
        rows,
    })
}

impl Manifest {
    /// Reads `dir/manifest.json`.
    pub fn load(dir: &Path) -> Result<Manifest, ManifestError> {
        let path = dir.join(MANIFEST);
        let name = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|source| ManifestError::Io {
            path: name.clone(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| ManifestError::Json { path: name, source })
    }

    /// Writes `dir/manifest.json` atomically (pretty, sorted, newline-terminated).
    pub fn write(&self, dir: &Path) -> Result<(), ManifestError> {
        let path = dir.join(MANIFEST);
        let io = |source| ManifestError::Io {
            path: path.display().to_string(),
            source,
        };
        let json = serde_json::to_string_pretty(self).map_err(|source| ManifestError::Json {
            path: path.display().to_string(),
            source,
        })?;
        let mut f = AtomicFile::create(&path).map_err(io)?;
        f.write_all(json.as_bytes()).map_err(io)?;
        f.write_all(b"\n").map_err(io)?;
        f.commit().map_err(io)
    }

    /// Checks that every listed file exists with its hash.
    pub fn verify(&self, dir: &Path) -> Result<(), ManifestError> {
        for f in &self.files {
            let (hash, bytes) =
                hash_file(&dir.join(&f.path)).map_err(|e| ManifestError::Mismatch {
                    dir: dir.display().to_string(),
                    path: f.path.clone(),
                    problem: format!("cannot be read: {e}"),
                })?;
            if hash != f.blake3 || bytes != f.bytes {
                return Err(ManifestError::Mismatch {
                    dir: dir.display().to_string(),
                    path: f.path.clone(),
                    problem: "differs from its manifest hash".into(),
                });
            }
        }
        Ok(())
    }

    /// The entry of `path`, if listed.
    pub fn file(&self, path: &str) -> Option<&FileEntry> {
        self.files.iter().find(|f| f.path == path)
    }
}
