//! Writing ChEMBL-schema SQLite releases: the tables and columns of a real `chembl_NN.db` that
//! the label build reads (plus a few neighbours), with the real release's indexes. Used by the
//! generated world ([`crate::synth`]) and to load real ChEMBL extracts into fixture databases
//! ([`import_activities_csv`]).
//!
//! [`ChemblWriter`] writes into a temporary file and renames it into place in
//! [`ChemblWriter::finish`], after building the indexes, so a half-written release never looks
//! complete.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};

/// The schema: ChEMBL's table and column names and types (a subset of each table's columns).
pub const SCHEMA: &str = "
CREATE TABLE version (name VARCHAR(50) PRIMARY KEY, creation_date DATE, comments VARCHAR(2000));
CREATE TABLE molecule_dictionary (
  molregno INTEGER PRIMARY KEY, pref_name VARCHAR(255), chembl_id VARCHAR(20) NOT NULL,
  max_phase NUMERIC(2,1), structure_type VARCHAR(10) NOT NULL DEFAULT 'MOL', molecule_type VARCHAR(30));
CREATE TABLE compound_structures (
  molregno INTEGER PRIMARY KEY, molfile TEXT, standard_inchi VARCHAR(4000),
  standard_inchi_key VARCHAR(27) NOT NULL, canonical_smiles VARCHAR(4000));
CREATE TABLE molecule_hierarchy (
  molregno INTEGER PRIMARY KEY, parent_molregno INTEGER, active_molregno INTEGER);
CREATE TABLE target_dictionary (
  tid INTEGER PRIMARY KEY, target_type VARCHAR(30), pref_name VARCHAR(200) NOT NULL,
  tax_id INTEGER, organism VARCHAR(150), chembl_id VARCHAR(20) NOT NULL, species_group_flag INTEGER NOT NULL DEFAULT 0);
CREATE TABLE assays (
  assay_id INTEGER PRIMARY KEY, doc_id INTEGER, description VARCHAR(4000), assay_type VARCHAR(1),
  assay_test_type VARCHAR(20), assay_category VARCHAR(20), assay_organism VARCHAR(250),
  tid INTEGER, confidence_score INTEGER, chembl_id VARCHAR(20) NOT NULL);
CREATE TABLE activities (
  activity_id INTEGER PRIMARY KEY, assay_id INTEGER NOT NULL, doc_id INTEGER, record_id INTEGER,
  molregno INTEGER, standard_relation VARCHAR(50), standard_value NUMERIC, standard_units VARCHAR(100),
  standard_flag INTEGER, standard_type VARCHAR(250), activity_comment VARCHAR(4000),
  data_validity_comment VARCHAR(30), potential_duplicate INTEGER, pchembl_value NUMERIC(4,2));
";

/// The indexes of a real release that the label build relies on.
pub const INDEXES: &str = "
CREATE UNIQUE INDEX uk_moldict_chemblid ON molecule_dictionary (chembl_id);
CREATE UNIQUE INDEX uk_cmpdstruct_stdinchkey ON compound_structures (standard_inchi_key);
CREATE INDEX idx_molhier_parent ON molecule_hierarchy (parent_molregno);
CREATE UNIQUE INDEX uk_assays_chemblid ON assays (chembl_id);
CREATE INDEX idx_assays_tid ON assays (tid);
CREATE INDEX idx_act_mol ON activities (molregno);
CREATE INDEX idx_act_assay ON activities (assay_id);
";

/// A molecule row (molecule_dictionary + compound_structures + molecule_hierarchy).
#[derive(Debug, Clone, PartialEq)]
pub struct MoleculeRow {
    /// Internal id.
    pub molregno: i64,
    /// `CHEMBLnnn`.
    pub chembl_id: String,
    /// Preferred name.
    pub pref_name: Option<String>,
    /// Canonical SMILES.
    pub canonical_smiles: Option<String>,
    /// Standard InChI.
    pub standard_inchi: Option<String>,
    /// Standard InChIKey.
    pub standard_inchi_key: String,
    /// Parent molecule (salt-stripped), when different or known.
    pub parent_molregno: Option<i64>,
}

/// A target row.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetRow {
    /// Internal id.
    pub tid: i64,
    /// `CHEMBLnnn`.
    pub chembl_id: String,
    /// Name.
    pub pref_name: String,
    /// SINGLE PROTEIN, CELL-LINE, ORGANISM...
    pub target_type: String,
    /// Organism.
    pub organism: Option<String>,
}

