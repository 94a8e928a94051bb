//! Reading SMILES from files as users have them: `.smi` lines (SMILES, then optional whitespace
//! and an id) or a CSV/TSV with a header and a named column. [`SmilesReader`] yields one
//! [`SmilesRecord`] per input row, in order; a row that cannot be read (bad UTF-8, a missing
//! field) is still a record, carrying its problem, so nothing is silently dropped.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// How the input is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmilesLayout {
    /// One SMILES per line, optionally followed by whitespace and anything (an id).
    Smi,
    /// A delimited table with a header row; SMILES are in the named column.
    Delimited {
        /// Header name of the SMILES column.
        column: String,
        /// Field delimiter (`,` or tab).
        delimiter: u8,
    },
}

impl SmilesLayout {
    /// The delimiter a file name suggests: tab for `.tsv`/`.tab`/`.txt`, comma otherwise.
    pub fn delimiter_for(path: Option<&Path>) -> u8 {
        let ext = path
            .and_then(|p| p.extension())
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("tsv" | "tab" | "txt") => b'\t',
            _ => b',',
        }
    }
}

/// One input row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmilesRecord {
    /// 1-based line number in the input (the header is line 1 for delimited files).
    pub line: u64,
    /// The SMILES text (empty when the row had none).
    pub smiles: String,
    /// Why the row could not be read, if it could not.
    pub problem: Option<String>,
}

/// A fatal error opening or reading the input.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The input.
        path: String,
        /// The cause.
        source: io::Error,
    },
    /// The header lacks the requested column.
    #[error("{path}: no column named {column:?} in the header (columns: {available})")]
    MissingColumn {
        /// The input.
        path: String,
        /// The requested column.
        column: String,
        /// The header's columns, comma-separated.
        available: String,
    },
    /// The delimited file is malformed beyond one record.
    #[error("{path}: {message}")]
    Malformed {
        /// The input.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// Counts bytes read through it, so progress can be shown against the file size.
struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

enum Rows {
    Smi {
        reader: Box<dyn BufRead + Send>,
        line: u64,
        buf: Vec<u8>,
    },
    Delimited {
        reader: Box<csv::Reader<Box<dyn Read + Send>>>,
        column: usize,
        record: csv::ByteRecord,
    },
}

/// Iterates over the records of one input.
pub struct SmilesReader {
    name: String,
    rows: Rows,
    bytes_read: Arc<AtomicU64>,
    total_bytes: Option<u64>,
}

impl SmilesReader {
    /// Opens `path` (`None` or `-` for standard input).
    pub fn open(path: Option<&Path>, layout: &SmilesLayout) -> Result<SmilesReader, SourceError> {
        let path = path.filter(|p| p.as_os_str() != "-");
        let name = path.map_or_else(|| "<stdin>".to_string(), |p| p.display().to_string());
        let io_err = |source| SourceError::Io {
            path: name.clone(),
            source,
        };
        let bytes_read = Arc::new(AtomicU64::new(0));
        let (raw, total_bytes): (Box<dyn Read + Send>, Option<u64>) = match path {
            Some(p) => {
                let file = File::open(p).map_err(io_err)?;
                let len = file.metadata().ok().map(|m| m.len());
                (Box::new(file), len)
            }
            None => (Box::new(io::stdin()), None),
        };
        let counted: Box<dyn Read + Send> = Box::new(CountingReader {
            inner: raw,
            count: Arc::clone(&bytes_read),
        });
        let rows = match layout {
            SmilesLayout::Smi => Rows::Smi {
                reader: Box::new(BufReader::with_capacity(1 << 16, counted)),
                line: 0,
                buf: Vec::new(),
            },
            SmilesLayout::Delimited { column, delimiter } => {
                let mut reader = csv::ReaderBuilder::new()
                    .delimiter(*delimiter)
                    .has_headers(true)
                    .flexible(true)
                    .from_reader(counted);
                let headers = reader.byte_headers().map_err(|e| SourceError::Malformed {
                    path: name.clone(),
                    message: format!("cannot read the header: {e}"),
                })?;
                let names: Vec<String> = headers
                    .iter()
                    .map(|h| String::from_utf8_lossy(h).trim().to_string())
                    .collect();
                let index = names.iter().position(|h| h == column).ok_or_else(|| {
                    SourceError::MissingColumn {
                        path: name.clone(),
                        column: column.clone(),
                        available: names.join(", "),
                    }
                })?;
                Rows::Delimited {
                    reader: Box::new(reader),
                    column: index,
                    record: csv::ByteRecord::new(),
                }
            }
        };
        Ok(SmilesReader {
            name,
            rows,
            bytes_read,
            total_bytes,
        })
    }

    /// The input's display name (`<stdin>` for standard input).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Bytes consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.load(Ordering::Relaxed)
    }

    /// The input size, when it is a regular file.
    pub fn total_bytes(&self) -> Option<u64> {
        self.total_bytes
    }

    /// The next record, `Ok(None)` at the end, or a fatal read error.
    pub fn next_record(&mut self) -> Result<Option<SmilesRecord>, SourceError> {
        let name = &self.name;
        match &mut self.rows {
            Rows::Smi { reader, line, buf } => {
                buf.clear();
                let n = reader
                    .read_until(b'\n', buf)
                    .map_err(|source| SourceError::Io {
                        path: name.clone(),
                        source,
                    })?;
                if n == 0 {
                    return Ok(None);
                }
                *line += 1;
                while matches!(buf.last(), Some(b'\n' | b'\r')) {
                    buf.pop();
                }
                let (smiles, problem) = match std::str::from_utf8(buf) {
                    Ok(text) => (
                        text.split_ascii_whitespace()
                            .next()
                            .unwrap_or("")
                            .to_string(),
                        None,
                    ),
                    Err(e) => (
                        String::from_utf8_lossy(buf).into_owned(),
                        Some(format!(
                            "line is not valid UTF-8 (byte {})",
                            e.valid_up_to() + 1
                        )),
                    ),
                };
                Ok(Some(SmilesRecord {
                    line: *line,
                    smiles,
                    problem,
                }))
            }
            Rows::Delimited {
                reader,
                column,
                record,
            } => {
                let more = reader
                    .read_byte_record(record)
                    .map_err(|e| SourceError::Malformed {
                        path: name.clone(),
                        message: e.to_string(),
                    })?;
                if !more {
                    return Ok(None);
                }
                let line = record.position().map_or(0, |p| p.line());
                let (smiles, problem) = match record.get(*column) {
                    None => (
                        String::new(),
                        Some(format!(
                            "row has only {} field(s); the SMILES column is field {}",
                            record.len(),
                            *column + 1
                        )),
                    ),
                    Some(field) => match std::str::from_utf8(field) {
                        Ok(text) => (text.trim().to_string(), None),
                        Err(_) => (
                            String::from_utf8_lossy(field).into_owned(),
                            Some("SMILES field is not valid UTF-8".to_string()),
                        ),
                    },
                };
                Ok(Some(SmilesRecord {
                    line,
                    smiles,
                    problem,
                }))
            }
        }
    }
}

