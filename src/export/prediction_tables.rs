//! Prediction tables (`predict` and the trainer's end-of-run predictions): one row per view,
//! well or compound with the sigmoid probability of every task as a `list<float32>` in the
//! order of a companion `tasks.parquet` (task_id, position). Schemas:
//! `data-schemas/predictions.toml`, `data-schemas/prediction_tasks.toml`.

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{Float32Builder, ListBuilder, StringBuilder, UInt32Builder};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema};

use super::label_tables::{Columns, ReadTableError, opt_str, read_table};
use super::parquet_file::{ParquetFile, ParquetFileError};

/// Rows per row group.
pub const DEFAULT_ROW_GROUP_ROWS: usize = 16_384;

/// One prediction row.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictionRow {
    /// The view, `<plate>-<well>`, or the InChIKey, by level.
    pub key: String,
    /// Plate (views and wells).
    pub plate: Option<String>,
    /// Well (views and wells).
    pub well: Option<String>,
    /// The compound, if keyed.
    pub inchikey: Option<String>,
    /// Its split, if in the label export.
    pub split: Option<String>,
    /// Items averaged (1 for a view).
    pub n_items: u32,
    /// One probability per task.
    pub probabilities: Vec<f32>,
}

/// Errors writing predictions.
#[derive(Debug, thiserror::Error)]
pub enum PredictionTableError {
    /// Arrow.
    #[error("building a prediction table: {0}")]
    Arrow(#[from] ArrowError),
    /// Writing.
    #[error(transparent)]
    File(#[from] ParquetFileError),
    /// Reading.
    #[error(transparent)]
    Read(#[from] ReadTableError),
    /// A table read back breaks its contract.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("plate", DataType::Utf8, true),
        Field::new("well", DataType::Utf8, true),
        Field::new("inchikey", DataType::Utf8, true),
        Field::new("split", DataType::Utf8, true),
        Field::new("n_items", DataType::UInt32, false),
        Field::new(
            "probabilities",
            DataType::List(Arc::new(Field::new("item", DataType::Float32, true))),
            false,
        ),
    ]))
}

/// Writes `rows` to `path` atomically.
pub fn write_predictions(path: &Path, rows: &[PredictionRow]) -> Result<(), PredictionTableError> {
    let schema = schema();
    let mut file = ParquetFile::create(path, schema.clone(), DEFAULT_ROW_GROUP_ROWS)?;
    for chunk in rows.chunks(DEFAULT_ROW_GROUP_ROWS) {
        let (mut key, mut plate, mut well, mut key2, mut split) = (
            StringBuilder::new(),
            StringBuilder::new(),
            StringBuilder::new(),
            StringBuilder::new(),
            StringBuilder::new(),
        );
        let mut n = UInt32Builder::new();
        let mut probs = ListBuilder::new(Float32Builder::new());
        for r in chunk {
            key.append_value(&r.key);
            plate.append_option(r.plate.as_deref());
            well.append_option(r.well.as_deref());
            key2.append_option(r.inchikey.as_deref());
            split.append_option(r.split.as_deref());
            n.append_value(r.n_items);
            probs.values().append_slice(&r.probabilities);
            probs.append(true);
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(key.finish()),
            Arc::new(plate.finish()),
            Arc::new(well.finish()),
            Arc::new(key2.finish()),
            Arc::new(split.finish()),
            Arc::new(n.finish()),
            Arc::new(probs.finish()),
        ];
        file.write(&RecordBatch::try_new(schema.clone(), columns)?)?;
    }
    file.commit()?;
    Ok(())
}

/// Writes the task order of the probability lists.
pub fn write_tasks(path: &Path, tasks: &[String]) -> Result<(), PredictionTableError> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("task_id", DataType::Utf8, false),
        Field::new("position", DataType::UInt32, false),
    ]));
    let mut file = ParquetFile::create(path, schema.clone(), DEFAULT_ROW_GROUP_ROWS)?;
    let mut id = StringBuilder::new();
    let mut pos = UInt32Builder::new();
    for (i, t) in tasks.iter().enumerate() {
        id.append_value(t);
        pos.append_value(i as u32);
    }
    let columns: Vec<ArrayRef> = vec![Arc::new(id.finish()), Arc::new(pos.finish())];
    file.write(&RecordBatch::try_new(schema, columns)?)?;
    file.commit()?;
    Ok(())
}

