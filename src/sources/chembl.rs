//! A ChEMBL release as distributed: its SQLite file (`chembl_NN.db`), read with rusqlite.
//!
//! [`ChemblRelease::open`] checks the tables and columns a label build needs (naming any that are
//! missing) and reads the release number from the `version` table. Reads are selective, as a
//! 25 GB release demands: molecules by standard InChIKey (or its first block, or shared parent)
//! through the indexes, then only those molecules' activities and the assays they name.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::labels::records::RawActivity;

/// Tables and columns a label build reads (`data-schemas/chembl_release.toml`).
pub const REQUIRED_COLUMNS: &[(&str, &[&str])] = &[
    (
        "activities",
        &[
            "activity_id",
            "assay_id",
            "molregno",
            "standard_type",
            "standard_relation",
            "standard_value",
            "standard_units",
            "pchembl_value",
            "activity_comment",
            "data_validity_comment",
            "potential_duplicate",
        ],
    ),
    (
        "assays",
        &[
            "assay_id",
            "chembl_id",
            "description",
            "assay_type",
            "confidence_score",
            "tid",
        ],
    ),
    (
        "compound_structures",
        &[
            "molregno",
            "canonical_smiles",
            "standard_inchi",
            "standard_inchi_key",
        ],
    ),
    (
        "molecule_dictionary",
        &["molregno", "chembl_id", "pref_name"],
    ),
    ("molecule_hierarchy", &["molregno", "parent_molregno"]),
    (
        "target_dictionary",
        &["tid", "chembl_id", "pref_name", "target_type", "organism"],
    ),
];

/// Errors reading a release.
#[derive(Debug, thiserror::Error)]
pub enum ChemblError {
    /// The file does not exist or cannot be opened.
    #[error("ChEMBL release {path}: {message}")]
    Open {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// Tables or columns are missing.
    #[error("ChEMBL release {path}: missing {what}")]
    Missing {
        /// The file.
        path: String,
        /// Which tables/columns.
        what: String,
    },
    /// No release number in the file and none given.
    #[error(
        "ChEMBL release {path}: no `version` table to read the release from; give --chembl-release"
    )]
    NoVersion {
        /// The file.
        path: String,
    },
    /// A query failed (corrupt or truncated file, locked database...).
    #[error("ChEMBL release {path}: reading {what}: {source}")]
    Query {
        /// The file.
        path: String,
        /// What was being read.
        what: &'static str,
        /// The cause.
        source: rusqlite::Error,
    },
}

/// A row that could not be used, with the reason (goes to the export's rejects).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChemblReject {
    /// `table.column` or table.
    pub source: String,
    /// The record (`activity_id=...`).
    pub record: String,
    /// Why.
    pub reason: String,
}

/// An assay's attributes used for task descriptions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AssayInfo {
    /// Integer `assay_id`.
    pub assay_id: i64,
    /// `CHEMBLnnn`.
    pub chembl_id: String,
    /// Free-text description.
    pub description: String,
    /// B/F/A/T/P/U.
    pub assay_type: String,
    /// 0-9.
    pub confidence_score: Option<i64>,
    /// Target `CHEMBLnnn`.
    pub target_chembl_id: Option<String>,
    /// Target name.
    pub target_name: Option<String>,
}

/// An open release.
pub struct ChemblRelease {
    conn: Connection,
    path: PathBuf,
    release: String,
}

fn query_err<'a>(
    path: &'a Path,
    what: &'static str,
) -> impl Fn(rusqlite::Error) -> ChemblError + 'a {
    move |source| ChemblError::Query {
        path: path.display().to_string(),
        what,
        source,
    }
}

/// Threads to read `items` lookups with: one per core up to [`DEFAULT_READ_THREADS`], and
/// none that would get fewer than `per_thread` items.
fn read_threads(items: usize, per_thread: usize) -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(DEFAULT_READ_THREADS)
        .min(items.div_ceil(per_thread.max(1)))
        .max(1)
}

/// Molecules found by first block: (block index, molregno, full standard InChIKey).
pub type BlockMatches = Vec<(usize, i64, String)>;

