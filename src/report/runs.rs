//! Finished training runs read back for the report: `run.json` (model, family, parameters,
//! device, configuration, tasks), `metrics.jsonl` (one line per epoch) and the end-of-run
//! `predictions/wells.parquet` + `predictions/tasks.parquet` (per-well probabilities of the
//! best epoch on the valid and test splits). Only JSON and Parquet are read: the report needs
//! no libtorch.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::ReportError;
use crate::export::prediction_tables::{PredictionRow, read_predictions, read_tasks};

/// One finished run.
#[derive(Debug, Clone)]
pub struct Run {
    /// Its directory.
    pub dir: PathBuf,
    /// The name shown in tables and figures (the model's, with the directory when two runs
    /// train the same model).
    pub name: String,
    /// The model's paper name (GapNet, FNN, ...).
    pub model: String,
    /// end-to-end or cell-centric.
    pub family: String,
    /// Trainable parameters.
    pub parameters: i64,
    /// The device it trained on, and its precision where not float32 (`bfloat16`,
    /// `channels-last`).
    pub device: String,
    /// The label export it trained on.
    pub labels: PathBuf,
    /// Epochs configured.
    pub epochs_configured: u64,
    /// Training items per epoch cap (a short run), if any.
    pub max_items_per_epoch: Option<u64>,
    /// Input shape of one item.
    pub item_shape: Vec<i64>,
    /// Epochs finished.
    pub epochs: Vec<EpochLine>,
    /// Task ids in probability order.
    pub tasks: Vec<String>,
    /// Per-well probabilities (valid and test).
    pub wells: Vec<PredictionRow>,
}

/// The parts of a `metrics.jsonl` line the report uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochLine {
    /// 1-based.
    pub epoch: u64,
    /// Optimiser steps so far.
    pub step: u64,
    /// Training items seen in the epoch.
    pub train_items: u64,
    /// Seconds of training.
    pub train_seconds: f64,
    /// Seconds of validation.
    pub valid_seconds: f64,
    /// Mean validation AUC.
    pub valid_auc_mean: Option<f64>,
    /// Whether it was the best so far.
    pub best: bool,
}

impl Run {
    /// Median training seconds per epoch (NaN without epochs).
    pub fn seconds_per_epoch(&self) -> f64 {
        median(self.epochs.iter().map(|e| e.train_seconds).collect())
    }

    /// Training items per second over all epochs.
    pub fn items_per_second(&self) -> f64 {
        let items: u64 = self.epochs.iter().map(|e| e.train_items).sum();
        let secs: f64 = self.epochs.iter().map(|e| e.train_seconds).sum();
        items as f64 / secs
    }

    /// The best epoch and its mean validation AUC.
    pub fn best(&self) -> Option<(u64, f64)> {
        self.epochs
            .iter()
            .rev()
            .find(|e| e.best)
            .and_then(|e| e.valid_auc_mean.map(|a| (e.epoch, a)))
    }

    /// Steps taken.
    pub fn steps(&self) -> u64 {
        self.epochs.last().map_or(0, |e| e.step)
    }
}

/// Median (NaN for none).
pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn invalid(path: &Path, reason: impl Into<String>) -> ReportError {
    ReportError::Invalid {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

fn read_json(path: &Path) -> Result<Value, ReportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReportError::Io {
        path: path.display().to_string(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| invalid(path, format!("not JSON: {e}")))
}

fn str_field<'a>(v: &'a Value, path: &Path, field: &str) -> Result<&'a str, ReportError> {
    v.pointer(field)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(path, format!("no string {field}")))
}

