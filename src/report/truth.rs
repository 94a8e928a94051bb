//! The planted truth of a generated world (`assayflow synth world`, its `truth/` directory;
//! schemas `data-schemas/synth_truth_*.toml`): which hidden mechanism each screening assay
//! reads out, and what that mechanism does to cells. A task whose assay is a screening assay
//! inherits its mechanism's phenotype (`global`, `sparse`, `cell_count`, `invisible`); tasks of
//! filler assays read out no mechanism (`none`): their labels carry no image signal.

use std::collections::HashMap;
use std::path::Path;

use super::ReportError;
use crate::export::label_tables::{Columns, opt_str, read_table};

/// What a mechanism does to cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Mechanism {
    /// M01, M02, ...
    pub id: String,
    /// The biology it stands for.
    pub name: String,
    /// global, sparse, cell_count or invisible.
    pub phenotype: String,
    /// The channel that changes.
    pub channel: Option<String>,
    /// How it changes.
    pub effect: Option<String>,
    /// Fraction of cells that change.
    pub cell_fraction: f64,
}

/// A world's truth.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    /// Assay CHEMBL id -> mechanism id.
    pub assay_mechanism: HashMap<String, String>,
    /// Mechanism id -> mechanism.
    pub mechanisms: HashMap<String, Mechanism>,
}

/// The phenotype class of a task without a mechanism.
pub const NO_MECHANISM: &str = "none";

impl Truth {
    /// The mechanism a task reads out (its id is `<assay chembl_id>:<rule>`).
    pub fn mechanism(&self, task_id: &str) -> Option<&Mechanism> {
        let assay = task_id.split(':').next().unwrap_or(task_id);
        self.assay_mechanism
            .get(assay)
            .and_then(|m| self.mechanisms.get(m))
    }

    /// The phenotype class of a task.
    pub fn phenotype(&self, task_id: &str) -> &str {
        self.mechanism(task_id)
            .map_or(NO_MECHANISM, |m| m.phenotype.as_str())
    }
}

/// Reads `truth/` of a generated world.
pub fn read_truth(dir: &Path) -> Result<Truth, ReportError> {
    let mut truth = Truth::default();
    let path = dir.join("screening_assays.parquet");
    let name = path.display().to_string();
    for batch in read_table(&path)? {
        let c = Columns::new(&name, &batch);
        let (assay, mechanism) = (c.utf8("chembl_id")?, c.utf8("mechanism")?);
        for i in 0..batch.num_rows() {
            truth
                .assay_mechanism
                .insert(assay.value(i).to_string(), mechanism.value(i).to_string());
        }
    }
    let path = dir.join("mechanisms.parquet");
    let name = path.display().to_string();
    for batch in read_table(&path)? {
        let c = Columns::new(&name, &batch);
        let (id, label, phenotype, channel, effect, fraction) = (
            c.utf8("mechanism")?,
            c.utf8("name")?,
            c.utf8("phenotype")?,
            c.utf8("channel")?,
            c.utf8("effect")?,
            c.float64("cell_fraction")?,
        );
        for i in 0..batch.num_rows() {
            truth.mechanisms.insert(
                id.value(i).to_string(),
                Mechanism {
                    id: id.value(i).to_string(),
                    name: label.value(i).to_string(),
                    phenotype: phenotype.value(i).to_string(),
                    channel: opt_str(channel, i),
                    effect: opt_str(effect, i),
                    cell_fraction: fraction.value(i),
                },
            );
        }
    }
    Ok(truth)
}
