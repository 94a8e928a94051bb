//! The training step of `assayflow demo` (with the `torch` feature): draw the demo world's four
//! plates again as quarter-area 8-bit fields (every well, 2 sites, 260 x 348:
//! `pipelines/demo-training.toml`), convert them, train GapNet on the CPU for a few epochs with
//! per-epoch validation AUC, and predict the full-resolution demo views with the best epoch (the
//! network takes any input size).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use tch::Device;

use assayflow::images::convert::{ConvertOptions, convert};
use assayflow::pipeline::Pipeline;
use assayflow::synth::plates::{PlateOptions, TiffCompression, write_plates};
use assayflow::train::dataset::Dataset;
use assayflow::train::fit::{self, EpochMetrics, Progress, TrainConfig};
use assayflow::train::models::ModelKind;

use super::demo_labels::DEMO_SEED;

/// The demo's training pipeline, bundled.
const DEMO_TRAINING_PIPELINE: &str = include_str!("../../pipelines/demo-training.toml");
/// Epochs of the demo's GapNet run.
pub const DEMO_EPOCHS: u32 = 5;
/// Batch size of the demo's GapNet run (more steps than the paper's 128 on a small set).
pub const DEMO_BATCH: usize = 32;

struct Lines;

impl Progress for Lines {
    fn epoch_start(&mut self, _: u32, _: usize, _: usize) {}
    fn step(&mut self, _: f64) {}
    fn epoch_end(&mut self, m: &EpochMetrics) {
        let _ = writeln!(
            std::io::stdout(),
            "  epoch {}: loss {:.4}, {:.0} views/s, mean validation AUC {} over {} tasks{}",
            m.epoch,
            m.train_loss,
            m.items_per_second,
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

/// Runs the step under `out` (after the label and image steps).
pub fn run(out: &Path) -> Result<()> {
    let mut stdout = std::io::stdout();
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
            "drawing the training plates: every well of the 4 plates, 2 sites of {width} x {height} (about a minute on 2 cores) ..."
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
    let kind = ModelKind::GapNet;
    let m = pipeline
        .train
        .model(kind.name())
        .context("no [train.models.gapnet]")?;
    let config = TrainConfig {
        model: kind.name().into(),
        views: views.clone(),
        labels: labels.clone(),
        epochs: DEMO_EPOCHS,
        batch_size: DEMO_BATCH,
        lr: m.lr,
        momentum: m.momentum,
        weight_decay: m.weight_decay,
        clip_norm: pipeline.train.clip_norm,
        seed: pipeline.train.seed,
        readers: pipeline.train.readers,
        prefetch: pipeline.train.prefetch,
        shard_local: pipeline.train.shard_local,
        bf16: false,
        channels_last: false,
        max_loss: pipeline.train.max_loss,
        max_items_per_epoch: None,
        checkpoint_every: 0,
    };
    let ds = Dataset::open(&views, Some(&labels), kind.input())?;
    let run_dir = out.join("run-gapnet");
    let _ = std::fs::remove_dir_all(&run_dir);
    writeln!(
        stdout,
        "train GapNet on the CPU ({} epochs, batch {}, lr {}): {} tasks, {} train / {} valid views",
        config.epochs,
        config.batch_size,
        config.lr,
        ds.tasks.len(),
        ds.labelled(assayflow::train::dataset::Split::Train).len(),
        ds.labelled(assayflow::train::dataset::Split::Valid).len()
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
        &mut Lines,
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
    let predictions = out.join("predictions");
    let report = assayflow::train::predict::predict(
        &run_dir.join("best.safetensors"),
        &out.join("views"),
        &predictions,
        Device::Cpu,
        8,
        2,
    )?;
    writeln!(
        stdout,
        "predict (the full-resolution 520 x 696 demo views, best epoch): {} views, {} wells, {} compounds -> {}",
        report.items,
        report.wells,
        report.compounds,
        predictions.display()
    )?;
    Ok(())
}
