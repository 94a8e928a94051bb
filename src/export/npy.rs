//! `.npy` files (numpy format 1.0) written atomically, so that `numpy.load(path,
//! mmap_mode="r")` maps a shard without copying. [`NpyWriter`] streams rows of a C-ordered
//! array whose first dimension is expected, not promised: the header is written with the
//! expected row count (in a fixed-size header) and the file's blake3 is computed as the bytes
//! go out; if fewer rows came, [`NpyWriter::commit`] rewrites the header and the caller hashes
//! the file instead.
//!
//! ```
//! use assayflow::export::npy::NpyWriter;
//! let dir = std::env::temp_dir().join(format!("npy-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let mut w = NpyWriter::create(dir.join("a.npy"), "<u2", &[2, 3], 1).unwrap();
//! w.write_row(&[1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0]).unwrap();
//! let (rows, hash) = w.commit().unwrap();
//! assert_eq!(rows, 1);
//! let bytes = std::fs::read(dir.join("a.npy")).unwrap();
//! assert_eq!(hash.unwrap(), blake3::hash(&bytes).to_hex().to_string());
//! assert_eq!(&bytes[..6], b"\x93NUMPY");
//! assert_eq!(bytes.len() % 64, (12 % 64));
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```

use std::io::{self, Seek, SeekFrom, Write};
use std::path::Path;

use crate::atomic_file::AtomicFile;

/// Header length (magic to newline), a multiple of 64 as numpy aligns it.
pub const HEADER_BYTES: usize = 128;

/// The header for an array of `rows` x `row_shape` of `descr` (`<u2`, `|u1`).
pub fn header(descr: &str, rows: u64, row_shape: &[u64]) -> io::Result<Vec<u8>> {
    let mut shape = rows.to_string();
    for d in row_shape {
        shape.push_str(", ");
        shape.push_str(&d.to_string());
    }
    if row_shape.is_empty() {
        shape.push(',');
    }
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({shape}), }}");
    let len = HEADER_BYTES - 10;
    if dict.len() + 1 > len {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "npy header does not fit",
        ));
    }
    let mut out = Vec::with_capacity(HEADER_BYTES);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(len as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(HEADER_BYTES - 1, b' ');
    out.push(b'\n');
    Ok(out)
}

/// A `.npy` file being written row by row.
#[derive(Debug)]
pub struct NpyWriter {
    file: AtomicFile,
    descr: String,
    row_shape: Vec<u64>,
    row_bytes: usize,
    rows: u64,
    expected: u64,
    hasher: blake3::Hasher,
}

impl NpyWriter {
    /// Starts `path` for rows of `row_shape` elements of `descr` (`<u2` or `|u1`), expecting
    /// `expected_rows` rows.
    pub fn create(
        path: impl AsRef<Path>,
        descr: &str,
        row_shape: &[u64],
        expected_rows: u64,
    ) -> io::Result<NpyWriter> {
        let item = match descr {
            "<u2" => 2,
            "|u1" => 1,
            other => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("unsupported npy type {other}"),
                ));
            }
        };
        let mut file = AtomicFile::create(path)?;
        let head = header(descr, expected_rows, row_shape)?;
        file.write_all(&head)?;
        let mut hasher = blake3::Hasher::new();
        hasher.update(&head);
        Ok(NpyWriter {
            file,
            descr: descr.to_string(),
            row_bytes: item * row_shape.iter().product::<u64>() as usize,
            row_shape: row_shape.to_vec(),
            rows: 0,
            expected: expected_rows,
            hasher,
        })
    }

    /// Appends one row given as little-endian bytes.
    pub fn write_row(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.len() != self.row_bytes {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("row of {} bytes, expected {}", bytes.len(), self.row_bytes),
            ));
        }
        self.file.write_all(bytes)?;
        self.hasher.update(bytes);
        self.rows += 1;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Moves the file into place; returns the row count and, when the expected number of rows
    /// came, the file's blake3 (hex). Otherwise the header is rewritten with the real count and
    /// the hash is `None` (hash the file).
    pub fn commit(mut self) -> io::Result<(u64, Option<String>)> {
        let hash = if self.rows == self.expected {
            Some(self.hasher.finalize().to_hex().to_string())
        } else {
            let head = header(&self.descr, self.rows, &self.row_shape)?;
            self.file.seek(SeekFrom::Start(0))?;
            self.file.write_all(&head)?;
            None
        };
        self.file.commit()?;
        Ok((self.rows, hash))
    }
}

/// Reads a `.npy` header: (descr, shape, data offset). Used to check shards.
pub fn read_header(bytes: &[u8]) -> Option<(String, Vec<u64>, usize)> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" || bytes[6] != 1 {
        return None;
    }
    let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let dict = std::str::from_utf8(bytes.get(10..10 + len)?).ok()?;
    let descr = dict
        .split("'descr': '")
        .nth(1)?
        .split('\'')
        .next()?
        .to_string();
    let shape = dict.split("'shape': (").nth(1)?.split(')').next()?;
    let shape = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().ok())
        .collect::<Option<Vec<u64>>>()?;
    Some((descr, shape, 10 + len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_aligned_and_round_trips() {
        let h = header("<u2", 64, &[5, 520, 696]).expect("fits");
        assert_eq!(h.len(), HEADER_BYTES);
        assert_eq!(
            read_header(&h),
            Some(("<u2".into(), vec![64, 5, 520, 696], HEADER_BYTES))
        );
    }
}
