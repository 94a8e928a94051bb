//! Prediction for new images ([`predict`]): a trained run's best weights over every item of a
//! view export (labelled or not: the paper's promise of annotating unlabelled compounds), written
//! as per-item (views or crops), per-well and per-compound probabilities in Parquet, with the
//! task order in `tasks.parquet`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tch::Device;

use crate::export::prediction_tables::{self, PredictionRow};

use super::checkpoint;
use super::dataset::Dataset;
use super::device_input::InputFormat;
use super::evaluate;
use super::fit::{RunInfo, TrainError, build_model, well_rows};
use super::loader::{Loader, LoaderOptions, Source};
use super::models::{InputKind, ModelKind};

/// What `predict` wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictReport {
    /// Items scored.
    pub items: usize,
    /// Wells.
    pub wells: usize,
    /// Compounds.
    pub compounds: usize,
    /// Files written.
    pub files: Vec<PathBuf>,
}

fn err(path: &Path, message: impl Into<String>) -> TrainError {
    TrainError::Run {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// Reads `run.json` beside a checkpoint.
pub fn run_info(checkpoint: &Path) -> Result<RunInfo, TrainError> {
    let dir = checkpoint.parent().unwrap_or(Path::new("."));
    let path = dir.join("run.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        err(
            &path,
            format!("{e} (a checkpoint needs the run.json of its run beside it)"),
        )
    })?;
    serde_json::from_str(&text).map_err(|e| err(&path, e.to_string()))
}

/// Scores every item of `views` with `checkpoint` and writes the tables into `out`.
pub fn predict(
    checkpoint_path: &Path,
    views: &Path,
    out: &Path,
    device: Device,
    batch_size: usize,
    readers: usize,
) -> Result<PredictReport, TrainError> {
    let info = run_info(checkpoint_path)?;
    let kind: ModelKind = info
        .config
        .model
        .parse()
        .map_err(|e: super::models::UnknownModel| err(checkpoint_path, e.to_string()))?;
    let mut ds = Dataset::open(views, None, kind.input())?;
    if ds.item_shape[0] != info.item_shape[0] {
        return Err(err(
            views,
            format!(
                "items have {} channels (features), the model was trained on {}",
                ds.item_shape[0], info.item_shape[0]
            ),
        ));
    }
    let tasks = info.tasks.len();
    // No labels: the label matrix stays empty; the tasks come from the run.
    ds.tasks = info
        .tasks
        .iter()
        .map(|t| super::dataset::Task {
            task_id: t.clone(),
            n_active: 0,
            n_inactive: 0,
        })
        .collect();
    ds.labels = Vec::new();
    let ds = Arc::new(ds);
    let (vs, net) = build_model(kind, &ds, tasks, device, 0)?;
    checkpoint::load(checkpoint_path, &vs, None)?;
    let options = LoaderOptions {
        batch_size,
        readers,
        prefetch: 2,
        shuffle: false,
        shard_local: false,
        pinned: device.is_cuda(),
    };
    let loader = Loader::new(ds.clone(), Arc::new(Source::open(&ds)?), options)?;
    let format = InputFormat {
        device,
        bf16: false,
        channels_last: false,
    };
    let items: Vec<u32> = (0..ds.items.len() as u32).collect();
    let scores = evaluate::score(net.as_ref(), &ds, &loader, &items, format, tasks)?;
    std::fs::create_dir_all(out).map_err(|e| err(out, e.to_string()))?;
    let mut files = Vec::new();
    let write = |name: &str, rows: &[PredictionRow], files: &mut Vec<PathBuf>| {
        let path = out.join(name);
        prediction_tables::write_predictions(&path, rows).map_err(|e| err(&path, e.to_string()))?;
        files.push(path);
        Ok::<(), TrainError>(())
    };
    if kind.input() != InputKind::Features {
        let rows: Vec<PredictionRow> = scores
            .items
            .iter()
            .enumerate()
            .map(|(k, &i)| {
                let item = &ds.items[i as usize];
                let g = &ds.groups[item.group as usize];
                PredictionRow {
                    key: item.key.clone(),
                    plate: Some(g.plate.clone()),
                    well: Some(g.well.clone()),
                    inchikey: g.inchikey.clone(),
                    split: g.split.map(|s| s.name().to_string()),
                    n_items: 1,
                    probabilities: scores.item_probs[k * tasks..(k + 1) * tasks].to_vec(),
                }
            })
            .collect();
        let name = if kind.input() == InputKind::Views {
            "views.parquet"
        } else {
            "cells.parquet"
        };
        write(name, &rows, &mut files)?;
    }
    let wells = well_rows(&ds, &scores);
    write("wells.parquet", &wells, &mut files)?;
    let mut by_compound: BTreeMap<String, (u32, Option<String>, Vec<f64>)> = BTreeMap::new();
    for w in &wells {
        let Some(key) = &w.inchikey else { continue };
        let e = by_compound
            .entry(key.clone())
            .or_insert_with(|| (0, w.split.clone(), vec![0.0; tasks]));
        e.0 += 1;
        for (s, &p) in e.2.iter_mut().zip(&w.probabilities) {
            *s += f64::from(p);
        }
    }
    let compounds: Vec<PredictionRow> = by_compound
        .into_iter()
        .map(|(key, (n, split, sums))| PredictionRow {
            key: key.clone(),
            plate: None,
            well: None,
            inchikey: Some(key),
            split,
            n_items: n,
            probabilities: sums.iter().map(|s| (s / f64::from(n)) as f32).collect(),
        })
        .collect();
    write("compounds.parquet", &compounds, &mut files)?;
    let tasks_path = out.join("tasks.parquet");
    prediction_tables::write_tasks(&tasks_path, &info.tasks)
        .map_err(|e| err(&tasks_path, e.to_string()))?;
    files.push(tasks_path);
    Ok(PredictReport {
        items: scores.items.len(),
        wells: wells.len(),
        compounds: compounds.len(),
        files,
    })
}
