//! `assayflow models`, `train` and `predict`: validated configs from the arguments and the
//! pipeline's `[train]`, the device chosen and reported, a progress bar over batches, then the
//! library's trainer ([`assayflow::train`]). Without the `torch` feature these commands say how
//! to build it.

#[cfg(not(feature = "torch"))]
use anyhow::Result;

#[cfg(not(feature = "torch"))]
use super::Outcome;
#[cfg(not(feature = "torch"))]
use super::args::{ModelsArgs, PredictArgs, TrainArgs};

#[cfg(not(feature = "torch"))]
const NO_TORCH: &str = "this assayflow was built without the trainer: build it with \
     `eval \"$(scripts/libtorch)\" && cargo build --release --features torch` \
     (scripts/libtorch installs the libtorch 2.11.0 runtime into a cache)";

/// `assayflow models`.
#[cfg(not(feature = "torch"))]
pub fn models(_: &ModelsArgs) -> Result<Outcome> {
    anyhow::bail!(NO_TORCH)
}

/// `assayflow train`.
#[cfg(not(feature = "torch"))]
pub fn train(_: &TrainArgs, _: bool) -> Result<Outcome> {
    anyhow::bail!(NO_TORCH)
}

/// `assayflow predict`.
#[cfg(not(feature = "torch"))]
pub fn predict(_: &PredictArgs, _: bool) -> Result<Outcome> {
    anyhow::bail!(NO_TORCH)
}

#[cfg(feature = "torch")]
pub use with_torch::{models, predict, train};

#[cfg(feature = "torch")]
mod with_torch {
    use std::io::Write;
    use std::sync::Arc;
    use std::time::Instant;

    use anyhow::{Context, Result, bail};
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    use tch::Device;

    use assayflow::pipeline::Pipeline;
    use assayflow::train::dataset::Dataset;
    use assayflow::train::fit::{self, EpochMetrics, Progress, TrainConfig};
    use assayflow::train::models::{InputKind, ModelKind, parameter_count};

    use super::super::Outcome;
    use super::super::args::{DeviceChoice, ModelsArgs, PredictArgs, TrainArgs};

    /// Picks the device and says why.
    fn device(choice: DeviceChoice) -> Result<Device> {
        let loaded = assayflow::train::cuda_runtime::load_cuda();
        let cuda = choice != DeviceChoice::Cpu && tch::Cuda::is_available();
        let device = match (choice, cuda) {
            (DeviceChoice::Cpu, _) | (DeviceChoice::Auto, false) => Device::Cpu,
            (DeviceChoice::Cuda | DeviceChoice::Auto, true) => Device::Cuda(0),
            (DeviceChoice::Cuda, false) => bail!(
                "--device cuda: libtorch sees no CUDA device ({})",
                match &loaded {
                    Ok(()) => "libtorch_cuda.so is loaded but no GPU answers".to_string(),
                    Err(e) => format!("libtorch_cuda.so not loaded: {e}"),
                }
            ),
        };
        let why = match (choice, cuda, &loaded) {
            (DeviceChoice::Auto, true, _) => "CUDA is available".to_string(),
            (DeviceChoice::Auto, false, Err(e)) => {
                format!("no CUDA: libtorch_cuda.so not loaded: {e}")
            }
            (DeviceChoice::Auto, false, Ok(())) => {
                "no CUDA: libtorch_cuda.so is loaded but no GPU answers".to_string()
            }
            (DeviceChoice::Cpu, _, _) => "--device cpu".to_string(),
            (DeviceChoice::Cuda, _, _) => "--device cuda".to_string(),
        };
        tracing::info!("device: {} ({why})", fit::describe_device(device));
        Ok(device)
    }

    /// `assayflow models`.
    pub fn models(args: &ModelsArgs) -> Result<Outcome> {
        let mut out = std::io::stdout();
        writeln!(
            out,
            "{:<12} {:<13} {:<13} {:<28} {:>12} {:>12}",
            "name", "model", "family", "input", "parameters", "paper"
        )?;
        for kind in ModelKind::ALL {
            let vs = tch::nn::VarStore::new(Device::Cpu);
            let (inputs, what) = match kind.input() {
                InputKind::Views => (5, "5-channel views".to_string()),
                InputKind::Crops => (5, "5-channel 96x96 crops".to_string()),
                InputKind::Features => (
                    args.features,
                    format!("{} CellProfiler features", args.features),
                ),
            };
            let _net = kind.build(&vs.root(), inputs, args.tasks);
            let count = parameter_count(&vs);
            let paper = kind
                .paper_parameters()
                .filter(|_| args.tasks == 209)
                .map_or("-".to_string(), |p| p.to_string());
            writeln!(
                out,
                "{:<12} {:<13} {:<13} {:<28} {:>12} {:>12}",
                kind.name(),
                kind.display_name(),
                kind.family(),
                what,
                count,
                paper
            )?;
        }
        Ok(Outcome::Clean)
    }

    struct Bar {
        bar: ProgressBar,
        quiet: bool,
        epochs: u32,
    }

    impl Progress for Bar {
        fn epoch_start(&mut self, epoch: u32, batches: usize, first: usize) {
            self.bar.set_length(batches as u64);
            self.bar.set_position(first as u64);
            self.bar
                .set_prefix(format!("epoch {epoch}/{}", self.epochs));
        }
        fn step(&mut self, loss: f64) {
            self.bar.set_message(format!("loss {loss:.4}"));
            self.bar.inc(1);
        }
        fn epoch_end(&mut self, m: &EpochMetrics) {
            if !self.quiet {
                self.bar.suspend(|| {
                    tracing::info!(
                        "epoch {}: loss {:.4}, {:.1} items/s, valid AUC {} over {} tasks{}; loader: trainer waited {:.1} s, readers waited {:.1} s for buffers, limited by {}",
                        m.epoch,
                        m.train_loss,
                        m.items_per_second,
                        m.valid_auc_mean.map_or("n/a".into(), |a| format!("{a:.4}")),
                        m.valid_tasks_defined,
                        if m.best { " (best)" } else { "" },
                        m.waits.trainer_for_batch,
                        m.waits.reader_for_buffer,
                        m.bottleneck
                    );
                });
            }
        }
    }