/// Fewest InChIKey lookups worth a reading thread of their own.
pub const DEFAULT_KEYS_PER_THREAD: usize = 2_000;

fn panicked(path: &Path) -> ChemblError {
    ChemblError::Open {
        path: path.display().to_string(),
        message: "a reading thread panicked".into(),
    }
}

/// Opens `path` read-only. Reads go through memory-mapped pages (no `read()` per page).
fn connect(path: &Path) -> Result<Connection, rusqlite::Error> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // Best effort: a build without mmap support still reads, only slower.
    let _ = conn.execute_batch("PRAGMA mmap_size = 68719476736; PRAGMA cache_size = -65536;");
    // `rarray` once per connection: registering a module again expires the connection's
    // prepared statements, which then parse again on their next run.
    rusqlite::vtab::array::load_module(&conn)?;
    Ok(conn)
}

/// Most threads that read activities at once.
pub const DEFAULT_READ_THREADS: usize = 4;

/// How finely the reading threads' work is cut: each chunk is this many times smaller than
/// an even share of what is left (guided scheduling), so chunks shrink towards the end and the
/// threads finish close together even when one is slowed by others on its core.
pub const DEFAULT_CHUNKS_PER_THREAD: usize = 2;

/// The smallest chunk of lookups worth handing to a reading thread on its own.
pub const DEFAULT_MIN_CHUNK: usize = 1_024;

/// Chunk boundaries for `items` over `threads` (guided scheduling): each chunk is the rest
/// divided by `threads * DEFAULT_CHUNKS_PER_THREAD`, never below [`DEFAULT_MIN_CHUNK`]. A
/// function of the counts alone, so the cut never depends on timing.
fn guided_chunks(items: usize, threads: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < items {
        let rest = items - start;
        let size = rest
            .div_ceil(threads.max(1) * DEFAULT_CHUNKS_PER_THREAD)
            .max(DEFAULT_MIN_CHUNK)
            .min(rest);
        out.push(start..start + size);
        start += size;
    }
    out
}

/// `ChEMBL_36` -> `36`, `ChEMBL_24_1` -> `24_1`; anything else unchanged.
pub fn release_number(version_name: &str) -> String {
    version_name
        .trim()
        .strip_prefix("ChEMBL_")
        .or_else(|| version_name.trim().strip_prefix("chembl_"))
        .unwrap_or(version_name.trim())
        .to_string()
}

impl ChemblRelease {
    /// Opens `path` read-only, checks its schema, and finds its release number (`release`
    /// overrides the `version` table).
    pub fn open(path: &Path, release: Option<&str>) -> Result<ChemblRelease, ChemblError> {
        let name = path.display().to_string();
        if !path.is_file() {
            return Err(ChemblError::Open {
                path: name,
                message: "no such file".into(),
            });
        }
        let conn = connect(path).map_err(|e| ChemblError::Open {
            path: name.clone(),
            message: e.to_string(),
        })?;
        let mut missing = Vec::new();
        for (table, columns) in REQUIRED_COLUMNS {
            let present = table_columns(&conn, table).map_err(|e| ChemblError::Open {
                path: name.clone(),
                message: format!("not a readable SQLite database ({e})"),
            })?;
            if present.is_empty() {
                missing.push(format!("table {table}"));
                continue;
            }
            for c in *columns {
                if !present.contains(*c) {
                    missing.push(format!("column {table}.{c}"));
                }
            }
        }
        if !missing.is_empty() {
            return Err(ChemblError::Missing {
                path: name,
                what: missing.join(", "),
            });
        }
        let release = match release {
            Some(r) => r.to_string(),
            None => {
                let has_version = !table_columns(&conn, "version")
                    .map_err(query_err(path, "the version table"))?
                    .is_empty();
                let found: Option<String> = if has_version {
                    conn.query_row("SELECT name FROM version ORDER BY name LIMIT 1", [], |r| {
                        r.get(0)
                    })
                    .optional()
                    .map_err(query_err(path, "the version table"))?
                } else {
                    None
                };
                release_number(&found.ok_or(ChemblError::NoVersion { path: name })?)
            }
        };
        Ok(ChemblRelease {
            conn,
            path: path.to_path_buf(),
            release,
        })
    }

