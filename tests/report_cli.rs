//! `assayflow report` on runs whose predictions are known: a label export, a world's truth and
//! three finished runs written by hand in their contracts' formats (run.json, metrics.jsonl,
//! predictions/*.parquet), so every number of the report can be checked: Table 1 from the
//! planted predictions, Wilcoxon p-values equal to the library's on the AUC vectors, the
//! planted truth beside the results, three figures as valid PNG and SVG inlined into one page,
//! byte-identical reruns, clear errors.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int8Array, RecordBatch, StringArray, UInt32Array};
use arrow_schema::{Field, Schema};

use assayflow::eval::auc::roc_auc;
use assayflow::eval::wilcoxon::wilcoxon;
use assayflow::export::prediction_tables::{PredictionRow, write_predictions, write_tasks};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_assayflow"))
        .args(args)
        .output()
        .expect("run assayflow")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("assayflow-report-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn parquet(path: &Path, columns: Vec<(&str, ArrayRef)>) {
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    let batch =
        RecordBatch::try_new(schema.clone(), columns.into_iter().map(|c| c.1).collect()).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

fn strings(v: &[&str]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

const TASKS: usize = 12;
const COMPOUNDS: usize = 40;

fn task_id(t: usize) -> String {
    format!("CHEMBL{}:comment", 100 + t)
}

fn key(c: usize) -> String {
    format!("KEY{c:02}-AAAAAAAAAA-N")
}

/// Compound c is active in task t when (c + t) % 3 == 0.
fn active(c: usize, t: usize) -> bool {
    (c + t).is_multiple_of(3)
}

/// The world: 12 tasks, the first 6 sparse-phenotype, the rest filler; 40 compounds, the
/// even ones in test, the odd ones in valid; two wells each.
fn world(dir: &Path) -> (PathBuf, PathBuf) {
    let labels = dir.join("labels");
    std::fs::create_dir_all(labels.join("labels")).unwrap();
    std::fs::write(labels.join("manifest.json"), "{\"hand\": \"made\"}\n").unwrap();
    let ids: Vec<String> = (0..TASKS).map(task_id).collect();
    let counts: Vec<(u32, u32)> = (0..TASKS)
        .map(|t| {
            let a = (0..COMPOUNDS).filter(|&c| active(c, t)).count() as u32;
            (a, COMPOUNDS as u32 - a)
        })
        .collect();
    parquet(
        &labels.join("tasks.parquet"),
        vec![
            (
                "task_id",
                strings(&ids.iter().map(String::as_str).collect::<Vec<_>>()),
            ),
            (
                "n_active",
                Arc::new(UInt32Array::from(
                    counts.iter().map(|c| c.0).collect::<Vec<_>>(),
                )),
            ),
            (
                "n_inactive",
                Arc::new(UInt32Array::from(
                    counts.iter().map(|c| c.1).collect::<Vec<_>>(),
                )),
            ),
        ],
    );
    let (mut k, mut t, mut l) = (Vec::new(), Vec::new(), Vec::new());
    for c in 0..COMPOUNDS {
        for task in 0..TASKS {
            k.push(key(c));
            t.push(task_id(task));
            l.push(if active(c, task) { 1i8 } else { -1 });
        }
    }
    parquet(
        &labels.join("labels/part-00000.parquet"),
        vec![
            (
                "inchikey",
                strings(&k.iter().map(String::as_str).collect::<Vec<_>>()),
            ),
            (
                "task_id",
                strings(&t.iter().map(String::as_str).collect::<Vec<_>>()),
            ),
            ("label", Arc::new(Int8Array::from(l))),
        ],
    );
    let truth = dir.join("truth");
    std::fs::create_dir_all(&truth).unwrap();
    let assays: Vec<String> = (0..6).map(|t| format!("CHEMBL{}", 100 + t)).collect();
    parquet(
        &truth.join("screening_assays.parquet"),
        vec![
            (
                "chembl_id",
                strings(&assays.iter().map(String::as_str).collect::<Vec<_>>()),
            ),
            ("mechanism", strings(&["M01"; 6])),
        ],
    );
    parquet(
        &truth.join("mechanisms.parquet"),
        vec![
            ("mechanism", strings(&["M01"])),
            ("name", strings(&["actin disruptor"])),
            ("phenotype", strings(&["sparse"])),
            ("channel", strings(&["Mito"])),
            ("effect", strings(&["elongated"])),
            ("cell_fraction", Arc::new(Float64Array::from(vec![0.15]))),
        ],
    );
    (labels, truth)
}

/// A finished run of `model` whose probability for (compound c, task t) is `p(c, t)`.
fn run_dir(
    dir: &Path,
    name: &str,
    model: &str,
    family: &str,
    labels: &Path,
    p: impl Fn(usize, usize) -> f32,
) -> PathBuf {
    let d = dir.join(name);
    std::fs::create_dir_all(d.join("predictions")).unwrap();
    let tasks: Vec<String> = (0..TASKS).map(task_id).collect();
    let info = serde_json::json!({
        "format": "assayflow-run/1", "tool": "assayflow test",
        "config": {"model": model, "labels": labels, "epochs": 3, "max_items_per_epoch": null},
        "model_name": model, "family": family, "parameters": 1234, "device": "cpu (2 threads)",
        "item_shape": [5, 64, 64], "tasks": tasks,
    });
    std::fs::write(d.join("run.json"), info.to_string()).unwrap();
    let mut lines = String::new();
    for e in 1..=3 {
        lines.push_str(
            &serde_json::json!({"epoch": e, "step": 10 * e, "train_items": 100, "train_seconds": e as f64,
                "valid_seconds": 0.5, "valid_auc_mean": 0.5 + 0.1 * e as f64, "best": true})
            .to_string(),
        );
        lines.push('\n');
    }
    std::fs::write(d.join("metrics.jsonl"), lines).unwrap();
    let mut rows = Vec::new();
    for c in 0..COMPOUNDS {
        for well in 0..2 {
            rows.push(PredictionRow {
                key: format!("P1-{c:02}{well}"),
                plate: Some("P1".into()),
                well: Some(format!("{c:02}{well}")),
                inchikey: Some(key(c)),
                split: Some(if c % 2 == 0 { "test" } else { "valid" }.into()),
                n_items: 2,
                probabilities: (0..TASKS).map(|t| p(c, t)).collect(),
            });
        }
    }
    write_predictions(&d.join("predictions/wells.parquet"), &rows).unwrap();
    write_tasks(&d.join("predictions/tasks.parquet"), &tasks).unwrap();
    d
}

/// A deterministic pseudo-random probability.
fn noise(c: usize, t: usize, salt: usize) -> f32 {
    let x = (c * 7919 + t * 104_729 + salt * 1_299_709) % 1000;
    x as f32 / 1000.0
}

#[test]
fn the_report_states_what_the_runs_scored() {
    let dir = tmp("known");
    let (labels, truth) = world(&dir);
    // GapNet: right on the sparse tasks (0..6), noise elsewhere; FNN: noise everywhere;
    // SC-CNN: half right.
    let gapnet = run_dir(
        &dir,
        "run-gapnet",
        "GapNet",
        "end-to-end",
        &labels,
        |c, t| {
            if t < 6 {
                if active(c, t) { 0.8 } else { 0.2 }
            } else {
                noise(c, t, 1)
            }
        },
    );
    // GapNet trained in bfloat16 with channels-last: Table 2's device says so.
    let info_path = gapnet.join("run.json");
    let mut info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&info_path).unwrap()).unwrap();
    info["config"]["bf16"] = true.into();
    info["config"]["channels_last"] = true.into();
    std::fs::write(&info_path, info.to_string()).unwrap();
    let fnn = run_dir(&dir, "run-fnn", "FNN", "cell-centric", &labels, |c, t| {
        noise(c, t, 2)
    });
    let sccnn = run_dir(
        &dir,
        "run-sccnn",
        "SC-CNN",
        "cell-centric",
        &labels,
        |c, t| {
            if t % 2 == 0 && active(c, t) {
                0.9
            } else {
                noise(c, t, 3)
            }
        },
    );
    let out = dir.join("report");
    let args = [
        gapnet.to_str().unwrap(),
        fnn.to_str().unwrap(),
        sccnn.to_str().unwrap(),
        "--truth",
        truth.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--permutations",
        "200",
    ];
    let mut full = vec!["report"];
    full.extend(args);
    let o = run(&full);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("report.html"), "{stdout}");

    // Table 1 numbers against a recomputation from the planted probabilities.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let test: Vec<usize> = (0..COMPOUNDS).filter(|c| c % 2 == 0).collect();
    let aucs = |p: &dyn Fn(usize, usize) -> f32| -> Vec<f64> {
        (0..TASKS)
            .map(|t| {
                // Two wells per compound, same probability.
                let s: Vec<f64> = test.iter().flat_map(|&c| [f64::from(p(c, t)); 2]).collect();
                let y: Vec<bool> = test.iter().flat_map(|&c| [active(c, t); 2]).collect();
                roc_auc(&s, &y).unwrap()
            })
            .collect()
    };
    let gap_p = |c: usize, t: usize| {
        if t < 6 {
            if active(c, t) { 0.8 } else { 0.2 }
        } else {
            noise(c, t, 1)
        }
    };
    let fnn_p = |c: usize, t: usize| noise(c, t, 2);
    let (gap_auc, fnn_auc) = (aucs(&gap_p), aucs(&fnn_p));
    let model = |name: &str| {
        summary["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap()
            .clone()
    };
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let g = model("GapNet");
    assert!((g["auc_mean"].as_f64().unwrap() - mean(&gap_auc)).abs() < 1e-12);
    assert_eq!(g["defined"], 12);
    assert_eq!(
        g["auc_above_0_9"].as_u64().unwrap() as usize,
        gap_auc.iter().filter(|&&a| a > 0.9).count()
    );
    assert_eq!(g["phenotype_auc"]["sparse"]["mean"], 1.0);
    assert_eq!(g["phenotype_auc"]["sparse"]["tasks"], 6);
    assert!((model("FNN")["auc_mean"].as_f64().unwrap() - mean(&fnn_auc)).abs() < 1e-12);
    // Wilcoxon GapNet vs FNN as the library computes it on the two AUC vectors.
    let w = summary["wilcoxon"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["a"] == "GapNet" && w["b"] == "FNN")
        .unwrap();
    let want = wilcoxon(&gap_auc, &fnn_auc).unwrap();
    assert!((w["p_value"].as_f64().unwrap() - want.p_value).abs() < 1e-15);
    // GapNet's perfect sparse tasks differ significantly from the FNN's noise.
    assert!(summary["pair"]["significant_a_better"].as_u64().unwrap() >= 5);

    // The pages: tables, the planted truth, three inlined figures; PNG and SVG files.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for needle in [
        "Table 1",
        "Table A1",
        "Table 2",
        "Planted truth",
        "sparse",
        "actin disruptor",
        "higher than the FNN",
    ] {
        assert!(html.contains(needle), "report.html lacks {needle:?}");
    }
    assert_eq!(html.matches("<svg").count(), 3);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("| GapNet | end-to-end | 0."), "{md}");
    let table2_row = |model: &str| {
        md.lines()
            .find(|l| l.starts_with(&format!("| {model} | 1234 |")))
            .unwrap_or_else(|| panic!("no Table 2 row for {model}: {md}"))
            .to_string()
    };
    assert!(
        table2_row("GapNet").ends_with("| cpu (2 threads), bfloat16, channels-last |"),
        "{md}"
    );
    assert!(table2_row("FNN").ends_with("| cpu (2 threads) |"), "{md}");
    for stem in ["auc_boxplot", "auc_scatter", "auc_vs_compounds"] {
        let png = std::fs::read(out.join(format!("figures/{stem}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{stem}.png");
        let svg = std::fs::read_to_string(out.join(format!("figures/{stem}.svg"))).unwrap();
        assert!(svg.contains("<svg") && svg.contains("AUC"), "{stem}.svg");
        assert!(md.contains(&format!("figures/{stem}.png")));
    }
    let csv = std::fs::read_to_string(out.join("per_task.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + TASKS);
    // The header follows data-schemas/report_per_task.toml, run names substituted.
    let contract = assayflow::export::schema::TableSchema::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("data-schemas/report_per_task.toml"),
    )
    .unwrap();
    let names: Vec<&str> = contract.columns.iter().map(|c| c.name.as_str()).collect();
    let mut want: Vec<String> = names[..4].iter().map(|s| s.to_string()).collect();
    for run in ["GapNet", "FNN", "SC-CNN"] {
        for col in &names[4..9] {
            want.push(col.replace("<run>", run));
        }
    }
    want.extend(names[9..].iter().map(|s| s.to_string()));
    assert_eq!(csv.lines().next().unwrap(), want.join(","));

    // The same inputs give the same bytes.
    let again = dir.join("again");
    let mut full2 = vec!["report"];
    full2.extend(args);
    let pos = full2
        .iter()
        .position(|a| *a == out.to_str().unwrap())
        .unwrap();
    full2[pos] = again.to_str().unwrap();
    assert!(run(&full2).status.success());
    for f in [
        "report.md",
        "summary.json",
        "per_task.csv",
        "figures/auc_scatter.svg",
        "figures/auc_boxplot.png",
    ] {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(again.join(f)).unwrap(),
            "{f} differs between two runs"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_runs_are_named() {
    let dir = tmp("bad");
    let (labels, _) = world(&dir);
    let missing = dir.join("no-such-run");
    let o = run(&[
        "report",
        missing.to_str().unwrap(),
        "--out",
        dir.join("r").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no-such-run") && err.contains("run.json"),
        "{err}"
    );

    // A rerun refused for bad input leaves an earlier, complete report as it was.
    let fine = run_dir(&dir, "run-y", "GapNet", "end-to-end", &labels, |_, _| 0.5);
    let r = dir.join("r");
    assert!(
        run(&[
            "report",
            fine.to_str().unwrap(),
            "--out",
            r.to_str().unwrap()
        ])
        .status
        .success()
    );
    let before = std::fs::read(r.join("report.html")).unwrap();
    let unfinished = run_dir(&dir, "run-x", "GapNet", "end-to-end", &labels, |_, _| 0.5);
    std::fs::remove_file(unfinished.join("predictions/wells.parquet")).unwrap();
    let o = run(&[
        "report",
        unfinished.to_str().unwrap(),
        "--out",
        dir.join("r").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not finished"), "{err}");
    assert_eq!(std::fs::read(r.join("report.html")).unwrap(), before);

    // A label export with a broken row: the file and row are named.
    parquet(
        &labels.join("labels/part-00000.parquet"),
        vec![
            ("inchikey", strings(&[key(0).as_str(), key(1).as_str()])),
            (
                "task_id",
                strings(&[task_id(0).as_str(), task_id(1).as_str()]),
            ),
            ("label", Arc::new(Int8Array::from(vec![1i8, 0]))),
        ],
    );
    let o = run(&[
        "report",
        fine.to_str().unwrap(),
        "--out",
        r.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("part-00000.parquet") && err.contains("row 1") && err.contains("label 0"),
        "{err}"
    );

    let o = run(&[
        "report",
        fine.to_str().unwrap(),
        "--pair",
        "GapNet",
        "--out",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("A,B"));
    let o = run(&[
        "report",
        fine.to_str().unwrap(),
        "--threshold",
        "2",
        "--out",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
