//! `labels build` and `labels refresh` end to end on real data: the ChEMBL 36 adenosine A3
//! extract (../shared/data/chembl) loaded into a ChEMBL-schema release, and a Cell Painting
//! metadata directory (CDRP layout) listing its molecules as compounds.
//!
//! Hand-checked expectations (from the extract, by the paper's rules): only one task has at
//! least 10 actives and 10 inactives, CHEMBL875928 at pChEMBL >= 7.5, with 23 actives and 18
//! inactives; CHEMBL331291 and CHEMBL573937 share a SMILES in ChEMBL 36 and so become one
//! compound.

#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assayflow::dataflow::cluster::ClusterConfig;
use assayflow::export::label_tables::{self, Columns};
use assayflow::export::manifest::Manifest;
use assayflow::export::schema::TableSchema;
use assayflow::labels::build::{BuildOptions, build};
use assayflow::labels::refresh::{RefreshOptions, refresh};
use assayflow::pipeline::Pipeline;
use assayflow::synth::cellpainting_meta::{CompoundEntry, PlateLayout, write_cdrp};
use assayflow::synth::chembl_db::import_activities_csv;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("assayflow-labels-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The release and a metadata directory: every extract molecule as a compound, plus a broken
/// SMILES and a compound without one.
fn world(dir: &Path) -> (PathBuf, PathBuf) {
    let csv = root().join("../shared/data/chembl/adora3_chembl36_activities.csv");
    let db = dir.join("chembl_36.db");
    import_activities_csv(&csv, &db, "ChEMBL_36").unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut stmt = conn
        .prepare("SELECT d.chembl_id, s.canonical_smiles FROM molecule_dictionary d JOIN compound_structures s USING (molregno) ORDER BY d.molregno")
        .unwrap();
    let mut compounds: Vec<CompoundEntry> = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
        .enumerate()
        .map(|(i, row)| {
            let (id, smiles) = row.unwrap();
            CompoundEntry {
                broad_sample: format!("BRD-K{:08}-001-01-1", i + 1),
                name: Some(id),
                smiles: Some(smiles),
            }
        })
        .collect();
    compounds.push(CompoundEntry {
        broad_sample: "BRD-K99999990-001-01-1".into(),
        name: Some("broken".into()),
        smiles: Some("C1CC(".into()),
    });
    compounds.push(CompoundEntry {
        broad_sample: "BRD-K99999991-001-01-1".into(),
        name: Some("unknown structure".into()),
        smiles: None,
    });
    let wells: Vec<String> = (0..384)
        .map(|i| format!("{}{:02}", (b'A' + (i / 24) as u8) as char, i % 24 + 1))
        .collect();
    let plates: Vec<PlateLayout> = compounds
        .chunks(380)
        .enumerate()
        .map(|(p, chunk)| PlateLayout {
            plate: format!("{}", 24000 + p),
            platemap: format!("MAP-{p:03}"),
            wells: wells
                .iter()
                .enumerate()
                .map(|(i, w)| (w.clone(), chunk.get(i).map(|c| c.broad_sample.clone())))
                .collect(),
        })
        .collect();
    let meta = dir.join("cellpainting");
    write_cdrp(&meta, &compounds, &plates).unwrap();
    (db, meta)
}

fn pipeline() -> Pipeline {
    Pipeline::load(&root().join("pipelines/paper.toml")).unwrap()
}

fn files_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let manifest = Manifest::load(dir).unwrap();
    let mut out: Vec<(String, Vec<u8>)> = manifest
        .files
        .iter()
        .map(|f| (f.path.clone(), std::fs::read(dir.join(&f.path)).unwrap()))
        .collect();
    out.push((
        "manifest.json".into(),
        std::fs::read(dir.join("manifest.json")).unwrap(),
    ));
    out
}