    /// The release number (`36`).
    pub fn release(&self) -> &str {
        &self.release
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Molecules whose standard InChIKey equals one of `keys`: (key index, molregno).
    pub fn molecules_by_key(&self, keys: &[String]) -> Result<Vec<(usize, i64)>, ChemblError> {
        let _read = self
            .conn
            .unchecked_transaction()
            .map_err(query_err(&self.path, "a read transaction"))?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT molregno FROM compound_structures WHERE standard_inchi_key = ?1",
            )
            .map_err(query_err(&self.path, "compound_structures"))?;
        let mut out = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            let rows = stmt
                .query_map(params![key], |r| r.get::<_, i64>(0))
                .map_err(query_err(&self.path, "compound_structures"))?;
            for m in rows {
                out.push((i, m.map_err(query_err(&self.path, "compound_structures"))?));
            }
        }
        Ok(out)
    }

    /// Molecules whose standard InChIKey starts with one of the 14-character `blocks`:
    /// (block index, molregno, full standard InChIKey), in block order. Uses the key index
    /// through a range condition; the blocks are looked up in up to
    /// [`DEFAULT_READ_THREADS`] threads, each with its own connection. Full-key matches are
    /// the rows whose key equals the compound's, so one pass serves both match levels.
    pub fn molecules_by_first_block(&self, blocks: &[String]) -> Result<BlockMatches, ChemblError> {
        let path: &Path = &self.path;
        let lookup = |conn: &Connection,
                      offset: usize,
                      part: &[String]|
         -> Result<BlockMatches, ChemblError> {
            let err = query_err(path, "compound_structures");
            let _read = conn.unchecked_transaction().map_err(&err)?;
            let mut stmt = conn
                .prepare_cached(
                    "SELECT molregno, standard_inchi_key FROM compound_structures \
                     WHERE standard_inchi_key >= ?1 AND standard_inchi_key < ?2",
                )
                .map_err(&err)?;
            let mut out = Vec::new();
            for (i, block) in part.iter().enumerate() {
                let low = format!("{block}-");
                let high = format!("{block}.");
                let rows = stmt
                    .query_map(params![low, high], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                    })
                    .map_err(&err)?;
                for row in rows {
                    let (m, key) = row.map_err(&err)?;
                    out.push((offset + i, m, key));
                }
            }
            Ok(out)
        };
        let parts = self.in_threads(
            blocks,
            DEFAULT_KEYS_PER_THREAD,
            "compound_structures",
            |conn, offset, part| lookup(conn, offset, part),
        )?;
        Ok(parts.into_iter().flatten().collect())
    }

    /// Every molecule sharing a parent with one of `molregnos` (the molecules themselves
    /// included): (given molregno, related molregno). Lookups run in reading threads.
    pub fn parent_family(&self, molregnos: &[i64]) -> Result<Vec<(i64, i64)>, ChemblError> {
        let path: &Path = &self.path;
        let lookup = |conn: &Connection, part: &[i64]| -> Result<Vec<(i64, i64)>, ChemblError> {
            let err = query_err(path, "molecule_hierarchy");
            let _read = conn.unchecked_transaction().map_err(&err)?;
            let mut parent_of = conn
                .prepare_cached(
                    "SELECT parent_molregno FROM molecule_hierarchy WHERE molregno = ?1",
                )
                .map_err(&err)?;
            let mut children = conn
                .prepare_cached(
                    "SELECT molregno FROM molecule_hierarchy WHERE parent_molregno = ?1",
                )
                .map_err(&err)?;
            let mut out = Vec::new();
            for &m in part {
                let parent: Option<i64> = parent_of
                    .query_row(params![m], |r| r.get(0))
                    .optional()
                    .map_err(&err)?
                    .flatten();
                let parent = parent.unwrap_or(m);
                out.push((m, m));
                out.push((m, parent));
                let rows = children
                    .query_map(params![parent], |r| r.get::<_, i64>(0))
                    .map_err(&err)?;
                for c in rows {
                    out.push((m, c.map_err(&err)?));
                }
            }
            Ok(out)
        };
        let parts = self.in_threads(
            molregnos,
            DEFAULT_KEYS_PER_THREAD,
            "molecule_hierarchy",
            |conn, _, part| lookup(conn, part),
        )?;
        let out: BTreeSet<(i64, i64)> = parts.into_iter().flatten().collect();
        Ok(out.into_iter().collect())
    }

    /// `molecule_dictionary.chembl_id` of each molregno found (lookups in reading threads).
    pub fn molecule_chembl_ids(
        &self,
        molregnos: &[i64],
    ) -> Result<BTreeMap<i64, String>, ChemblError> {
        let path: &Path = &self.path;
        let lookup = |conn: &Connection, part: &[i64]| -> Result<Vec<(i64, String)>, ChemblError> {
            let err = query_err(path, "molecule_dictionary");
            let _read = conn.unchecked_transaction().map_err(&err)?;
            let mut stmt = conn
                .prepare_cached("SELECT chembl_id FROM molecule_dictionary WHERE molregno = ?1")
                .map_err(&err)?;
            let mut out = Vec::new();
            for &m in part {
                if let Some(id) = stmt
                    .query_row(params![m], |r| r.get::<_, String>(0))
                    .optional()
                    .map_err(&err)?
                {
                    out.push((m, id));
                }
            }
            Ok(out)
        };
        let parts = self.in_threads(
            molregnos,
            DEFAULT_KEYS_PER_THREAD,
            "molecule_dictionary",
            |conn, _, part| lookup(conn, part),
        )?;
        Ok(parts.into_iter().flatten().collect())
    }

    /// All activities of `molregnos`, in (molregno, activity_id) order. Values that are not
    /// what the schema promises (a non-numeric pChEMBL) become rejects; the row is kept without
    /// the value.
    pub fn activities(
        &self,
        molregnos: &[i64],
        rejects: &mut Vec<ChemblReject>,
    ) -> Result<Vec<RawActivity>, ChemblError> {
        let (mut rows, _) =
            self.activities_with(molregnos, RowFilter::All, rejects, |f| Some(f.to_raw()))?;
        rows.sort_by_key(|r| (r.molregno, r.activity_id));
        Ok(rows)
    }

    /// The activities of `molregnos`, each passed through `keep` (which may drop it), in
    /// `activity_id` order; also the number of rows read. Rejects as for [`Self::activities`].
    ///
    /// Reading goes in two passes: the molecules' activity ids through the `molregno` index
    /// alone (no table access), then the rows in ascending `activity_id` order, so that table
    /// pages are visited in file order. The second pass is split over several threads, each
    /// with its own read-only connection; the result does not depend on how many.
    pub fn activities_with<T: Send>(
        &self,
        molregnos: &[i64],
        filter: RowFilter,
        rejects: &mut Vec<ChemblReject>,
        keep: impl Fn(&ActivityFields<'_>) -> Option<T> + Sync,
    ) -> Result<(Vec<T>, u64), ChemblError> {
        let started = std::time::Instant::now();
        // Pass one: the rowids of the molecules' rows, from the molregno index alone (the
        // rowid is in every index entry, whatever the primary key is declared as); molecules
        // are looked up in up to DEFAULT_READ_THREADS threads.
        let path: &Path = &self.path;
        let rowids_of = |conn: &Connection, part: &[i64]| -> Result<Vec<i64>, ChemblError> {
            let err = query_err(path, "activities");
            let _read = conn.unchecked_transaction().map_err(&err)?;
            let mut stmt = conn
                .prepare_cached(
                    "SELECT a.rowid FROM rarray(?1) AS r \
                     CROSS JOIN activities AS a ON a.molregno = r.value",
                )
                .map_err(&err)?;
            let array: rusqlite::vtab::array::Array = std::rc::Rc::new(
                part.iter()
                    .map(|&m| rusqlite::types::Value::Integer(m))
                    .collect(),
            );
            let mut ids: Vec<i64> = Vec::new();
            let mut rows = stmt.query(params![array]).map_err(&err)?;
            while let Some(row) = rows.next().map_err(&err)? {
                ids.push(row.get(0).map_err(&err)?);
            }
            Ok(ids)
        };
        let mut ids: Vec<i64> = self
            .in_threads(
                molregnos,
                DEFAULT_KEYS_PER_THREAD,
                "activities",
                |conn, _, part| rowids_of(conn, part),
            )?
            .into_iter()
            .flatten()
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let read = ids.len() as u64;
        tracing::trace!("activity ids: {:.3} s", started.elapsed().as_secs_f64());
        let parts = self.in_threads(
            &ids,
            DEFAULT_ROWS_PER_THREAD,
            "activities",
            |conn, _, part| {
                let mut rejects = Vec::new();
                let rows = read_activity_rows(conn, path, part, filter, &mut rejects, &keep)?;
                Ok((rows, rejects))
            },
        )?;
        let sorted = parts
            .iter()
            .flat_map(|(rows, _)| rows.iter().map(|(id, _)| *id))
            .is_sorted();
        let rows_of = parts.iter().map(|(rows, _)| rows.len()).sum();
        let mut pairs = Vec::new();
        let mut out = Vec::with_capacity(if sorted { rows_of } else { 0 });
        for (rows, part_rejects) in parts {
            // In activity_id order already (the usual case: ids are rowids): one copy, ids
            // dropped on the way.
            if sorted {
                out.extend(rows.into_iter().map(|(_, t)| t));
            } else {
                pairs.extend(rows);
            }
            rejects.extend(part_rejects);
        }
        if !sorted {
            out = by_activity_id(pairs);
        }
        Ok((out, read))
    }

    /// Runs `work` over `items` cut into shrinking chunks ([`guided_chunks`]) by up to
    /// [`read_threads`] threads; each thread has its own connection (the release's own one
    /// when there is a single thread) and takes the next chunk when done with one. `work` gets
    /// the chunk's offset in `items`. Results come back in chunk order, so they do not depend
    /// on how many threads ran or which took what.
    fn in_threads<I: Sync, R: Send>(
        &self,
        items: &[I],
        per_thread: usize,
        table: &'static str,
        work: impl Fn(&Connection, usize, &[I]) -> Result<R, ChemblError> + Sync,
    ) -> Result<Vec<R>, ChemblError> {
        let threads = read_threads(items.len(), per_thread);
        if threads == 1 {
            return Ok(vec![work(&self.conn, 0, items)?]);
        }
        let chunks: Vec<(usize, &[I])> = guided_chunks(items.len(), threads)
            .into_iter()
            .map(|r| (r.start, &items[r]))
            .collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let path: &Path = &self.path;
        let (work, chunks, next) = (&work, &chunks, &next);
        let done: Vec<Result<Vec<(usize, R)>, ChemblError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(move || {
                        let conn = connect(path).map_err(query_err(path, table))?;
                        let mut out = Vec::new();
                        loop {
                            let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(&(offset, part)) = chunks.get(n) else {
                                return Ok(out);
                            };
                            match work(&conn, offset, part) {
                                Ok(r) => out.push((n, r)),
                                Err(e) => {
                                    // The others stop at their next chunk.
                                    next.store(chunks.len(), std::sync::atomic::Ordering::Relaxed);
                                    return Err(e);
                                }
                            }
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(panicked(path))))
                .collect()
        });
        let mut parts: Vec<(usize, R)> = Vec::with_capacity(chunks.len());
        for d in done {
            parts.extend(d?);
        }
        parts.sort_unstable_by_key(|(n, _)| *n);
        Ok(parts.into_iter().map(|(_, r)| r).collect())
    }

    /// Attributes of the given assays (with their targets), by assay_id.
    pub fn assays(&self, assay_ids: &[i64]) -> Result<BTreeMap<i64, AssayInfo>, ChemblError> {
        let _read = self
            .conn
            .unchecked_transaction()
            .map_err(query_err(&self.path, "a read transaction"))?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT a.assay_id, a.chembl_id, a.description, a.assay_type, a.confidence_score, \
                        t.chembl_id, t.pref_name \
                 FROM assays a LEFT JOIN target_dictionary t ON t.tid = a.tid \
                 WHERE a.assay_id = ?1",
            )
            .map_err(query_err(&self.path, "assays"))?;
        let mut out = BTreeMap::new();
        for &id in assay_ids {
            let info = stmt
                .query_row(params![id], |r| {
                    Ok(AssayInfo {
                        assay_id: r.get(0)?,
                        chembl_id: r.get(1)?,
                        description: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                        assay_type: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                        confidence_score: r.get(4)?,
                        target_chembl_id: r.get(5)?,
                        target_name: r.get(6)?,
                    })
                })
                .optional()
                .map_err(query_err(&self.path, "assays"))?;
            if let Some(info) = info {
                out.insert(id, info);
            }
        }
        Ok(out)
    }
}

