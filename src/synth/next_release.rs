//! `synth release`: a plausible next ChEMBL release derived from an existing one.
//!
//! Between two ChEMBL releases activities are added, a few are retracted or corrected, and
//! curators set or clear data-validity flags (`docs/formats.md`). A label refresh has to handle
//! all of these, so tests, demos and benchmarks need pairs of releases that differ the way real
//! ones do. [`derive_release`] copies a release and applies such a difference to the copy.
//!
//! # What changes
//!
//! About `change_rate` × (number of activities) activity rows change, split like this:
//!
//! | share | change | how |
//! | --- | --- | --- |
//! | 20 % | retracted | the row is deleted (with its rows in other tables keyed by `activity_id`) |
//! | 30 % | corrected | pChEMBL shifted by ±0.1..1.0 (standard value in nM recomputed), or the activity comment re-spelled (10 % of those flipped between active and inactive), or the standard value scaled by a factor in 0.5..2 |
//! | 10 % | validity | a `data_validity_comment` set (ChEMBL's values, weighted as they occur) or cleared |
//! | 40 % | added | half as new molecules, half as follow-up assays |
//!
//! * **New molecules**: about `change_rate` × (number of molecules) / 2 of them, each an
//!   analogue (one or two substituents, [`AnalogueMaker`]) of a random existing molecule that
//!   has activities, keyed with [`smiles_to_inchikey`]. Each gets copies of one to three of its
//!   parent's activity rows (same assays), with measurement noise. Rows of this half of the
//!   budget that the molecules do not use go to the follow-up assays.
//! * **Follow-up assays**: an assay is picked through a random activity row (so large assays
//!   are picked more often) and confirmed by a new assay ("Confirmatory screen: ..."; same
//!   target, type, confidence and document) holding a random 50-100 % (at most
//!   [`MAX_FOLLOW_UP_ROWS`]) of its activity rows, with measurement noise.
//!
//! Measurement noise on a copied row: pChEMBL + N(0, 0.3), rounded to two decimals and kept in
//! [3, 11], with the standard value recomputed when it is in nM; the activity comment is kept
//! (1 % flipped between active and inactive); the validity flag is cleared (nobody has curated
//! the new record yet) and `potential_duplicate` is 0. Every other column of a copied row
//! (`standard_type`, `standard_relation`, `standard_units`, `standard_flag`, `doc_id`,
//! `record_id`, and whatever else a real release has) is copied from its source row, so new
//! rows look like the release's own. New molecules get rows in `molecule_dictionary` (copied
//! from the parent's, without names or drug information), `compound_structures` (the
//! analogue's SMILES and key, no InChI or molfile) and `molecule_hierarchy` (their own parent),
//! nothing in other tables (`compound_properties`...). New ids continue after the largest existing ones (ChEMBL
//! never reuses an id); new `CHEMBLnnn` ids are checked against molecules, assays, targets and,
//! when the release has one, `chembl_id_lookup` (which then gets rows for them).
//!
//! The `version` table names the next release (`ChEMBL_36` becomes `ChEMBL_37`, or the name
//! given) and says in its comments how it was derived.
//!
//! # Scale
//!
//! Rows are picked by drawing ids uniformly between the smallest and largest existing id and
//! looking them up by primary key; in a sparse id space (an extract) a run of misses falls back
//! to the next existing id after a random point, which favours rows after large gaps a little.
//! Molecules and assays are read through ChEMBL's indexes (`compound_structures` by molregno
//! and InChIKey, `activities` by molregno and by assay). Nothing reads a whole table into
//! memory; the work is proportional to the number of changes, plus one copy of the file.
//!
//! # Determinism and atomicity
//!
//! The same input file, change rate and seed give a byte-identical output: every random choice
//! comes from one [`SplitMix64`] in a fixed order, and SQLite writes the same pages for the
//! same statements. The input is only read (validated with [`ChemblRelease::open`], then copied
//! byte for byte). The copy is written as `.NAME.PID.tmp` beside the output, changed in one
//! transaction, synced, and only then linked into place; an interrupted run leaves no file
//! under the output name, and an existing output is never overwritten.

use std::collections::HashSet;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::Serialize;

use crate::chem::smiles_to_inchikey;
use crate::pipeline::normalize_comment;
use crate::rng::SplitMix64;
use crate::sources::chembl::{ChemblError, ChemblRelease, release_number};
use crate::synth::molecules::AnalogueMaker;

/// The default share of activity rows that change: ChEMBL's releases change about 1-5 % of
/// their activities.
pub const DEFAULT_CHANGE_RATE: f64 = 0.01;

/// The default seed.
pub const DEFAULT_SEED: u64 = 0;

/// At most this many rows are copied into one follow-up assay.
pub const MAX_FOLLOW_UP_ROWS: usize = 5_000;

/// A follow-up assay draws from at most this many of its source assay's rows.
const MAX_ASSAY_ROWS_READ: i64 = 100_000;

/// Direct id draws before falling back to the next existing id.
const DIRECT_DRAWS: usize = 16;

/// `CHEMBLnnn` numbers of new molecules and assays start at this plus their integer id.
const CHEMBL_ID_BASE: i64 = 6_000_000;

/// ChEMBL's `data_validity_comment` values, weighted roughly as they occur.
const VALIDITY_COMMENTS: &[(&str, u64)] = &[
    ("Outside typical range", 50),
    ("Potential transcription error", 15),
    ("Non standard unit for type", 10),
    ("Potential missing data", 10),
    ("Potential author error", 5),
    ("Manually validated", 10),
];

/// What an activity comment means, with spellings that occur in ChEMBL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meaning {
    Active,
    Inactive,
    Inconclusive,
    NotDetermined,
    NotTested,
}

const SPELLINGS: &[(Meaning, &[&str])] = &[
    (Meaning::Active, &["Active", "active", "ACTIVE"]),
    (
        Meaning::Inactive,
        &[
            "Not Active",
            "inactive",
            "Inactive",
            "not active",
            "NOT ACTIVE",
            "Not active",
        ],
    ),
    (
        Meaning::Inconclusive,
        &["Inconclusive", "inconclusive", "INCONCLUSIVE"],
    ),
    (
        Meaning::NotDetermined,
        &["Not Determined", "Not determined", "not determined"],
    ),
    (
        Meaning::NotTested,
        &["Not Tested", "Not tested", "not tested"],
    ),
];

