//! The tables of a label export, as rows and as Arrow record batches: `compounds`, `tasks`,
//! `labels` (sharded), `rejects`, `match_report`, `changelog`, and the ChEMBL input snapshot
//! (`inputs/activities`, `inputs/matches`, `inputs/assays`) with the per-task counts a refresh
//! starts from (`state/task_counts`). Each has a contract in
//! `data-schemas/` under the same name; [`read_table`] reads one back.

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int8Builder, Int64Builder, ListBuilder, StringBuilder,
    UInt32Builder, UInt64Builder,
};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int8Array, Int64Array, ListArray, RecordBatch,
    StringArray, UInt32Array, UInt64Array,
};
use arrow_schema::{ArrowError, DataType, Field, Schema};

use crate::labels::records::{Activity, Comment, Task, TaskKind};
use crate::sources::chembl::AssayInfo;

/// A compound of the Cell Painting set with a standard InChIKey.
#[derive(Debug, Clone, PartialEq)]
pub struct CompoundRow {
    /// Standard InChIKey (the compound's identity).
    pub inchikey: String,
    /// The SMILES it was keyed from (of its first broad_sample).
    pub smiles: String,
    /// Every Cell Painting sample with this key, sorted.
    pub broad_samples: Vec<String>,
    /// `train`, `valid` or `test`.
    pub split: String,
    /// The match level that found ChEMBL molecules, if any.
    pub match_level: Option<String>,
    /// ChEMBL ids of the molecules found.
    pub chembl_ids: Vec<String>,
    /// Their molregnos.
    pub molregnos: Vec<i64>,
    /// Labels in kept tasks.
    pub n_labels: u32,
}

/// A kept task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRow {
    /// `<assay chembl_id>:pchembl>=<t>` or `<assay chembl_id>:comment`.
    pub task_id: String,
    /// The assay's CHEMBL id.
    pub assay_chembl_id: String,
    /// The assay's integer id.
    pub assay_id: i64,
    /// `pchembl` or `comment`.
    pub kind: String,
    /// The threshold of a `pchembl` task.
    pub threshold: Option<f64>,
    /// Active compounds.
    pub n_active: u32,
    /// Inactive compounds.
    pub n_inactive: u32,
    /// ChEMBL assay type.
    pub assay_type: String,
    /// ChEMBL confidence score.
    pub confidence_score: Option<i64>,
    /// Target CHEMBL id.
    pub target_chembl_id: Option<String>,
    /// Target name.
    pub target_name: Option<String>,
    /// Assay description.
    pub description: String,
}

/// One label.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelRow {
    /// Compound.
    pub inchikey: String,
    /// Task.
    pub task_id: String,
    /// +1 active, -1 inactive.
    pub label: i8,
    /// Measurements behind it.
    pub n_measurements: u32,
    /// Median pChEMBL of a numeric task.
    pub median_pchembl: Option<f64>,
}

/// One label of a [`LabelTable`]: ids into the table's compound and task names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LabelEntry {
    /// Index into [`LabelTable::inchikeys`].
    pub compound: u32,
    /// Index into [`LabelTable::task_ids`].
    pub task: u32,
    /// +1 active, -1 inactive.
    pub label: i8,
    /// Measurements behind it.
    pub n_measurements: u32,
    /// Twice the median pChEMBL in hundredths (numeric tasks).
    pub median2: Option<i32>,
}

/// The labels of an export, compactly: names once, rows as ids. Rows are sorted by (InChIKey,
/// task id), which is (compound, task) order because both name lists are sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelTable {
    /// Compound InChIKeys, sorted (every compound of the export, labelled or not).
    pub inchikeys: Vec<String>,
    /// Task ids, sorted.
    pub task_ids: Vec<String>,
    /// The labels, sorted.
    pub rows: Vec<LabelEntry>,
}

