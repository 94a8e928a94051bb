//! The label export a run trained on, as the report needs it: every kept task with its
//! labelled-compound counts (`tasks.parquet`) and every (compound, task) label
//! (`labels/*.parquet`), plus the identity of the export (the blake3 of its `manifest.json`) so
//! that runs trained on different exports are not compared.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::ReportError;
use crate::export::label_tables::read_export_labels;

/// A label export, read.
#[derive(Debug, Clone, Default)]
pub struct Labels {
    /// The export directory.
    pub dir: PathBuf,
    /// blake3 of `manifest.json`, hex.
    pub manifest_blake3: String,
    /// Task id -> (actives, inactives) among the export's compounds.
    pub task_counts: HashMap<String, (u32, u32)>,
    /// (InChIKey, task id) -> active?
    pub labels: HashMap<(String, String), bool>,
}

impl Labels {
    /// The label of a compound in a task, if any.
    pub fn label(&self, inchikey: &str, task: &str) -> Option<bool> {
        self.labels
            .get(&(inchikey.to_string(), task.to_string()))
            .copied()
    }
}

/// Reads the export in `dir`.
pub fn read_labels(dir: &Path) -> Result<Labels, ReportError> {
    let manifest = dir.join("manifest.json");
    let bytes = std::fs::read(&manifest).map_err(|source| ReportError::Io {
        path: manifest.display().to_string(),
        source,
    })?;
    let mut out = Labels {
        dir: dir.to_path_buf(),
        manifest_blake3: blake3::hash(&bytes).to_hex().to_string(),
        ..Labels::default()
    };
    let (tasks, labels) = read_export_labels(dir)?;
    for l in labels {
        out.labels
            .insert((l.inchikey, tasks[l.task].task_id.clone()), l.label == 1);
    }
    out.task_counts = tasks
        .into_iter()
        .map(|t| (t.task_id, (t.n_active, t.n_inactive)))
        .collect();
    Ok(out)
}