/// What to change.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseChanges {
    /// Share of the activity rows that change (0..=1).
    pub change_rate: f64,
    /// Seed of every random choice.
    pub seed: u64,
    /// Name of the new release; by default the old one with its trailing number + 1.
    pub version_name: Option<String>,
}

impl Default for ReleaseChanges {
    fn default() -> ReleaseChanges {
        ReleaseChanges {
            change_rate: DEFAULT_CHANGE_RATE,
            seed: DEFAULT_SEED,
            version_name: None,
        }
    }
}

/// What [`derive_release`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseSummary {
    /// `version.name` of the input.
    pub from_version: String,
    /// `version.name` of the output.
    pub to_version: String,
    /// Activities in the input.
    pub activities_before: u64,
    /// Activity rows deleted.
    pub retracted: u64,
    /// Activity rows whose value or comment changed.
    pub corrected: u64,
    /// Activity rows whose `data_validity_comment` was set or cleared.
    pub validity_changed: u64,
    /// Activity rows added (new ids).
    pub added: u64,
    /// Molecules added.
    pub new_molecules: u64,
    /// Assays added.
    pub new_assays: u64,
    /// Activities in the output.
    pub activities_after: u64,
}

/// Errors deriving a release.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// The input is not a readable release (missing file, table or column; corrupt file).
    #[error(transparent)]
    Input(#[from] ChemblError),
    /// The input names no version to count on from.
    #[error(
        "ChEMBL release {path}: no version name to derive the next one from (the version table is missing or empty)"
    )]
    NoVersion {
        /// The input.
        path: String,
    },
    /// The input's version name ends in no number and no name was given.
    #[error(
        "ChEMBL release {path}: version name {name:?} does not end in a number; give the new release's name"
    )]
    VersionName {
        /// The input.
        path: String,
        /// Its version name.
        name: String,
    },
    /// The change rate is not a share.
    #[error("change rate {rate} is not between 0 and 1")]
    ChangeRate {
        /// The rate given.
        rate: f64,
    },
    /// The output exists already.
    #[error("{path} already exists; a derived release never overwrites a file")]
    OutputExists {
        /// The output.
        path: String,
    },
    /// The input has changes in a write-ahead log that a file copy would miss.
    #[error(
        "ChEMBL release {path} has an uncheckpointed write-ahead log ({wal}); open and close it with sqlite3 first"
    )]
    WriteAheadLog {
        /// The input.
        path: String,
        /// The log.
        wal: String,
    },
    /// SQLite failed.
    #[error("deriving {out} from {from}: {what}: {source}")]
    Sqlite {
        /// The input.
        from: String,
        /// The output.
        out: String,
        /// The step.
        what: &'static str,
        /// The cause (boxed: it is large).
        source: Box<rusqlite::Error>,
    },
    /// The filesystem failed.
    #[error("deriving {out} from {from}: {what}: {source}")]
    Io {
        /// The input.
        from: String,
        /// The output.
        out: String,
        /// The step.
        what: &'static str,
        /// The cause.
        source: io::Error,
    },
}

/// Derives the next release from the release at `from` and writes it to `out` (which must not
/// exist). `from` is never modified. See the module documentation for what changes.
pub fn derive_release(
    from: &Path,
    out: &Path,
    changes: &ReleaseChanges,
) -> Result<ReleaseSummary, ReleaseError> {
    let rate = changes.change_rate;
    if !(0.0..=1.0).contains(&rate) {
        return Err(ReleaseError::ChangeRate { rate });
    }
    let names = Names {
        from: from.display().to_string(),
        out: out.display().to_string(),
    };
    if out.exists() {
        return Err(ReleaseError::OutputExists { path: names.out });
    }
    match ChemblRelease::open(from, None) {
        Ok(_) => {}
        Err(ChemblError::NoVersion { path }) => return Err(ReleaseError::NoVersion { path }),
        Err(e) => return Err(e.into()),
    }
    let wal = PathBuf::from(format!("{}-wal", from.display()));
    if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
        return Err(ReleaseError::WriteAheadLog {
            path: names.from,
            wal: wal.display().to_string(),
        });
    }

    // Name the new release before copying anything.
    let from_version = {
        let conn = Connection::open_with_flags(
            from,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(names.sql("opening the input"))?;
        let name: Option<String> = conn
            .query_row("SELECT name FROM version ORDER BY name LIMIT 1", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(names.sql("reading the version table"))?;
        name.ok_or_else(|| ReleaseError::NoVersion {
            path: names.from.clone(),
        })?
    };
    let to_version = match &changes.version_name {
        Some(v) => v.clone(),
        None => next_version_name(&from_version).ok_or_else(|| ReleaseError::VersionName {
            path: names.from.clone(),
            name: from_version.clone(),
        })?,
    };

    // Copy under a temporary name beside the output.
    let file_name = out
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "chembl.db".into());
    let temp = TempFile(out.with_file_name(format!(".{file_name}.{}.tmp", std::process::id())));
    let _ = std::fs::remove_file(&temp.0);
    {
        let mut src = File::open(from).map_err(names.io("opening the input"))?;
        let mut dst = File::create_new(&temp.0).map_err(names.io("creating the temporary copy"))?;
        io::copy(&mut src, &mut dst).map_err(names.io("copying the input"))?;
    }

    let mut conn = Connection::open(&temp.0).map_err(names.sql("opening the copy"))?;
    conn.execute_batch(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE; \
         PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY;",
    )
    .map_err(names.sql("configuring the copy"))?;
    conn.set_prepared_statement_cache_capacity(64);
    let summary = {
        let tx = conn
            .transaction()
            .map_err(names.sql("starting the transaction"))?;
        let mut d = Deriver::new(&tx, &names, changes, &from_version, &to_version)?;
        let summary = d.run()?;
        drop(d);
        tx.commit().map_err(names.sql("committing"))?;
        summary
    };
    conn.close()
        .map_err(|(_, e)| names.sql("closing the copy")(e))?;
    File::open(&temp.0)
        .and_then(|f| f.sync_all())
        .map_err(names.io("syncing the copy"))?;

    // Into place, never over an existing file.
    match std::fs::hard_link(&temp.0, out) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(ReleaseError::OutputExists { path: names.out });
        }
        Err(_) => {
            if out.exists() {
                return Err(ReleaseError::OutputExists { path: names.out });
            }
            std::fs::rename(&temp.0, out).map_err(names.io("moving the copy into place"))?;
        }
    }
    tracing::debug!(?summary, "derived release");
    Ok(summary)
}