impl LabelTable {
    /// Row `i` with its names.
    pub fn row(&self, i: usize) -> Option<LabelRow> {
        let e = self.rows.get(i)?;
        Some(LabelRow {
            inchikey: self.inchikeys.get(e.compound as usize)?.clone(),
            task_id: self.task_ids.get(e.task as usize)?.clone(),
            label: e.label,
            n_measurements: e.n_measurements,
            median_pchembl: e.median2.map(|m| f64::from(m) / 200.0),
        })
    }

    /// The InChIKey of a row.
    pub fn inchikey(&self, e: &LabelEntry) -> &str {
        self.inchikeys
            .get(e.compound as usize)
            .map_or("", String::as_str)
    }

    /// The task id of a row.
    pub fn task_id(&self, e: &LabelEntry) -> &str {
        self.task_ids
            .get(e.task as usize)
            .map_or("", String::as_str)
    }

    /// Whether rows `a` of `self` and `b` of `other` say the same (names and values).
    pub fn same_row(&self, a: &LabelEntry, other: &LabelTable, b: &LabelEntry) -> bool {
        a.label == b.label
            && a.n_measurements == b.n_measurements
            && a.median2 == b.median2
            && self.inchikey(a) == other.inchikey(b)
            && self.task_id(a) == other.task_id(b)
    }
}

/// A record that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RejectRow {
    /// Where it came from (`platemap/X.txt`, `activities.pchembl_value`...).
    pub source: String,
    /// Which record (`line 12`, `activity_id=5`, a broad_sample...).
    pub record: String,
    /// Why.
    pub reason: String,
}

/// How many compounds each match level finds.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchReportRow {
    /// `full`, `first_block` or `parent`.
    pub level: String,
    /// Compounds with a standard InChIKey.
    pub compounds: u64,
    /// Compounds with at least one ChEMBL molecule at this level.
    pub matched: u64,
    /// Distinct ChEMBL molecules found.
    pub molecules: u64,
    /// The level the labels use.
    pub used: bool,
}

/// A change a refresh made.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChangeRow {
    /// `label_added`, `label_removed`, `label_flipped`, `task_added`, `task_removed`.
    pub change: String,
    /// Compound (label changes).
    pub inchikey: Option<String>,
    /// Task.
    pub task_id: String,
    /// Label before.
    pub old_label: Option<i8>,
    /// Label after.
    pub new_label: Option<i8>,
}

/// A matched molecule (snapshot of the match input).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MatchRow {
    /// Compound.
    pub inchikey: String,
    /// ChEMBL molecule.
    pub molregno: i64,
}

fn field(name: &str, data_type: DataType, nullable: bool) -> Field {
    Field::new(name, data_type, nullable)
}

fn list_of(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", item, true)))
}

/// Schema of `compounds`.
pub fn compounds_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        field("inchikey", DataType::Utf8, false),
        field("smiles", DataType::Utf8, false),
        field("broad_samples", list_of(DataType::Utf8), false),
        field("split", DataType::Utf8, false),
        field("match_level", DataType::Utf8, true),
        field("chembl_ids", list_of(DataType::Utf8), false),
        field("molregnos", list_of(DataType::Int64), false),
        field("n_labels", DataType::UInt32, false),
    ]))
}

/// Schema of `tasks`.
pub fn tasks_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        field("task_id", DataType::Utf8, false),
        field("assay_chembl_id", DataType::Utf8, false),
        field("assay_id", DataType::Int64, false),
        field("kind", DataType::Utf8, false),
        field("threshold", DataType::Float64, true),
        field("n_active", DataType::UInt32, false),
        field("n_inactive", DataType::UInt32, false),
        field("assay_type", DataType::Utf8, false),
        field("confidence_score", DataType::Int64, true),
        field("target_chembl_id", DataType::Utf8, true),
        field("target_name", DataType::Utf8, true),
        field("description", DataType::Utf8, false),
    ]))
}

