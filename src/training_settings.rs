//! `[train]` of a pipeline file: the trainer's defaults (epochs, clipping, loader) and the
//! paper's hyper-parameters per model (`[train.models.<name>]`: learning rate, momentum, weight
//! decay, batch size). Parsed in every build so a pipeline file reads the same with or without
//! the `torch` feature; the trainer (`train::`) applies it, and the command line overrides it.
//!
//! ```
//! let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/pipelines/paper.toml")).unwrap();
//! let p = assayflow::pipeline::Pipeline::parse(&text, "paper.toml").unwrap();
//! let gapnet = p.train.model("gapnet").unwrap();
//! assert_eq!((gapnet.lr, gapnet.batch_size), (1e-2, 128));
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The paper's epochs.
pub const DEFAULT_EPOCHS: u32 = 100;
/// The paper's gradient-norm clipping (L2).
pub const DEFAULT_CLIP_NORM: f64 = 5.0;
/// Reader threads of the loader.
pub const DEFAULT_READERS: usize = 2;
/// Batches prepared ahead of the model.
pub const DEFAULT_PREFETCH: usize = 4;
/// A loss above this (or not finite) stops the run.
pub const DEFAULT_MAX_LOSS: f64 = 1.0e3;

/// One model's optimiser and batch settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSettings {
    /// Learning rate (constant).
    pub lr: f64,
    /// SGD momentum.
    pub momentum: f64,
    /// L2 weight decay.
    pub weight_decay: f64,
    /// Views (crops, wells) per batch.
    pub batch_size: usize,
}

/// `[train]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSection {
    /// Epochs.
    pub epochs: u32,
    /// Gradient-norm clipping (L2); 0 turns it off.
    pub clip_norm: f64,
    /// The run's seed (initialisation, data order, dropout).
    pub seed: u64,
    /// Loader reader threads.
    pub readers: usize,
    /// Batches in flight between the loader and the model.
    pub prefetch: usize,
    /// Shuffle shard by shard (page-cache friendly) instead of over the whole split.
    pub shard_local: bool,
    /// A loss above this stops the run (the last good checkpoint stays).
    pub max_loss: f64,
    /// Per model (`gapnet`, `milnet`, `mcnn`, `resnet101`, `densenet121`, `sccnn`, `fnn`).
    pub models: BTreeMap<String, ModelSettings>,
}

impl Default for TrainSection {
    fn default() -> TrainSection {
        let m = |lr, momentum, weight_decay, batch_size| ModelSettings {
            lr,
            momentum,
            weight_decay,
            batch_size,
        };
        TrainSection {
            epochs: DEFAULT_EPOCHS,
            clip_norm: DEFAULT_CLIP_NORM,
            seed: 1,
            readers: DEFAULT_READERS,
            prefetch: DEFAULT_PREFETCH,
            shard_local: false,
            max_loss: DEFAULT_MAX_LOSS,
            models: [
                ("gapnet", m(1e-2, 0.9, 1e-4, 128)),
                ("milnet", m(1e-2, 0.9, 1e-4, 64)),
                ("mcnn", m(1e-3, 0.9, 5e-4, 100)),
                ("resnet101", m(1e-3, 0.9, 1e-4, 24)),
                ("densenet121", m(1e-2, 0.9, 1e-4, 12)),
                ("sccnn", m(1e-2, 0.9, 1e-4, 2048)),
                ("fnn", m(1e-2, 0.9, 1e-4, 256)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        }
    }
}

impl TrainSection {
    /// The settings of a model by its name.
    pub fn model(&self, name: &str) -> Option<&ModelSettings> {
        self.models.get(name)
    }

    /// Checks ranges.
    pub fn validate(&self) -> Result<(), String> {
        if self.readers == 0 || self.prefetch == 0 {
            return Err("[train] readers and prefetch must be at least 1".into());
        }
        if !(self.clip_norm >= 0.0 && self.max_loss > 0.0) {
            return Err("[train] clip_norm must be >= 0 and max_loss > 0".into());
        }
        for (name, m) in &self.models {
            if !(m.lr > 0.0 && (0.0..1.0).contains(&m.momentum) && m.weight_decay >= 0.0) {
                return Err(format!(
                    "[train.models.{name}] needs lr > 0, 0 <= momentum < 1, weight_decay >= 0"
                ));
            }
            if m.batch_size == 0 {
                return Err(format!(
                    "[train.models.{name}] batch_size must be at least 1"
                ));
            }
        }
        Ok(())
    }
}
