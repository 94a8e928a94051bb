#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

//! `synth release` on a real release: the ChEMBL 36 adenosine A3 extract
//! (../shared/data/chembl) loaded into a ChEMBL-schema database, then derived into a "ChEMBL 37"
//! and compared row by row with its input.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use assayflow::chem::smiles_to_inchikey;
use assayflow::sources::chembl::ChemblRelease;
use assayflow::synth::chembl_db::import_activities_csv;
use assayflow::synth::next_release::{ReleaseChanges, ReleaseError, derive_release};
use rusqlite::Connection;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("assayflow-release-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The ChEMBL 36 extract as a release, built once per test binary.
fn input() -> &'static Path {
    static INPUT: OnceLock<PathBuf> = OnceLock::new();
    INPUT.get_or_init(|| {
        let dir = temp_dir("input");
        let db = dir.join("chembl_36.db");
        let csv = root().join("../shared/data/chembl/adora3_chembl36_activities.csv");
        import_activities_csv(&csv, &db, "ChEMBL_36").unwrap();
        db
    })
}

fn changes(rate: f64, seed: u64) -> ReleaseChanges {
    ReleaseChanges {
        change_rate: rate,
        seed,
        version_name: None,
    }
}

/// An activity row's columns.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    assay_id: i64,
    molregno: i64,
    relation: Option<String>,
    value: Option<f64>,
    units: Option<String>,
    flag: Option<i64>,
    standard_type: Option<String>,
    comment: Option<String>,
    validity: Option<String>,
    duplicate: Option<i64>,
    pchembl: Option<f64>,
}

fn activities(db: &Path) -> BTreeMap<i64, Row> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT activity_id, assay_id, molregno, standard_relation, standard_value, \
             standard_units, standard_flag, standard_type, activity_comment, data_validity_comment, \
             potential_duplicate, pchembl_value FROM activities",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            Row {
                assay_id: r.get(1)?,
                molregno: r.get(2)?,
                relation: r.get(3)?,
                value: r.get(4)?,
                units: r.get(5)?,
                flag: r.get(6)?,
                standard_type: r.get(7)?,
                comment: r.get(8)?,
                validity: r.get(9)?,
                duplicate: r.get(10)?,
                pchembl: r.get(11)?,
            },
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn ids(db: &Path, sql: &str) -> BTreeSet<i64> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn strings(db: &Path, sql: &str) -> Vec<String> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp") || n.contains("-journal"))
        .collect()
}

/// pChEMBL and a value in nM agree (to the two decimals pChEMBL has).
fn consistent(row: &Row) -> bool {
    match (row.pchembl, row.value, row.units.as_deref()) {
        (Some(p), Some(v), Some("nM")) => (9.0 - v.log10() - p).abs() < 0.006,
        _ => true,
    }
}