/// Reads a prediction table back (every row; `tasks` probabilities each, checked).
pub fn read_predictions(
    path: &Path,
    tasks: usize,
) -> Result<Vec<PredictionRow>, PredictionTableError> {
    let name = path.display().to_string();
    let mut rows = Vec::new();
    for batch in read_table(path)? {
        let c = Columns::new(&name, &batch);
        let (key, plate, well, inchikey, split, n, probs) = (
            c.utf8("key")?,
            c.utf8("plate")?,
            c.utf8("well")?,
            c.utf8("inchikey")?,
            c.utf8("split")?,
            c.uint32("n_items")?,
            c.list("probabilities")?,
        );
        for i in 0..batch.num_rows() {
            let values = probs.value(i);
            let p = values
                .as_any()
                .downcast_ref::<arrow_array::Float32Array>()
                .ok_or_else(|| PredictionTableError::Invalid {
                    path: name.clone(),
                    reason: "probabilities is not a list of float32".into(),
                })?;
            if p.len() != tasks || p.null_count() > 0 {
                return Err(PredictionTableError::Invalid {
                    path: name.clone(),
                    reason: format!(
                        "row {} ({}): {} probabilities ({} null) for {tasks} tasks",
                        rows.len(),
                        key.value(i),
                        p.len(),
                        p.null_count()
                    ),
                });
            }
            rows.push(PredictionRow {
                key: key.value(i).to_string(),
                plate: opt_str(plate, i),
                well: opt_str(well, i),
                inchikey: opt_str(inchikey, i),
                split: opt_str(split, i),
                n_items: n.value(i),
                probabilities: p.values().to_vec(),
            });
        }
    }
    Ok(rows)
}

/// Reads the task order of a prediction table (positions checked to be 0, 1, ...).
pub fn read_tasks(path: &Path) -> Result<Vec<String>, PredictionTableError> {
    let name = path.display().to_string();
    let mut tasks = Vec::new();
    for batch in read_table(path)? {
        let c = Columns::new(&name, &batch);
        let (id, pos) = (c.utf8("task_id")?, c.uint32("position")?);
        for i in 0..batch.num_rows() {
            if pos.value(i) as usize != tasks.len() {
                return Err(PredictionTableError::Invalid {
                    path: name.clone(),
                    reason: format!(
                        "row {}: position {} where {} was expected",
                        tasks.len(),
                        pos.value(i),
                        tasks.len()
                    ),
                });
            }
            tasks.push(id.value(i).to_string());
        }
    }
    Ok(tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predictions_and_tasks_read_back_as_written() {
        let dir = std::env::temp_dir().join(format!("assayflow-pred-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let rows = vec![
            PredictionRow {
                key: "P1-A01".into(),
                plate: Some("P1".into()),
                well: Some("A01".into()),
                inchikey: None,
                split: Some("test".into()),
                n_items: 3,
                probabilities: vec![0.25, 0.5],
            },
            PredictionRow {
                key: "KEY".into(),
                plate: None,
                well: None,
                inchikey: Some("KEY".into()),
                split: None,
                n_items: 1,
                probabilities: vec![1.0, 0.0],
            },
        ];
        write_predictions(&dir.join("p.parquet"), &rows).expect("write");
        assert_eq!(
            read_predictions(&dir.join("p.parquet"), 2).expect("read"),
            rows
        );
        assert!(read_predictions(&dir.join("p.parquet"), 3).is_err());
        let tasks = vec!["a:comment".to_string(), "b:comment".to_string()];
        write_tasks(&dir.join("t.parquet"), &tasks).expect("write");
        assert_eq!(read_tasks(&dir.join("t.parquet")).expect("read"), tasks);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
