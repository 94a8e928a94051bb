//! The ChEMBL reader on a fixture release loaded from real ChEMBL 36 records
//! (../shared/data/chembl/adora3_chembl36_activities.csv), and on broken files.

#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::path::{Path, PathBuf};

use assayflow::sources::chembl::{ChemblError, ChemblRelease};
use assayflow::synth::chembl_db::import_activities_csv;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("assayflow-chembl-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fixture(dir: &Path) -> PathBuf {
    let csv = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/chembl/adora3_chembl36_activities.csv");
    let db = dir.join("chembl_36_adora3.db");
    let summary = import_activities_csv(&csv, &db, "ChEMBL_36").unwrap();
    assert_eq!(
        (summary.molecules, summary.assays, summary.activities),
        (4138, 673, 6042)
    );
    db
}

#[test]
fn reads_the_real_chembl36_fixture() {
    let dir = temp_dir("real");
    let db = fixture(&dir);
    let release = ChemblRelease::open(&db, None).unwrap();
    assert_eq!(release.release(), "36");
    // CHEMBL513320 (first row of the extract).
    let hits = release
        .molecules_by_key(&[
            "BSDPUVBSSGQTGP-UHFFFAOYSA-N".to_string(),
            "NOPE".to_string(),
        ])
        .unwrap();
    assert_eq!(hits, vec![(0, 513320)]);
    let blocks = release
        .molecules_by_first_block(&["BSDPUVBSSGQTGP".to_string()])
        .unwrap();
    assert_eq!(
        blocks,
        vec![(0, 513320, "BSDPUVBSSGQTGP-UHFFFAOYSA-N".to_string())]
    );
    let mut rejects = Vec::new();
    let acts = release.activities(&[513320], &mut rejects).unwrap();
    assert!(rejects.is_empty());
    assert!(!acts.is_empty());
    let first = acts.iter().find(|a| a.activity_id == 2563484).unwrap();
    assert_eq!(first.standard_type.as_deref(), Some("Ki"));
    assert_eq!(first.pchembl_value, Some(6.409999847412109));
    let assays = release.assays(&[1000459]).unwrap();
    assert_eq!(assays[&1000459].chembl_id, "CHEMBL1000459");
    assert_eq!(
        assays[&1000459].target_chembl_id.as_deref(),
        Some("CHEMBL256")
    );
    // The extract flags validity comments without their text: a marker excludes them.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let flagged: i64 = conn
        .query_row(
            "SELECT count(*) FROM activities WHERE data_validity_comment IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(flagged > 100, "{flagged}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn broken_releases_name_the_problem() {
    let dir = temp_dir("broken");
    // Not a database at all.
    let garbage = dir.join("garbage.db");
    std::fs::write(
        &garbage,
        b"this is not sqlite, just text that happens to be long enough",
    )
    .unwrap();
    let e = ChemblRelease::open(&garbage, None).err().unwrap();
    assert!(matches!(e, ChemblError::Open { .. }), "{e}");
    assert!(e.to_string().contains("garbage.db"), "{e}");
    // A missing file.
    let e = ChemblRelease::open(&dir.join("absent.db"), None)
        .err()
        .unwrap();
    assert!(
        e.to_string().contains("absent.db") && e.to_string().contains("no such file"),
        "{e}"
    );
    // A missing column.
    let partial = dir.join("partial.db");
    {
        let conn = rusqlite::Connection::open(&partial).unwrap();
        conn.execute_batch(
            &assayflow::synth::chembl_db::SCHEMA.replace(", pchembl_value NUMERIC(4,2)", ""),
        )
        .unwrap();
    }
    let e = ChemblRelease::open(&partial, None).err().unwrap();
    assert!(
        e.to_string().contains("column activities.pchembl_value"),
        "{e}"
    );
    // A truncated release: opening may succeed, reading must fail with the file named.
    let db = fixture(&dir);
    let bytes = std::fs::read(&db).unwrap();
    let truncated = dir.join("truncated.db");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let outcome = ChemblRelease::open(&truncated, Some("36")).and_then(|r| {
        let mut rejects = Vec::new();
        let keys: Vec<String> = (0..50)
            .map(|i| format!("KEY{i:011}-UHFFFAOYSA-N"))
            .collect();
        r.molecules_by_key(&keys)?;
        r.activities(&(500_000..700_000).collect::<Vec<i64>>(), &mut rejects)
    });
    let e = outcome.expect_err("a truncated release must not read cleanly");
    assert!(e.to_string().contains("truncated.db"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