/// An assay row.
#[derive(Debug, Clone, PartialEq)]
pub struct AssayRow {
    /// Integer id.
    pub assay_id: i64,
    /// `CHEMBLnnn`.
    pub chembl_id: String,
    /// Description.
    pub description: String,
    /// B/F/A/T/P/U.
    pub assay_type: String,
    /// Target.
    pub tid: Option<i64>,
    /// 0-9.
    pub confidence_score: Option<i64>,
}

/// An activity row.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityRow {
    /// Integer id.
    pub activity_id: i64,
    /// Assay.
    pub assay_id: i64,
    /// Molecule.
    pub molregno: i64,
    /// `=`, `<`, `>`...
    pub standard_relation: Option<String>,
    /// Value in `standard_units`.
    pub standard_value: Option<f64>,
    /// `nM`...
    pub standard_units: Option<String>,
    /// IC50, Ki, EC50, Inhibition...
    pub standard_type: Option<String>,
    /// Free-text comment.
    pub activity_comment: Option<String>,
    /// Validity flag text.
    pub data_validity_comment: Option<String>,
    /// 0/1.
    pub potential_duplicate: Option<i64>,
    /// -log10 molar, two decimals.
    pub pchembl_value: Option<f64>,
}

/// Errors writing a release.
#[derive(Debug, thiserror::Error)]
pub enum ChemblWriteError {
    /// SQLite failed.
    #[error("writing ChEMBL release {path}: {source}")]
    Sqlite {
        /// The target file.
        path: String,
        /// The cause.
        source: rusqlite::Error,
    },
    /// Filesystem failure.
    #[error("writing ChEMBL release {path}: {source}")]
    Io {
        /// The target file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The input extract is malformed.
    #[error("{path}, line {line}: {reason}")]
    Input {
        /// The extract.
        path: String,
        /// 1-based line.
        line: u64,
        /// Why.
        reason: String,
    },
}

/// Writes a ChEMBL-schema release.
pub struct ChemblWriter {
    conn: Connection,
    target: PathBuf,
    temp: PathBuf,
}

impl ChemblWriter {
    /// Starts a release at `path` with the given version name (`ChEMBL_36`).
    pub fn create(path: &Path, version_name: &str) -> Result<ChemblWriter, ChemblWriteError> {
        let name = path.display().to_string();
        let sql = |source| ChemblWriteError::Sqlite {
            path: name.clone(),
            source,
        };
        let file_name = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| "chembl.db".into());
        let temp = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
        let _ = std::fs::remove_file(&temp);
        let conn = Connection::open(&temp).map_err(sql)?;
        conn.execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE; \
             PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY;",
        )
        .map_err(sql)?;
        conn.execute_batch(SCHEMA).map_err(sql)?;
        conn.execute_batch("BEGIN").map_err(sql)?;
        conn.execute(
            "INSERT INTO version (name, creation_date, comments) VALUES (?1, NULL, ?2)",
            params![version_name, "written by assayflow"],
        )
        .map_err(sql)?;
        Ok(ChemblWriter {
            conn,
            target: path.to_path_buf(),
            temp,
        })
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> ChemblWriteError + '_ {
        move |source| ChemblWriteError::Sqlite {
            path: self.target.display().to_string(),
            source,
        }
    }

    /// Adds a molecule.
    pub fn molecule(&mut self, m: &MoleculeRow) -> Result<(), ChemblWriteError> {
        let sql = self.sql();
        self.conn
            .prepare_cached(
                "INSERT INTO molecule_dictionary (molregno, pref_name, chembl_id, molecule_type) \
                 VALUES (?1, ?2, ?3, 'Small molecule')",
            )
            .and_then(|mut s| s.execute(params![m.molregno, m.pref_name, m.chembl_id]))
            .map_err(&sql)?;
        self.conn
            .prepare_cached(
                "INSERT INTO compound_structures (molregno, standard_inchi, standard_inchi_key, canonical_smiles) \
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    m.molregno,
                    m.standard_inchi,
                    m.standard_inchi_key,
                    m.canonical_smiles
                ])
            })
            .map_err(&sql)?;
        self.conn
            .prepare_cached(
                "INSERT INTO molecule_hierarchy (molregno, parent_molregno, active_molregno) VALUES (?1, ?2, ?2)",
            )
            .and_then(|mut s| s.execute(params![m.molregno, m.parent_molregno.unwrap_or(m.molregno)]))
            .map_err(&sql)?;
        Ok(())
    }

    /// Adds a target.
    pub fn target(&mut self, t: &TargetRow) -> Result<(), ChemblWriteError> {
        let sql = self.sql();
        self.conn
            .prepare_cached(
                "INSERT INTO target_dictionary (tid, target_type, pref_name, organism, chembl_id) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    t.tid,
                    t.target_type,
                    t.pref_name,
                    t.organism,
                    t.chembl_id
                ])
            })
            .map_err(&sql)?;
        Ok(())
    }

    /// Adds an assay.
    pub fn assay(&mut self, a: &AssayRow) -> Result<(), ChemblWriteError> {
        let sql = self.sql();
        self.conn
            .prepare_cached(
                "INSERT INTO assays (assay_id, description, assay_type, tid, confidence_score, chembl_id) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    a.assay_id,
                    a.description,
                    a.assay_type,
                    a.tid,
                    a.confidence_score,
                    a.chembl_id
                ])
            })
            .map_err(&sql)?;
        Ok(())
    }

    /// Adds an activity.
    pub fn activity(&mut self, a: &ActivityRow) -> Result<(), ChemblWriteError> {
        let sql = self.sql();
        self.conn
            .prepare_cached(
                "INSERT INTO activities (activity_id, assay_id, molregno, standard_relation, \
                 standard_value, standard_units, standard_flag, standard_type, activity_comment, \
                 data_validity_comment, potential_duplicate, pchembl_value) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, ?9, ?10, ?11)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    a.activity_id,
                    a.assay_id,
                    a.molregno,
                    a.standard_relation,
                    a.standard_value,
                    a.standard_units,
                    a.standard_type,
                    a.activity_comment,
                    a.data_validity_comment,
                    a.potential_duplicate,
                    a.pchembl_value
                ])
            })
            .map_err(&sql)?;
        Ok(())
    }

    /// Builds the indexes, commits, and moves the file into place.
    pub fn finish(self) -> Result<(), ChemblWriteError> {
        {
            let sql = self.sql();
            self.conn.execute_batch("COMMIT").map_err(&sql)?;
            self.conn.execute_batch(INDEXES).map_err(&sql)?;
            self.conn.execute_batch("ANALYZE").map_err(&sql)?;
        }
        let ChemblWriter { conn, target, temp } = self;
        conn.close()
            .map_err(|(_, source)| ChemblWriteError::Sqlite {
                path: target.display().to_string(),
                source,
            })?;
        std::fs::rename(&temp, &target).map_err(|source| ChemblWriteError::Io {
            path: target.display().to_string(),
            source,
        })
    }
}