impl Iterator for SmilesReader {
    type Item = Result<SmilesRecord, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}

/// The path as given, for messages.
pub fn display_path(path: Option<&PathBuf>) -> String {
    path.map_or_else(|| "<stdin>".to_string(), |p| p.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn temp_file(name: &str, content: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("assayflow-src-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::File::create(&path)
            .unwrap()
            .write_all(content)
            .unwrap();
        path
    }

    #[test]
    fn smi_lines_keep_every_row() {
        let path = temp_file("a.smi", b"CCO ethanol\r\n\nc1ccccc1\tbenzene\n\xff\n");
        let rows: Vec<SmilesRecord> = SmilesReader::open(Some(&path), &SmilesLayout::Smi)
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].smiles, "CCO");
        assert_eq!(rows[1].smiles, "");
        assert_eq!(rows[2].smiles, "c1ccccc1");
        assert!(rows[3].problem.is_some());
        assert_eq!(rows[3].line, 4);
    }

    #[test]
    fn delimited_by_column_name() {
        let path = temp_file("b.csv", b"id,smiles\n1,CCO\n2,\"C(=O)O\"\n3\n");
        let layout = SmilesLayout::Delimited {
            column: "smiles".into(),
            delimiter: b',',
        };
        let rows: Vec<SmilesRecord> = SmilesReader::open(Some(&path), &layout)
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1].smiles, "C(=O)O");
        assert_eq!(rows[2].line, 4);
        assert_eq!(
            rows[2].problem.as_deref(),
            Some("row has only 1 field(s); the SMILES column is field 2")
        );
        let missing = SmilesLayout::Delimited {
            column: "SMILES".into(),
            delimiter: b',',
        };
        let err = SmilesReader::open(Some(&path), &missing).err().unwrap();
        assert!(
            err.to_string().contains("no column named \"SMILES\""),
            "{err}"
        );
    }
}