#[test]
fn builds_the_real_fixture_and_refreshes_exactly() {
    let dir = temp_dir("real");
    let (db, meta) = world(&dir);
    let out = dir.join("export");
    let options = BuildOptions {
        chembl: db.clone(),
        chembl_release: None,
        cellpainting: meta.clone(),
        pipeline: pipeline(),
        out: out.clone(),
        cache: Some(dir.join("keys.cache")),
    };
    let report = build(&options, &ClusterConfig::single(1)).unwrap();
    let manifest = &report.manifest;
    manifest.verify(&out).unwrap();
    assert_eq!(manifest.inputs.chembl_release, "36");
    assert_eq!(
        manifest.stats["keys.distinct"], 4137,
        "two ChEMBL molecules share a SMILES"
    );
    assert_eq!(manifest.stats["chembl.compounds_matched"], 4137);
    assert_eq!(manifest.stats["keys.rejected"], 1);
    assert_eq!(manifest.stats["cellpainting.compounds_without_smiles"], 1);

    // The one task, hand-checked against the extract.
    let tasks = label_tables::read_table(&out.join("tasks.parquet")).unwrap();
    let name = "tasks.parquet";
    let cols = Columns::new(name, &tasks[0]);
    assert_eq!(tasks[0].num_rows(), 1);
    assert_eq!(
        cols.utf8("task_id").unwrap().value(0),
        "CHEMBL875928:pchembl>=7.5"
    );
    assert_eq!(cols.uint32("n_active").unwrap().value(0), 23);
    assert_eq!(cols.uint32("n_inactive").unwrap().value(0), 18);
    assert_eq!(cols.utf8("target_chembl_id").unwrap().value(0), "CHEMBL256");
    assert_eq!(manifest.stats["labels.labels"], 41);

    // The broken SMILES is a reject naming the metadata row and the position.
    let rejects = label_tables::read_table(&out.join("rejects.parquet")).unwrap();
    let cols = Columns::new("rejects", &rejects[0]);
    assert_eq!(rejects[0].num_rows(), 1);
    assert_eq!(
        cols.utf8("source").unwrap().value(0),
        "cellpainting:chemical_annotations.csv"
    );
    assert!(
        cols.utf8("record")
            .unwrap()
            .value(0)
            .contains("BRD-K99999990-001-01-1")
    );
    assert!(cols.utf8("reason").unwrap().value(0).contains("(at column"));

    // Every table keeps its contract.
    for (file, schema) in [
        ("compounds.parquet", "label_compounds"),
        ("tasks.parquet", "label_tasks"),
        ("rejects.parquet", "label_rejects"),
        ("match_report.parquet", "label_match_report"),
        ("labels/part-00000.parquet", "label_labels"),
        ("inputs/activities.parquet", "label_input_activities"),
        ("state/task_counts.parquet", "label_state_task_counts"),
        ("inputs/matches.parquet", "label_input_matches"),
        ("inputs/assays.parquet", "label_input_assays"),
    ] {
        let contract =
            TableSchema::load(&root().join(format!("data-schemas/{schema}.toml"))).unwrap();
        for batch in label_tables::read_table(&out.join(file)).unwrap() {
            contract
                .check_arrow(&batch.schema())
                .unwrap_or_else(|p| panic!("{file}: {p:?}"));
        }
    }
    // The authors' format has the same labels.
    let mtx = std::fs::read_to_string(out.join("authors/label-matrix.mtx")).unwrap();
    assert_eq!(mtx.lines().nth(2), Some("41 1 41"));

    // Several workers give the same bytes.
    let out2 = dir.join("export-2workers");
    let options2 = BuildOptions {
        out: out2.clone(),
        cache: None,
        ..options.clone()
    };
    build(&options2, &ClusterConfig::single(3)).unwrap();
    assert_eq!(files_of(&out), files_of(&out2));

    // A next release: CHEMBL875928 loses some measurements and gains others, a validity
    // comment appears on another activity, an unrelated assay changes.
    let next = dir.join("chembl_37.db");
    std::fs::copy(&db, &next).unwrap();
    {
        let conn = rusqlite::Connection::open(&next).unwrap();
        conn.execute_batch(
            "UPDATE version SET name = 'ChEMBL_37';
             DELETE FROM activities WHERE activity_id IN (SELECT activity_id FROM activities WHERE assay_id = 875928 ORDER BY activity_id LIMIT 4);
             UPDATE activities SET pchembl_value = 5.0 WHERE activity_id IN (SELECT activity_id FROM activities WHERE assay_id = 875928 AND pchembl_value >= 7.5 ORDER BY activity_id LIMIT 3);
             UPDATE activities SET data_validity_comment = 'Outside typical range' WHERE activity_id = (SELECT max(activity_id) FROM activities WHERE assay_id = 875928);
             UPDATE activities SET pchembl_value = 9.0 WHERE assay_id = 1000459;",
        )
        .unwrap();
    }
    let fresh = dir.join("export-37-fresh");
    build(
        &BuildOptions {
            chembl: next.clone(),
            out: fresh.clone(),
            cache: Some(dir.join("keys.cache")),
            ..options.clone()
        },
        &ClusterConfig::single(1),
    )
    .unwrap();
    let refreshed = dir.join("export-37-refresh");
    let r = refresh(
        &RefreshOptions {
            previous: out.clone(),
            chembl: next,
            chembl_release: None,
            out: refreshed.clone(),
        },
        &ClusterConfig::single(2),
    )
    .unwrap();
    assert_eq!(
        files_of(&fresh),
        files_of(&refreshed),
        "refresh == build from scratch"
    );
    let changes = r.changes.unwrap();
    assert!(changes[0] + changes[1] + changes[2] > 0, "{changes:?}");
    // Shards without changed compounds kept their bytes (same hash as before).
    let before = Manifest::load(&out).unwrap();
    let after = Manifest::load(&refreshed).unwrap();
    let same: BTreeSet<&str> = after
        .files
        .iter()
        .filter(|f| {
            f.path.starts_with("labels/")
                && before.file(&f.path).map(|b| &b.blake3) == Some(&f.blake3)
        })
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(same.len() as u64, 16 - r.shards_rewritten.unwrap());
    assert!(!same.is_empty());
    assert!(refreshed.join("changelog.parquet").is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}
