//! Evaluation passes: run a model over items in export order (no shuffle, no gradients,
//! evaluation mode), average the sigmoid probabilities over each well's items (the paper's
//! well-level evaluation), and score each task by ROC AUC over its labelled wells.

use std::collections::BTreeMap;

use tch::Kind;

use crate::eval::auc::roc_auc;

use super::dataset::Dataset;
use super::device_input::{InputFormat, device_input};
use super::loader::{Loader, LoaderError, epoch_batches};
use super::models::Network;

/// Probabilities per item, and per well (mean over its items).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scores {
    /// Items scored, in order.
    pub items: Vec<u32>,
    /// items x tasks probabilities.
    pub item_probs: Vec<f32>,
    /// Wells (group indices), ascending.
    pub groups: Vec<u32>,
    /// Items per well.
    pub group_items: Vec<u32>,
    /// wells x tasks mean probabilities.
    pub group_probs: Vec<f32>,
    /// Tasks.
    pub tasks: usize,
}

/// Runs `net` over `items`.
pub fn score(
    net: &dyn Network,
    ds: &Dataset,
    loader: &Loader,
    items: &[u32],
    format: InputFormat,
    tasks: usize,
) -> Result<Scores, LoaderError> {
    let mut options = *loader.options();
    options.shuffle = false;
    let batches = epoch_batches(ds, items, &options, 0, 0);
    let mut reader = loader.epoch(batches, 0);
    let mut out = Scores {
        tasks,
        ..Scores::default()
    };
    while let Some(batch) = reader.next_batch()? {
        let n = batch.items.len();
        let probs = tch::no_grad(|| {
            let x = device_input(ds, &batch.buffer, n, format);
            net.outputs(&x, false)
                .logits
                .to_kind(Kind::Float)
                .sigmoid()
                .to_device(tch::Device::Cpu)
        });
        let mut v = vec![0f32; n * tasks];
        probs.view([-1]).copy_data(&mut v, n * tasks);
        out.items.extend_from_slice(&batch.items);
        out.item_probs.extend_from_slice(&v);
        loader.recycle(batch.buffer);
    }
    let mut sums: BTreeMap<u32, (u32, Vec<f64>)> = BTreeMap::new();
    for (k, &item) in out.items.iter().enumerate() {
        let g = ds.items[item as usize].group;
        let e = sums.entry(g).or_insert_with(|| (0, vec![0.0; tasks]));
        e.0 += 1;
        for (s, &p) in
            e.1.iter_mut()
                .zip(&out.item_probs[k * tasks..(k + 1) * tasks])
        {
            *s += f64::from(p);
        }
    }
    for (g, (n, s)) in sums {
        out.groups.push(g);
        out.group_items.push(n);
        out.group_probs
            .extend(s.iter().map(|v| (v / f64::from(n)) as f32));
    }
    Ok(out)
}

/// Per-task AUC over the scored wells with a label for the task (`None`: one class only).
pub fn task_aucs(ds: &Dataset, scores: &Scores) -> Vec<Option<f64>> {
    let t = scores.tasks;
    (0..t)
        .map(|task| {
            let (mut s, mut y) = (Vec::new(), Vec::new());
            for (k, &g) in scores.groups.iter().enumerate() {
                let Some(c) = ds.groups[g as usize].compound else {
                    continue;
                };
                let label = ds.labels[c as usize * t + task];
                if label != 0 {
                    s.push(f64::from(scores.group_probs[k * t + task]));
                    y.push(label > 0);
                }
            }
            roc_auc(&s, &y)
        })
        .collect()
}

/// The mean of the defined AUCs and how many there are.
pub fn mean_auc(aucs: &[Option<f64>]) -> (Option<f64>, usize) {
    let defined: Vec<f64> = aucs.iter().flatten().copied().collect();
    if defined.is_empty() {
        (None, 0)
    } else {
        (
            Some(defined.iter().sum::<f64>() / defined.len() as f64),
            defined.len(),
        )
    }
}
