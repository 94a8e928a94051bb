//! `synth world` at demo scale: the files are in the real formats (the ordinary readers read
//! them, the truth tables meet their contracts), the release's keys are the real keys of its
//! SMILES, the world is the same for the same seed whatever the number of workers, and a label
//! build on it finds tasks that follow the hidden mechanisms.

#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use assayflow::chem::smiles_to_inchikey;
use assayflow::dataflow::cluster::ClusterConfig;
use assayflow::export::label_tables::{self, Columns};
use assayflow::export::schema::TableSchema;
use assayflow::labels::build::{BuildOptions, build};
use assayflow::pipeline::Pipeline;
use assayflow::sources::cellpainting::read_metadata;
use assayflow::sources::chembl::ChemblRelease;
use assayflow::synth::scale::Scale;
use assayflow::synth::world::{
    CELLPAINTING_DIR, CHEMBL_FILE, WORLD_RECORD, WorldError, WorldOptions, WorldSummary, generate,
};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("assayflow-world-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn make(name: &str, seed: u64, workers: usize) -> (PathBuf, WorldSummary) {
    let dir = temp_dir(name);
    let summary = generate(
        &WorldOptions {
            out: dir.clone(),
            scale: Scale::Demo,
            seed,
            images: false,
        },
        &ClusterConfig::single(workers),
        Arc::new(|_: &str, _: u64, _: u64| {}),
    )
    .unwrap();
    (dir, summary)
}

/// The shared demo world (seed 7, one worker).
fn world() -> &'static (PathBuf, WorldSummary) {
    static WORLD: OnceLock<(PathBuf, WorldSummary)> = OnceLock::new();
    WORLD.get_or_init(|| make("shared", 7, 1))
}

#[test]
fn same_seed_same_world_whatever_the_workers() {
    let (_, a) = world();
    let (dir_b, b) = make("two-workers", 7, 2);
    assert_eq!(a.files, b.files);
    assert_eq!(a.counts, b.counts);
    let (dir_c, c) = make("other-seed", 8, 1);
    assert_ne!(a.files, c.files);
    // A finished world is not overwritten.
    let again = generate(
        &WorldOptions {
            out: dir_b.clone(),
            scale: Scale::Demo,
            seed: 7,
            images: false,
        },
        &ClusterConfig::single(1),
        Arc::new(|_: &str, _: u64, _: u64| {}),
    );
    assert!(matches!(again, Err(WorldError::Exists(_))));
    for d in [dir_b, dir_c] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn the_record_lists_every_file_with_its_hash() {
    let (dir, summary) = world();
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(WORLD_RECORD)).unwrap()).unwrap();
    assert_eq!(record["seed"], 7);
    assert_eq!(record["scale"], "demo");
    for f in &summary.files {
        let (hash, bytes) = assayflow::export::manifest::hash_file(&dir.join(&f.path)).unwrap();
        assert_eq!((hash, bytes), (f.blake3.clone(), f.bytes), "{}", f.path);
    }
    let paths: BTreeSet<&str> = summary.files.iter().map(|f| f.path.as_str()).collect();
    assert!(paths.contains(CHEMBL_FILE));
    assert!(paths.contains("cellpainting/chemical_annotations.csv"));
    assert!(paths.contains("truth/actions.parquet"));
    assert!(!paths.iter().any(|p| p.contains(".tmp")));
}