/// Which `activities` rows a read hands to its `keep` function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowFilter {
    /// Every row.
    All,
    /// Rows with a pChEMBL value, an activity comment or a data validity comment, or with an id
    /// out of range: every row the label rules can see (a row with none of these is valid,
    /// has no numeric label and no comment). The database skips the others, so the reader
    /// never decodes them; they still count as read.
    Annotated,
}

/// One `activities` row as stored, borrowing its text from the reader.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityFields<'a> {
    /// `activity_id`.
    pub activity_id: i64,
    /// `assay_id`.
    pub assay_id: i64,
    /// `molregno`.
    pub molregno: i64,
    /// `standard_type`.
    pub standard_type: Option<Cow<'a, str>>,
    /// `standard_relation`.
    pub standard_relation: Option<Cow<'a, str>>,
    /// `pchembl_value` (a value that is not a number is a reject and reads as none).
    pub pchembl_value: Option<f64>,
    /// `activity_comment`.
    pub activity_comment: Option<Cow<'a, str>>,
    /// `data_validity_comment`.
    pub data_validity_comment: Option<Cow<'a, str>>,
}

impl ActivityFields<'_> {
    /// An owned copy.
    pub fn to_raw(&self) -> RawActivity {
        let own = |c: &Option<Cow<'_, str>>| c.as_ref().map(|s| s.to_string());
        RawActivity {
            activity_id: self.activity_id,
            assay_id: self.assay_id,
            molregno: self.molregno,
            standard_type: own(&self.standard_type),
            standard_relation: own(&self.standard_relation),
            pchembl_value: self.pchembl_value,
            activity_comment: own(&self.activity_comment),
            data_validity_comment: own(&self.data_validity_comment),
        }
    }
}