/// The number in a `CHEMBLnnn` id.
pub fn chembl_number(id: &str) -> Option<i64> {
    id.trim().strip_prefix("CHEMBL")?.parse().ok()
}

/// Loads a ChEMBL activity extract in the web-service/CSV form (one row per activity with
/// `activity_id, assay_chembl_id, assay_description, assay_type, confidence_score,
/// molecule_chembl_id, standard_relation, standard_type, standard_units, standard_value,
/// pchembl_value, target_chembl_id, target_organism, canonical_smiles, standard_inchi_key`, and
/// optionally `activity_comment`, `data_validity_comment`, `data_dropping_comment`) into a
/// ChEMBL-schema release at `out`, whose `version` table says `version_name` (`ChEMBL_36`; the
/// extract's own `chembl_release` column gives the release a record first appeared in).
///
/// Extracts carry no integer ids: molregno, assay_id and tid are the numbers of the CHEMBL ids.
/// Where an extract only flags a validity comment (`data_dropping_comment` mentions "Data
/// Validity Comment Present"), the text is not known and a marker is stored, which excludes the
/// activity as the real comment would.
pub fn import_activities_csv(
    csv_path: &Path,
    out: &Path,
    version_name: &str,
) -> Result<ImportSummary, ChemblWriteError> {
    let name = csv_path.display().to_string();
    let input_err = |line: u64, reason: String| ChemblWriteError::Input {
        path: name.clone(),
        line,
        reason,
    };
    let mut reader = csv::ReaderBuilder::new()
        .from_path(csv_path)
        .map_err(|e| input_err(0, e.to_string()))?;
    let headers = reader
        .headers()
        .map_err(|e| input_err(1, e.to_string()))?
        .clone();
    let col = |n: &str| headers.iter().position(|h| h == n);
    let need = |n: &str| col(n).ok_or_else(|| input_err(1, format!("no column {n:?}")));
    let c_act = need("activity_id")?;
    let c_assay = need("assay_chembl_id")?;
    let c_desc = need("assay_description")?;
    let c_atype = need("assay_type")?;
    let c_conf = need("confidence_score")?;
    let c_mol = need("molecule_chembl_id")?;
    let c_rel = need("standard_relation")?;
    let c_type = need("standard_type")?;
    let c_units = need("standard_units")?;
    let c_value = need("standard_value")?;
    let c_pchembl = need("pchembl_value")?;
    let c_target = need("target_chembl_id")?;
    let c_org = need("target_organism")?;
    let c_smiles = need("canonical_smiles")?;
    let c_key = need("standard_inchi_key")?;
    let c_comment = col("activity_comment");
    let c_validity = col("data_validity_comment");
    let c_dropping = col("data_dropping_comment");

    let mut molecules: BTreeMap<i64, MoleculeRow> = BTreeMap::new();
    let mut assays: BTreeMap<i64, AssayRow> = BTreeMap::new();
    let mut targets: BTreeMap<i64, TargetRow> = BTreeMap::new();
    let mut activities: Vec<ActivityRow> = Vec::new();
    let mut keys_seen: BTreeSet<String> = BTreeSet::new();
    for (i, record) in reader.records().enumerate() {
        let line = i as u64 + 2;
        let r = record.map_err(|e| input_err(line, e.to_string()))?;
        let field = |c: usize| r.get(c).map(str::trim).filter(|s| !s.is_empty());
        let opt = |c: Option<usize>| c.and_then(field).map(str::to_string);
        let num = |c: usize| field(c).and_then(|s| s.parse::<f64>().ok());
        let id = |c: usize, what: &str| {
            field(c)
                .and_then(chembl_number)
                .ok_or_else(|| input_err(line, format!("{what} is not a CHEMBL id")))
        };
        let molregno = id(c_mol, "molecule_chembl_id")?;
        let assay_id = id(c_assay, "assay_chembl_id")?;
        let tid = id(c_target, "target_chembl_id")?;
        let activity_id: i64 = field(c_act)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| input_err(line, "activity_id is not an integer".into()))?;
        let key = field(c_key).unwrap_or("").to_string();
        if !molecules.contains_key(&molregno) && !key.is_empty() && keys_seen.insert(key.clone()) {
            molecules.insert(
                molregno,
                MoleculeRow {
                    molregno,
                    chembl_id: format!("CHEMBL{molregno}"),
                    pref_name: None,
                    canonical_smiles: field(c_smiles).map(str::to_string),
                    standard_inchi: None,
                    standard_inchi_key: key,
                    parent_molregno: None,
                },
            );
        }
        targets.entry(tid).or_insert_with(|| TargetRow {
            tid,
            chembl_id: format!("CHEMBL{tid}"),
            pref_name: format!("target CHEMBL{tid}"),
            target_type: "SINGLE PROTEIN".into(),
            organism: field(c_org).map(str::to_string),
        });
        assays.entry(assay_id).or_insert_with(|| AssayRow {
            assay_id,
            chembl_id: format!("CHEMBL{assay_id}"),
            description: field(c_desc).unwrap_or("").to_string(),
            assay_type: field(c_atype).unwrap_or("").to_string(),
            tid: Some(tid),
            confidence_score: field(c_conf)
                .and_then(|s| s.parse::<f64>().ok())
                .map(|x| x as i64),
        });
        let dropping = opt(c_dropping).unwrap_or_default();
        let validity = opt(c_validity).or_else(|| {
            dropping
                .contains("Data Validity Comment Present")
                .then(|| "Data validity comment present (text not in the extract)".to_string())
        });
        activities.push(ActivityRow {
            activity_id,
            assay_id,
            molregno,
            standard_relation: field(c_rel).map(str::to_string),
            standard_value: num(c_value),
            standard_units: field(c_units).map(str::to_string),
            standard_type: field(c_type).map(str::to_string),
            activity_comment: opt(c_comment),
            data_validity_comment: validity,
            potential_duplicate: Some(i64::from(dropping.contains("Potential Duplicate"))),
            pchembl_value: num(c_pchembl),
        });
    }
    let mut w = ChemblWriter::create(out, version_name)?;
    for t in targets.values() {
        w.target(t)?;
    }
    for m in molecules.values() {
        w.molecule(m)?;
    }
    for a in assays.values() {
        w.assay(a)?;
    }
    activities.sort_by_key(|a| a.activity_id);
    activities.dedup_by_key(|a| a.activity_id);
    for a in &activities {
        w.activity(a)?;
    }
    w.finish()?;
    Ok(ImportSummary {
        molecules: molecules.len(),
        assays: assays.len(),
        activities: activities.len(),
        release: version_name.to_string(),
    })
}

/// What [`import_activities_csv`] loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// Distinct molecules.
    pub molecules: usize,
    /// Distinct assays.
    pub assays: usize,
    /// Activities.
    pub activities: usize,
    /// Version name written.
    pub release: String,
}
