//! The training step of `assayflow demo` (with the `torch` feature): draw the demo world's four
//! plates again as whole fields at 2 x 2 binning in 8 bits (every well, 2 sites, 260 x 348
//! pixels: `pipelines/demo-training.toml`), convert them, train GapNet on the CPU for a few
//! epochs with per-epoch validation AUC, and predict the unbinned full-resolution demo views with
//! the best epoch (the network takes any input size); then the FNN, the SC-CNN and short runs of
//! the others, and the report. On a CPU with native bfloat16 ([`cpu_has_native_bf16`]) the image
//! models train in bfloat16 with channels-last, about twice as fast, and so for longer
//! ([`demo_runs`]); the FNN trains in float32 either way.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use tch::Device;

use assayflow::eval::metrics::{OneClassPolicy, ThresholdPolicy};
use assayflow::eval::venkatraman::DEFAULT_PERMUTATIONS;
use assayflow::images::convert::{ConvertOptions, convert};
use assayflow::pipeline::Pipeline;
use assayflow::report::{CompareOptions, Level, ReportOptions, write_report};
use assayflow::synth::plates::{PlateOptions, TiffCompression, write_plates};
use assayflow::train::cpu_precision::cpu_has_native_bf16;
use assayflow::train::dataset::{Dataset, Split};
use assayflow::train::fit::{self, EpochMetrics, Progress, TrainConfig};
use assayflow::train::models::{InputKind, ModelKind};

use super::demo_labels::DEMO_SEED;

/// The demo's training pipeline, bundled.
const DEMO_TRAINING_PIPELINE: &str = include_str!("../../pipelines/demo-training.toml");
/// GapNet's epochs in the demo unless `--gapnet-epochs` says otherwise, where the image models
/// train in float32 (a CPU without native bfloat16, or `--fp32`); `demo --help` states it.
pub const DEFAULT_DEMO_GAPNET_EPOCHS: u32 = 5;

/// GapNet's epochs in the demo where the image models train in bfloat16 (a CPU with
/// AVX512-BF16): about the time 5 float32 epochs take; `demo --help` states it.
pub const DEFAULT_DEMO_GAPNET_EPOCHS_BF16: u32 = 10;

/// Batch size of the demo's GapNet run (more steps than the paper's 128 on a small set).
pub const DEMO_BATCH: usize = 32;

struct Lines {
    /// Print only every tenth epoch (long runs of a fast model).
    quiet_epochs: bool,
    /// What an item is (views, crops, wells).
    items: &'static str,
}

impl Progress for Lines {
    fn epoch_start(&mut self, _: u32, _: usize, _: usize) {}
    fn step(&mut self, _: f64) {}
    fn epoch_end(&mut self, m: &EpochMetrics) {
        if self.quiet_epochs && !m.epoch.is_multiple_of(10) {
            return;
        }
        let _ = writeln!(
            std::io::stdout(),
            "  epoch {}: loss {:.4}, {:.0} {}/s, mean validation AUC {} over {} tasks{}",
            m.epoch,
            m.train_loss,
            m.items_per_second,
            self.items,
            m.valid_auc_mean.map_or("n/a".into(), |a| format!("{a:.3}")),
            m.valid_tasks_defined,
            if m.best { " (best)" } else { "" }
        );
    }
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let target = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &target)?;
        } else {
            std::fs::copy(e.path(), &target)?;
        }
    }
    Ok(())
}

/// How the demo trains one model.
pub struct DemoRun {
    /// The model.
    pub kind: ModelKind,
    /// Epochs.
    pub epochs: u32,
    /// Batch size.
    pub batch: usize,
    /// Training items per epoch, for a short run.
    pub max_items: Option<usize>,
}

/// How the demo's image models compute (the FNN computes in float32 either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoPrecision {
    /// float32.
    Fp32,
    /// bfloat16 weights and activations with float32 master weights, channels-last.
    Bf16,
}