/// Schema of `labels`.
pub fn labels_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        field("inchikey", DataType::Utf8, false),
        field("task_id", DataType::Utf8, false),
        field("label", DataType::Int8, false),
        field("n_measurements", DataType::UInt32, false),
        field("median_pchembl", DataType::Float64, true),
    ]))
}

/// Schema of `rejects`.
pub fn rejects_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        field("source", DataType::Utf8, false),
        field("record", DataType::Utf8, false),
        field("reason", DataType::Utf8, false),
    ]))
}

/// Schema of `match_report`.
pub fn match_report_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        field("level", DataType::Utf8, false),
        field("compounds", DataType::UInt64, false),
        field("matched", DataType::UInt64, false),
        field("molecules", DataType::UInt64, false),
        field("used", DataType::Boolean, false),
    ]))
}

/// Schema of `changelog`.
pub fn changelog_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        field("change", DataType::Utf8, false),
        field("inchikey", DataType::Utf8, true),
        field("task_id", DataType::Utf8, false),
        field("old_label", DataType::Int8, true),
        field("new_label", DataType::Int8, true),
    ]))
}

/// Schema of `inputs/activities`.
pub fn input_activities_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        field("activity_id", DataType::Int64, false),
        field("molregno", DataType::Int64, false),
        field("assay_id", DataType::Int64, false),
        field("valid", DataType::Boolean, false),
        field("numeric_type", DataType::Boolean, false),
        field("pchembl_value", DataType::Float64, true),
        field("comment", DataType::Utf8, true),
    ]))
}

/// Schema of `state/task_counts`.
pub fn task_counts_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        field("assay_id", DataType::Int64, false),
        field("kind", DataType::Utf8, false),
        field("threshold", DataType::Float64, true),
        field("n_active", DataType::UInt32, false),
        field("n_inactive", DataType::UInt32, false),
    ]))
}

/// Schema of `inputs/matches`.
pub fn input_matches_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        field("inchikey", DataType::Utf8, false),
        field("molregno", DataType::Int64, false),
    ]))
}

/// Schema of `inputs/assays`.
pub fn input_assays_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        field("assay_id", DataType::Int64, false),
        field("chembl_id", DataType::Utf8, false),
        field("description", DataType::Utf8, false),
        field("assay_type", DataType::Utf8, false),
        field("confidence_score", DataType::Int64, true),
        field("target_chembl_id", DataType::Utf8, true),
        field("target_name", DataType::Utf8, true),
    ]))
}

fn strings<'a>(values: impl Iterator<Item = &'a str>) -> ArrayRef {
    let mut b = StringBuilder::new();
    for v in values {
        b.append_value(v);
    }
    Arc::new(b.finish())
}

fn opt_strings<'a>(values: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    let mut b = StringBuilder::new();
    for v in values {
        b.append_option(v);
    }
    Arc::new(b.finish())
}

fn string_lists<'a>(values: impl Iterator<Item = &'a [String]>) -> ArrayRef {
    let mut b = ListBuilder::new(StringBuilder::new());
    for list in values {
        for s in list {
            b.values().append_value(s);
        }
        b.append(true);
    }
    Arc::new(b.finish())
}

fn int_lists<'a>(values: impl Iterator<Item = &'a [i64]>) -> ArrayRef {
    let mut b = ListBuilder::new(Int64Builder::new());
    for list in values {
        for &x in list {
            b.values().append_value(x);
        }
        b.append(true);
    }
    Arc::new(b.finish())
}

fn u32s(values: impl Iterator<Item = u32>) -> ArrayRef {
    let mut b = UInt32Builder::new();
    for v in values {
        b.append_value(v);
    }
    Arc::new(b.finish())
}

fn u64s(values: impl Iterator<Item = u64>) -> ArrayRef {
    let mut b = UInt64Builder::new();
    for v in values {
        b.append_value(v);
    }
    Arc::new(b.finish())
}

