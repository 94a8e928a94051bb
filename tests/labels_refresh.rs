//! A refresh equals a from-scratch build on the new release, byte for byte, whatever changed:
//! generated next releases at several change rates, and hand-made edits aimed at each path of
//! the incremental refresh (tasks dropping below and rising above the size rule, molecules
//! losing and gaining their match, validity flags, comment flips, a renamed assay), with the
//! full-key and the parent match levels, one and several workers, and refreshes of refreshes.

#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use assayflow::dataflow::cluster::ClusterConfig;
use assayflow::export::label_tables::{self, Columns};
use assayflow::export::manifest::Manifest;
use assayflow::labels::build::{BuildOptions, build};
use assayflow::labels::refresh::{RefreshOptions, refresh};
use assayflow::pipeline::Pipeline;
use assayflow::synth::next_release::{ReleaseChanges, derive_release};
use assayflow::synth::scale::Scale;
use assayflow::synth::world::{CELLPAINTING_DIR, CHEMBL_FILE, WorldOptions, generate};
use rusqlite::Connection;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("assayflow-refresh-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A demo world (seed 21), shared.
fn world() -> &'static PathBuf {
    static WORLD: OnceLock<PathBuf> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = temp_dir("world").join("w");
        generate(
            &WorldOptions {
                out: dir.clone(),
                scale: Scale::Demo,
                seed: 21,
                images: false,
            },
            &ClusterConfig::single(1),
            Arc::new(|_: &str, _: u64, _: u64| {}),
        )
        .unwrap();
        dir
    })
}

/// The paper's pipeline, or a variant: `parent` match level and a smaller size rule, so that
/// more tasks sit near the edge.
fn pipeline(variant: bool) -> Pipeline {
    let text = std::fs::read_to_string(root().join("pipelines/paper.toml")).unwrap();
    if !variant {
        return Pipeline::parse(&text, "paper.toml").unwrap();
    }
    let text = text
        .replace("match = \"full\"", "match = \"parent\"")
        .replace("min_actives = 10", "min_actives = 6")
        .replace("min_inactives = 10", "min_inactives = 6");
    assert!(text.contains("\"parent\""));
    Pipeline::parse(&text, "variant.toml").unwrap()
}

fn build_into(out: &Path, db: &Path, pipeline: &Pipeline, workers: usize) {
    build(
        &BuildOptions {
            chembl: db.to_path_buf(),
            chembl_release: None,
            cellpainting: world().join(CELLPAINTING_DIR),
            pipeline: pipeline.clone(),
            out: out.to_path_buf(),
            cache: None,
        },
        &ClusterConfig::single(workers),
    )
    .unwrap();
}

/// Every file a build writes, with its bytes (manifest included).
fn files_of(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let manifest = Manifest::load(dir).unwrap();
    let mut out: BTreeMap<String, Vec<u8>> = manifest
        .files
        .iter()
        .map(|f| (f.path.clone(), std::fs::read(dir.join(&f.path)).unwrap()))
        .collect();
    out.insert(
        "manifest.json".into(),
        std::fs::read(dir.join("manifest.json")).unwrap(),
    );
    out
}

/// Refreshes `previous` with `db` into `dir/name-refresh`, builds `dir/name-fresh`, and checks
/// they are the same bytes; returns the refreshed export and its change counts.
fn check(
    dir: &Path,
    name: &str,
    previous: &Path,
    db: &Path,
    pipeline: &Pipeline,
    workers: usize,
) -> (PathBuf, [u64; 5]) {
    let fresh = dir.join(format!("{name}-fresh"));
    build_into(&fresh, db, pipeline, 1);
    let refreshed = dir.join(format!("{name}-refresh"));
    let report = refresh(
        &RefreshOptions {
            previous: previous.to_path_buf(),
            chembl: db.to_path_buf(),
            chembl_release: None,
            out: refreshed.clone(),
        },
        &ClusterConfig::single(workers),
    )
    .unwrap();
    let (a, b) = (files_of(&fresh), files_of(&refreshed));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "{name}"
    );
    for (file, bytes) in &a {
        assert!(
            b[file] == *bytes,
            "{name}: {file} differs from a fresh build"
        );
    }
    (refreshed, report.changes.unwrap())
}

/// A copy of the world's release with `sql` applied (and the next version name).
fn edited(dir: &Path, name: &str, sql: &str) -> PathBuf {
    let db = dir.join(format!("{name}.db"));
    std::fs::copy(world().join(CHEMBL_FILE), &db).unwrap();
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch("UPDATE version SET name = 'ChEMBL_37';")
        .unwrap();
    conn.execute_batch(sql).unwrap();
    db
}