/// The demo's runs: GapNet, the FNN and the SC-CNN trained (small batches so that a small
/// training set gives enough steps), MIL-Net and M-CNN briefly. In bfloat16, which is about twice
/// as fast, GapNet gets twice the epochs, MIL-Net a whole epoch and the SC-CNN twice the crops,
/// in less time than the float32 plan takes.
pub fn demo_runs(precision: DemoPrecision) -> [DemoRun; 5] {
    let bf16 = precision == DemoPrecision::Bf16;
    [
        DemoRun {
            kind: ModelKind::GapNet,
            epochs: if bf16 {
                DEFAULT_DEMO_GAPNET_EPOCHS_BF16
            } else {
                DEFAULT_DEMO_GAPNET_EPOCHS
            },
            batch: DEMO_BATCH,
            max_items: None,
        },
        DemoRun {
            kind: ModelKind::Fnn,
            epochs: 60,
            batch: 64,
            max_items: None,
        },
        DemoRun {
            kind: ModelKind::ScCnn,
            epochs: 2,
            batch: 128,
            max_items: Some(if bf16 { 8192 } else { 4096 }),
        },
        DemoRun {
            kind: ModelKind::MilNet,
            epochs: 1,
            batch: 16,
            max_items: if bf16 { None } else { Some(256) },
        },
        DemoRun {
            kind: ModelKind::MCnn,
            epochs: 1,
            batch: 16,
            max_items: Some(192),
        },
    ]
}

/// With `--all-models`: the two large networks, a few steps each.
pub const DEMO_LONG_RUNS: [DemoRun; 2] = [
    DemoRun {
        kind: ModelKind::ResNet101,
        epochs: 1,
        batch: 16,
        max_items: Some(48),
    },
    DemoRun {
        kind: ModelKind::DenseNet121,
        epochs: 1,
        batch: 12,
        max_items: Some(48),
    },
];

/// Trains one model of the demo into `out/run-<model>` (on views, crops or features of
/// `views` as the model takes), returning the run directory.
fn train_one(
    out: &Path,
    pipeline: &Pipeline,
    views: &Path,
    labels: &Path,
    plan: &DemoRun,
    precision: DemoPrecision,
) -> Result<PathBuf> {
    let mut stdout = std::io::stdout();
    let kind = plan.kind;
    let bf16 = precision == DemoPrecision::Bf16 && kind.input() != InputKind::Features;
    let m = pipeline
        .train
        .model(kind.name())
        .with_context(|| format!("no [train.models.{}]", kind.name()))?;
    let config = TrainConfig {
        model: kind.name().into(),
        views: views.to_path_buf(),
        labels: labels.to_path_buf(),
        epochs: plan.epochs,
        batch_size: plan.batch,
        lr: m.lr,
        momentum: m.momentum,
        weight_decay: m.weight_decay,
        clip_norm: pipeline.train.clip_norm,
        seed: pipeline.train.seed,
        readers: pipeline.train.readers,
        prefetch: pipeline.train.prefetch,
        shard_local: pipeline.train.shard_local,
        bf16,
        channels_last: bf16,
        max_loss: pipeline.train.max_loss,
        max_items_per_epoch: plan.max_items,
        checkpoint_every: 0,
    };
    let ds = Dataset::open(views, Some(labels), kind.input())?;
    let run_dir = out.join(format!("run-{}", kind.name()));
    let _ = std::fs::remove_dir_all(&run_dir);
    let what = match kind.input() {
        InputKind::Views => "views",
        InputKind::Crops => "single-cell crops",
        InputKind::Features => "wells of averaged CellProfiler features",
    };
    writeln!(
        stdout,
        "train {} ({}) on the CPU{}: {} epoch{}{}, batch {}, lr {}: {} tasks, {} train / {} valid {what}",
        kind.display_name(),
        kind.family(),
        if bf16 { " in bfloat16" } else { "" },
        config.epochs,
        if config.epochs == 1 { "" } else { "s" },
        plan.max_items.map_or(String::new(), |n| format!(
            " of at most {n} {what} (a short run)"
        )),
        config.batch_size,
        config.lr,
        ds.tasks.len(),
        ds.labelled(Split::Train).len(),
        ds.labelled(Split::Valid).len()
    )?;
    let started = Instant::now();
    let summary = fit::train(
        kind,
        Arc::new(ds),
        &config,
        Device::Cpu,
        &run_dir,
        false,
        None,
        &mut Lines {
            quiet_epochs: plan.epochs > 10,
            items: match kind.input() {
                InputKind::Views => "views",
                InputKind::Crops => "crops",
                InputKind::Features => "wells",
            },
        },
    )?;
    writeln!(
        stdout,
        "  {} steps in {:.0} s; best mean validation AUC {} (epoch {}); {}",
        summary.steps,
        started.elapsed().as_secs_f64(),
        summary.best.map_or("n/a".into(), |b| format!("{:.3}", b.1)),
        summary.best.map_or("-".into(), |b| b.0.to_string()),
        run_dir.display()
    )?;
    Ok(run_dir)
}

