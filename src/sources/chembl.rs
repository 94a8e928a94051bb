//! A ChEMBL release as distributed: its SQLite file (`chembl_NN.db`), read with rusqlite.
//!
//! [`ChemblRelease::open`] checks the tables and columns a label build needs (naming any that are
//! missing) and reads the release number from the `version` table. Reads are selective, as a
//! 25 GB release demands: molecules by standard InChIKey (or its first block, or shared parent)
//! through the indexes, then only those molecules' activities and the assays they name.

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
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| ChemblError::Open {
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
    /// (block index, molregno). Uses the key index through a range condition.
    pub fn molecules_by_first_block(
        &self,
        blocks: &[String],
    ) -> Result<Vec<(usize, i64)>, ChemblError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT molregno FROM compound_structures \
                 WHERE standard_inchi_key >= ?1 AND standard_inchi_key < ?2",
            )
            .map_err(query_err(&self.path, "compound_structures"))?;
        let mut out = Vec::new();
        for (i, block) in blocks.iter().enumerate() {
            let low = format!("{block}-");
            let high = format!("{block}.");
            let rows = stmt
                .query_map(params![low, high], |r| r.get::<_, i64>(0))
                .map_err(query_err(&self.path, "compound_structures"))?;
            for m in rows {
                out.push((i, m.map_err(query_err(&self.path, "compound_structures"))?));
            }
        }
        Ok(out)
    }

    /// Every molecule sharing a parent with one of `molregnos` (the molecules themselves
    /// included): (given molregno, related molregno).
    pub fn parent_family(&self, molregnos: &[i64]) -> Result<Vec<(i64, i64)>, ChemblError> {
        let mut parent_of = self
            .conn
            .prepare_cached("SELECT parent_molregno FROM molecule_hierarchy WHERE molregno = ?1")
            .map_err(query_err(&self.path, "molecule_hierarchy"))?;
        let mut children = self
            .conn
            .prepare_cached("SELECT molregno FROM molecule_hierarchy WHERE parent_molregno = ?1")
            .map_err(query_err(&self.path, "molecule_hierarchy"))?;
        let mut out = BTreeSet::new();
        for &m in molregnos {
            let parent: Option<i64> = parent_of
                .query_row(params![m], |r| r.get(0))
                .optional()
                .map_err(query_err(&self.path, "molecule_hierarchy"))?
                .flatten();
            let parent = parent.unwrap_or(m);
            out.insert((m, m));
            out.insert((m, parent));
            let rows = children
                .query_map(params![parent], |r| r.get::<_, i64>(0))
                .map_err(query_err(&self.path, "molecule_hierarchy"))?;
            for c in rows {
                out.insert((m, c.map_err(query_err(&self.path, "molecule_hierarchy"))?));
            }
        }
        Ok(out.into_iter().collect())
    }

    /// `molecule_dictionary.chembl_id` of each molregno found.
    pub fn molecule_chembl_ids(
        &self,
        molregnos: &[i64],
    ) -> Result<BTreeMap<i64, String>, ChemblError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT chembl_id FROM molecule_dictionary WHERE molregno = ?1")
            .map_err(query_err(&self.path, "molecule_dictionary"))?;
        let mut out = BTreeMap::new();
        for &m in molregnos {
            if let Some(id) = stmt
                .query_row(params![m], |r| r.get::<_, String>(0))
                .optional()
                .map_err(query_err(&self.path, "molecule_dictionary"))?
            {
                out.insert(m, id);
            }
        }
        Ok(out)
    }

    /// All activities of `molregnos`, in (molregno, activity_id) order. Values that are not
    /// what the schema promises (a non-numeric pChEMBL) become rejects; the row is kept without
    /// the value.
    pub fn activities(
        &self,
        molregnos: &[i64],
        rejects: &mut Vec<ChemblReject>,
    ) -> Result<Vec<RawActivity>, ChemblError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT activity_id, assay_id, molregno, standard_type, standard_relation, \
                        pchembl_value, activity_comment, data_validity_comment \
                 FROM activities WHERE molregno = ?1 ORDER BY activity_id",
            )
            .map_err(query_err(&self.path, "activities"))?;
        let mut sorted: Vec<i64> = molregnos.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let mut out = Vec::new();
        for m in sorted {
            let mut rows = stmt
                .query(params![m])
                .map_err(query_err(&self.path, "activities"))?;
            while let Some(row) = rows.next().map_err(query_err(&self.path, "activities"))? {
                let activity_id: i64 = row.get(0).map_err(query_err(&self.path, "activities"))?;
                let text = |i: usize| -> Result<Option<String>, ChemblError> {
                    use rusqlite::types::ValueRef;
                    Ok(
                        match row
                            .get_ref(i)
                            .map_err(query_err(&self.path, "activities"))?
                        {
                            ValueRef::Null => None,
                            ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                            ValueRef::Integer(n) => Some(n.to_string()),
                            ValueRef::Real(x) => Some(x.to_string()),
                            ValueRef::Blob(_) => None,
                        },
                    )
                };
                let pchembl_value = {
                    use rusqlite::types::ValueRef;
                    match row
                        .get_ref(5)
                        .map_err(query_err(&self.path, "activities"))?
                    {
                        ValueRef::Null => None,
                        ValueRef::Integer(n) => Some(n as f64),
                        ValueRef::Real(x) => Some(x),
                        ValueRef::Text(t) => {
                            let t = String::from_utf8_lossy(t);
                            match t.trim().parse::<f64>() {
                                Ok(x) => Some(x),
                                Err(_) => {
                                    rejects.push(ChemblReject {
                                        source: "activities.pchembl_value".into(),
                                        record: format!("activity_id={activity_id}"),
                                        reason: format!("not a number: {t:?}"),
                                    });
                                    None
                                }
                            }
                        }
                        ValueRef::Blob(_) => None,
                    }
                };
                out.push(RawActivity {
                    activity_id,
                    assay_id: row.get(1).map_err(query_err(&self.path, "activities"))?,
                    molregno: row.get(2).map_err(query_err(&self.path, "activities"))?,
                    standard_type: text(3)?,
                    standard_relation: text(4)?,
                    pchembl_value,
                    activity_comment: text(6)?,
                    data_validity_comment: text(7)?,
                });
            }
        }
        Ok(out)
    }

    /// Attributes of the given assays (with their targets), by assay_id.
    pub fn assays(&self, assay_ids: &[i64]) -> Result<BTreeMap<i64, AssayInfo>, ChemblError> {
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

/// The column names of `table` (empty when the table does not exist).
fn table_columns(conn: &Connection, table: &str) -> Result<BTreeSet<String>, rusqlite::Error> {
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({table})"))?;
    let names = stmt.query_map([], |r| r.get::<_, String>(1))?;
    names.collect()
}