fn i64s(values: impl Iterator<Item = i64>) -> ArrayRef {
    let mut b = Int64Builder::new();
    for v in values {
        b.append_value(v);
    }
    Arc::new(b.finish())
}

fn opt_i64s(values: impl Iterator<Item = Option<i64>>) -> ArrayRef {
    let mut b = Int64Builder::new();
    for v in values {
        b.append_option(v);
    }
    Arc::new(b.finish())
}

fn opt_f64s(values: impl Iterator<Item = Option<f64>>) -> ArrayRef {
    let mut b = Float64Builder::new();
    for v in values {
        b.append_option(v);
    }
    Arc::new(b.finish())
}

fn opt_i8s(values: impl Iterator<Item = Option<i8>>) -> ArrayRef {
    let mut b = Int8Builder::new();
    for v in values {
        b.append_option(v);
    }
    Arc::new(b.finish())
}

fn bools(values: impl Iterator<Item = bool>) -> ArrayRef {
    let mut b = BooleanBuilder::new();
    for v in values {
        b.append_value(v);
    }
    Arc::new(b.finish())
}

/// `compounds` rows as a batch.
pub fn compounds_batch(rows: &[CompoundRow]) -> Result<RecordBatch, ArrowError> {
    RecordBatch::try_new(
        compounds_schema(),
        vec![
            strings(rows.iter().map(|r| r.inchikey.as_str())),
            strings(rows.iter().map(|r| r.smiles.as_str())),
            string_lists(rows.iter().map(|r| r.broad_samples.as_slice())),
            strings(rows.iter().map(|r| r.split.as_str())),
            opt_strings(rows.iter().map(|r| r.match_level.as_deref())),
            string_lists(rows.iter().map(|r| r.chembl_ids.as_slice())),
            int_lists(rows.iter().map(|r| r.molregnos.as_slice())),
            u32s(rows.iter().map(|r| r.n_labels)),
        ],
    )
}

/// `tasks` rows as a batch.
pub fn tasks_batch(rows: &[TaskRow]) -> Result<RecordBatch, ArrowError> {
    RecordBatch::try_new(
        tasks_schema(),
        vec![
            strings(rows.iter().map(|r| r.task_id.as_str())),
            strings(rows.iter().map(|r| r.assay_chembl_id.as_str())),
            i64s(rows.iter().map(|r| r.assay_id)),
            strings(rows.iter().map(|r| r.kind.as_str())),
            opt_f64s(rows.iter().map(|r| r.threshold)),
            u32s(rows.iter().map(|r| r.n_active)),
            u32s(rows.iter().map(|r| r.n_inactive)),
            strings(rows.iter().map(|r| r.assay_type.as_str())),
            opt_i64s(rows.iter().map(|r| r.confidence_score)),
            opt_strings(rows.iter().map(|r| r.target_chembl_id.as_deref())),
            opt_strings(rows.iter().map(|r| r.target_name.as_deref())),
            strings(rows.iter().map(|r| r.description.as_str())),
        ],
    )
}

/// Rows `rows` of `table` as a `labels` batch.
pub fn labels_batch(table: &LabelTable, rows: &[usize]) -> Result<RecordBatch, ArrowError> {
    let entries: Vec<&LabelEntry> = rows.iter().filter_map(|&i| table.rows.get(i)).collect();
    let mut label = Int8Builder::new();
    for e in &entries {
        label.append_value(e.label);
    }
    RecordBatch::try_new(
        labels_schema(),
        vec![
            strings(entries.iter().map(|e| table.inchikey(e))),
            strings(entries.iter().map(|e| table.task_id(e))),
            Arc::new(label.finish()),
            u32s(entries.iter().map(|e| e.n_measurements)),
            opt_f64s(
                entries
                    .iter()
                    .map(|e| e.median2.map(|m| f64::from(m) / 200.0)),
            ),
        ],
    )
}

