//! Prediction tables (`predict` and the trainer's end-of-run predictions): one row per view,
//! well or compound with the sigmoid probability of every task as a `list<float32>` in the
//! order of a companion `tasks.parquet` (task_id, position). Schemas:
//! `data-schemas/predictions.toml`, `data-schemas/prediction_tasks.toml`.

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{Float32Builder, ListBuilder, StringBuilder, UInt32Builder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema};

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