/// `ChEMBL_36` -> `ChEMBL_37`: the trailing number + 1, keeping its width (`x_09` -> `x_10`).
/// `None` when the name ends in no number.
pub fn next_version_name(name: &str) -> Option<String> {
    let name = name.trim();
    let start = name
        .char_indices()
        .rev()
        .find(|(_, c)| !c.is_ascii_digit())
        .map_or(0, |(i, c)| i + c.len_utf8());
    let digits = &name[start..];
    if digits.is_empty() {
        return None;
    }
    let next = digits.parse::<u64>().ok()?.checked_add(1)?;
    Some(format!(
        "{}{next:0width$}",
        &name[..start],
        width = digits.len()
    ))
}

/// The two paths, for error messages.
struct Names {
    from: String,
    out: String,
}

impl Names {
    fn sql(&self, what: &'static str) -> impl Fn(rusqlite::Error) -> ReleaseError + '_ {
        move |source| ReleaseError::Sqlite {
            from: self.from.clone(),
            out: self.out.clone(),
            what,
            source: Box::new(source),
        }
    }

    fn io(&self, what: &'static str) -> impl Fn(io::Error) -> ReleaseError + '_ {
        move |source| ReleaseError::Io {
            from: self.from.clone(),
            out: self.out.clone(),
            what,
            source,
        }
    }
}

/// A temporary file removed when dropped (after a successful link it is a second name).
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let _ = std::fs::remove_file(format!("{}-journal", self.0.display()));
    }
}

/// An activity row's fields that the changes look at.
struct ActRow {
    assay_id: i64,
    standard_value: Option<f64>,
    standard_units: Option<String>,
    activity_comment: Option<String>,
    data_validity_comment: Option<String>,
    pchembl_value: Option<f64>,
}

/// Inclusive id range of the rows that existed before this run.
#[derive(Clone, Copy)]
struct IdRange {
    lo: i64,
    hi: i64,
}

/// The work on the open copy.
struct Deriver<'a> {
    conn: &'a Connection,
    names: &'a Names,
    rng: SplitMix64,
    rate: f64,
    seed: u64,
    from_version: &'a str,
    to_version: &'a str,
    /// Activity ids before this run.
    activities: Option<IdRange>,
    /// compound_structures molregnos before this run.
    molecules: Option<IdRange>,
    n_activities: u64,
    n_molecules: u64,
    next_activity_id: i64,
    next_molregno: i64,
    next_assay_id: i64,
    /// Rows retracted, corrected or flagged in this run.
    picked: HashSet<i64>,
    target_chembl_ids: HashSet<String>,
    /// `INSERT ... SELECT` statements that copy a row with some columns replaced.
    copy_activity_sql: String,
    copy_molecule_sql: String,
    copy_structure_sql: String,
    copy_assay_sql: String,
    hierarchy_sql: String,
    lookup_sql: Option<String>,
    has_lookup: bool,
}