/// Reads the run in `dir`; the run must have finished (its predictions written).
pub fn read_run(dir: &Path) -> Result<Run, ReportError> {
    let info_path = dir.join("run.json");
    if !info_path.is_file() {
        return Err(invalid(
            dir,
            "not a training run directory (no run.json; `assayflow train --out DIR` makes one)",
        ));
    }
    let info = read_json(&info_path)?;
    let format = str_field(&info, &info_path, "/format")?;
    if format != "assayflow-run/1" {
        return Err(invalid(
            &info_path,
            format!("format {format:?}, expected assayflow-run/1"),
        ));
    }
    let model = str_field(&info, &info_path, "/model_name")?.to_string();
    let family = str_field(&info, &info_path, "/family")?.to_string();
    let flag = |p: &str| info.pointer(p).and_then(Value::as_bool).unwrap_or(false);
    let device = format!(
        "{}{}{}",
        str_field(&info, &info_path, "/device")?,
        if flag("/config/bf16") {
            ", bfloat16"
        } else {
            ""
        },
        if flag("/config/channels_last") {
            ", channels-last"
        } else {
            ""
        }
    );
    let labels = PathBuf::from(str_field(&info, &info_path, "/config/labels")?);
    let parameters = info
        .pointer("/parameters")
        .and_then(Value::as_i64)
        .ok_or_else(|| invalid(&info_path, "no /parameters"))?;
    let epochs_configured = info
        .pointer("/config/epochs")
        .and_then(Value::as_u64)
        .ok_or_else(|| invalid(&info_path, "no /config/epochs"))?;
    let max_items_per_epoch = info
        .pointer("/config/max_items_per_epoch")
        .and_then(Value::as_u64);
    let item_shape = info
        .pointer("/item_shape")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();

    let metrics_path = dir.join("metrics.jsonl");
    let text = std::fs::read_to_string(&metrics_path).map_err(|source| ReportError::Io {
        path: metrics_path.display().to_string(),
        source,
    })?;
    let mut epochs = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: Value = serde_json::from_str(line)
            .map_err(|e| invalid(&metrics_path, format!("line {}: not JSON: {e}", i + 1)))?;
        let num = |f: &str| {
            v.get(f)
                .and_then(Value::as_f64)
                .ok_or_else(|| invalid(&metrics_path, format!("line {}: no number {f}", i + 1)))
        };
        epochs.push(EpochLine {
            epoch: num("epoch")? as u64,
            step: num("step")? as u64,
            train_items: num("train_items")? as u64,
            train_seconds: num("train_seconds")?,
            valid_seconds: num("valid_seconds")?,
            valid_auc_mean: v.get("valid_auc_mean").and_then(Value::as_f64),
            best: v.get("best").and_then(Value::as_bool).unwrap_or(false),
        });
    }

    let predictions = dir.join("predictions");
    if !predictions.join("wells.parquet").is_file() {
        return Err(invalid(
            dir,
            "the run has not finished: no predictions/wells.parquet (resume it with `assayflow train --resume`)",
        ));
    }
    let tasks = read_tasks(&predictions.join("tasks.parquet"))?;
    let wells = read_predictions(&predictions.join("wells.parquet"), tasks.len())?;
    Ok(Run {
        dir: dir.to_path_buf(),
        name: model.clone(),
        model,
        family,
        parameters,
        device,
        labels,
        epochs_configured,
        max_items_per_epoch,
        item_shape,
        epochs,
        tasks,
        wells,
    })
}

/// Reads every run; runs of the same model are told apart by their directory names.
pub fn read_runs(dirs: &[PathBuf]) -> Result<Vec<Run>, ReportError> {
    let mut runs = dirs
        .iter()
        .map(|d| read_run(d))
        .collect::<Result<Vec<_>, _>>()?;
    let models: Vec<String> = runs.iter().map(|r| r.model.clone()).collect();
    for r in &mut runs {
        if models.iter().filter(|m| **m == r.model).count() > 1 {
            let dir = r.dir.file_name().map_or_else(
                || r.dir.display().to_string(),
                |n| n.to_string_lossy().into(),
            );
            r.name = format!("{} ({dir})", r.model);
        }
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert!(median(vec![]).is_nan());
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn a_directory_without_a_run_is_named() {
        let e = read_run(Path::new("/nonexistent-run-dir")).expect_err("no run");
        assert!(e.to_string().contains("/nonexistent-run-dir"), "{e}");
        assert!(e.to_string().contains("run.json"), "{e}");
    }
}
