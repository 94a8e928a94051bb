//! [`KeyCache`]: SMILES -> InChIKey results memoised in memory and, optionally, on disk, so that
//! no stage computes the same key twice (the InChI library is >95% of the cost).
//!
//! The on-disk form is a TSV (`smiles`, `inchikey`) behind a stamp line naming the rules
//! version; a cache written by other rules is ignored rather than trusted. Only successful keys
//! are stored on disk: rejections are cheap to recompute and keep their exact reason that way.

use std::collections::HashMap;
use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::atomic_file::AtomicFile;
use crate::chem::{SmilesError, smiles_to_inchikey};

/// Why a SMILES got no key, flattened for transport between processes and for output files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// The reason class ([`crate::chem::ErrorKind::class`]), e.g. `unclosed-ring`.
    pub class: String,
    /// The full message, naming the position.
    pub message: String,
}

impl From<SmilesError> for Rejection {
    fn from(e: SmilesError) -> Rejection {
        Rejection {
            class: e.class().to_string(),
            message: e.to_string(),
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The outcome of keying one SMILES.
pub type KeyResult = Result<String, Rejection>;

/// Keys one SMILES, flattening the error.
pub fn key_smiles(smiles: &str) -> KeyResult {
    smiles_to_inchikey(smiles).map_err(Rejection::from)
}

/// The stamp on the first line of a cache file; bump it whenever keying rules change.
pub const CACHE_STAMP: &str =
    "# assayflow inchikey cache v1 (RDKit 2026.09 rules, IUPAC InChI 1.07.3)";

/// Errors reading or writing a cache file.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The file could not be read or written.
    #[error("key cache {path}: {source}")]
    Io {
        /// The cache file.
        path: String,
        /// The cause.
        source: io::Error,
    },
    /// A line is not `smiles<TAB>inchikey`.
    #[error("key cache {path}, line {line}: expected 'smiles<TAB>inchikey'")]
    Malformed {
        /// The cache file.
        path: String,
        /// 1-based line number.
        line: usize,
    },
}

/// Memoised SMILES -> key results.
#[derive(Debug, Default)]
pub struct KeyCache {
    map: HashMap<String, KeyResult>,
    hits: u64,
    misses: u64,
}

impl KeyCache {
    /// An empty cache.
    pub fn new() -> KeyCache {
        KeyCache::default()
    }

    /// Loads a cache file; a missing file or one with another stamp gives an empty cache.
    pub fn load(path: &Path) -> Result<KeyCache, CacheError> {
        let io_err = |source| CacheError::Io {
            path: path.display().to_string(),
            source,
        };
        let file = match fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(KeyCache::new()),
            Err(e) => return Err(io_err(e)),
        };
        let mut lines = BufReader::new(file).lines();
        match lines.next() {
            Some(Ok(stamp)) if stamp == CACHE_STAMP => {}
            Some(Err(e)) => return Err(io_err(e)),
            _ => {
                tracing::warn!(path = %path.display(), "key cache written by other rules; ignoring it");
                return Ok(KeyCache::new());
            }
        }
        let mut cache = KeyCache::new();
        for (i, line) in lines.enumerate() {
            let line = line.map_err(io_err)?;
            let (smiles, key) = line.split_once('\t').ok_or(CacheError::Malformed {
                path: path.display().to_string(),
                line: i + 2,
            })?;
            cache.map.insert(smiles.to_string(), Ok(key.to_string()));
        }
        Ok(cache)
    }

    /// Writes the successful keys atomically, sorted by SMILES (so equal caches are equal files).
    pub fn save(&self, path: &Path) -> Result<(), CacheError> {
        let io_err = |source| CacheError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut entries: Vec<(&String, &String)> = self
            .map
            .iter()
            .filter_map(|(s, r)| r.as_ref().ok().map(|k| (s, k)))
            .collect();
        entries.sort();
        let mut out = AtomicFile::create(path).map_err(io_err)?;
        writeln!(out, "{CACHE_STAMP}").map_err(io_err)?;
        for (smiles, key) in entries {
            writeln!(out, "{smiles}\t{key}").map_err(io_err)?;
        }
        out.commit().map_err(io_err)
    }

    /// The cached result for `smiles`, if any.
    pub fn get(&self, smiles: &str) -> Option<&KeyResult> {
        self.map.get(smiles)
    }

    /// Records a result computed elsewhere (another process, for instance).
    pub fn insert(&mut self, smiles: String, result: KeyResult) {
        self.map.insert(smiles, result);
    }

    /// The key for `smiles`, computed at most once.
    pub fn key(&mut self, smiles: &str) -> KeyResult {
        if let Some(r) = self.map.get(smiles) {
            self.hits += 1;
            return r.clone();
        }
        self.misses += 1;
        let r = key_smiles(smiles);
        self.map.insert(smiles.to_string(), r.clone());
        r
    }

    /// Number of cached SMILES.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// (hits, misses) of [`KeyCache::key`] so far.
    pub fn stats(&self) -> (u64, u64) {
        (self.hits, self.misses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computes_once_and_round_trips_through_a_file() {
        let mut cache = KeyCache::new();
        assert_eq!(cache.key("CCO").unwrap(), "LFQSCWFLJHTTHZ-UHFFFAOYSA-N");
        assert_eq!(cache.key("CCO").unwrap(), "LFQSCWFLJHTTHZ-UHFFFAOYSA-N");
        assert!(cache.key("C1CC").is_err());
        assert_eq!(cache.stats(), (1, 2));
        let dir = std::env::temp_dir().join(format!("assayflow-cache-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keys.tsv");
        cache.save(&path).unwrap();
        let loaded = KeyCache::load(&path).unwrap();
        assert_eq!(loaded.len(), 1);
        assert_eq!(
            loaded.get("CCO").unwrap().as_ref().unwrap(),
            "LFQSCWFLJHTTHZ-UHFFFAOYSA-N"
        );
        fs::write(&path, "# another stamp\nCCO\tX\n").unwrap();
        assert!(KeyCache::load(&path).unwrap().is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }
}