#[test]
fn derived_release_matches_its_summary_row_by_row() {
    let dir = temp_dir("summary");
    let from = input();
    let out = dir.join("chembl_37.db");
    let summary = derive_release(from, &out, &changes(0.02, 7)).unwrap();

    assert_eq!(summary.from_version, "ChEMBL_36");
    assert_eq!(summary.to_version, "ChEMBL_37");
    let release = ChemblRelease::open(&out, None).unwrap();
    assert_eq!(release.release(), "37");
    let comments = strings(&out, "SELECT comments FROM version");
    assert_eq!(
        comments,
        ["derived from ChEMBL_36 by assayflow synth release (change rate 0.02, seed 7)"]
    );

    let before = activities(from);
    let after = activities(&out);
    assert_eq!(summary.activities_before, before.len() as u64);
    assert_eq!(summary.activities_after, after.len() as u64);
    assert_eq!(
        summary.activities_after,
        summary.activities_before - summary.retracted + summary.added
    );
    let max_before = *before.keys().max().unwrap();

    // Retractions: ids gone; additions: only new ids, after the old maximum.
    let gone: Vec<i64> = before
        .keys()
        .filter(|id| !after.contains_key(id))
        .copied()
        .collect();
    assert_eq!(gone.len() as u64, summary.retracted);
    let new: BTreeMap<i64, &Row> = after
        .iter()
        .filter(|(id, _)| !before.contains_key(id))
        .map(|(id, r)| (*id, r))
        .collect();
    assert_eq!(new.len() as u64, summary.added);
    assert!(new.keys().all(|id| *id > max_before));

    // Corrections and validity changes: disjoint, nothing else about a kept row changes.
    let (mut corrected, mut validity) = (0, 0);
    for (id, old) in &before {
        let Some(now) = after.get(id) else { continue };
        let value_changed =
            old.value != now.value || old.pchembl != now.pchembl || old.comment != now.comment;
        let validity_changed = old.validity != now.validity;
        assert!(!(value_changed && validity_changed), "activity {id}");
        corrected += u64::from(value_changed);
        validity += u64::from(validity_changed);
        assert_eq!(
            (
                old.assay_id,
                old.molregno,
                &old.relation,
                &old.units,
                &old.standard_type,
                old.flag,
                old.duplicate
            ),
            (
                now.assay_id,
                now.molregno,
                &now.relation,
                &now.units,
                &now.standard_type,
                now.flag,
                now.duplicate
            ),
            "activity {id}"
        );
        if value_changed {
            assert!(consistent(now), "activity {id}: {now:?}");
            if let (Some(a), Some(b)) = (old.pchembl, now.pchembl) {
                let shift = (a - b).abs();
                assert!(
                    (0.09..=1.01).contains(&shift) || b == 3.0 || b == 11.0,
                    "{a} -> {b}"
                );
            }
        }
    }
    assert_eq!(corrected, summary.corrected);
    assert_eq!(validity, summary.validity_changed);
    assert!(summary.corrected > 0 && summary.validity_changed > 0);

    // New molecules: valid keys of their SMILES, their own parents, with activities.
    let old_mols = ids(from, "SELECT molregno FROM molecule_dictionary");
    let new_mols: BTreeSet<i64> =
        &ids(&out, "SELECT molregno FROM molecule_dictionary") - &old_mols;
    assert_eq!(new_mols.len() as u64, summary.new_molecules);
    assert!(summary.new_molecules >= 1);
    let conn = Connection::open(&out).unwrap();
    let old_assay_ids: BTreeSet<String> = strings(from, "SELECT chembl_id FROM assays")
        .into_iter()
        .chain(strings(from, "SELECT chembl_id FROM target_dictionary"))
        .collect();
    for &m in &new_mols {
        let (smiles, key, inchi, chembl_id, parent): (String, String, Option<String>, String, i64) =
            conn.query_row(
                "SELECT s.canonical_smiles, s.standard_inchi_key, s.standard_inchi, d.chembl_id, \
                 h.parent_molregno FROM compound_structures s JOIN molecule_dictionary d USING \
                 (molregno) JOIN molecule_hierarchy h USING (molregno) WHERE s.molregno = ?1",
                [m],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap();
        assert_eq!(key.len(), 27, "{key}");
        assert_eq!(smiles_to_inchikey(&smiles).unwrap(), key, "{smiles}");
        assert_eq!(inchi, None);
        assert_eq!(parent, m);
        assert!(chembl_id.starts_with("CHEMBL") && !old_assay_ids.contains(&chembl_id));
        assert!(new.values().any(|r| r.molregno == m), "molecule {m}");
    }

    // New assays: confirmatory screens of existing targets, with activities.
    let old_assays = ids(from, "SELECT assay_id FROM assays");
    let new_assays: BTreeSet<i64> = &ids(&out, "SELECT assay_id FROM assays") - &old_assays;
    assert_eq!(new_assays.len() as u64, summary.new_assays);
    assert!(summary.new_assays >= 1);
    let targets = ids(&out, "SELECT tid FROM target_dictionary");
    for &a in &new_assays {
        let (description, tid): (String, i64) = conn
            .query_row(
                "SELECT description, tid FROM assays WHERE assay_id = ?1",
                [a],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert!(description.starts_with("Confirmatory screen: "));
        assert!(targets.contains(&tid));
        assert!(new.values().any(|r| r.assay_id == a), "assay {a}");
    }

    // New rows: existing assays and molecules, plausible columns.
    let all_assays = ids(&out, "SELECT assay_id FROM assays");
    let old_act_mols: BTreeSet<i64> = before.values().map(|r| r.molregno).collect();
    for (id, r) in &new {
        assert!(all_assays.contains(&r.assay_id), "activity {id}");
        assert!(
            old_act_mols.contains(&r.molregno) || new_mols.contains(&r.molregno),
            "activity {id}"
        );
        assert!(
            new_mols.contains(&r.molregno) || new_assays.contains(&r.assay_id),
            "activity {id} is neither a new molecule's nor a follow-up's"
        );
        assert_eq!(
            (r.validity.as_deref(), r.duplicate, r.flag),
            (None, Some(0), Some(1))
        );
        assert!(r.standard_type.is_some() && r.relation.is_some());
        assert!(r.pchembl.is_none_or(|p| (3.0..=11.0).contains(&p)));
        assert!(consistent(r), "activity {id}: {r:?}");
    }

    // The label build's reader reads the new molecules' activities.
    let mut rejects = Vec::new();
    let new_mols: Vec<i64> = new_mols.into_iter().collect();
    let read = release.activities(&new_mols, &mut rejects).unwrap();
    assert!(rejects.is_empty());
    assert_eq!(
        read.len(),
        new.values()
            .filter(|r| new_mols.contains(&r.molregno))
            .count()
    );
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
}

#[test]
fn a_higher_rate_changes_the_intended_fractions() {
    let dir = temp_dir("fractions");
    let out = dir.join("chembl_37.db");
    let s = derive_release(input(), &out, &changes(0.05, 11)).unwrap();
    let total = 0.05 * s.activities_before as f64;
    let near = |got: u64, share: f64| {
        let want = share * total;
        (got as f64 - want).abs() <= (0.1 * want).max(2.0)
    };
    assert!(near(s.retracted, 0.2), "{s:?}");
    assert!(near(s.corrected, 0.3), "{s:?}");
    assert!(near(s.validity_changed, 0.1), "{s:?}");
    assert!(near(s.added, 0.4), "{s:?}");
    assert!(s.new_molecules >= 5 && s.new_assays >= 1, "{s:?}");
}

#[test]
fn same_seed_same_bytes_and_the_input_is_untouched() {
    let dir = temp_dir("determinism");
    let from = input();
    let hash_before = blake3::hash(&std::fs::read(from).unwrap());
    let (a, b, c) = (dir.join("a.db"), dir.join("b.db"), dir.join("c.db"));
    let sa = derive_release(from, &a, &changes(0.02, 1)).unwrap();
    let sb = derive_release(from, &b, &changes(0.02, 1)).unwrap();
    derive_release(from, &c, &changes(0.02, 2)).unwrap();
    assert_eq!(sa, sb);
    assert!(std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap());
    assert!(std::fs::read(&a).unwrap() != std::fs::read(&c).unwrap());
    assert_eq!(blake3::hash(&std::fs::read(from).unwrap()), hash_before);
    // A read-only input (as distributed releases often are) gives a writable, equal output.
    let ro = dir.join("read_only.db");
    std::fs::copy(from, &ro).unwrap();
    let mut perms = std::fs::metadata(&ro).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&ro, perms).unwrap();
    let d = dir.join("d.db");
    derive_release(&ro, &d, &changes(0.02, 1)).unwrap();
    assert!(std::fs::read(&a).unwrap() == std::fs::read(&d).unwrap());
    assert!(!std::fs::metadata(&d).unwrap().permissions().readonly());
}

#[test]
fn an_existing_output_is_never_overwritten() {
    let dir = temp_dir("exists");
    let out = dir.join("chembl_37.db");
    std::fs::write(&out, "keep").unwrap();
    let err = derive_release(input(), &out, &changes(0.01, 1)).unwrap_err();
    assert!(matches!(err, ReleaseError::OutputExists { .. }), "{err}");
    assert!(err.to_string().contains("chembl_37.db"), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep");
    // Not even the input itself.
    let err = derive_release(input(), input(), &changes(0.01, 1)).unwrap_err();
    assert!(matches!(err, ReleaseError::OutputExists { .. }), "{err}");
    assert!(leftovers(&dir).is_empty());
}

#[test]
fn a_release_without_activities_is_named_in_the_error() {
    let dir = temp_dir("missing");
    let broken = dir.join("broken.db");
    std::fs::copy(input(), &broken).unwrap();
    Connection::open(&broken)
        .unwrap()
        .execute_batch("DROP TABLE activities")
        .unwrap();
    let out = dir.join("out.db");
    let err = derive_release(&broken, &out, &changes(0.01, 1)).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("table activities"), "{message}");
    assert!(message.contains("broken.db"), "{message}");
    assert!(!out.exists());
    let err = derive_release(&dir.join("absent.db"), &out, &changes(0.01, 1)).unwrap_err();
    assert!(err.to_string().contains("absent.db"), "{err}");
    assert!(leftovers(&dir).is_empty());
}

#[test]
fn version_names_and_rates_are_checked() {
    let dir = temp_dir("version");
    let custom = dir.join("custom.db");
    std::fs::copy(input(), &custom).unwrap();
    Connection::open(&custom)
        .unwrap()
        .execute_batch("UPDATE version SET name = 'in-house'")
        .unwrap();
    let err = derive_release(&custom, &dir.join("a.db"), &changes(0.01, 1)).unwrap_err();
    assert!(matches!(err, ReleaseError::VersionName { .. }), "{err}");
    assert!(err.to_string().contains("in-house"), "{err}");
    let named = ReleaseChanges {
        version_name: Some("ChEMBL_40".into()),
        ..changes(0.01, 1)
    };
    let s = derive_release(&custom, &dir.join("b.db"), &named).unwrap();
    assert_eq!(
        (s.from_version.as_str(), s.to_version.as_str()),
        ("in-house", "ChEMBL_40")
    );
    assert_eq!(
        ChemblRelease::open(&dir.join("b.db"), None)
            .unwrap()
            .release(),
        "40"
    );
    for rate in [-0.1, 1.5, f64::NAN] {
        let err = derive_release(input(), &dir.join("c.db"), &changes(rate, 1)).unwrap_err();
        assert!(matches!(err, ReleaseError::ChangeRate { .. }), "{err}");
    }
    assert!(!dir.join("a.db").exists() && !dir.join("c.db").exists());
}
