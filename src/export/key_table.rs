//! The `inchikeys` table (`data-schemas/inchikeys.toml`) as TSV or Parquet, and the rejects file
//! (`data-schemas/inchikey_rejects.toml`).
//!
//! [`KeyTableWriter`] picks the format from the output path (`.parquet` or anything else for
//! TSV; no path means TSV on standard output) and writes files atomically.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};

use crate::atomic_file::AtomicFile;
use crate::chem::KeyResult;
use crate::export::parquet_file::{DEFAULT_ROW_GROUP_ROWS, ParquetFile, ParquetFileError};

/// Rows buffered before a Parquet record batch is written.
pub const DEFAULT_BATCH_ROWS: usize = 8192;

/// The TSV header of the `inchikeys` table.
pub const TSV_HEADER: &str = "smiles\tinchikey\terror";

/// The TSV header of the rejects file.
pub const REJECTS_HEADER: &str = "line\tsmiles\tclass\terror";

/// Errors writing the key table.
#[derive(Debug, thiserror::Error)]
pub enum KeyTableError {
    /// Writing failed (a closed pipe included; see [`KeyTableError::is_broken_pipe`]).
    #[error("{path}: {source}")]
    Io {
        /// The output.
        path: String,
        /// The cause.
        source: io::Error,
    },
    /// Writing Parquet failed.
    #[error(transparent)]
    Parquet(#[from] ParquetFileError),
}

impl KeyTableError {
    /// True when the reader of standard output went away (`| head`): not an error for a CLI.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, KeyTableError::Io { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// The Arrow schema of the `inchikeys` table.
pub fn key_table_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("smiles", DataType::Utf8, false),
        Field::new("inchikey", DataType::Utf8, true),
        Field::new("error", DataType::Utf8, true),
    ]))
}