    /// `assayflow train`.
    pub fn train(args: &TrainArgs, quiet: bool) -> Result<Outcome> {
        let kind: ModelKind = args.model.parse()?;
        let pipeline = Pipeline::load(&args.pipeline)?;
        let t = &pipeline.train;
        let m = t.model(kind.name()).with_context(|| {
            format!(
                "{}: no [train.models.{}]",
                args.pipeline.display(),
                kind.name()
            )
        })?;
        let config = TrainConfig {
            model: kind.name().into(),
            views: args.views.clone(),
            labels: args.labels.clone(),
            epochs: args.epochs.unwrap_or(t.epochs),
            batch_size: args.batch_size.unwrap_or(m.batch_size),
            lr: args.lr.unwrap_or(m.lr),
            momentum: args.momentum.unwrap_or(m.momentum),
            weight_decay: args.weight_decay.unwrap_or(m.weight_decay),
            clip_norm: args.clip_norm.unwrap_or(t.clip_norm),
            seed: args.seed.unwrap_or(t.seed),
            readers: args.readers.unwrap_or(t.readers),
            prefetch: args.prefetch.unwrap_or(t.prefetch),
            shard_local: args.shard_local || t.shard_local,
            bf16: args.bf16,
            channels_last: args.channels_last,
            max_loss: t.max_loss,
            max_items_per_epoch: args.max_items_per_epoch,
            checkpoint_every: args.checkpoint_every,
        };
        if config.batch_size == 0 || config.readers == 0 || config.prefetch == 0 {
            bail!("--batch-size, --readers and --prefetch must be at least 1");
        }
        if config.lr.is_nan()
            || config.lr <= 0.0
            || !(0.0..1.0).contains(&config.momentum)
            || config.weight_decay.is_nan()
            || config.weight_decay < 0.0
        {
            bail!("need --lr > 0, 0 <= --momentum < 1 and --weight-decay >= 0");
        }
        if let Some(n) = args.threads {
            tch::set_num_threads(n);
        }
        let device = device(args.device)?;
        let ds =
            Dataset::open(&args.views, Some(&args.labels), kind.input()).with_context(|| {
                format!(
                    "reading {} with {}",
                    args.views.display(),
                    args.labels.display()
                )
            })?;
        tracing::info!(
            "{}: {} tasks; {} train / {} valid / {} test items of shape {:?}",
            kind.display_name(),
            ds.tasks.len(),
            ds.labelled(assayflow::train::dataset::Split::Train).len(),
            ds.labelled(assayflow::train::dataset::Split::Valid).len(),
            ds.labelled(assayflow::train::dataset::Split::Test).len(),
            ds.item_shape
        );
        let bar = ProgressBar::new(0).with_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} batches {msg} ({per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        if quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
        let mut progress = Bar {
            bar,
            quiet,
            epochs: config.epochs,
        };
        let started = Instant::now();
        let summary = fit::train(
            kind,
            Arc::new(ds),
            &config,
            device,
            &args.out,
            args.resume,
            args.max_steps,
            &mut progress,
        )
        .with_context(|| {
            format!(
                "training {} into {}",
                kind.display_name(),
                args.out.display()
            )
        })?;
        progress.bar.finish_and_clear();
        if !quiet {
            let mut out = std::io::stdout();
            match summary.best {
                Some((epoch, auc)) => writeln!(
                    out,
                    "{}: {} epochs, {} steps in {:.1} s on {}; {:.1} training items/s; best mean validation AUC {auc:.4} at epoch {epoch}",
                    kind.display_name(),
                    summary.epochs,
                    summary.steps,
                    started.elapsed().as_secs_f64(),
                    summary.device,
                    summary.items_per_second
                )?,
                None => writeln!(
                    out,
                    "{}: {} epochs, {} steps in {:.1} s on {}; {:.1} training items/s; no validation AUC (no validation wells with both classes)",
                    kind.display_name(),
                    summary.epochs,
                    summary.steps,
                    started.elapsed().as_secs_f64(),
                    summary.device,
                    summary.items_per_second
                )?,
            }
            if summary.interrupted {
                writeln!(out, "stopped at --max-steps; continue with --resume")?;
            }
            writeln!(out, "run written to {}", args.out.display())?;
        }
        Ok(Outcome::Clean)
    }

    /// `assayflow predict`.
    pub fn predict(args: &PredictArgs, quiet: bool) -> Result<Outcome> {
        if args.batch_size == 0 || args.readers == 0 {
            bail!("--batch-size and --readers must be at least 1");
        }
        let device = device(args.device)?;
        let report = assayflow::train::predict::predict(
            &args.checkpoint,
            &args.views,
            &args.out,
            device,
            args.batch_size,
            args.readers,
        )
        .with_context(|| {
            format!(
                "predicting {} with {}",
                args.views.display(),
                args.checkpoint.display()
            )
        })?;
        if !quiet {
            writeln!(
                std::io::stdout(),
                "{} items, {} wells, {} compounds predicted; written to {}",
                report.items,
                report.wells,
                report.compounds,
                args.out.display()
            )?;
        }
        Ok(Outcome::Clean)
    }
}
