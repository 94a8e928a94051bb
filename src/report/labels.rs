//! The label export a run trained on, as the report needs it: every kept task with its
//! labelled-compound counts (`tasks.parquet`) and every (compound, task) label
//! (`labels/*.parquet`), plus the identity of the export (the blake3 of its `manifest.json`) so
//! that runs trained on different exports are not compared.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::ReportError;
use crate::export::label_tables::{Columns, read_table};

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
    let path = dir.join("tasks.parquet");
    let name = path.display().to_string();
    for batch in read_table(&path)? {
        let c = Columns::new(&name, &batch);
        let (id, na, ni) = (
            c.utf8("task_id")?,
            c.uint32("n_active")?,
            c.uint32("n_inactive")?,
        );
        for i in 0..batch.num_rows() {
            out.task_counts
                .insert(id.value(i).to_string(), (na.value(i), ni.value(i)));
        }
    }
    let label_dir = dir.join("labels");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&label_dir)
        .map_err(|source| ReportError::Io {
            path: label_dir.display().to_string(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    files.sort();
    for path in files {
        let name = path.display().to_string();
        for batch in read_table(&path)? {
            let c = Columns::new(&name, &batch);
            let (key, task, label) = (c.utf8("inchikey")?, c.utf8("task_id")?, c.int8("label")?);
            for i in 0..batch.num_rows() {
                let active = match label.value(i) {
                    1 => true,
                    -1 => false,
                    l => {
                        return Err(ReportError::Invalid {
                            path: name.clone(),
                            reason: format!("row {i}: label {l} is neither +1 nor -1"),
                        });
                    }
                };
                out.labels.insert(
                    (key.value(i).to_string(), task.value(i).to_string()),
                    active,
                );
            }
        }
    }
    Ok(out)
}
