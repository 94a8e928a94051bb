//! The training loop ([`train`]): epochs of shuffled batches from the staged loader, masked
//! multi-task BCE, SGD with momentum and weight decay after gradient-norm clipping; after each
//! epoch a validation pass (well-averaged probabilities, per-task AUC, their mean) and a line of
//! `metrics.jsonl`; the best epoch's weights in `best.safetensors`, the resume point in
//! `last.safetensors` + `state.json`. A NaN or exploding loss stops the run before the update,
//! naming the step, and leaves the last good checkpoint in place.
//!
//! A run directory holds: `run.json` (configuration, model, parameters, device, tasks),
//! `metrics.jsonl`, `last.safetensors`, `state.json`, `best.safetensors`, and at the end
//! `predictions/` (per-well probabilities of the best epoch on valid and test, and `tasks.parquet`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tch::nn::VarStore;
use tch::{Device, Tensor};

use crate::export::prediction_tables::{self, PredictionRow};

use super::checkpoint::{self, BEST, Contents, LAST, RunState};
use super::dataset::{Dataset, DatasetError, Split};
use super::device_input::{InputFormat, channels_last, device_input};
use super::evaluate::{self, Scores, mean_auc};
use super::loader::{Loader, LoaderError, LoaderOptions, Source, WaitSeconds, epoch_batches};
use super::loss::masked_bce;
use super::models::{ModelKind, Network, parameter_count};
use super::sgd::Sgd;

/// Everything a run needs, validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// The architecture.
    pub model: String,
    /// The view export.
    pub views: PathBuf,
    /// The label export.
    pub labels: PathBuf,
    /// Epochs.
    pub epochs: u32,
    /// Items per batch.
    pub batch_size: usize,
    /// Learning rate.
    pub lr: f64,
    /// Momentum.
    pub momentum: f64,
    /// Weight decay.
    pub weight_decay: f64,
    /// Gradient-norm clipping (0: off).
    pub clip_norm: f64,
    /// Seed of initialisation, order and dropout.
    pub seed: u64,
    /// Loader reader threads.
    pub readers: usize,
    /// Batches in flight.
    pub prefetch: usize,
    /// Shard-local shuffling.
    pub shard_local: bool,
    /// bfloat16 model and inputs with float32 master weights.
    pub bf16: bool,
    /// Channels-last images and convolution weights.
    pub channels_last: bool,
    /// A loss above this stops the run.
    pub max_loss: f64,
    /// Training items per epoch at most (a seeded subset, for smoke runs); all when `None`.
    pub max_items_per_epoch: Option<usize>,
    /// Also checkpoint every this many steps within an epoch (0: at epoch ends only).
    #[serde(default)]
    pub checkpoint_every: u64,
}