/// `rejects` rows as a batch.
pub fn rejects_batch(rows: &[RejectRow]) -> Result<RecordBatch, ArrowError> {
    RecordBatch::try_new(
        rejects_schema(),
        vec![
            strings(rows.iter().map(|r| r.source.as_str())),
            strings(rows.iter().map(|r| r.record.as_str())),
            strings(rows.iter().map(|r| r.reason.as_str())),
        ],
    )
}

/// `match_report` rows as a batch.
pub fn match_report_batch(rows: &[MatchReportRow]) -> Result<RecordBatch, ArrowError> {
    RecordBatch::try_new(
        match_report_schema(),
        vec![
            strings(rows.iter().map(|r| r.level.as_str())),
            u64s(rows.iter().map(|r| r.compounds)),
            u64s(rows.iter().map(|r| r.matched)),
            u64s(rows.iter().map(|r| r.molecules)),
            bools(rows.iter().map(|r| r.used)),
        ],
    )
}

/// `changelog` rows as a batch.
pub fn changelog_batch(rows: &[ChangeRow]) -> Result<RecordBatch, ArrowError> {
    RecordBatch::try_new(
        changelog_schema(),
        vec![
            strings(rows.iter().map(|r| r.change.as_str())),
            opt_strings(rows.iter().map(|r| r.inchikey.as_deref())),
            strings(rows.iter().map(|r| r.task_id.as_str())),
            opt_i8s(rows.iter().map(|r| r.old_label)),
            opt_i8s(rows.iter().map(|r| r.new_label)),
        ],
    )
}

/// The `comment` column's spelling of a comment class.
pub fn comment_name(c: Comment) -> Option<&'static str> {
    match c {
        Comment::None => None,
        Comment::Active => Some("active"),
        Comment::Inactive => Some("inactive"),
        Comment::Other => Some("other"),
    }
}

/// The comment class a `comment` column value names.
pub fn comment_of(name: Option<&str>) -> Option<Comment> {
    match name {
        None => Some(Comment::None),
        Some("active") => Some(Comment::Active),
        Some("inactive") => Some(Comment::Inactive),
        Some("other") => Some(Comment::Other),
        Some(_) => None,
    }
}

/// `inputs/activities` rows as a batch.
pub fn input_activities_batch(rows: &[Activity]) -> Result<RecordBatch, ArrowError> {
    RecordBatch::try_new(
        input_activities_schema(),
        vec![
            i64s(rows.iter().map(|r| r.activity_id as i64)),
            i64s(rows.iter().map(|r| r.molregno as i64)),
            i64s(rows.iter().map(|r| i64::from(r.assay_id))),
            bools(rows.iter().map(|r| r.valid)),
            bools(rows.iter().map(|r| r.numeric_type)),
            opt_f64s(rows.iter().map(|r| r.pchembl.map(|p| f64::from(p) / 100.0))),
            opt_strings(rows.iter().map(|r| comment_name(r.comment))),
        ],
    )
}

/// `state/task_counts` rows as a batch: every task with a label, (actives, inactives).
pub fn task_counts_batch(rows: &[(Task, (u32, u32))]) -> Result<RecordBatch, ArrowError> {
    RecordBatch::try_new(
        task_counts_schema(),
        vec![
            i64s(rows.iter().map(|(t, _)| i64::from(t.assay_id))),
            strings(rows.iter().map(|(t, _)| match t.kind {
                TaskKind::Threshold(_) => "pchembl",
                TaskKind::Comment => "comment",
            })),
            opt_f64s(rows.iter().map(|(t, _)| match t.kind {
                TaskKind::Threshold(h) => Some(f64::from(h) / 100.0),
                TaskKind::Comment => None,
            })),
            u32s(rows.iter().map(|(_, (a, _))| *a)),
            u32s(rows.iter().map(|(_, (_, i))| *i)),
        ],
    )
}