impl<'a> Deriver<'a> {
    fn new(
        conn: &'a Connection,
        names: &'a Names,
        changes: &ReleaseChanges,
        from_version: &'a str,
        to_version: &'a str,
    ) -> Result<Deriver<'a>, ReleaseError> {
        let count = |sql: &str, what| -> Result<i64, ReleaseError> {
            conn.query_row(sql, [], |r| r.get::<_, Option<i64>>(0))
                .map(|v| v.unwrap_or(0))
                .map_err(names.sql(what))
        };
        let range = |table: &str, col: &str, what| -> Result<Option<IdRange>, ReleaseError> {
            let (lo, hi): (Option<i64>, Option<i64>) = conn
                .query_row(
                    &format!("SELECT min({col}), max({col}) FROM {table}"),
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(names.sql(what))?;
            Ok(lo.zip(hi).map(|(lo, hi)| IdRange { lo, hi }))
        };
        let activities = range("activities", "activity_id", "reading activity ids")?;
        let molecules = range("compound_structures", "molregno", "reading molregnos")?;
        let n_activities = count("SELECT count(*) FROM activities", "counting activities")?;
        let n_molecules = count(
            "SELECT count(*) FROM molecule_dictionary",
            "counting molecules",
        )?;
        let max_molregno = [
            "SELECT max(molregno) FROM molecule_dictionary",
            "SELECT max(molregno) FROM compound_structures",
            "SELECT max(molregno) FROM molecule_hierarchy",
        ]
        .iter()
        .map(|sql| count(sql, "reading molregnos"))
        .try_fold(0i64, |m, x| x.map(|x| m.max(x)))?;
        let max_assay = count("SELECT max(assay_id) FROM assays", "reading assay ids")?;

        let columns = |table: &str| -> Result<Vec<String>, ReleaseError> {
            table_columns(conn, table).map_err(names.sql("reading the schema"))
        };
        let act_cols = columns("activities")?;
        let copy_activity_sql = copy_row_sql(
            "activities",
            &act_cols,
            "activity_id",
            7,
            &[
                ("activity_id", "?1"),
                ("assay_id", "COALESCE(?2, assay_id)"),
                ("molregno", "COALESCE(?3, molregno)"),
                ("standard_value", "COALESCE(?4, standard_value)"),
                ("pchembl_value", "COALESCE(?5, pchembl_value)"),
                ("activity_comment", "COALESCE(?6, activity_comment)"),
                ("data_validity_comment", "NULL"),
                ("potential_duplicate", "0"),
            ],
        );
        let copy_molecule_sql = copy_row_sql(
            "molecule_dictionary",
            &columns("molecule_dictionary")?,
            "molregno",
            3,
            &[
                ("molregno", "?1"),
                ("chembl_id", "?2"),
                ("pref_name", "NULL"),
                ("max_phase", "NULL"),
                ("therapeutic_flag", "0"),
                ("dosed_ingredient", "0"),
                ("chebi_par_id", "NULL"),
                ("first_approval", "NULL"),
                ("oral", "0"),
                ("parenteral", "0"),
                ("topical", "0"),
                ("black_box_warning", "0"),
                ("first_in_class", "-1"),
                ("prodrug", "-1"),
                ("usan_year", "NULL"),
                ("availability_type", "-1"),
                ("usan_stem", "NULL"),
                ("usan_substem", "NULL"),
                ("usan_stem_definition", "NULL"),
                ("indication_class", "NULL"),
                ("withdrawn_flag", "0"),
                ("orphan", "-1"),
            ],
        );
        let copy_structure_sql = copy_row_sql(
            "compound_structures",
            &columns("compound_structures")?,
            "molregno",
            4,
            &[
                ("molregno", "?1"),
                ("molfile", "NULL"),
                ("standard_inchi", "NULL"),
                ("standard_inchi_key", "?2"),
                ("canonical_smiles", "?3"),
            ],
        );
        let copy_assay_sql = copy_row_sql(
            "assays",
            &columns("assays")?,
            "assay_id",
            4,
            &[
                ("assay_id", "?1"),
                ("chembl_id", "?2"),
                ("description", "?3"),
                ("src_assay_id", "NULL"),
            ],
        );
        let hierarchy_sql = if columns("molecule_hierarchy")?
            .iter()
            .any(|c| c == "active_molregno")
        {
            "INSERT INTO molecule_hierarchy (molregno, parent_molregno, active_molregno) VALUES (?1, ?1, ?1)"
        } else {
            "INSERT INTO molecule_hierarchy (molregno, parent_molregno) VALUES (?1, ?1)"
        }
        .to_string();
        let lookup_cols = columns("chembl_id_lookup")?;
        let has_lookup = lookup_cols.iter().any(|c| c == "chembl_id");
        let lookup_sql = ["entity_type", "entity_id", "status"]
            .iter()
            .all(|c| lookup_cols.iter().any(|l| l == c))
            .then(|| {
                if lookup_cols.iter().any(|c| c == "last_active") {
                    "INSERT INTO chembl_id_lookup (chembl_id, entity_type, entity_id, status, last_active) \
                     VALUES (?1, ?2, ?3, 'ACTIVE', ?4)"
                } else {
                    "INSERT INTO chembl_id_lookup (chembl_id, entity_type, entity_id, status) \
                     VALUES (?1, ?2, ?3, 'ACTIVE')"
                }
                .to_string()
            });
        let target_chembl_ids = {
            let mut stmt = conn
                .prepare("SELECT chembl_id FROM target_dictionary")
                .map_err(names.sql("reading target ids"))?;
            let rows = stmt
                .query_map([], |r| r.get::<_, Option<String>>(0))
                .map_err(names.sql("reading target ids"))?;
            let mut ids = HashSet::new();
            for id in rows {
                if let Some(id) = id.map_err(names.sql("reading target ids"))? {
                    ids.insert(id);
                }
            }
            ids
        };

        Ok(Deriver {
            conn,
            names,
            rng: SplitMix64::new(changes.seed),
            rate: changes.change_rate,
            seed: changes.seed,
            from_version,
            to_version,
            activities,
            molecules,
            n_activities: u64::try_from(n_activities).unwrap_or(0),
            n_molecules: u64::try_from(n_molecules).unwrap_or(0),
            next_activity_id: activities.map_or(1, |r| r.hi.saturating_add(1)),
            next_molregno: max_molregno.saturating_add(1),
            next_assay_id: max_assay.saturating_add(1),
            picked: HashSet::new(),
            target_chembl_ids,
            copy_activity_sql,
            copy_molecule_sql,
            copy_structure_sql,
            copy_assay_sql,
            hierarchy_sql,
            lookup_sql,
            has_lookup,
        })
    }