#[test]
fn the_release_reads_as_chembl_with_real_keys() {
    let (dir, summary) = world();
    let db = dir.join(CHEMBL_FILE);
    let release = ChemblRelease::open(&db, None).unwrap();
    assert_eq!(release.release(), "36");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let count =
        |sql: &str| -> u64 { conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap() as u64 };
    assert_eq!(
        count("SELECT count(*) FROM activities"),
        summary.counts["chembl_activities"]
    );
    assert_eq!(
        count("SELECT count(*) FROM molecule_dictionary"),
        summary.counts["chembl_molecules"]
    );
    assert_eq!(
        count("SELECT count(*) FROM assays"),
        summary.counts["chembl_assays"]
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM activities a LEFT JOIN assays s USING (assay_id) WHERE s.assay_id IS NULL"
        ),
        0
    );
    // Near the scale's numbers.
    let p = Scale::Demo.params();
    assert_eq!(summary.counts["chembl_molecules"], p.molecules as u64);
    let acts = summary.counts["chembl_activities"] as f64;
    assert!((acts / p.activities as f64 - 1.0).abs() < 0.15, "{acts}");
    // Every 20th molecule: the stored key is the standard InChIKey of the stored SMILES.
    let mut stmt = conn
        .prepare("SELECT molregno, canonical_smiles, standard_inchi_key FROM compound_structures WHERE molregno % 20 = 0")
        .unwrap();
    let rows: Vec<(i64, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert!(rows.len() >= 290);
    for (m, s, k) in rows {
        assert_eq!(smiles_to_inchikey(&s).unwrap(), k, "molregno {m}: {s}");
    }
    // The mix of the real thing: relations, units, types, comments, validity flags, duplicates.
    let distinct = |sql: &str| -> BTreeSet<String> {
        let mut stmt = conn.prepare(sql).unwrap();
        stmt.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    let relations = distinct("SELECT DISTINCT standard_relation FROM activities");
    assert!(
        ["=", ">", "<"].iter().all(|r| relations.contains(*r)),
        "{relations:?}"
    );
    let types = distinct("SELECT DISTINCT standard_type FROM activities");
    assert!(types.len() >= 12, "{types:?}");
    let comments = distinct(
        "SELECT DISTINCT activity_comment FROM activities WHERE activity_comment IS NOT NULL",
    );
    for c in [
        "Active",
        "Not Active",
        "inactive",
        "Inconclusive",
        " Not  Active ",
    ] {
        assert!(comments.contains(c), "{c:?} missing from {comments:?}");
    }
    let validity = distinct(
        "SELECT DISTINCT data_validity_comment FROM activities WHERE data_validity_comment IS NOT NULL",
    );
    assert!(validity.contains("Manually validated") && validity.contains("Outside typical range"));
    assert!(
        count(
            "SELECT count(*) FROM (SELECT assay_id, molregno FROM activities GROUP BY 1, 2 HAVING count(*) > 1)"
        ) > 100
    );
    // Assays of very different sizes.
    let largest =
        count("SELECT max(n) FROM (SELECT count(*) AS n FROM activities GROUP BY assay_id)");
    let singles = count(
        "SELECT count(*) FROM (SELECT count(*) AS n FROM activities GROUP BY assay_id) WHERE n = 1",
    );
    assert!(largest > 300 && singles > 300, "{largest} {singles}");
    // Salt forms point to their parents.
    assert!(summary.counts["cp_salt_forms"] > 0);
    assert_eq!(
        count("SELECT count(*) FROM molecule_hierarchy WHERE parent_molregno <> molregno"),
        summary.counts["cp_salt_forms"]
    );
}

#[test]
fn metadata_and_truth_read_back() {
    let (dir, summary) = world();
    let meta = read_metadata(&dir.join(CELLPAINTING_DIR), None).unwrap();
    assert_eq!(meta.compounds.len() as u64, summary.counts["cp_samples"]);
    assert!(meta.rejects.is_empty());
    assert_eq!(
        meta.compounds.iter().filter(|c| c.smiles.is_none()).count() as u64,
        summary.counts["cp_planted_empty_smiles"]
    );
    let plates: BTreeSet<&str> = meta.wells.iter().map(|w| w.plate.as_str()).collect();
    assert_eq!(plates.len() as u64, summary.counts["cp_plates"]);
    for (file, schema) in [
        ("truth/mechanisms.parquet", "synth_truth_mechanisms"),
        ("truth/compounds.parquet", "synth_truth_compounds"),
        ("truth/samples.parquet", "synth_truth_samples"),
        ("truth/actions.parquet", "synth_truth_actions"),
        (
            "truth/screening_assays.parquet",
            "synth_truth_screening_assays",
        ),
    ] {
        let contract =
            TableSchema::load(&root().join(format!("data-schemas/{schema}.toml"))).unwrap();
        let batches = label_tables::read_table(&dir.join(file)).unwrap();
        contract
            .check_arrow(&batches[0].schema())
            .unwrap_or_else(|e| panic!("{file}: {e:?}"));
    }
}

/// Reads a two-column string table into pairs.
fn pairs(path: &Path, a: &str, b: &str) -> Vec<(String, String)> {
    let name = path.display().to_string();
    let mut out = Vec::new();
    for batch in label_tables::read_table(path).unwrap() {
        let cols = Columns::new(&name, &batch);
        let (x, y) = (cols.utf8(a).unwrap(), cols.utf8(b).unwrap());
        for i in 0..batch.num_rows() {
            out.push((x.value(i).to_string(), y.value(i).to_string()));
        }
    }
    out
}

#[test]
fn labels_follow_the_hidden_mechanisms() {
    let (dir, _) = world();
    let export = temp_dir("export");
    build(
        &BuildOptions {
            chembl: dir.join(CHEMBL_FILE),
            chembl_release: None,
            cellpainting: dir.join(CELLPAINTING_DIR),
            pipeline: Pipeline::load(&root().join("pipelines/paper.toml")).unwrap(),
            out: export.clone(),
            cache: None,
        },
        &ClusterConfig::single(1),
    )
    .unwrap();
    // Truth: compound key -> mechanisms; screening assay -> mechanism.
    let key_of: BTreeMap<String, String> =
        pairs(&dir.join("truth/compounds.parquet"), "broad_id", "inchikey")
            .into_iter()
            .collect();
    let mut acts_on: BTreeSet<(String, String)> = BTreeSet::new();
    for (id, mech) in pairs(&dir.join("truth/actions.parquet"), "broad_id", "mechanism") {
        acts_on.insert((key_of[&id].clone(), mech));
    }
    let mechanism_of: BTreeMap<String, String> = pairs(
        &dir.join("truth/screening_assays.parquet"),
        "chembl_id",
        "mechanism",
    )
    .into_iter()
    .collect();
    let tasks = pairs(&export.join("tasks.parquet"), "task_id", "assay_chembl_id");
    assert!(tasks.len() >= 30, "only {} tasks", tasks.len());
    // Every task comes from a screening assay.
    assert!(tasks.iter().all(|(_, a)| mechanism_of.contains_key(a)));
    // Actives act on the assay's mechanism; inactives mostly do not.
    let (mut active, mut active_acting, mut inactive, mut inactive_acting) = (0, 0, 0, 0);
    for shard in std::fs::read_dir(export.join("labels")).unwrap() {
        let path = shard.unwrap().path();
        let name = path.display().to_string();
        for batch in label_tables::read_table(&path).unwrap() {
            let cols = Columns::new(&name, &batch);
            let (k, t, l) = (
                cols.utf8("inchikey").unwrap(),
                cols.utf8("task_id").unwrap(),
                cols.int8("label").unwrap(),
            );
            for i in 0..batch.num_rows() {
                let assay = t.value(i).split(':').next().unwrap();
                let acting =
                    acts_on.contains(&(k.value(i).to_string(), mechanism_of[assay].clone()));
                if l.value(i) > 0 {
                    active += 1;
                    active_acting += usize::from(acting);
                } else {
                    inactive += 1;
                    inactive_acting += usize::from(acting);
                }
            }
        }
    }
    let precision = active_acting as f64 / active as f64;
    let contamination = inactive_acting as f64 / inactive as f64;
    assert!(precision > 0.85, "{active_acting}/{active}");
    assert!(contamination < 0.2, "{inactive_acting}/{inactive}");
    std::fs::remove_dir_all(export).unwrap();
}