/// Escapes the characters a TSV field cannot hold.
pub fn tsv_field(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains(['\t', '\n', '\r']) {
        std::borrow::Cow::Owned(
            s.replace('\t', "\\t")
                .replace('\n', "\\n")
                .replace('\r', "\\r"),
        )
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

enum Sink {
    Stdout(BufWriter<io::Stdout>),
    TsvFile(AtomicFile),
    Parquet(Box<ParquetSink>),
}

/// Parquet output: the file and the column builders of the batch being filled.
struct ParquetSink {
    file: ParquetFile,
    smiles: StringBuilder,
    keys: StringBuilder,
    errors: StringBuilder,
    buffered: usize,
}

/// Writes `inchikeys` rows in order.
pub struct KeyTableWriter {
    name: String,
    sink: Sink,
    rows: u64,
    rejected: u64,
}

impl KeyTableWriter {
    /// Creates the writer: Parquet when `path` ends in `.parquet`, TSV otherwise, standard output
    /// when `path` is `None` or `-`.
    pub fn create(path: Option<&Path>) -> Result<KeyTableWriter, KeyTableError> {
        let path = path.filter(|p| p.as_os_str() != "-");
        let name = path.map_or_else(|| "<stdout>".to_string(), |p| p.display().to_string());
        let io_err = |source| KeyTableError::Io {
            path: name.clone(),
            source,
        };
        let sink = match path {
            None => Sink::Stdout(BufWriter::with_capacity(1 << 16, io::stdout())),
            Some(p) if is_parquet(p) => Sink::Parquet(Box::new(ParquetSink {
                file: ParquetFile::create(p, key_table_schema(), DEFAULT_ROW_GROUP_ROWS)?,
                smiles: StringBuilder::new(),
                keys: StringBuilder::new(),
                errors: StringBuilder::new(),
                buffered: 0,
            })),
            Some(p) => Sink::TsvFile(AtomicFile::create(p).map_err(io_err)?),
        };
        let mut writer = KeyTableWriter {
            name,
            sink,
            rows: 0,
            rejected: 0,
        };
        writer.write_tsv_line(TSV_HEADER)?;
        Ok(writer)
    }

    fn io_err(&self, source: io::Error) -> KeyTableError {
        KeyTableError::Io {
            path: self.name.clone(),
            source,
        }
    }

    fn write_tsv_line(&mut self, line: &str) -> Result<(), KeyTableError> {
        let result = match &mut self.sink {
            Sink::Stdout(w) => writeln!(w, "{line}"),
            Sink::TsvFile(w) => writeln!(w, "{line}"),
            Sink::Parquet(_) => Ok(()),
        };
        result.map_err(|e| self.io_err(e))
    }

    /// Appends one row.
    pub fn write(&mut self, smiles: &str, result: &KeyResult) -> Result<(), KeyTableError> {
        self.rows += 1;
        if result.is_err() {
            self.rejected += 1;
        }
        if let Sink::Parquet(p) = &mut self.sink {
            p.smiles.append_value(smiles);
            match result {
                Ok(key) => {
                    p.keys.append_value(key);
                    p.errors.append_null();
                }
                Err(rejection) => {
                    p.keys.append_null();
                    p.errors.append_value(&rejection.message);
                }
            }
            p.buffered += 1;
            if p.buffered >= DEFAULT_BATCH_ROWS {
                self.flush_batch()?;
            }
            return Ok(());
        }
        let line = match result {
            Ok(key) => format!("{}\t{key}\t", tsv_field(smiles)),
            Err(rejection) => format!("{}\t\t{}", tsv_field(smiles), tsv_field(&rejection.message)),
        };
        self.write_tsv_line(&line)
    }

    fn flush_batch(&mut self) -> Result<(), KeyTableError> {
        if let Sink::Parquet(p) = &mut self.sink {
            if p.buffered == 0 {
                return Ok(());
            }
            let columns: Vec<ArrayRef> = vec![
                Arc::new(p.smiles.finish()),
                Arc::new(p.keys.finish()),
                Arc::new(p.errors.finish()),
            ];
            let batch = RecordBatch::try_new(key_table_schema(), columns).map_err(|e| {
                KeyTableError::Io {
                    path: self.name.clone(),
                    source: io::Error::other(e),
                }
            })?;
            p.file.write(&batch)?;
            p.buffered = 0;
        }
        Ok(())
    }

    /// Flushes buffered rows to standard output (so a pipe sees them promptly).
    pub fn flush(&mut self) -> Result<(), KeyTableError> {
        let result = match &mut self.sink {
            Sink::Stdout(w) => w.flush(),
            _ => Ok(()),
        };
        result.map_err(|e| self.io_err(e))
    }

    /// Rows written so far, and how many of them carry an error.
    pub fn counts(&self) -> (u64, u64) {
        (self.rows, self.rejected)
    }

    /// Finishes the output: flushes standard output, or commits the file.
    pub fn finish(mut self) -> Result<(), KeyTableError> {
        self.flush_batch()?;
        let name = self.name.clone();
        let io_err = |source| KeyTableError::Io { path: name, source };
        match self.sink {
            Sink::Stdout(mut w) => w.flush().map_err(io_err),
            Sink::TsvFile(f) => f.commit().map_err(io_err),
            Sink::Parquet(p) => Ok(p.file.commit()?),
        }
    }
}

fn is_parquet(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

/// Writes the rows that got no key, with their line numbers and reason classes.
pub struct RejectsWriter {
    path: PathBuf,
    file: AtomicFile,
}

impl RejectsWriter {
    /// Starts the rejects file.
    pub fn create(path: &Path) -> Result<RejectsWriter, KeyTableError> {
        let io_err = |source| KeyTableError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut file = AtomicFile::create(path).map_err(io_err)?;
        writeln!(file, "{REJECTS_HEADER}").map_err(io_err)?;
        Ok(RejectsWriter {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Appends one reject.
    pub fn write(
        &mut self,
        line: u64,
        smiles: &str,
        class: &str,
        message: &str,
    ) -> Result<(), KeyTableError> {
        writeln!(
            self.file,
            "{line}\t{}\t{class}\t{}",
            tsv_field(smiles),
            tsv_field(message)
        )
        .map_err(|source| KeyTableError::Io {
            path: self.path.display().to_string(),
            source,
        })
    }

    /// Commits the file.
    pub fn finish(self) -> Result<(), KeyTableError> {
        let path = self.path.display().to_string();
        self.file
            .commit()
            .map_err(|source| KeyTableError::Io { path, source })
    }
}
