//! Reading a previous export back for a refresh: its compounds, the Cell Painting rejects it
//! carried, its snapshot of the ChEMBL rows the rules saw (`inputs/`), every task's counts
//! (`state/task_counts`), and its kept tasks and labels. What it returns is what the build that
//! wrote the export held in memory at its end, so a refresh can continue from there.

use std::collections::BTreeMap;
use std::path::Path;

use crate::export::label_export::TASK_COUNTS;
use crate::export::label_tables::{
    self, Columns, LabelEntry, LabelTable, MatchRow, ReadTableError, RejectRow, TaskRow,
};
use crate::labels::compounds::Compounds;
use crate::labels::records::{Activity, Comment, Label, LabelValue, Task, TaskKind};
use crate::pipeline::hundredths;

/// Errors reading a previous export.
#[derive(Debug, thiserror::Error)]
pub enum PreviousError {
    /// A table could not be read.
    #[error(transparent)]
    Read(#[from] ReadTableError),
    /// A table's content is not what the export format promises.
    #[error("{path}: {reason}")]
    Invalid {
        /// The table.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// A previous export, as a refresh needs it.
#[derive(Debug, Clone, Default)]
pub struct Previous {
    /// Compounds.
    pub compounds: Compounds,
    /// Rejects from the Cell Painting side (carried over unchanged).
    pub cellpainting_rejects: Vec<RejectRow>,
    /// Matches used.
    pub matches: Vec<MatchRow>,
    /// Activities the rules saw, sorted by activity_id.
    pub activities: Vec<Activity>,
    /// Every task with a label: (actives, inactives).
    pub task_counts: BTreeMap<Task, (u32, u32)>,
    /// Kept tasks, as written.
    pub tasks: Vec<TaskRow>,
    /// Labels, as written.
    pub label_table: LabelTable,
    /// The same labels as records, sorted (each once).
    pub labels: Vec<Label>,
}

fn invalid(path: &Path, reason: impl Into<String>) -> PreviousError {
    PreviousError::Invalid {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

fn task_of(
    path: &Path,
    assay_id: i64,
    kind: &str,
    threshold: Option<f64>,
) -> Result<Task, PreviousError> {
    let assay_id = u32::try_from(assay_id)
        .map_err(|_| invalid(path, format!("assay_id {assay_id} out of range")))?;
    let kind = match (kind, threshold) {
        ("comment", None) => TaskKind::Comment,
        ("pchembl", Some(t)) => TaskKind::Threshold(
            hundredths(t)
                .ok_or_else(|| invalid(path, format!("threshold {t} is not in hundredths")))?,
        ),
        _ => {
            return Err(invalid(
                path,
                format!("task kind {kind:?} with threshold {threshold:?}"),
            ));
        }
    };
    Ok(Task { assay_id, kind })
}

/// Reads `dir` (an export whose manifest has been verified).
pub fn read_previous(dir: &Path) -> Result<Previous, PreviousError> {
    let compounds = read_compounds(dir)?;
    let mut p = read_rest(dir, &compounds)?;
    p.compounds = compounds;
    Ok(p)
}

/// Reads the compounds of `dir`.
pub fn read_compounds(dir: &Path) -> Result<Compounds, PreviousError> {
    let mut compounds = Compounds::default();
    let path = dir.join("compounds.parquet");
    let name = path.display().to_string();
    for batch in label_tables::read_table(&path)? {
        let cols = Columns::new(&name, &batch);
        let (keys, smiles, samples) = (
            cols.utf8("inchikey")?,
            cols.utf8("smiles")?,
            cols.list("broad_samples")?,
        );
        for i in 0..batch.num_rows() {
            compounds.keys.push(keys.value(i).to_string());
            compounds.smiles.push(smiles.value(i).to_string());
            compounds
                .broad_samples
                .push(label_tables::list_strings(samples, i));
        }
    }
    if compounds.keys.windows(2).any(|w| w[0] >= w[1]) {
        return Err(invalid(&path, "compounds are not sorted by InChIKey"));
    }
    Ok(compounds)
}

/// Reads everything of `dir` but its compounds (`compounds`, read before; the result's
/// `compounds` is left empty for the caller to fill).
pub fn read_rest(dir: &Path, compounds: &Compounds) -> Result<Previous, PreviousError> {
    let mut p = Previous::default();

    let path = dir.join("rejects.parquet");
    let name = path.display().to_string();
    for batch in label_tables::read_table(&path)? {
        let cols = Columns::new(&name, &batch);
        let (source, record, reason) = (
            cols.utf8("source")?,
            cols.utf8("record")?,
            cols.utf8("reason")?,
        );
        for i in 0..batch.num_rows() {
            if source.value(i).starts_with("cellpainting:") {
                p.cellpainting_rejects.push(RejectRow {
                    source: source.value(i).to_string(),
                    record: record.value(i).to_string(),
                    reason: reason.value(i).to_string(),
                });
            }
        }
    }

    let path = dir.join("inputs/matches.parquet");
    let name = path.display().to_string();
    for batch in label_tables::read_table(&path)? {
        let cols = Columns::new(&name, &batch);
        let (k, m) = (cols.utf8("inchikey")?, cols.int64("molregno")?);
        for i in 0..batch.num_rows() {
            p.matches.push(MatchRow {
                inchikey: k.value(i).to_string(),
                molregno: m.value(i),
            });
        }
    }

    let path = dir.join("inputs/activities.parquet");
    let name = path.display().to_string();
    let batches = label_tables::read_table_dictionaries(&path, &["comment"])?;
    // Sized once: growing a million-row vector copies it and faults in fresh pages each time.
    p.activities
        .reserve_exact(batches.iter().map(|b| b.num_rows()).sum());
    let mut first_row = 0;
    for batch in batches {
        let c = Columns::new(&name, &batch);
        let (act, mol, assay) = (
            c.int64("activity_id")?,
            c.int64("molregno")?,
            c.int64("assay_id")?,
        );
        let (valid, numeric, pchembl, comment) = (
            c.boolean("valid")?,
            c.boolean("numeric_type")?,
            c.float64("pchembl_value")?,
            c.dictionary("comment")?,
        );
        let comment_of: Vec<Option<Comment>> = comment
            .values
            .iter()
            .map(label_tables::comment_of)
            .collect();
        for i in 0..batch.num_rows() {
            let bad = |what: &str| invalid(&path, format!("row {}: {what}", first_row + i));
            p.activities.push(Activity {
                activity_id: u64::try_from(act.value(i)).map_err(|_| bad("activity_id"))?,
                molregno: u64::try_from(mol.value(i)).map_err(|_| bad("molregno"))?,
                assay_id: u32::try_from(assay.value(i)).map_err(|_| bad("assay_id"))?,
                valid: valid.value(i),
                numeric_type: numeric.value(i),
                pchembl: match label_tables::opt_f64(pchembl, i) {
                    Some(x) => Some(hundredths(x).ok_or_else(|| bad("pchembl_value"))?),
                    None => None,
                },
                comment: match comment.key(i) {
                    None => Comment::None,
                    Some(k) => comment_of
                        .get(k)
                        .copied()
                        .flatten()
                        .ok_or_else(|| bad("comment"))?,
                },
            });
        }
        first_row += batch.num_rows();
    }
    if p.activities
        .windows(2)
        .any(|w| w[0].activity_id >= w[1].activity_id)
    {
        return Err(invalid(&path, "activities are not sorted by activity_id"));
    }

    let path = dir.join(TASK_COUNTS);
    let name = path.display().to_string();
    for batch in label_tables::read_table(&path)? {
        let c = Columns::new(&name, &batch);
        let (assay, kind, threshold) = (
            c.int64("assay_id")?,
            c.utf8("kind")?,
            c.float64("threshold")?,
        );
        let (a, n) = (c.uint32("n_active")?, c.uint32("n_inactive")?);
        for i in 0..batch.num_rows() {
            let task = task_of(
                &path,
                assay.value(i),
                kind.value(i),
                label_tables::opt_f64(threshold, i),
            )?;
            p.task_counts.insert(task, (a.value(i), n.value(i)));
        }
    }

    let path = dir.join("tasks.parquet");
    let name = path.display().to_string();
    let mut task_by_id: BTreeMap<String, Task> = BTreeMap::new();
    for batch in label_tables::read_table(&path)? {
        let c = Columns::new(&name, &batch);
        let (id, chembl, assay, kind) = (
            c.utf8("task_id")?,
            c.utf8("assay_chembl_id")?,
            c.int64("assay_id")?,
            c.utf8("kind")?,
        );
        let (threshold, na, ni, ty) = (
            c.float64("threshold")?,
            c.uint32("n_active")?,
            c.uint32("n_inactive")?,
            c.utf8("assay_type")?,
        );
        let (conf, tid, tname, desc) = (
            c.int64("confidence_score")?,
            c.utf8("target_chembl_id")?,
            c.utf8("target_name")?,
            c.utf8("description")?,
        );
        for i in 0..batch.num_rows() {
            let threshold = label_tables::opt_f64(threshold, i);
            let task = task_of(&path, assay.value(i), kind.value(i), threshold)?;
            task_by_id.insert(id.value(i).to_string(), task);
            p.tasks.push(TaskRow {
                task_id: id.value(i).to_string(),
                assay_chembl_id: chembl.value(i).to_string(),
                assay_id: assay.value(i),
                kind: kind.value(i).to_string(),
                threshold,
                n_active: na.value(i),
                n_inactive: ni.value(i),
                assay_type: ty.value(i).to_string(),
                confidence_score: label_tables::opt_i64(conf, i),
                target_chembl_id: label_tables::opt_str(tid, i),
                target_name: label_tables::opt_str(tname, i),
                description: desc.value(i).to_string(),
            });
        }
    }

    let mut task_ids: Vec<String> = task_by_id.keys().cloned().collect();
    task_ids.sort();
    let task_index: crate::fast_hash::FastMap<&str, u32> = task_ids
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i as u32))
        .collect();
    let mut shards: Vec<std::path::PathBuf> = std::fs::read_dir(dir.join("labels"))
        .map_err(|source| ReadTableError::Io {
            path: dir.join("labels").display().to_string(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    shards.sort();
    let shard_batches = shards
        .into_iter()
        .map(|path| {
            let batches = label_tables::read_table_dictionaries(&path, &["inchikey", "task_id"])?;
            Ok((batches, path))
        })
        .collect::<Result<Vec<_>, PreviousError>>()?;
    let mut rows: Vec<LabelEntry> = Vec::with_capacity(
        shard_batches
            .iter()
            .flat_map(|(b, _)| b.iter().map(|b| b.num_rows()))
            .sum(),
    );
    let (mut compound_memo, mut task_memo) = (DictionaryIds::default(), DictionaryIds::default());
    for (batches, path) in shard_batches {
        let name = path.display().to_string();
        for batch in batches {
            let c = Columns::new(&name, &batch);
            let (k, t, l, n, m) = (
                c.dictionary("inchikey")?,
                c.dictionary("task_id")?,
                c.int8("label")?,
                c.uint32("n_measurements")?,
                c.float64("median_pchembl")?,
            );
            // Each distinct key and task id is looked up once per dictionary (batches of a
            // column chunk share theirs).
            let compound_of = compound_memo.ids(&k, |v| compounds.id(v));
            let task_of_value = task_memo.ids(&t, |v| task_index.get(v).copied());
            let unknown =
                |what: &str, col: &label_tables::DictionaryColumn<'_>, key: Option<usize>| {
                    let value = key
                        .filter(|&k| k < arrow_array::Array::len(col.values))
                        .map_or("(null)", |k| col.values.value(k));
                    invalid(&path, format!("unknown {what} {value}"))
                };
            for i in 0..batch.num_rows() {
                let (ck, tk) = (k.key(i), t.key(i));
                let compound = ck
                    .and_then(|x| compound_of.get(x).copied().flatten())
                    .ok_or_else(|| unknown("compound", &k, ck))?;
                let task = tk
                    .and_then(|x| task_of_value.get(x).copied().flatten())
                    .ok_or_else(|| unknown("task", &t, tk))?;
                let median2 = match label_tables::opt_f64(m, i) {
                    Some(x) => Some(
                        hundredths(x * 2.0).ok_or_else(|| invalid(&path, format!("median {x}")))?,
                    ),
                    None => None,
                };
                rows.push(LabelEntry {
                    compound,
                    task,
                    label: l.value(i),
                    n_measurements: n.value(i),
                    median2,
                });
            }
        }
    }
    // Each shard is sorted by (InChIKey, task id): a stable sort merges the runs.
    rows.sort_by_key(|e| (e.compound, e.task));
    let task_of: Vec<Task> = task_ids.iter().map(|id| task_by_id[id]).collect();
    let mut labels: Vec<Label> = rows
        .iter()
        .map(|e| Label {
            compound: e.compound,
            task: task_of[e.task as usize],
            value: LabelValue {
                label: e.label,
                measurements: e.n_measurements,
                median2: e.median2,
            },
        })
        .collect();
    // In compound order already; ordering each compound's run by task puts them in set order.
    for run in labels.chunk_by_mut(|a, b| a.compound == b.compound) {
        run.sort_unstable();
    }
    labels.dedup();
    p.labels = labels;
    p.label_table = LabelTable {
        inchikeys: compounds.keys.clone(),
        task_ids,
        rows,
    };
    Ok(p)
}

/// The id of every value of the last dictionary seen, so that batches sharing a dictionary
/// (those of one column chunk) look its values up once.
#[derive(Default)]
struct DictionaryIds {
    /// The dictionary's values: held (a reference-counted clone), so that their buffer cannot
    /// be freed and its address given to another dictionary while it names this one.
    values: Option<arrow_array::StringArray>,
    /// Their ids.
    ids: Vec<Option<u32>>,
}

impl DictionaryIds {
    fn ids(
        &mut self,
        column: &label_tables::DictionaryColumn<'_>,
        id: impl Fn(&str) -> Option<u32>,
    ) -> &[Option<u32>] {
        let same = |a: &arrow_array::StringArray, b: &arrow_array::StringArray| {
            std::ptr::eq(a.value_offsets().as_ptr(), b.value_offsets().as_ptr())
                && a.value_data().as_ptr() == b.value_data().as_ptr()
                && arrow_array::Array::len(a) == arrow_array::Array::len(b)
        };
        if !self.values.as_ref().is_some_and(|v| same(v, column.values)) {
            self.ids = column.values.iter().map(|v| v.and_then(&id)).collect();
            self.values = Some(column.values.clone());
        }
        &self.ids
    }
}