/// `inputs/matches` rows as a batch.
pub fn input_matches_batch(rows: &[MatchRow]) -> Result<RecordBatch, ArrowError> {
    RecordBatch::try_new(
        input_matches_schema(),
        vec![
            strings(rows.iter().map(|r| r.inchikey.as_str())),
            i64s(rows.iter().map(|r| r.molregno)),
        ],
    )
}

/// `inputs/assays` rows as a batch.
pub fn input_assays_batch(rows: &[AssayInfo]) -> Result<RecordBatch, ArrowError> {
    RecordBatch::try_new(
        input_assays_schema(),
        vec![
            i64s(rows.iter().map(|r| r.assay_id)),
            strings(rows.iter().map(|r| r.chembl_id.as_str())),
            strings(rows.iter().map(|r| r.description.as_str())),
            strings(rows.iter().map(|r| r.assay_type.as_str())),
            opt_i64s(rows.iter().map(|r| r.confidence_score)),
            opt_strings(rows.iter().map(|r| r.target_chembl_id.as_deref())),
            opt_strings(rows.iter().map(|r| r.target_name.as_deref())),
        ],
    )
}

/// Errors reading a table back.
#[derive(Debug, thiserror::Error)]
pub enum ReadTableError {
    /// The file could not be opened.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Not valid Parquet.
    #[error("{path}: {source}")]
    Parquet {
        /// The file.
        path: String,
        /// The cause.
        source: parquet::errors::ParquetError,
    },
    /// A column is missing or has another type.
    #[error("{path}: column {column:?} missing or of an unexpected type")]
    Column {
        /// The file.
        path: String,
        /// The column.
        column: String,
    },
    /// A row breaks the table's contract.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// The row and what is wrong.
        reason: String,
    },
}

/// A kept task of an export, read back: its id and labelled-compound counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportTask {
    /// Task id.
    pub task_id: String,
    /// Actives among all compounds.
    pub n_active: u32,
    /// Inactives.
    pub n_inactive: u32,
}

/// One label of an export, read back.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExportLabel {
    /// Compound.
    pub inchikey: String,
    /// Index into the tasks read with it.
    pub task: usize,
    /// +1 active, -1 inactive.
    pub label: i8,
}

