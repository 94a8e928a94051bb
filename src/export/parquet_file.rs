//! [`ParquetFile`]: an Arrow-to-Parquet writer with the project's defaults, committed atomically.
//!
//! Files are deterministic: the same batches give the same bytes (fixed `created_by`, no
//! timestamps), which the reproducible exports rely on.

use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::Schema;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;

use crate::atomic_file::AtomicFile;

/// zstd level for every Parquet file the tool writes.
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;

/// Rows per row group unless a writer asks otherwise.
pub const DEFAULT_ROW_GROUP_ROWS: usize = 1 << 20;

/// Errors writing a Parquet file.
#[derive(Debug, thiserror::Error)]
pub enum ParquetFileError {
    /// Creating, writing or renaming the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The target file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The Parquet encoder failed.
    #[error("{path}: {source}")]
    Parquet {
        /// The target file.
        path: String,
        /// The cause.
        source: ParquetError,
    },
}

/// Writer properties: zstd at [`DEFAULT_ZSTD_LEVEL`], the given row-group size, and a fixed
/// `created_by` naming this crate's version.
pub fn writer_properties(row_group_rows: usize) -> WriterProperties {
    let level = ZstdLevel::try_new(DEFAULT_ZSTD_LEVEL).unwrap_or_default();
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(row_group_rows))
        .set_created_by(format!("assayflow {}", env!("CARGO_PKG_VERSION")))
        .build()
}

/// A Parquet file being written under a temporary name.
pub struct ParquetFile {
    path: String,
    writer: ArrowWriter<AtomicFile>,
}

impl ParquetFile {
    /// Starts writing `path` with `schema` and row groups of `row_group_rows` rows.
    pub fn create(
        path: &Path,
        schema: Arc<Schema>,
        row_group_rows: usize,
    ) -> Result<ParquetFile, ParquetFileError> {
        let name = path.display().to_string();
        let file = AtomicFile::create(path).map_err(|source| ParquetFileError::Io {
            path: name.clone(),
            source,
        })?;
        let writer = ArrowWriter::try_new(file, schema, Some(writer_properties(row_group_rows)))
            .map_err(|source| ParquetFileError::Parquet {
                path: name.clone(),
                source,
            })?;
        Ok(ParquetFile { path: name, writer })
    }

    /// Appends a batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), ParquetFileError> {
        self.writer
            .write(batch)
            .map_err(|source| ParquetFileError::Parquet {
                path: self.path.clone(),
                source,
            })
    }

    /// Writes the footer and moves the file into place.
    pub fn commit(self) -> Result<(), ParquetFileError> {
        let path = self.path;
        let file = self
            .writer
            .into_inner()
            .map_err(|source| ParquetFileError::Parquet {
                path: path.clone(),
                source,
            })?;
        file.commit()
            .map_err(|source| ParquetFileError::Io { path, source })
    }
}