impl TrainConfig {
    /// A digest of what decides the run's numbers (a resume must match it).
    pub fn digest(&self, data: &str) -> String {
        let mut c = self.clone();
        // Where the data live and how many epochs are wanted may change on resume.
        c.views = PathBuf::new();
        c.labels = PathBuf::new();
        c.epochs = 0;
        c.readers = 0;
        c.prefetch = 0;
        c.checkpoint_every = 0;
        let text = serde_json::to_string(&c).unwrap_or_default();
        blake3::hash(format!("{text}|{data}").as_bytes()).to_hex()[..16].to_string()
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainSummary {
    /// Epochs completed.
    pub epochs: u32,
    /// Optimiser steps.
    pub steps: u64,
    /// The best epoch (1-based) and its mean validation AUC.
    pub best: Option<(u32, f64)>,
    /// Training items per second over the run's training time (no validation).
    pub items_per_second: f64,
    /// Whether `max_steps` stopped it early (a checkpoint to resume from is in place).
    pub interrupted: bool,
    /// The device.
    pub device: String,
}

/// Errors of a run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The data.
    #[error(transparent)]
    Data(#[from] DatasetError),
    /// The loader.
    #[error(transparent)]
    Loader(#[from] LoaderError),
    /// A checkpoint.
    #[error(transparent)]
    Checkpoint(#[from] checkpoint::CheckpointError),
    /// The run directory.
    #[error("{path}: {message}")]
    Run {
        /// The file or directory.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The loss diverged.
    #[error(
        "loss {loss} at step {step} (epoch {epoch}, batch {batch}) is not finite or above max_loss {max_loss}: stopped; the last good checkpoint is kept"
    )]
    Diverged {
        /// Global step.
        step: u64,
        /// Epoch (1-based).
        epoch: u32,
        /// Batch in the epoch.
        batch: usize,
        /// The loss.
        loss: f64,
        /// The limit.
        max_loss: f64,
    },
    /// libtorch.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

fn run_err(path: &Path, message: impl Into<String>) -> TrainError {
    TrainError::Run {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// What the caller sees of a run in progress.
pub trait Progress {
    /// An epoch starts with `batches` batches.
    fn epoch_start(&mut self, epoch: u32, batches: usize, first: usize);
    /// A step finished.
    fn step(&mut self, loss: f64);
    /// An epoch finished with this metrics line.
    fn epoch_end(&mut self, metrics: &EpochMetrics);
}

/// Progress that reports nothing.
#[derive(Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn epoch_start(&mut self, _: u32, _: usize, _: usize) {}
    fn step(&mut self, _: f64) {}
    fn epoch_end(&mut self, _: &EpochMetrics) {}
}

/// One line of `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch, from 1.
    pub epoch: u32,
    /// Optimiser steps so far.
    pub step: u64,
    /// Mean training loss over the epoch's steps (this session's part of it on resume).
    pub train_loss: f64,
    /// Training items this epoch.
    pub train_items: u64,
    /// Seconds of training (without validation).
    pub train_seconds: f64,
    /// Training items per second.
    pub items_per_second: f64,
    /// Seconds of validation.
    pub valid_seconds: f64,
    /// Mean per-task validation AUC over tasks with both classes among validation wells.
    pub valid_auc_mean: Option<f64>,
    /// Tasks with a defined validation AUC.
    pub valid_tasks_defined: usize,
    /// Per-task validation AUC, in task order (null: one class only).
    pub valid_auc: Vec<Option<f64>>,
    /// Whether this epoch is the best so far.
    pub best: bool,
    /// Stage waits of the loader this epoch.
    pub waits: WaitSeconds,
    /// Which side limited: `readers` or `trainer`.
    pub bottleneck: String,
}

/// The run's description, `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Format tag.
    pub format: String,
    /// `assayflow <version>`.
    pub tool: String,
    /// The configuration.
    pub config: TrainConfig,
    /// Paper name of the model.
    pub model_name: String,
    /// end-to-end or cell-centric.
    pub family: String,
    /// Trainable parameters.
    pub parameters: i64,
    /// The device and why.
    pub device: String,
    /// Input shape of one item.
    pub item_shape: [i64; 3],
    /// Tasks, in output order.
    pub tasks: Vec<String>,
    /// Items per split.
    pub items: std::collections::BTreeMap<String, usize>,
    /// The data's identity (view and label manifests).
    pub data_fingerprint: String,
    /// The configuration digest.
    pub config_digest: String,
}

/// The run format tag.
pub const RUN_FORMAT: &str = "assayflow-run/1";

/// Builds the model on `device` for `ds` (float32; bf16/channels-last applied by the caller).
pub fn build_model(
    kind: ModelKind,
    ds: &Dataset,
    tasks: usize,
    device: Device,
    seed: u64,
) -> Result<(VarStore, Box<dyn Network>), TrainError> {
    let [c, h, w] = ds.item_shape;
    if kind.input() != ds.input {
        return Err(run_err(
            Path::new(kind.name()),
            format!(
                "{} reads {:?}, the dataset holds {:?}",
                kind.display_name(),
                kind.input(),
                ds.input
            ),
        ));
    }
    if h.min(w) < kind.min_side() {
        return Err(run_err(
            Path::new(kind.name()),
            format!(
                "{} needs inputs of at least {} pixels a side; the shards hold {h} x {w}",
                kind.display_name(),
                kind.min_side()
            ),
        ));
    }
    tch::manual_seed(seed as i64);
    let vs = VarStore::new(device);
    let net = kind.build(&vs.root(), c, tasks as i64);
    Ok((vs, net))
}

/// Trains `kind` on `ds` into `out` (created, or resumed when `resume` and a state is there).
/// `max_steps` stops after that many optimiser steps in total, leaving a checkpoint to resume.
#[allow(clippy::too_many_arguments)]
pub fn train(
    kind: ModelKind,
    ds: Arc<Dataset>,
    config: &TrainConfig,
    device: Device,
    out: &Path,
    resume: bool,
    max_steps: Option<u64>,
    progress: &mut dyn Progress,
) -> Result<TrainSummary, TrainError> {
    let tasks = ds.tasks.len();
    if tasks == 0 {
        return Err(run_err(&config.labels, "no tasks in the label export"));
    }
    let mut train_items = ds.labelled(Split::Train);
    let valid_items = ds.labelled(Split::Valid);
    if train_items.is_empty() {
        return Err(run_err(&config.views, "no labelled training items"));
    }
    let digest = config.digest(&ds.fingerprint);
    std::fs::create_dir_all(out).map_err(|e| run_err(out, e.to_string()))?;
    let state_path = out.join(checkpoint::STATE);
    let mut state = if resume && state_path.is_file() {
        let s = checkpoint::load_state(out)?;
        if s.config_digest != digest {
            return Err(run_err(
                &state_path,
                "the run was started with other settings or data; resume needs the same ones (or a new --out)",
            ));
        }
        s
    } else {
        if state_path.is_file() {
            return Err(run_err(
                out,
                "holds a run already: pass --resume to continue it, or choose another --out",
            ));
        }
        RunState {
            epoch: 0,
            batch: 0,
            step: 0,
            best_epoch: None,
            best_auc: None,
            config_digest: digest.clone(),
        }
    };

    let (mut vs, net) = build_model(kind, &ds, tasks, device, config.seed)?;
    let parameters = parameter_count(&vs);
    let mut sgd = Sgd::new(config.lr, config.momentum, config.weight_decay);
    if config.bf16 {
        sgd.keep_master_weights(&vs);
        vs.bfloat16();
    }
    if config.channels_last {
        tch::no_grad(|| {
            for (_, mut t) in vs.variables() {
                if t.dim() == 4 {
                    let cl = channels_last(&t);
                    t.set_data(&cl);
                }
            }
        });
    }
    if state.step > 0 || state.epoch > 0 {
        checkpoint::load(&out.join(LAST), &vs, Some(&mut sgd))?;
    }

    let mut items_per_split = std::collections::BTreeMap::new();
    for s in [Split::Train, Split::Valid, Split::Test] {
        items_per_split.insert(s.name().to_string(), ds.labelled(s).len());
    }
    let device_name = describe_device(device);
    let info = RunInfo {
        format: RUN_FORMAT.into(),
        tool: format!("assayflow {}", env!("CARGO_PKG_VERSION")),
        config: config.clone(),
        model_name: kind.display_name().into(),
        family: kind.family().into(),
        parameters,
        device: device_name.clone(),
        item_shape: ds.item_shape,
        tasks: ds.tasks.iter().map(|t| t.task_id.clone()).collect(),
        items: items_per_split,
        data_fingerprint: ds.fingerprint.clone(),
        config_digest: digest,
    };
    write_json(&out.join("run.json"), &info)?;

    let format = InputFormat {
        device,
        bf16: config.bf16,
        channels_last: config.channels_last,
    };
    let source = Arc::new(Source::open(&ds)?);
    let options = LoaderOptions {
        batch_size: config.batch_size,
        readers: config.readers,
        prefetch: config.prefetch,
        shuffle: true,
        shard_local: config.shard_local,
        pinned: device.is_cuda(),
    };
    let loader = Loader::new(ds.clone(), source, options)?;
    let metrics_path = out.join("metrics.jsonl");
    if state.epoch > 0 || state.step > 0 {
        // A crash between an epoch's metrics line and its checkpoint leaves a line for an
        // epoch the resume will run again: keep only completed epochs' lines.
        drop_unfinished_epochs(&metrics_path, state.epoch)?;
    }
    let mut train_seconds_total = 0.0;
    let mut train_items_total = 0u64;
    let mut interrupted = false;

    if let Some(limit) = config.max_items_per_epoch {
        // A fixed seeded subset, the same every epoch and on resume.
        let mut rng = crate::rng::SplitMix64::new(config.seed ^ 0x5EED_5AB5);
        rng.shuffle(&mut train_items);
        train_items.truncate(limit.max(1));
        train_items.sort_unstable();
    }

    'epochs: while state.epoch < config.epochs {
        let epoch = state.epoch;
        let batches = epoch_batches(&ds, &train_items, &options, config.seed, epoch);
        let n_batches = batches.len();
        progress.epoch_start(epoch + 1, n_batches, state.batch);
        let waits_before = loader.waits().seconds();
        let started = Instant::now();
        let mut reader = loader.epoch(batches, state.batch);
        let (mut loss_sum, mut steps_here, mut items_here) = (0.0, 0u64, 0u64);
        while let Some(batch) = reader.next_batch()? {
            if max_steps.is_some_and(|m| state.step >= m) {
                state.batch = batch.seq;
                loader.recycle(batch.buffer);
                interrupted = true;
                break 'epochs;
            }
            tch::manual_seed((config.seed ^ state.step.wrapping_mul(0x9E37_79B9)) as i64);
            let n = batch.items.len();
            let x = device_input(&ds, &batch.buffer, n, format);
            let y = Tensor::from_slice(&batch.labels)
                .view([n as i64, tasks as i64])
                .to_device(device);
            let outputs = net.outputs(&x, true);
            let loss = masked_bce(&outputs.logits, &y, outputs.pooled.as_ref());
            let value = loss.double_value(&[]);
            if !value.is_finite() || value > config.max_loss {
                loader.recycle(batch.buffer);
                return Err(TrainError::Diverged {
                    step: state.step + 1,
                    epoch: epoch + 1,
                    batch: batch.seq,
                    loss: value,
                    max_loss: config.max_loss,
                });
            }
            loss.backward();
            Sgd::clip_grad_norm(&vs, config.clip_norm);
            sgd.step(&vs);
            loader.recycle(batch.buffer);
            state.step += 1;
            state.batch = batch.seq + 1;
            loss_sum += value;
            steps_here += 1;
            items_here += n as u64;
            progress.step(value);
            if config.checkpoint_every > 0 && state.step % config.checkpoint_every == 0 {
                checkpoint::save(&out.join(LAST), &vs, &sgd, Contents::WeightsAndMomentum)?;
                checkpoint::save_state(out, &state)?;
            }
        }
        drop(reader);
        let train_seconds = started.elapsed().as_secs_f64();
        train_seconds_total += train_seconds;
        train_items_total += items_here;
        let waits = loader.waits().seconds().since(&waits_before);

        let valid_started = Instant::now();
        let (aucs, mean, defined) = if valid_items.is_empty() {
            (Vec::new(), None, 0)
        } else {
            let scores = evaluate::score(net.as_ref(), &ds, &loader, &valid_items, format, tasks)?;
            let aucs = evaluate::task_aucs(&ds, &scores);
            let (mean, defined) = mean_auc(&aucs);
            (aucs, mean, defined)
        };
        let is_best = match (mean, state.best_auc) {
            (Some(m), Some(b)) => m > b,
            (Some(_), None) => true,
            (None, _) => state.best_epoch.is_none(),
        };
        if is_best {
            state.best_epoch = Some(epoch + 1);
            state.best_auc = mean;
            checkpoint::save(&out.join(BEST), &vs, &sgd, Contents::Weights)?;
        }
        let metrics = EpochMetrics {
            epoch: epoch + 1,
            step: state.step,
            train_loss: if steps_here > 0 {
                loss_sum / steps_here as f64
            } else {
                f64::NAN
            },
            train_items: items_here,
            train_seconds,
            items_per_second: items_here as f64 / train_seconds.max(1e-9),
            valid_seconds: valid_started.elapsed().as_secs_f64(),
            valid_auc_mean: mean,
            valid_tasks_defined: defined,
            valid_auc: aucs,
            best: is_best,
            bottleneck: waits.bottleneck(config.readers).into(),
            waits,
        };
        append_jsonl(&metrics_path, &metrics)?;
        progress.epoch_end(&metrics);
        state.epoch += 1;
        state.batch = 0;
        checkpoint::save(&out.join(LAST), &vs, &sgd, Contents::WeightsAndMomentum)?;
        checkpoint::save_state(out, &state)?;
    }
    if interrupted {
        checkpoint::save(&out.join(LAST), &vs, &sgd, Contents::WeightsAndMomentum)?;
        checkpoint::save_state(out, &state)?;
    } else {
        write_final_predictions(kind, &ds, &loader, out, format, tasks)?;
    }
    Ok(TrainSummary {
        epochs: state.epoch,
        steps: state.step,
        best: state.best_epoch.zip(state.best_auc),
        items_per_second: train_items_total as f64 / train_seconds_total.max(1e-9),
        interrupted,
        device: device_name,
    })
}

/// The best epoch's per-well probabilities on the valid and test splits.
fn write_final_predictions(
    kind: ModelKind,
    ds: &Dataset,
    loader: &Loader,
    out: &Path,
    format: InputFormat,
    tasks: usize,
) -> Result<(), TrainError> {
    let best = out.join(BEST);
    if !best.is_file() {
        return Ok(());
    }
    let (vs, net) = build_model(kind, ds, tasks, format.device, 0)?;
    checkpoint::load(&best, &vs, None)?;
    let format = InputFormat {
        bf16: false,
        channels_last: false,
        ..format
    };
    let dir = out.join("predictions");
    std::fs::create_dir_all(&dir).map_err(|e| run_err(&dir, e.to_string()))?;
    let mut rows = Vec::new();
    for split in [Split::Valid, Split::Test] {
        let items = ds.labelled(split);
        if items.is_empty() {
            continue;
        }
        let scores = evaluate::score(net.as_ref(), ds, loader, &items, format, tasks)?;
        rows.extend(well_rows(ds, &scores));
    }
    let tasks_path = dir.join("tasks.parquet");
    let ids: Vec<String> = ds.tasks.iter().map(|t| t.task_id.clone()).collect();
    prediction_tables::write_tasks(&tasks_path, &ids)
        .map_err(|e| run_err(&tasks_path, e.to_string()))?;
    let path = dir.join("wells.parquet");
    prediction_tables::write_predictions(&path, &rows)
        .map_err(|e| run_err(&path, e.to_string()))?;
    Ok(())
}

/// Per-well prediction rows of scores.
pub fn well_rows(ds: &Dataset, scores: &Scores) -> Vec<PredictionRow> {
    let t = scores.tasks;
    scores
        .groups
        .iter()
        .enumerate()
        .map(|(k, &g)| {
            let group = &ds.groups[g as usize];
            PredictionRow {
                key: format!("{}-{}", group.plate, group.well),
                plate: Some(group.plate.clone()),
                well: Some(group.well.clone()),
                inchikey: group.inchikey.clone(),
                split: group.split.map(|s| s.name().to_string()),
                n_items: scores.group_items[k],
                probabilities: scores.group_probs[k * t..(k + 1) * t].to_vec(),
            }
        })
        .collect()
}

/// The device in words.
pub fn describe_device(device: Device) -> String {
    match device {
        Device::Cuda(i) => format!(
            "cuda:{i} ({} CUDA device(s), cuDNN {})",
            tch::Cuda::device_count(),
            if tch::Cuda::cudnn_is_available() {
                "available"
            } else {
                "missing"
            }
        ),
        _ => format!("cpu ({} threads)", tch::get_num_threads()),
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), TrainError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| run_err(path, e.to_string()))?;
    let mut f =
        crate::atomic_file::AtomicFile::create(path).map_err(|e| run_err(path, e.to_string()))?;
    f.write_all(text.as_bytes())
        .map_err(|e| run_err(path, e.to_string()))?;
    f.commit().map_err(|e| run_err(path, e.to_string()))
}

fn drop_unfinished_epochs(path: &Path, completed: u32) -> Result<(), TrainError> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(());
    };
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()
                .and_then(|v| v["epoch"].as_u64())
                .is_some_and(|e| e <= u64::from(completed))
        })
        .collect();
    if kept.len() == text.lines().count() {
        return Ok(());
    }
    let mut f =
        crate::atomic_file::AtomicFile::create(path).map_err(|e| run_err(path, e.to_string()))?;
    for l in kept {
        writeln!(f, "{l}").map_err(|e| run_err(path, e.to_string()))?;
    }
    f.commit().map_err(|e| run_err(path, e.to_string()))
}

fn append_jsonl<T: Serialize>(path: &Path, value: &T) -> Result<(), TrainError> {
    let line = serde_json::to_string(value).map_err(|e| run_err(path, e.to_string()))?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| run_err(path, e.to_string()))?;
    writeln!(f, "{line}").map_err(|e| run_err(path, e.to_string()))
}