    fn sql(&self, what: &'static str) -> impl Fn(rusqlite::Error) -> ReleaseError + '_ {
        self.names.sql(what)
    }

    fn run(&mut self) -> Result<ReleaseSummary, ReleaseError> {
        let total = (self.rate * self.n_activities as f64).round() as u64;
        let share = |f: f64| (f * total as f64).round() as u64;
        let (n_retract, n_correct, n_validity) = (share(0.2), share(0.3), share(0.1));
        let n_add = total.saturating_sub(n_retract + n_correct + n_validity);
        let follow_up_budget = n_add / 2;
        let molecule_budget = n_add - follow_up_budget;

        self.update_version()?;
        let retracted = self.retract(n_retract)?;
        let corrected = self.change_rows(n_correct, Deriver::correct)?;
        let validity_changed = self.change_rows(n_validity, Deriver::flip_validity)?;
        let (new_molecules, molecule_rows) = self.new_molecules(molecule_budget)?;
        let (new_assays, follow_up_rows) =
            self.follow_ups(follow_up_budget + (molecule_budget - molecule_rows))?;
        let added = molecule_rows + follow_up_rows;
        Ok(ReleaseSummary {
            from_version: self.from_version.to_string(),
            to_version: self.to_version.to_string(),
            activities_before: self.n_activities,
            retracted,
            corrected,
            validity_changed,
            added,
            new_molecules,
            new_assays,
            activities_after: self.n_activities - retracted + added,
        })
    }

    fn update_version(&self) -> Result<(), ReleaseError> {
        let cols = table_columns(self.conn, "version").map_err(self.sql("reading the schema"))?;
        let comment = format!(
            "derived from {} by assayflow synth release (change rate {}, seed {})",
            self.from_version, self.rate, self.seed
        );
        let has_comments = cols.iter().any(|c| c == "comments");
        let mut sets = vec!["name = ?1"];
        if cols.iter().any(|c| c == "creation_date") {
            sets.push("creation_date = NULL");
        }
        if has_comments {
            sets.push("comments = ?3");
        }
        let sql = format!("UPDATE version SET {} WHERE name = ?2", sets.join(", "));
        let mut stmt = self
            .conn
            .prepare(&sql)
            .map_err(self.sql("updating the version table"))?;
        if has_comments {
            stmt.execute(params![self.to_version, self.from_version, comment])
        } else {
            stmt.execute(params![self.to_version, self.from_version])
        }
        .map_err(self.sql("updating the version table"))?;
        Ok(())
    }

    /// A uniformly drawn id in `range` whose row exists now (see the module docs for the
    /// fallback in sparse id spaces); `None` when none is left in the range.
    fn random_id(
        &mut self,
        range: IdRange,
        exists_sql: &str,
        next_sql: &str,
    ) -> Result<Option<i64>, ReleaseError> {
        let span = (i128::from(range.hi) - i128::from(range.lo) + 1).clamp(1, i128::from(u64::MAX));
        let span = span as u64;
        let draw =
            |rng: &mut SplitMix64| (i128::from(range.lo) + i128::from(rng.below(span))) as i64;
        for _ in 0..DIRECT_DRAWS {
            let x = draw(&mut self.rng);
            let found = self
                .conn
                .prepare_cached(exists_sql)
                .and_then(|mut s| s.exists(params![x]))
                .map_err(self.sql("looking up a random row"))?;
            if found {
                return Ok(Some(x));
            }
        }
        let x = draw(&mut self.rng);
        let next = |from: i64| -> Result<Option<i64>, ReleaseError> {
            self.conn
                .prepare_cached(next_sql)
                .and_then(|mut s| {
                    s.query_row(params![from, range.hi], |r| r.get::<_, i64>(0))
                        .optional()
                })
                .map_err(self.names.sql("looking up a random row"))
        };
        match next(x)? {
            Some(id) => Ok(Some(id)),
            None => next(range.lo),
        }
    }

    fn random_activity(&mut self) -> Result<Option<i64>, ReleaseError> {
        let Some(range) = self.activities else {
            return Ok(None);
        };
        self.random_id(
            range,
            "SELECT 1 FROM activities WHERE activity_id = ?1",
            "SELECT activity_id FROM activities WHERE activity_id >= ?1 AND activity_id <= ?2 \
             ORDER BY activity_id LIMIT 1",
        )
    }

    fn random_molecule(&mut self) -> Result<Option<i64>, ReleaseError> {
        let Some(range) = self.molecules else {
            return Ok(None);
        };
        self.random_id(
            range,
            "SELECT 1 FROM compound_structures WHERE molregno = ?1",
            "SELECT molregno FROM compound_structures WHERE molregno >= ?1 AND molregno <= ?2 \
             ORDER BY molregno LIMIT 1",
        )
    }

    /// A random activity row of the input not picked before in this run.
    fn pick_activity(&mut self) -> Result<Option<i64>, ReleaseError> {
        for _ in 0..64 {
            match self.random_activity()? {
                None => return Ok(None),
                Some(id) => {
                    if self.picked.insert(id) {
                        return Ok(Some(id));
                    }
                }
            }
        }
        Ok(None)
    }

    fn read_activity(&self, id: i64) -> Result<Option<ActRow>, ReleaseError> {
        self.conn
            .prepare_cached(
                "SELECT assay_id, standard_value, standard_units, activity_comment, \
                        data_validity_comment, pchembl_value \
                 FROM activities WHERE activity_id = ?1",
            )
            .and_then(|mut s| {
                s.query_row(params![id], |r| {
                    Ok(ActRow {
                        assay_id: r.get(0)?,
                        standard_value: number(r.get_ref(1)?),
                        standard_units: text(r.get_ref(2)?),
                        activity_comment: text(r.get_ref(3)?),
                        data_validity_comment: text(r.get_ref(4)?),
                        pchembl_value: number(r.get_ref(5)?),
                    })
                })
                .optional()
            })
            .map_err(self.sql("reading an activity"))
    }

    /// Deletes `n` random rows (and rows keyed by their ids in other tables).
    fn retract(&mut self, n: u64) -> Result<u64, ReleaseError> {
        let mut ids = Vec::new();
        for _ in 0..n {
            let Some(id) = self.pick_activity()? else {
                break;
            };
            self.conn
                .prepare_cached("DELETE FROM activities WHERE activity_id = ?1")
                .and_then(|mut s| s.execute(params![id]))
                .map_err(self.sql("retracting an activity"))?;
            ids.push(id);
        }
        if ids.is_empty() {
            return Ok(0);
        }
        // Rows of other tables that belong to a retracted activity (ligand_eff,
        // activity_properties... in a real release) go with it.
        let tables: Vec<String> = {
            let mut stmt = self
                .conn
                .prepare(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'activities' \
                     AND name NOT LIKE 'sqlite_%' ORDER BY name",
                )
                .map_err(self.sql("reading the schema"))?;
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(self.sql("reading the schema"))?;
            rows.collect::<Result<_, _>>()
                .map_err(self.sql("reading the schema"))?
        };
        let mut dependent = Vec::new();
        for t in tables {
            let cols = table_columns(self.conn, &t).map_err(self.sql("reading the schema"))?;
            if cols.iter().any(|c| c == "activity_id") {
                dependent.push(t);
            }
        }
        if !dependent.is_empty() {
            let sql = self.sql("retracting rows of dependent tables");
            self.conn
                .execute_batch("CREATE TEMP TABLE af_retracted (activity_id INTEGER PRIMARY KEY)")
                .map_err(&sql)?;
            {
                let mut insert = self
                    .conn
                    .prepare("INSERT INTO temp.af_retracted VALUES (?1)")
                    .map_err(&sql)?;
                for id in &ids {
                    insert.execute(params![id]).map_err(&sql)?;
                }
            }
            for t in dependent {
                self.conn
                    .execute(
                        &format!(
                            "DELETE FROM {} WHERE activity_id IN (SELECT activity_id FROM temp.af_retracted)",
                            quote(&t)
                        ),
                        [],
                    )
                    .map_err(&sql)?;
            }
            self.conn
                .execute_batch("DROP TABLE temp.af_retracted")
                .map_err(&sql)?;
        }
        Ok(ids.len() as u64)
    }

    /// Applies `change` to random rows until `n` rows changed (rows it cannot change are
    /// skipped) or no more rows can be found.
    fn change_rows(
        &mut self,
        n: u64,
        change: fn(&mut Deriver<'a>, i64) -> Result<bool, ReleaseError>,
    ) -> Result<u64, ReleaseError> {
        let mut done = 0;
        let mut attempts = 0u64;
        let max_attempts = n.saturating_mul(20).saturating_add(100);
        while done < n && attempts < max_attempts {
            attempts += 1;
            let Some(id) = self.pick_activity()? else {
                break;
            };
            if change(self, id)? {
                done += 1;
            }
        }
        Ok(done)
    }

    /// A correction of row `id` (see the module docs); false when it has nothing to correct.
    fn correct(&mut self, id: i64) -> Result<bool, ReleaseError> {
        let Some(row) = self.read_activity(id)? else {
            return Ok(false);
        };
        if let Some(p) = row.pchembl_value {
            let shift =
                (0.1 + 0.9 * self.rng.unit()) * if self.rng.chance(0.5) { 1.0 } else { -1.0 };
            let old = round2(p);
            let mut new = round2((p + shift).clamp(3.0, 11.0));
            if new == old {
                new = round2((p - shift).clamp(3.0, 11.0));
            }
            if new == old {
                return Ok(false);
            }
            let sql = self.sql("correcting an activity");
            if is_nm(row.standard_units.as_deref()) {
                self.conn
                    .prepare_cached(
                        "UPDATE activities SET pchembl_value = ?2, standard_value = ?3 \
                         WHERE activity_id = ?1",
                    )
                    .and_then(|mut s| s.execute(params![id, new, nm_from_pchembl(new)]))
                    .map_err(&sql)?;
            } else {
                self.conn
                    .prepare_cached(
                        "UPDATE activities SET pchembl_value = ?2 WHERE activity_id = ?1",
                    )
                    .and_then(|mut s| s.execute(params![id, new]))
                    .map_err(&sql)?;
            }
            return Ok(true);
        }
        if let Some(comment) = &row.activity_comment
            && let Some(meaning) = meaning_of(comment)
        {
            let flip =
                matches!(meaning, Meaning::Active | Meaning::Inactive) && self.rng.chance(0.1);
            let new = if flip {
                spelling(&mut self.rng, opposite(meaning), None)
            } else {
                spelling(&mut self.rng, meaning, Some(comment))
            };
            self.conn
                .prepare_cached(
                    "UPDATE activities SET activity_comment = ?2 WHERE activity_id = ?1",
                )
                .and_then(|mut s| s.execute(params![id, new]))
                .map_err(self.sql("correcting an activity"))?;
            return Ok(true);
        }
        if let Some(v) = row.standard_value.filter(|v| *v != 0.0 && v.is_finite()) {
            let exponent =
                (0.1 + 0.9 * self.rng.unit()) * if self.rng.chance(0.5) { 1.0 } else { -1.0 };
            let new = round_sig3(v * exponent.exp2());
            if new == v {
                return Ok(false);
            }
            self.conn
                .prepare_cached("UPDATE activities SET standard_value = ?2 WHERE activity_id = ?1")
                .and_then(|mut s| s.execute(params![id, new]))
                .map_err(self.sql("correcting an activity"))?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Sets a validity comment on row `id`, or clears the one it has.
    fn flip_validity(&mut self, id: i64) -> Result<bool, ReleaseError> {
        let Some(row) = self.read_activity(id)? else {
            return Ok(false);
        };
        let new = match row.data_validity_comment.as_deref().map(str::trim) {
            Some(c) if !c.is_empty() => None,
            _ => {
                let total: u64 = VALIDITY_COMMENTS.iter().map(|(_, w)| w).sum();
                let mut x = self.rng.below(total);
                let mut chosen = VALIDITY_COMMENTS[0].0;
                for (c, w) in VALIDITY_COMMENTS {
                    if x < *w {
                        chosen = c;
                        break;
                    }
                    x -= w;
                }
                Some(chosen)
            }
        };
        self.conn
            .prepare_cached(
                "UPDATE activities SET data_validity_comment = ?2 WHERE activity_id = ?1",
            )
            .and_then(|mut s| s.execute(params![id, new]))
            .map_err(self.sql("changing a validity comment"))?;
        Ok(true)
    }

    /// Activity ids of rows matching `sql` (`?1` = key), in id order, at most `limit`.
    fn activity_ids(&self, sql: &str, key: i64, limit: i64) -> Result<Vec<i64>, ReleaseError> {
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(self.sql("reading activities"))?;
        let rows = stmt
            .query_map(params![key, limit], |r| r.get::<_, i64>(0))
            .map_err(self.sql("reading activities"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.sql("reading activities"))
    }

    /// `k` of `ids` at random, in id order.
    fn choose(&mut self, mut ids: Vec<i64>, k: usize) -> Vec<i64> {
        let k = k.min(ids.len());
        for i in 0..k {
            let j = i + self.rng.index(ids.len() - i);
            ids.swap(i, j);
        }
        ids.truncate(k);
        ids.sort_unstable();
        ids
    }

    /// Copies activity `src` under a new id, into another assay and/or for another molecule,
    /// with measurement noise. Returns false when `src` is gone.
    fn copy_activity(
        &mut self,
        src: i64,
        assay_id: Option<i64>,
        molregno: Option<i64>,
    ) -> Result<bool, ReleaseError> {
        let Some(row) = self.read_activity(src)? else {
            return Ok(false);
        };
        let pchembl = row
            .pchembl_value
            .map(|p| round2((p + 0.3 * self.rng.normal()).clamp(3.0, 11.0)));
        let value = match pchembl {
            Some(p) if is_nm(row.standard_units.as_deref()) => Some(nm_from_pchembl(p)),
            _ => None,
        };
        let comment = match row.activity_comment.as_deref().and_then(meaning_of) {
            Some(m @ (Meaning::Active | Meaning::Inactive)) if self.rng.chance(0.01) => {
                Some(spelling(&mut self.rng, opposite(m), None))
            }
            _ => None,
        };
        let id = self.next_activity_id;
        self.next_activity_id += 1;
        let n = self
            .conn
            .prepare_cached(&self.copy_activity_sql)
            .and_then(|mut s| {
                s.execute(params![
                    id, assay_id, molregno, value, pchembl, comment, src
                ])
            })
            .map_err(self.sql("adding an activity"))?;
        Ok(n == 1)
    }

    /// Is `CHEMBL{n}` free for a new entity?
    fn chembl_id_free(&self, id: &str) -> Result<bool, ReleaseError> {
        if self.target_chembl_ids.contains(id) {
            return Ok(false);
        }
        let mut sqls = vec![
            "SELECT 1 FROM molecule_dictionary WHERE chembl_id = ?1",
            "SELECT 1 FROM assays WHERE chembl_id = ?1",
        ];
        if self.has_lookup {
            sqls.push("SELECT 1 FROM chembl_id_lookup WHERE chembl_id = ?1");
        }
        for sql in sqls {
            let used = self
                .conn
                .prepare_cached(sql)
                .and_then(|mut s| s.exists(params![id]))
                .map_err(self.sql("checking a CHEMBL id"))?;
            if used {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The first free `CHEMBLnnn` from `CHEMBL{start}` on, registered in `chembl_id_lookup`
    /// when the release has one.
    fn new_chembl_id(
        &self,
        start: i64,
        entity: &str,
        entity_id: i64,
    ) -> Result<String, ReleaseError> {
        let mut n = start;
        let id = loop {
            let id = format!("CHEMBL{n}");
            if self.chembl_id_free(&id)? {
                break id;
            }
            n = n.saturating_add(1);
        };
        if let Some(sql) = &self.lookup_sql {
            let release: Option<i64> = release_number(self.to_version).parse().ok();
            let result = if sql.contains("last_active") {
                self.conn
                    .prepare_cached(sql)
                    .and_then(|mut s| s.execute(params![id, entity, entity_id, release]))
            } else {
                self.conn
                    .prepare_cached(sql)
                    .and_then(|mut s| s.execute(params![id, entity, entity_id]))
            };
            result.map_err(self.sql("registering a CHEMBL id"))?;
        }
        Ok(id)
    }

    /// Analogues of random molecules, each with copies of 1-3 of its parent's activities,
    /// until about change_rate × molecules / 2 are made or `budget` rows are spent. Returns
    /// (molecules, rows).
    fn new_molecules(&mut self, budget: u64) -> Result<(u64, u64), ReleaseError> {
        if budget == 0 {
            return Ok((0, 0));
        }
        let target = ((self.rate * self.n_molecules as f64 * 0.5).round() as u64).max(1);
        let max_attempts = target.saturating_mul(50).saturating_add(200);
        let (mut made, mut rows, mut attempts) = (0u64, 0u64, 0u64);
        while made < target && rows < budget && attempts < max_attempts {
            attempts += 1;
            let Some(parent) = self.random_molecule()? else {
                break;
            };
            let smiles: Option<String> = self
                .conn
                .prepare_cached(
                    "SELECT s.canonical_smiles FROM compound_structures s \
                     JOIN molecule_dictionary d ON d.molregno = s.molregno WHERE s.molregno = ?1",
                )
                .and_then(|mut s| {
                    s.query_row(params![parent], |r| Ok(text(r.get_ref(0)?)))
                        .optional()
                })
                .map_err(self.sql("reading a molecule"))?
                .flatten();
            let Some(smiles) = smiles else {
                continue;
            };
            let sources = self.activity_ids(
                "SELECT activity_id FROM activities WHERE molregno = ?1 ORDER BY activity_id LIMIT ?2",
                parent,
                10_000,
            )?;
            if sources.is_empty() {
                continue;
            }
            let maker_seed = self.rng.next_u64();
            let edits = 1 + self.rng.index(2);
            let Some(analogue) =
                AnalogueMaker::new(&[smiles.as_str()], maker_seed).analogue(0, edits)
            else {
                continue;
            };
            let Ok(key) = smiles_to_inchikey(&analogue) else {
                continue;
            };
            let known = self
                .conn
                .prepare_cached("SELECT 1 FROM compound_structures WHERE standard_inchi_key = ?1")
                .and_then(|mut s| s.exists(params![key]))
                .map_err(self.sql("looking up an InChIKey"))?;
            if known {
                continue;
            }
            let molregno = self.next_molregno;
            self.next_molregno += 1;
            let chembl_id = self.new_chembl_id(
                CHEMBL_ID_BASE.saturating_add(molregno),
                "COMPOUND",
                molregno,
            )?;
            {
                let sql = self.sql("adding a molecule");
                self.conn
                    .prepare_cached(&self.copy_molecule_sql)
                    .and_then(|mut s| s.execute(params![molregno, chembl_id, parent]))
                    .map_err(&sql)?;
                self.conn
                    .prepare_cached(&self.copy_structure_sql)
                    .and_then(|mut s| s.execute(params![molregno, key, analogue, parent]))
                    .map_err(&sql)?;
                self.conn
                    .prepare_cached(&self.hierarchy_sql)
                    .and_then(|mut s| s.execute(params![molregno]))
                    .map_err(&sql)?;
            }
            made += 1;
            let k =
                (1 + self.rng.index(3)).min(usize::try_from(budget - rows).unwrap_or(usize::MAX));
            for src in self.choose(sources, k) {
                if self.copy_activity(src, None, Some(molregno))? {
                    rows += 1;
                }
            }
        }
        Ok((made, rows))
    }

    /// Follow-up assays of assays picked through random activities, until `budget` rows are
    /// spent. Returns (assays, rows).
    fn follow_ups(&mut self, budget: u64) -> Result<(u64, u64), ReleaseError> {
        let (mut made, mut rows, mut attempts) = (0u64, 0u64, 0u64);
        let max_attempts = budget.saturating_mul(4).saturating_add(100);
        while rows < budget && attempts < max_attempts {
            attempts += 1;
            let Some(src) = self.random_activity()? else {
                break;
            };
            let Some(row) = self.read_activity(src)? else {
                continue;
            };
            let old = row.assay_id;
            let description: Option<Option<String>> = self
                .conn
                .prepare_cached("SELECT description FROM assays WHERE assay_id = ?1")
                .and_then(|mut s| {
                    s.query_row(params![old], |r| Ok(text(r.get_ref(0)?)))
                        .optional()
                })
                .map_err(self.sql("reading an assay"))?;
            let Some(description) = description else {
                continue;
            };
            let ids = self.activity_ids(
                "SELECT activity_id FROM activities WHERE assay_id = ?1 ORDER BY activity_id LIMIT ?2",
                old,
                MAX_ASSAY_ROWS_READ,
            )?;
            let fraction = 0.5 + 0.5 * self.rng.unit();
            let k = ((fraction * ids.len() as f64).ceil() as usize)
                .clamp(1, MAX_FOLLOW_UP_ROWS)
                .min(usize::try_from(budget - rows).unwrap_or(usize::MAX));
            let chosen = self.choose(ids, k);
            let assay_id = self.next_assay_id;
            self.next_assay_id += 1;
            let chembl_id =
                self.new_chembl_id(CHEMBL_ID_BASE.saturating_add(assay_id), "ASSAY", assay_id)?;
            let description = confirmatory(description.as_deref().unwrap_or(""));
            self.conn
                .prepare_cached(&self.copy_assay_sql)
                .and_then(|mut s| s.execute(params![assay_id, chembl_id, description, old]))
                .map_err(self.sql("adding an assay"))?;
            made += 1;
            for id in chosen {
                if self.copy_activity(id, Some(assay_id), None)? {
                    rows += 1;
                }
            }
        }
        Ok((made, rows))
    }
}

/// "Confirmatory screen: " + the old description, cut to ChEMBL's 4,000 characters.
fn confirmatory(old: &str) -> String {
    const PREFIX: &str = "Confirmatory screen: ";
    let room = 4000 - PREFIX.len();
    let cut: String = old.chars().take(room).collect();
    format!("{PREFIX}{cut}")
}

/// `INSERT INTO table (cols) SELECT <col or override> FROM table WHERE key = ?{key_param}`.
fn copy_row_sql(
    table: &str,
    cols: &[String],
    key: &str,
    key_param: usize,
    overrides: &[(&str, &str)],
) -> String {
    let exprs: Vec<String> = cols
        .iter()
        .map(|c| {
            overrides
                .iter()
                .find(|(o, _)| o == c)
                .map_or_else(|| quote(c), |(_, e)| (*e).to_string())
        })
        .collect();
    let names: Vec<String> = cols.iter().map(|c| quote(c)).collect();
    format!(
        "INSERT INTO {t} ({}) SELECT {} FROM {t} WHERE {} = ?{key_param}",
        names.join(", "),
        exprs.join(", "),
        quote(key),
        t = quote(table),
    )
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Column names of `table` in order (empty when it does not exist).
fn table_columns(conn: &Connection, table: &str) -> Result<Vec<String>, rusqlite::Error> {
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({})", quote(table)))?;
    let names = stmt.query_map([], |r| r.get::<_, String>(1))?;
    names.collect()
}

fn number(v: ValueRef<'_>) -> Option<f64> {
    match v {
        ValueRef::Integer(n) => Some(n as f64),
        ValueRef::Real(x) => Some(x),
        ValueRef::Text(t) => std::str::from_utf8(t).ok()?.trim().parse().ok(),
        ValueRef::Null | ValueRef::Blob(_) => None,
    }
    .filter(|x: &f64| x.is_finite())
}

fn text(v: ValueRef<'_>) -> Option<String> {
    match v {
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Integer(n) => Some(n.to_string()),
        ValueRef::Real(x) => Some(x.to_string()),
        ValueRef::Null | ValueRef::Blob(_) => None,
    }
}

/// A random spelling of `meaning`, other than `not` when given.
fn spelling(rng: &mut SplitMix64, meaning: Meaning, not: Option<&str>) -> &'static str {
    let all = SPELLINGS
        .iter()
        .find(|(m, _)| *m == meaning)
        .map_or(&[][..], |(_, s)| *s);
    let choices: Vec<&'static str> = all.iter().copied().filter(|s| Some(*s) != not).collect();
    if choices.is_empty() {
        return all.first().copied().unwrap_or("");
    }
    choices[rng.index(choices.len())]
}

fn meaning_of(comment: &str) -> Option<Meaning> {
    let n = normalize_comment(comment);
    SPELLINGS
        .iter()
        .find(|(_, spellings)| spellings.iter().any(|s| normalize_comment(s) == n))
        .map(|(m, _)| *m)
}

fn opposite(m: Meaning) -> Meaning {
    match m {
        Meaning::Active => Meaning::Inactive,
        Meaning::Inactive => Meaning::Active,
        other => other,
    }
}

fn is_nm(units: Option<&str>) -> bool {
    units.is_some_and(|u| u.trim() == "nM")
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Rounded to three significant figures.
fn round_sig3(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let digits = 2 - x.abs().log10().floor() as i32;
    if digits >= 0 {
        let f = 10f64.powi(digits);
        (x * f).round() / f
    } else {
        let f = 10f64.powi(-digits);
        (x / f).round() * f
    }
}

/// The nM concentration of a pChEMBL value, to three significant figures.
fn nm_from_pchembl(p: f64) -> f64 {
    round_sig3(10f64.powf(9.0 - p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names_count_on() {
        assert_eq!(next_version_name("ChEMBL_36").as_deref(), Some("ChEMBL_37"));
        assert_eq!(next_version_name("ChEMBL_09").as_deref(), Some("ChEMBL_10"));
        assert_eq!(
            next_version_name("ChEMBL_24_1").as_deref(),
            Some("ChEMBL_24_2")
        );
        assert_eq!(
            next_version_name("ChEMBL_99 ").as_deref(),
            Some("ChEMBL_100")
        );
        assert_eq!(next_version_name("ChEMBL"), None);
        assert_eq!(next_version_name(""), None);
    }

    #[test]
    fn comments_keep_or_flip_their_meaning() {
        assert_eq!(meaning_of(" Not  Active "), Some(Meaning::Inactive));
        assert_eq!(meaning_of("active"), Some(Meaning::Active));
        assert_eq!(
            meaning_of("See Activity_Supp For Individual Animal Data"),
            None
        );
        let mut rng = SplitMix64::new(3);
        for _ in 0..50 {
            let s = spelling(&mut rng, Meaning::Inactive, Some("Not Active"));
            assert_ne!(s, "Not Active");
            assert_eq!(meaning_of(s), Some(Meaning::Inactive));
            let flipped = spelling(&mut rng, opposite(Meaning::Active), None);
            assert_eq!(meaning_of(flipped), Some(Meaning::Inactive));
        }
    }

    #[test]
    fn values_stay_consistent() {
        assert_eq!(round_sig3(44.668), 44.7);
        assert_eq!(round_sig3(4466.8), 4470.0);
        assert_eq!(round_sig3(0.012345), 0.0123);
        for p in [3.0, 5.55, 6.41, 7.35, 9.99, 11.0] {
            let v = nm_from_pchembl(p);
            assert_eq!(round2(9.0 - v.log10()), p, "{p} -> {v}");
        }
        assert_eq!(confirmatory("x").len(), 22);
        assert_eq!(confirmatory(&"é".repeat(5000)).chars().count(), 4000);
    }
}
