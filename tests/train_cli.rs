//! `assayflow models`, `train` and `predict` as users run them (cargo feature `torch`), on a
//! generated world converted with `pipelines/demo-training.toml`: GapNet stopped at
//! `--max-steps` and resumed, SC-CNN on crops, the FNN on features, MIL-Net and M-CNN for a step,
//! prediction of every view with its tables' contracts, and clear errors for bad inputs.
#![cfg(feature = "torch")]
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::path::Path;
use std::process::{Command, Output};

use assayflow::export::schema::TableSchema;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_assayflow"))
        .args(args)
        .output()
        .expect("run assayflow")
}

fn ok(args: &[&str]) -> String {
    let o = run(args);
    assert!(
        o.status.success(),
        "assayflow {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn rows(path: &Path, schema: &str) -> usize {
    let contract = TableSchema::load(&root().join(format!("data-schemas/{schema}.toml"))).unwrap();
    let f = std::fs::File::open(path).unwrap();
    let b = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f).unwrap();
    contract.check_arrow(b.schema().as_ref()).unwrap();
    b.metadata().file_metadata().num_rows() as usize
}

fn metrics(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn models_train_resume_and_predict_through_the_cli() {
    let dir = std::env::temp_dir().join(format!("assayflow-traincli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (world, labels, views) = (dir.join("world"), dir.join("labels"), dir.join("views"));
    ok(&[
        "-q",
        "synth",
        "world",
        "--scale",
        "demo",
        "--seed",
        "1",
        "--no-images",
        "--out",
        s(&world),
    ]);
    let o = run(&[
        "-q",
        "labels",
        "build",
        "--chembl",
        s(&world.join("chembl/chembl_36.db")),
        "--cellpainting",
        s(&world.join("cellpainting")),
        "--out",
        s(&labels),
    ]);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    ok(&[
        "-q",
        "synth",
        "plates",
        "--world",
        s(&world),
        "--plates",
        "2",
        "--wells-per-plate",
        "64",
        "--sites",
        "1",
        "--width",
        "348",
        "--height",
        "260",
    ]);
    let pipeline = root().join("pipelines/demo-training.toml");
    ok(&[
        "-q",
        "images",
        "convert",
        "--plates",
        s(&world.join("images")),
        "--cellpainting",
        s(&world.join("cellpainting")),
        "--labels",
        s(&labels),
        "--pipeline",
        s(&pipeline),
        "--out",
        s(&views),
        "--cellprofiler",
        s(&world.join("cellprofiler")),
    ]);

    let listed = ok(&["models"]);
    for count in ["3694545", "726180", "11230929", "42934673", "7174353"] {
        assert_eq!(
            listed.matches(count).count(),
            if count == "3694545" { 3 } else { 2 },
            "{listed}"
        );
    }

    // GapNet: stopped after 2 steps, then resumed to the end of 2 epochs.
    let gap = dir.join("run-gapnet");
    let train = |model: &str, out: &Path, extra: &[&str]| -> Output {
        let mut args = vec![
            "train",
            "--model",
            model,
            "--views",
            s(&views),
            "--labels",
            s(&labels),
            "--out",
            s(out),
            "--pipeline",
            s(&pipeline),
            "--threads",
            "2",
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let o = train(
        "gapnet",
        &gap,
        &["--epochs", "2", "--batch-size", "16", "--max-steps", "2"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("--resume"));
    assert!(!gap.join("metrics.jsonl").exists(), "no epoch finished yet");
    let o = train("gapnet", &gap, &["--epochs", "2", "--batch-size", "16"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "a second start without --resume is refused"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("--resume"));
    let o = train(
        "gapnet",
        &gap,
        &["--epochs", "2", "--batch-size", "32", "--resume"],
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "resuming with other settings is refused"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("other settings"));
    let o = train(
        "gapnet",
        &gap,
        &["--epochs", "2", "--batch-size", "16", "--resume"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("device: cpu"));
    let m = metrics(&gap);
    assert_eq!(m.len(), 2);
    assert!(
        m.iter()
            .all(|l| l["train_loss"].as_f64().unwrap().is_finite())
    );
    let run_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(gap.join("run.json")).unwrap()).unwrap();
    assert_eq!(run_json["model_name"], "GapNet");
    let tasks = run_json["tasks"].as_array().unwrap().len();
    assert!(tasks > 10);
    assert!(rows(&gap.join("predictions/wells.parquet"), "predictions") > 0);
    assert_eq!(
        rows(&gap.join("predictions/tasks.parquet"), "prediction_tasks"),
        tasks
    );

    // SC-CNN on crops, the FNN on features, MIL-Net and M-CNN on views: each trains.
    for (model, extra) in [
        (
            "sccnn",
            vec![
                "--epochs",
                "1",
                "--batch-size",
                "64",
                "--max-items-per-epoch",
                "256",
            ],
        ),
        ("fnn", vec!["--epochs", "3", "--batch-size", "16"]),
        (
            "milnet",
            vec![
                "--epochs",
                "1",
                "--batch-size",
                "8",
                "--max-items-per-epoch",
                "16",
            ],
        ),
        (
            "mcnn",
            vec![
                "--epochs",
                "1",
                "--batch-size",
                "8",
                "--max-items-per-epoch",
                "16",
            ],
        ),
    ] {
        let out = dir.join(format!("run-{model}"));
        let o = train(model, &out, &extra);
        assert!(
            o.status.success(),
            "{model}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let m = metrics(&out);
        assert!(
            !m.is_empty() && m[0]["train_items"].as_u64().unwrap() > 0,
            "{model}"
        );
    }

    // Predict every view of the export with GapNet's best epoch.
    let preds = dir.join("preds");
    let out = ok(&[
        "predict",
        "--checkpoint",
        s(&gap.join("best.safetensors")),
        "--views",
        s(&views),
        "--out",
        s(&preds),
        "--device",
        "cpu",
    ]);
    assert!(out.contains("predicted"), "{out}");
    let n_views = rows(&views.join("views.parquet"), "views_views");
    assert_eq!(rows(&preds.join("views.parquet"), "predictions"), n_views);
    assert!(rows(&preds.join("wells.parquet"), "predictions") > 0);
    assert!(rows(&preds.join("compounds.parquet"), "predictions") > 0);
    assert_eq!(
        rows(&preds.join("tasks.parquet"), "prediction_tasks"),
        tasks
    );
    // The FNN's checkpoint predicts wells from features.
    let fnn_preds = dir.join("fnn-preds");
    ok(&[
        "-q",
        "predict",
        "--checkpoint",
        s(&dir.join("run-fnn/best.safetensors")),
        "--views",
        s(&views),
        "--out",
        s(&fnn_preds),
        "--device",
        "cpu",
    ]);
    assert!(!fnn_preds.join("views.parquet").exists());
    assert!(rows(&fnn_preds.join("wells.parquet"), "predictions") > 0);

    // Clear errors.
    let bad = |args: &[&str], needle: &str| {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains(needle), "{args:?}: {e}");
    };
    bad(
        &[
            "train",
            "--model",
            "vgg",
            "--views",
            s(&views),
            "--labels",
            s(&labels),
            "--out",
            s(&dir.join("x")),
        ],
        "unknown model",
    );
    bad(
        &[
            "train",
            "--model",
            "gapnet",
            "--views",
            s(&views),
            "--labels",
            s(&views),
            "--out",
            s(&dir.join("x")),
            "--pipeline",
            s(&pipeline),
        ],
        "another label export",
    );
    bad(
        &[
            "train",
            "--model",
            "gapnet",
            "--views",
            s(&views),
            "--labels",
            s(&labels),
            "--out",
            s(&dir.join("x")),
            "--pipeline",
            s(&pipeline),
            "--device",
            "cuda",
        ],
        "--device cuda",
    );
    bad(
        &[
            "predict",
            "--checkpoint",
            s(&dir.join("nothing.safetensors")),
            "--views",
            s(&views),
            "--out",
            s(&dir.join("y")),
        ],
        "run.json",
    );
    let _ = std::fs::remove_dir_all(&dir);
}
