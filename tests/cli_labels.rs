//! `synth world`, `synth release`, `labels build` and `labels refresh` as users run them, on a
//! generated demo world: two processes on 127.0.0.1 give the single-process export byte for
//! byte; a refresh after `synth release` equals a from-scratch build on the new release and
//! rewrites only shards whose content changed; bad inputs give clear errors or rejects rows;
//! a build killed midway never leaves an export that looks complete, and a rerun finishes it.

#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use assayflow::export::label_tables::{self, Columns};
use assayflow::export::manifest::{MANIFEST, Manifest};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_assayflow"))
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("assayflow-clilab-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run assayflow")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A demo world made through the CLI (seed 11), shared by the tests.
fn world() -> &'static PathBuf {
    static WORLD: OnceLock<PathBuf> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = temp_dir("world").join("w");
        let o = run(&[
            "-q",
            "synth",
            "world",
            "--out",
            s(&dir),
            "--scale",
            "demo",
            "--seed",
            "11",
            "--no-images",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        dir
    })
}

fn db() -> PathBuf {
    world().join("chembl/chembl_36.db")
}

fn cellpainting() -> PathBuf {
    world().join("cellpainting")
}

fn pipeline() -> PathBuf {
    root().join("pipelines/paper.toml")
}

/// `labels build` with extra arguments; exit code 1 is expected (the world plants a broken
/// SMILES).
fn build(out: &Path, chembl: &Path, extra: &[&str]) -> Output {
    let (meta, rules) = (cellpainting(), pipeline());
    let mut args = vec![
        "-q",
        "labels",
        "build",
        "--chembl",
        s(chembl),
        "--cellpainting",
        s(&meta),
        "--pipeline",
        s(&rules),
        "--out",
        s(out),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// Every file of an export with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn two_processes_give_the_single_process_export() {
    let dir = temp_dir("procs");
    let (one, two) = (dir.join("one"), dir.join("two"));
    let o = build(&one, &db(), &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let o = build(&two, &db(), &["--processes", "2", "--workers", "2"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let (a, b) = (files(&one), files(&two));
    assert!(a.len() > 20);
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in &a {
        assert!(
            b[name] == *bytes,
            "{name} differs between 1 and 2 processes"
        );
    }
    let m = Manifest::load(&one).unwrap();
    assert!(m.stats["labels.tasks_kept"] >= 20);
    assert_eq!(m.stats["rejects"], 1);
    std::fs::remove_dir_all(dir).unwrap();
}

/// Label rows of an export: (inchikey, task) -> label.
fn labels(dir: &Path) -> BTreeMap<(String, String), i8> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir.join("labels")).unwrap() {
        let p = e.unwrap().path();
        let name = p.display().to_string();
        for batch in label_tables::read_table(&p).unwrap() {
            let c = Columns::new(&name, &batch);
            let (k, t, l) = (
                c.utf8("inchikey").unwrap(),
                c.utf8("task_id").unwrap(),
                c.int8("label").unwrap(),
            );
            for i in 0..batch.num_rows() {
                out.insert((k.value(i).into(), t.value(i).into()), l.value(i));
            }
        }
    }
    out
}

#[test]
fn refresh_after_synth_release_equals_a_fresh_build() {
    let dir = temp_dir("refresh");
    let old = dir.join("old");
    assert_eq!(build(&old, &db(), &[]).status.code(), Some(1));
    let new_db = dir.join("chembl_37.db");
    let o = run(&[
        "-q",
        "synth",
        "release",
        "--from",
        s(&db()),
        "--out",
        s(&new_db),
        "--change-rate",
        "0.01",
        "--seed",
        "5",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The release file is untouched and refuses to be overwritten.
    let o = run(&[
        "-q",
        "synth",
        "release",
        "--from",
        s(&db()),
        "--out",
        s(&new_db),
    ]);
    assert_eq!(o.status.code(), Some(2));

    let (refreshed, fresh) = (dir.join("refreshed"), dir.join("fresh"));
    let o = run(&[
        "-q",
        "labels",
        "refresh",
        "--previous",
        s(&old),
        "--chembl",
        s(&new_db),
        "--out",
        s(&refreshed),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(build(&fresh, &new_db, &[]).status.code(), Some(1));
    let (r, f) = (files(&refreshed), files(&fresh));
    for (name, bytes) in &f {
        assert!(
            r.get(name) == Some(bytes),
            "{name} differs from a fresh build"
        );
    }
    let extra: Vec<&String> = r.keys().filter(|k| !f.contains_key(*k)).collect();
    assert_eq!(extra, ["changelog.parquet", "refresh.json"]);
    let m = Manifest::load(&fresh).unwrap();
    assert_eq!(m.inputs.chembl_release, "37");

    // The changelog says exactly what changed.
    let (before, after) = (labels(&old), labels(&fresh));
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(refreshed.join("refresh.json")).unwrap()).unwrap();
    let added = after.keys().filter(|k| !before.contains_key(*k)).count();
    let removed = before.keys().filter(|k| !after.contains_key(*k)).count();
    let flipped = after
        .iter()
        .filter(|(k, v)| before.get(*k).is_some_and(|b| b != *v))
        .count();
    assert_eq!(record["changes"]["label_added"], added);
    assert_eq!(record["changes"]["label_removed"], removed);
    assert_eq!(record["changes"]["label_flipped"], flipped);
    assert!(
        added + removed + flipped > 0,
        "a 1% change should move some labels"
    );
    // Shards: a shard is reused exactly when its content did not change.
    let old_m = Manifest::load(&old).unwrap();
    let mut same = 0;
    for e in m.files.iter().filter(|e| e.path.starts_with("labels/")) {
        if old_m.file(&e.path).is_some_and(|o| o.blake3 == e.blake3) {
            same += 1;
        }
    }
    assert_eq!(record["label_shards_reused"], same);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_inputs_are_named() {
    let dir = temp_dir("bad");
    // Not a database.
    let garbage = dir.join("garbage.db");
    std::fs::write(
        &garbage,
        b"this is not sqlite at all, just text\n".repeat(200),
    )
    .unwrap();
    let o = build(&dir.join("e1"), &garbage, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("garbage.db"), "{}", stderr(&o));
    assert!(!dir.join("e1").join(MANIFEST).exists());
    // A truncated database.
    let bytes = std::fs::read(db()).unwrap();
    let truncated = dir.join("truncated.db");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let o = build(&dir.join("e2"), &truncated, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("truncated.db"), "{}", stderr(&o));
    assert!(!dir.join("e2").join(MANIFEST).exists());
    // A missing column.
    let dropped = dir.join("dropped.db");
    std::fs::copy(db(), &dropped).unwrap();
    rusqlite::Connection::open(&dropped)
        .unwrap()
        .execute_batch("ALTER TABLE activities DROP COLUMN pchembl_value")
        .unwrap();
    let o = build(&dir.join("e3"), &dropped, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("activities.pchembl_value"),
        "{}",
        stderr(&o)
    );
    // A malformed CSV line in the annotations: a rejects row naming file and line, and every
    // other compound still there.
    let meta = dir.join("meta");
    std::fs::create_dir_all(meta.join("platemap")).unwrap();
    for e in std::fs::read_dir(cellpainting().join("platemap")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, meta.join("platemap").join(p.file_name().unwrap())).unwrap();
    }
    std::fs::copy(
        cellpainting().join("barcode_platemap.csv"),
        meta.join("barcode_platemap.csv"),
    )
    .unwrap();
    let text = std::fs::read_to_string(cellpainting().join("chemical_annotations.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.insert(5, "BRD-K00000000-001-01-1,\"unterminated,,,,,,,CCO".into());
    lines.insert(9, "only,three,fields".into());
    std::fs::write(
        meta.join("chemical_annotations.csv"),
        lines.join("\n") + "\n",
    )
    .unwrap();
    let out = dir.join("e4");
    let o = run(&[
        "-q",
        "labels",
        "build",
        "--chembl",
        s(&db()),
        "--cellpainting",
        s(&meta),
        "--pipeline",
        s(&pipeline()),
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let good = Manifest::load(&out).unwrap();
    let reference = dir.join("e5");
    assert_eq!(build(&reference, &db(), &[]).status.code(), Some(1));
    let reference = Manifest::load(&reference).unwrap();
    assert_eq!(
        good.stats["keys.distinct"],
        reference.stats["keys.distinct"]
    );
    assert_eq!(
        good.stats["labels.labels"],
        reference.stats["labels.labels"]
    );
    let path = out.join("rejects.parquet");
    let name = path.display().to_string();
    let mut rows = Vec::new();
    for batch in label_tables::read_table(&path).unwrap() {
        let c = Columns::new(&name, &batch);
        for i in 0..batch.num_rows() {
            rows.push(format!(
                "{} | {} | {}",
                c.utf8("source").unwrap().value(i),
                c.utf8("record").unwrap().value(i),
                c.utf8("reason").unwrap().value(i)
            ));
        }
    }
    assert!(
        rows.iter()
            .any(|r| r.contains("chemical_annotations.csv") && r.contains("line 10")),
        "{rows:#?}"
    );
    assert!(
        rows.iter().any(|r| r.contains("SMILES has no InChIKey")),
        "{rows:#?}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_killed_build_never_looks_complete_and_a_rerun_finishes_it() {
    let dir = temp_dir("killed");
    let reference = dir.join("reference");
    assert_eq!(build(&reference, &db(), &[]).status.code(), Some(1));
    let expected = std::fs::read(reference.join(MANIFEST)).unwrap();
    for (i, delay_ms) in [5u64, 20, 40, 80, 120, 200].into_iter().enumerate() {
        let out = dir.join(format!("run{i}"));
        let mut child = bin()
            .args([
                "-q",
                "labels",
                "build",
                "--chembl",
                s(&db()),
                "--cellpainting",
                s(&cellpainting()),
                "--pipeline",
                s(&pipeline()),
                "--out",
                s(&out),
            ])
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        if out.join(MANIFEST).exists() {
            // It finished before the kill: then it is complete and verifies.
            Manifest::load(&out).unwrap().verify(&out).unwrap();
        }
        // A rerun into the same directory finishes the export (or finds it complete).
        let o = build(&out, &db(), &[]);
        if o.status.code() == Some(2) {
            assert!(
                stderr(&o).contains("already holds an export"),
                "{}",
                stderr(&o)
            );
        } else {
            assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        }
        assert_eq!(std::fs::read(out.join(MANIFEST)).unwrap(), expected);
        let m = Manifest::load(&out).unwrap();
        m.verify(&out).unwrap();
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// `assayflow demo` (README's first command, less the build): keys the bundled real molecules,
/// generates a demo world, builds its labels, derives a release, refreshes, and checks the
/// refresh against a fresh build; exit 0 although the world plants a bad SMILES. A rerun in the
/// same directory keeps the world and does every label step again.
#[test]
fn demo_generates_a_world_builds_and_refreshes_its_labels() {
    let dir = temp_dir("demo");
    let out = dir.join("demo-out");
    for round in 0..2 {
        // The training step has its own test (tests/train_cli.rs).
        let o = run(&["demo", "--out", s(&out), "--processes", "1", "--no-train"]);
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        assert_eq!(o.status.code(), Some(0), "{text}\n{}", stderr(&o));
        assert!(
            text.contains("4137 of 4138 keys equal ChEMBL 36's own"),
            "{text}"
        );
        let world_line = if round == 0 {
            "world (demo scale, seed 1, generated in"
        } else {
            "world (demo scale, seed 1, kept from an earlier run)"
        };
        assert!(text.contains(world_line), "{text}");
        assert!(
            text.contains("(1 SMILES rejected, planted by the generator)"),
            "{text}"
        );
        assert!(text.contains("labels refresh (ChEMBL 36 -> 37)"), "{text}");
        assert!(
            text.contains("has the same manifest and the same"),
            "{text}"
        );
        for export in ["labels-36", "labels-37", "labels-37-from-scratch"] {
            let m = Manifest::load(&out.join(export)).unwrap();
            m.verify(&out.join(export)).unwrap();
        }
        assert!(out.join("labels-37/changelog.parquet").is_file());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `demo --gapnet-epochs` and `--fp32` are checked before any work: zero epochs, or either
/// option with `--no-train`, are usage errors (exit 2) naming the option, and nothing is written.
#[test]
fn demo_rejects_bad_training_options_before_any_work() {
    let dir = temp_dir("demo-epochs");
    let out = dir.join("demo-out");
    for (args, option) in [
        (
            vec!["demo", "--out", s(&out), "--gapnet-epochs", "0"],
            "--gapnet-epochs",
        ),
        (
            vec![
                "demo",
                "--out",
                s(&out),
                "--no-train",
                "--gapnet-epochs",
                "3",
            ],
            "--gapnet-epochs",
        ),
        (
            vec!["demo", "--out", s(&out), "--no-train", "--fp32"],
            "--fp32",
        ),
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(option), "{}", stderr(&o));
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A reader that stops early (`assayflow demo | head -1`) is not an error: exit 0, no panic.
#[test]
fn demo_output_into_a_closed_pipe_exits_cleanly() {
    use std::io::{BufRead, BufReader};
    let dir = temp_dir("demo-pipe");
    let mut child = bin()
        .args(["demo", "--out", s(&dir.join("out")), "--processes", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("assayflow demo:"), "{first}");
    // The pipe's reading end is closed here; the demo goes on writing into it.
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    std::fs::remove_dir_all(&dir).unwrap();
}