/// Camera binning of the training plates: at 2 x 2 an image of the pipeline's 260 x 348 pixels
/// holds a whole 520 x 696 field (about 100 cells, each at half size), so a sparse phenotype
/// reaches four times as many cells per view as in a quarter-area crop, at the same cost per view.
pub const DEMO_BINNING: u32 = 2;

/// Runs the step under `out` (after the label and image steps), GapNet for `gapnet_epochs`
/// (default: by precision, see [`demo_runs`]); the image models in bfloat16 where the CPU has it
/// natively, unless `fp32`;
/// `all_models` adds short runs of ResNet-101 and DenseNet-121.
pub fn run(out: &Path, all_models: bool, gapnet_epochs: Option<u32>, fp32: bool) -> Result<()> {
    let mut stdout = std::io::stdout();
    let native_bf16 = cpu_has_native_bf16();
    let precision = if native_bf16 && !fp32 {
        DemoPrecision::Bf16
    } else {
        DemoPrecision::Fp32
    };
    let plans = demo_runs(precision);
    let pipeline_path = out.join("demo-training.toml");
    std::fs::write(&pipeline_path, DEMO_TRAINING_PIPELINE)?;
    let pipeline = Pipeline::load(&pipeline_path)?;
    let (height, width) = (pipeline.images.height, pipeline.images.width);
    // A world directory of its own for the small fields (metadata and truth copied).
    let world = out.join("world-train");
    if !world.join("images").is_dir() {
        let _ = std::fs::remove_dir_all(&world);
        for sub in ["cellpainting", "truth"] {
            copy_dir(&out.join("world").join(sub), &world.join(sub))?;
        }
        std::fs::copy(out.join("world/world.json"), world.join("world.json"))?;
        writeln!(
            stdout,
            "drawing the training plates: every well of the 4 plates, 2 sites of {width} x {height} at {DEMO_BINNING} x {DEMO_BINNING} binning (whole fields, cells at half size; about a minute and a half on 2 cores) ..."
        )?;
        stdout.flush()?;
        let started = Instant::now();
        let report = write_plates(
            &PlateOptions {
                world: world.clone(),
                skip_plates: 0,
                plates: None,
                wells_per_plate: None,
                sites: 2,
                width,
                height,
                binning: DEMO_BINNING,
                compression: TiffCompression::Deflate,
                workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
                seed: DEMO_SEED,
            },
            &|_| {},
        )
        .context("drawing the training plates")?;
        writeln!(
            stdout,
            "training plates drawn in {:.1} s: {} plates, {} wells, {} sites of {width} x {height}",
            started.elapsed().as_secs_f64(),
            report.plates,
            report.wells,
            report.sites
        )?;
    }
    let views = out.join("views-train");
    let labels = out.join("labels-37");
    let (report, _) = convert(
        &ConvertOptions {
            plates: world.join("images"),
            cellpainting: world.join("cellpainting"),
            labels: labels.clone(),
            pipeline: pipeline.clone(),
            out: views.clone(),
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            checksum: false,
            cellprofiler: Some(world.join("cellprofiler")),
        },
        &|_| {},
    )
    .context("converting the training plates")?;
    writeln!(
        stdout,
        "  {} labelled views in {} (uint8, the lab's scaling)",
        report.views_selected,
        views.display()
    )?;
    writeln!(
        stdout,
        "{}",
        match (precision, native_bf16) {
            (DemoPrecision::Bf16, _) =>
                "the image models train in bfloat16 with float32 master weights and channels-last (this CPU has AVX512-BF16: about twice the float32 speed, so longer runs; `--fp32` turns it off); the FNN in float32",
            (DemoPrecision::Fp32, true) => "the models train in float32 (--fp32)",
            (DemoPrecision::Fp32, false) =>
                "the models train in float32 (this CPU has no native bfloat16)",
        }
    )?;
    let gapnet_plan = DemoRun {
        epochs: gapnet_epochs.unwrap_or(plans[0].epochs),
        ..plans[0]
    };
    let gapnet = train_one(out, &pipeline, &views, &labels, &gapnet_plan, precision)?;
    let predictions = out.join("predictions");
    let report = assayflow::train::predict::predict(
        &gapnet.join("best.safetensors"),
        &out.join("views"),
        &predictions,
        Device::Cpu,
        8,
        2,
    )?;
    writeln!(
        stdout,
        "predict (the unbinned 520 x 696 demo views, cells twice the size the model saw; best epoch): {} views, {} wells, {} compounds -> {}",
        report.items,
        report.wells,
        report.compounds,
        predictions.display()
    )?;
    let mut runs = vec![gapnet];
    for plan in &plans[1..] {
        runs.push(train_one(out, &pipeline, &views, &labels, plan, precision)?);
    }
    if all_models {
        for plan in &DEMO_LONG_RUNS {
            runs.push(train_one(out, &pipeline, &views, &labels, plan, precision)?);
        }
    } else {
        writeln!(
            stdout,
            "ResNet-101 and DenseNet-121 skipped (about 2.5 more minutes on 2 cores even for a few steps; `assayflow demo --all-models` trains them briefly)"
        )?;
    }
    write_demo_report(out, &runs, &world.join("truth"))
}