/// (task assay_id, kept?, n_active, n_inactive) of every task with a label.
fn task_counts(export: &Path) -> Vec<(i64, String, u32, u32)> {
    let path = export.join("state/task_counts.parquet");
    let name = path.display().to_string();
    let mut out = Vec::new();
    for batch in label_tables::read_table(&path).unwrap() {
        let c = Columns::new(&name, &batch);
        let (a, k, na, ni) = (
            c.int64("assay_id").unwrap(),
            c.utf8("kind").unwrap(),
            c.uint32("n_active").unwrap(),
            c.uint32("n_inactive").unwrap(),
        );
        for i in 0..batch.num_rows() {
            out.push((a.value(i), k.value(i).to_string(), na.value(i), ni.value(i)));
        }
    }
    out
}

/// Molregnos matched to compounds, and keys of compounds without a match.
fn matches(export: &Path) -> (Vec<i64>, Vec<String>) {
    let path = export.join("compounds.parquet");
    let name = path.display().to_string();
    let (mut matched, mut unmatched) = (Vec::new(), Vec::new());
    for batch in label_tables::read_table(&path).unwrap() {
        let c = Columns::new(&name, &batch);
        let (k, m) = (c.utf8("inchikey").unwrap(), c.list("molregnos").unwrap());
        for i in 0..batch.num_rows() {
            let ms = label_tables::list_i64s(m, i);
            if ms.is_empty() {
                unmatched.push(k.value(i).to_string());
            }
            matched.extend(ms);
        }
    }
    (matched, unmatched)
}