/// Reads the tasks (`tasks.parquet`) and labels (`labels/*.parquet`, files in name order) of the
/// label export in `dir`, for the trainer and the report. A label of a task not in
/// `tasks.parquet`, or a label other than +1/-1, is an error naming the file and row.
pub fn read_export_labels(
    dir: &Path,
) -> Result<(Vec<ExportTask>, Vec<ExportLabel>), ReadTableError> {
    let path = dir.join("tasks.parquet");
    let name = path.display().to_string();
    let mut tasks = Vec::new();
    for batch in read_table(&path)? {
        let c = Columns::new(&name, &batch);
        let (id, na, ni) = (
            c.utf8("task_id")?,
            c.uint32("n_active")?,
            c.uint32("n_inactive")?,
        );
        for i in 0..batch.num_rows() {
            tasks.push(ExportTask {
                task_id: id.value(i).to_string(),
                n_active: na.value(i),
                n_inactive: ni.value(i),
            });
        }
    }
    let task_index: std::collections::HashMap<&str, usize> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.task_id.as_str(), i))
        .collect();
    let label_dir = dir.join("labels");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&label_dir)
        .map_err(|source| ReadTableError::Io {
            path: label_dir.display().to_string(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    files.sort();
    let mut labels = Vec::new();
    for path in files {
        let name = path.display().to_string();
        let mut row = 0usize;
        for batch in read_table(&path)? {
            let c = Columns::new(&name, &batch);
            let (key, task, label) = (c.utf8("inchikey")?, c.utf8("task_id")?, c.int8("label")?);
            for i in 0..batch.num_rows() {
                let invalid = |reason: String| ReadTableError::Invalid {
                    path: name.clone(),
                    reason: format!("row {}: {reason}", row + i),
                };
                let t = *task_index.get(task.value(i)).ok_or_else(|| {
                    invalid(format!("task {} is not in tasks.parquet", task.value(i)))
                })?;
                let l = label.value(i);
                if l != 1 && l != -1 {
                    return Err(invalid(format!("label {l} is neither +1 nor -1")));
                }
                labels.push(ExportLabel {
                    inchikey: key.value(i).to_string(),
                    task: t,
                    label: l,
                });
            }
            row += batch.num_rows();
        }
    }
    Ok((tasks, labels))
}

/// Reads every batch of a Parquet file.
pub fn read_table(path: &Path) -> Result<Vec<RecordBatch>, ReadTableError> {
    read_batches(path, &[], None)
}

/// Rows per batch [`read_table_dictionaries`] reads.
pub const DEFAULT_READ_BATCH_ROWS: usize = 65_536;

/// Reads every batch of a Parquet file like [`read_table`], but its utf8 columns named in
/// `dictionary` come back as dictionaries (Int32 keys into the distinct values, as the file
/// stores them): a column of a few thousand distinct strings in a million rows is then never
/// materialised row by row. Read them with [`Columns::dictionary`].
pub fn read_table_dictionaries(
    path: &Path,
    dictionary: &[&str],
) -> Result<Vec<RecordBatch>, ReadTableError> {
    read_batches(path, dictionary, Some(DEFAULT_READ_BATCH_ROWS))
}

/// The reader behind [`read_table`] and [`read_table_dictionaries`]: the utf8 columns named in
/// `dictionary` read as dictionaries, `batch_rows` rows per batch (the reader's default when
/// `None`).
fn read_batches(
    path: &Path,
    dictionary: &[&str],
    batch_rows: Option<usize>,
) -> Result<Vec<RecordBatch>, ReadTableError> {
    use parquet::arrow::arrow_reader::{
        ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
    };
    let name = path.display().to_string();
    let parquet_err = |source| ReadTableError::Parquet {
        path: name.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(|source| ReadTableError::Io {
        path: name.clone(),
        source,
    })?;
    let mut metadata =
        ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).map_err(parquet_err)?;
    if !dictionary.is_empty() {
        let fields: Vec<Field> = metadata
            .schema()
            .fields()
            .iter()
            .map(|f| {
                if dictionary.contains(&f.name().as_str()) && f.data_type() == &DataType::Utf8 {
                    f.as_ref().clone().with_data_type(DataType::Dictionary(
                        Box::new(DataType::Int32),
                        Box::new(DataType::Utf8),
                    ))
                } else {
                    f.as_ref().clone()
                }
            })
            .collect();
        let options = ArrowReaderOptions::new().with_schema(Arc::new(Schema::new(fields)));
        metadata = ArrowReaderMetadata::try_new(Arc::clone(metadata.metadata()), options)
            .map_err(parquet_err)?;
    }
    let mut builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata);
    if let Some(rows) = batch_rows {
        builder = builder.with_batch_size(rows);
    }
    let reader = builder.build().map_err(parquet_err)?;
    reader
        .map(|b| {
            b.map_err(|e| ReadTableError::Parquet {
                path: name.clone(),
                source: parquet::errors::ParquetError::ArrowError(e.to_string()),
            })
        })
        .collect()
}

/// A utf8 column read as a dictionary: each row's key (`None` for a null) into `values`.
pub struct DictionaryColumn<'a> {
    /// Keys, one per row.
    pub keys: &'a arrow_array::Int32Array,
    /// The distinct values.
    pub values: &'a StringArray,
}

impl DictionaryColumn<'_> {
    /// The key of row `i` as an index into `values`, `None` when the row is null.
    pub fn key(&self, i: usize) -> Option<usize> {
        (!self.keys.is_null(i)).then(|| self.keys.value(i) as usize)
    }
}