/// `assayflow report` on the demo's runs, with the world's planted truth.
fn write_demo_report(out: &Path, runs: &[PathBuf], truth: &Path) -> Result<()> {
    let mut stdout = std::io::stdout();
    let started = Instant::now();
    let outcome = write_report(&ReportOptions {
        runs: runs.to_vec(),
        labels: None,
        truth: Some(truth.to_path_buf()),
        out: out.join("report"),
        compare: CompareOptions {
            split: "test".into(),
            level: Level::Well,
            one_class: OneClassPolicy::Exclude,
            threshold: ThresholdPolicy::default(),
            permutations: DEFAULT_PERMUTATIONS,
            seed: DEMO_SEED,
            pair: None,
        },
        title: "assayflow demo: models on the demo world's test wells".into(),
    })
    .context("writing the demo's report")?;
    writeln!(
        stdout,
        "report: {} tasks scored on the test wells ({:.1} s; Wilcoxon between every two runs, Venkatraman GapNet vs FNN per task):",
        outcome.comparison.tasks.len(),
        started.elapsed().as_secs_f64()
    )?;
    super::report::print_summary(&outcome)?;
    writeln!(
        stdout,
        "the report: {} (and {}; figures in {})",
        outcome.html.display(),
        outcome.markdown.display(),
        out.join("report/figures").display()
    )?;
    Ok(())
}