#[test]
fn refresh_equals_a_fresh_build_after_generated_releases() {
    let dir = temp_dir("generated");
    for variant in [false, true] {
        let pipeline = pipeline(variant);
        let base = dir.join(format!("base-{variant}"));
        build_into(&base, &world().join(CHEMBL_FILE), &pipeline, 1);
        let mut previous = base.clone();
        let mut from = world().join(CHEMBL_FILE);
        for (step, (rate, workers)) in [(0.02, 1), (0.2, 2), (0.05, 1)].into_iter().enumerate() {
            let db = dir.join(format!("r{variant}-{step}.db"));
            derive_release(
                &from,
                &db,
                &ReleaseChanges {
                    change_rate: rate,
                    seed: 100 + step as u64,
                    version_name: None,
                },
            )
            .unwrap();
            // Each step refreshes the previous refresh: refreshes chain.
            let (refreshed, changes) = check(
                &dir,
                &format!("gen-{variant}-{step}"),
                &previous,
                &db,
                &pipeline,
                workers,
            );
            assert!(changes.iter().sum::<u64>() > 0, "step {step}: {changes:?}");
            previous = refreshed;
            from = db;
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn refresh_equals_a_fresh_build_after_targeted_edits() {
    let dir = temp_dir("targeted");
    for variant in [false, true] {
        let pipeline = pipeline(variant);
        let (min_a, min_i) = if variant { (6, 6) } else { (10, 10) };
        let base = dir.join(format!("base-{variant}"));
        build_into(&base, &world().join(CHEMBL_FILE), &pipeline, 1);
        let counts = task_counts(&base);
        let (matched, unmatched) = matches(&base);
        assert!(!unmatched.is_empty() && matched.len() > 100);

        // A kept task loses most of its rows and drops out.
        let (kept_assay, ..) = counts
            .iter()
            .filter(|(_, _, a, i)| *a >= min_a && *i >= min_i)
            .max_by_key(|(_, _, a, i)| a + i)
            .cloned()
            .unwrap();
        let drop = edited(
            &dir,
            &format!("drop-{variant}"),
            &format!(
                "DELETE FROM activities WHERE assay_id = {kept_assay} AND activity_id % 25 <> 0;"
            ),
        );
        let (_, c) = check(&dir, &format!("drop-{variant}"), &base, &drop, &pipeline, 1);
        assert!(c[4] > 0, "a task should drop out: {c:?}");

        // A task just below the size rule gains measurements and is kept.
        let (small_assay, kind, ..) = counts
            .iter()
            .filter(|(_, k, a, i)| k == "pchembl" && (*a < min_a || *i < min_i) && a + i >= 3)
            .max_by_key(|(_, _, a, i)| a + i)
            .cloned()
            .unwrap();
        assert_eq!(kind, "pchembl");
        let mut sql = String::new();
        for (n, m) in matched.iter().take(40).enumerate() {
            let p = if n % 2 == 0 { 8.2 } else { 4.4 };
            sql.push_str(&format!(
                "INSERT INTO activities (activity_id, assay_id, molregno, standard_relation, standard_value, standard_units, standard_flag, standard_type, pchembl_value) \
                 VALUES ({}, {small_assay}, {m}, '=', {}, 'nM', 1, 'IC50', {p});",
                90_000_000 + n,
                10f64.powf(9.0 - p)
            ));
        }
        let rise = edited(&dir, &format!("rise-{variant}"), &sql);
        let (_, c) = check(&dir, &format!("rise-{variant}"), &base, &rise, &pipeline, 2);
        assert!(c[3] > 0, "a task should appear: {c:?}");

        // Matches change: one molecule's key changes (it loses its compound), an unmatched
        // compound's key appears on a new molecule with another molecule's activities, and a
        // salt form appears as a child of a matched molecule (the parent level finds it).
        let donor = matched[matched.len() / 2];
        let lost = matched[matched.len() / 3];
        let parent = matched[matched.len() / 4];
        let sql = format!(
            "UPDATE compound_structures SET standard_inchi_key = 'AAAAAAAAAAAAAA-BBBBBBBBBB-N' WHERE molregno = {lost};
             INSERT INTO molecule_dictionary (molregno, chembl_id, molecule_type) VALUES (99000001, 'CHEMBL99000001', 'Small molecule');
             INSERT INTO compound_structures (molregno, standard_inchi_key, canonical_smiles) VALUES (99000001, '{}', 'C');
             INSERT INTO molecule_hierarchy (molregno, parent_molregno, active_molregno) VALUES (99000001, 99000001, 99000001);
             INSERT INTO activities (activity_id, assay_id, molregno, standard_relation, standard_value, standard_units, standard_flag, standard_type, activity_comment, data_validity_comment, pchembl_value)
               SELECT activity_id + 80000000, assay_id, 99000001, standard_relation, standard_value, standard_units, standard_flag, standard_type, activity_comment, data_validity_comment, pchembl_value
               FROM activities WHERE molregno = {donor};
             INSERT INTO molecule_dictionary (molregno, chembl_id, molecule_type) VALUES (99000002, 'CHEMBL99000002', 'Small molecule');
             INSERT INTO compound_structures (molregno, standard_inchi_key, canonical_smiles) VALUES (99000002, 'CCCCCCCCCCCCCC-DDDDDDDDDD-N', 'C.Cl');
             INSERT INTO molecule_hierarchy (molregno, parent_molregno, active_molregno) VALUES (99000002, {parent}, {parent});
             INSERT INTO activities (activity_id, assay_id, molregno, standard_relation, standard_value, standard_units, standard_flag, standard_type, activity_comment, data_validity_comment, pchembl_value)
               SELECT activity_id + 85000000, assay_id, 99000002, standard_relation, standard_value, standard_units, standard_flag, standard_type, activity_comment, data_validity_comment, pchembl_value
               FROM activities WHERE molregno = {donor};",
            unmatched[0]
        );
        let rematch = edited(&dir, &format!("rematch-{variant}"), &sql);
        check(
            &dir,
            &format!("rematch-{variant}"),
            &base,
            &rematch,
            &pipeline,
            1,
        );

        // Curation: validity flags set and cleared, comments flipped, a kept task's assay
        // renamed (its task ids change).
        let sql = format!(
            "UPDATE activities SET data_validity_comment = 'Outside typical range' WHERE activity_id % 17 = 3;
             UPDATE activities SET data_validity_comment = NULL WHERE data_validity_comment IS NOT NULL AND activity_id % 5 = 0;
             UPDATE activities SET data_validity_comment = 'Manually validated' WHERE activity_id % 23 = 7;
             UPDATE activities SET activity_comment = CASE WHEN lower(trim(activity_comment)) = 'active' THEN 'Not Active' ELSE 'Active' END
               WHERE activity_comment IS NOT NULL AND activity_id % 9 = 1;
             UPDATE activities SET pchembl_value = pchembl_value + 1.0 WHERE pchembl_value IS NOT NULL AND activity_id % 11 = 2;
             UPDATE assays SET chembl_id = 'CHEMBL98765432' WHERE assay_id = {kept_assay};"
        );
        let curated = edited(&dir, &format!("curated-{variant}"), &sql);
        let (refreshed, c) = check(
            &dir,
            &format!("curated-{variant}"),
            &base,
            &curated,
            &pipeline,
            1,
        );
        assert!(c[0] > 0 && c[1] > 0 && c[2] > 0, "{c:?}");

        // Back to the original release from the refreshed export.
        check(
            &dir,
            &format!("back-{variant}"),
            &refreshed,
            &world().join(CHEMBL_FILE),
            &pipeline,
            1,
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// An export refreshed against the very release it came from changes nothing and reuses every
/// shard.
#[test]
fn refresh_against_the_same_release_reuses_everything() {
    let dir = temp_dir("same");
    let pipeline = pipeline(false);
    let base = dir.join("base");
    build_into(&base, &world().join(CHEMBL_FILE), &pipeline, 1);
    let refreshed = dir.join("again");
    let report = refresh(
        &RefreshOptions {
            previous: base.clone(),
            chembl: world().join(CHEMBL_FILE),
            chembl_release: None,
            out: refreshed.clone(),
        },
        &ClusterConfig::single(1),
    )
    .unwrap();
    assert_eq!(report.changes, Some([0; 5]));
    assert_eq!(report.shards_rewritten, Some(0));
    assert_eq!(files_of(&base), files_of(&refreshed));
    std::fs::remove_dir_all(dir).unwrap();
}