/// Typed column access for tables read back.
pub struct Columns<'a> {
    path: &'a str,
    batch: &'a RecordBatch,
}

impl<'a> Columns<'a> {
    /// Wraps a batch of the file `path` (used in messages).
    pub fn new(path: &'a str, batch: &'a RecordBatch) -> Columns<'a> {
        Columns { path, batch }
    }

    fn get<T: 'static>(&self, name: &str) -> Result<&'a T, ReadTableError> {
        self.batch
            .column_by_name(name)
            .and_then(|c| c.as_any().downcast_ref::<T>())
            .ok_or_else(|| ReadTableError::Column {
                path: self.path.to_string(),
                column: name.to_string(),
            })
    }

    /// A utf8 column.
    pub fn utf8(&self, name: &str) -> Result<&'a StringArray, ReadTableError> {
        self.get(name)
    }

    /// An int64 column.
    pub fn int64(&self, name: &str) -> Result<&'a Int64Array, ReadTableError> {
        self.get(name)
    }

    /// A uint32 column.
    pub fn uint32(&self, name: &str) -> Result<&'a UInt32Array, ReadTableError> {
        self.get(name)
    }

    /// A uint64 column.
    pub fn uint64(&self, name: &str) -> Result<&'a UInt64Array, ReadTableError> {
        self.get(name)
    }

    /// An int8 column.
    pub fn int8(&self, name: &str) -> Result<&'a Int8Array, ReadTableError> {
        self.get(name)
    }

    /// A float64 column.
    pub fn float64(&self, name: &str) -> Result<&'a Float64Array, ReadTableError> {
        self.get(name)
    }

    /// A boolean column.
    pub fn boolean(&self, name: &str) -> Result<&'a BooleanArray, ReadTableError> {
        self.get(name)
    }

    /// A list column.
    pub fn list(&self, name: &str) -> Result<&'a ListArray, ReadTableError> {
        self.get(name)
    }

    /// A utf8 column read as a dictionary ([`read_table_dictionaries`]).
    pub fn dictionary(&self, name: &str) -> Result<DictionaryColumn<'a>, ReadTableError> {
        let dict: &'a arrow_array::DictionaryArray<arrow_array::types::Int32Type> =
            self.get(name)?;
        let values = dict
            .values()
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| ReadTableError::Column {
                path: self.path.to_string(),
                column: name.to_string(),
            })?;
        Ok(DictionaryColumn {
            keys: dict.keys(),
            values,
        })
    }
}

/// Optional string at row `i`.
pub fn opt_str(a: &StringArray, i: usize) -> Option<String> {
    opt_str_ref(a, i).map(str::to_string)
}

/// Optional string at row `i`, borrowed.
pub fn opt_str_ref(a: &StringArray, i: usize) -> Option<&str> {
    (!a.is_null(i)).then(|| a.value(i))
}

/// Optional i64 at row `i`.
pub fn opt_i64(a: &Int64Array, i: usize) -> Option<i64> {
    (!a.is_null(i)).then(|| a.value(i))
}

/// Optional f64 at row `i`.
pub fn opt_f64(a: &Float64Array, i: usize) -> Option<f64> {
    (!a.is_null(i)).then(|| a.value(i))
}

/// The strings of a list cell.
pub fn list_strings(a: &ListArray, i: usize) -> Vec<String> {
    let values = a.value(i);
    values
        .as_any()
        .downcast_ref::<StringArray>()
        .map(|s| (0..s.len()).map(|j| s.value(j).to_string()).collect())
        .unwrap_or_default()
}

/// The integers of a list cell.
pub fn list_i64s(a: &ListArray, i: usize) -> Vec<i64> {
    let values = a.value(i);
    values
        .as_any()
        .downcast_ref::<Int64Array>()
        .map(|s| (0..s.len()).map(|j| s.value(j)).collect())
        .unwrap_or_default()
}