/// Rows of `activities` per reading thread below which one thread reads alone.
pub const DEFAULT_ROWS_PER_THREAD: usize = 50_000;

/// Reads the rows with the sorted, distinct activity `ids` on `conn`, through `keep`.
/// Rows read in rowid order, put in activity_id order (the same order unless the table's
/// primary key is not its rowid and the two disagree).
fn by_activity_id<T>(mut rows: Vec<(i64, T)>) -> Vec<T> {
    if !rows.is_sorted_by_key(|(id, _)| *id) {
        rows.sort_by_key(|(id, _)| *id);
    }
    rows.into_iter().map(|(_, t)| t).collect()
}

fn read_activity_rows<T>(
    conn: &Connection,
    path: &Path,
    ids: &[i64],
    filter: RowFilter,
    rejects: &mut Vec<ChemblReject>,
    keep: &(impl Fn(&ActivityFields<'_>) -> Option<T> + Sync),
) -> Result<Vec<(i64, T)>, ChemblError> {
    use rusqlite::types::ValueRef;
    // One read transaction for all the lookups: one shared lock, not one per row.
    let _read = conn
        .unchecked_transaction()
        .map_err(query_err(path, "activities"))?;
    let mut stmt = conn
        .prepare_cached(match filter {
            RowFilter::All => {
                "SELECT a.activity_id, a.assay_id, a.molregno, a.standard_type, \
                        a.standard_relation, a.pchembl_value, a.activity_comment, \
                        a.data_validity_comment \
                 FROM rarray(?1) AS r CROSS JOIN activities AS a ON a.rowid = r.value"
            }
            RowFilter::Annotated => {
                "SELECT a.activity_id, a.assay_id, a.molregno, a.standard_type, \
                        a.standard_relation, a.pchembl_value, a.activity_comment, \
                        a.data_validity_comment \
                 FROM rarray(?1) AS r CROSS JOIN activities AS a ON a.rowid = r.value \
                 WHERE a.pchembl_value IS NOT NULL OR a.activity_comment IS NOT NULL \
                    OR a.data_validity_comment IS NOT NULL \
                    OR a.activity_id < 0 OR a.molregno < 0 \
                    OR a.assay_id < 0 OR a.assay_id > 4294967295"
            }
        })
        .map_err(query_err(path, "activities"))?;
    let err = query_err(path, "activities");
    // At most one row per id: sized once (pages past what is kept are never touched).
    let mut out = Vec::with_capacity(ids.len());
    let array: rusqlite::vtab::array::Array = std::rc::Rc::new(
        ids.iter()
            .map(|&i| rusqlite::types::Value::Integer(i))
            .collect(),
    );
    let mut rows = stmt.query(params![array]).map_err(&err)?;
    while let Some(row) = rows.next().map_err(&err)? {
        let id: i64 = row.get(0).map_err(&err)?;
        let text = |i: usize| -> Result<Option<Cow<'_, str>>, ChemblError> {
            Ok(match row.get_ref(i).map_err(&err)? {
                ValueRef::Null | ValueRef::Blob(_) => None,
                ValueRef::Text(t) => Some(String::from_utf8_lossy(t)),
                ValueRef::Integer(n) => Some(Cow::Owned(n.to_string())),
                ValueRef::Real(x) => Some(Cow::Owned(x.to_string())),
            })
        };
        let pchembl_value = match row.get_ref(5).map_err(&err)? {
            ValueRef::Null | ValueRef::Blob(_) => None,
            ValueRef::Integer(n) => Some(n as f64),
            ValueRef::Real(x) => Some(x),
            ValueRef::Text(t) => {
                let t = String::from_utf8_lossy(t);
                match t.trim().parse::<f64>() {
                    Ok(x) => Some(x),
                    Err(_) => {
                        rejects.push(ChemblReject {
                            source: "activities.pchembl_value".into(),
                            record: format!("activity_id={id}"),
                            reason: format!("not a number: {t:?}"),
                        });
                        None
                    }
                }
            }
        };
        let fields = ActivityFields {
            activity_id: id,
            assay_id: row.get(1).map_err(&err)?,
            molregno: row.get(2).map_err(&err)?,
            standard_type: text(3)?,
            standard_relation: text(4)?,
            pchembl_value,
            activity_comment: text(6)?,
            data_validity_comment: text(7)?,
        };
        if let Some(t) = keep(&fields) {
            out.push((id, t));
        }
    }
    Ok(out)
}

/// The column names of `table` (empty when the table does not exist).
fn table_columns(conn: &Connection, table: &str) -> Result<BTreeSet<String>, rusqlite::Error> {
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({table})"))?;
    let names = stmt.query_map([], |r| r.get::<_, String>(1))?;
    names.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guided_chunks_cover_the_items_in_shrinking_pieces() {
        for (items, threads) in [
            (0, 2),
            (1, 2),
            (1_000, 2),
            (29_882, 2),
            (1_249_142, 2),
            (50_000, 4),
        ] {
            let chunks = guided_chunks(items, threads);
            let mut next = 0;
            for c in &chunks {
                assert_eq!(
                    c.start, next,
                    "{items} items, {threads} threads: contiguous"
                );
                assert!(!c.is_empty());
                next = c.end;
            }
            assert_eq!(next, items, "{items} items: every item in a chunk");
            for w in chunks.windows(2) {
                assert!(w[0].len() >= w[1].len(), "{items} items: sizes never grow");
            }
            for c in chunks.iter().rev().skip(1) {
                assert!(c.len() >= DEFAULT_MIN_CHUNK.min(items));
            }
        }
        let big = guided_chunks(1_249_142, 2);
        assert_eq!(big[0].len(), 1_249_142usize.div_ceil(4));
        assert_eq!(big.last().map(|c| c.len() <= DEFAULT_MIN_CHUNK), Some(true));
    }
}
