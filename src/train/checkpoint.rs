//! Checkpoints in safetensors (loadable with `safetensors.torch.load_file`): the model's
//! variables under `model.<name>` (float32), the optimiser's momentum buffers under
//! `momentum.<name>`; and the run's position in `state.json`. Both are written under temporary
//! names and renamed, the state last, so an interrupted write leaves the previous checkpoint.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use super::sgd::Sgd;

/// The weights and optimiser state of the last completed position.
pub const LAST: &str = "last.safetensors";
/// The weights of the best epoch by mean validation AUC.
pub const BEST: &str = "best.safetensors";
/// Where the run stands.
pub const STATE: &str = "state.json";

/// Where a run stands: the next batch to train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// The epoch in progress (0-based).
    pub epoch: u32,
    /// The next batch of that epoch.
    pub batch: usize,
    /// Optimiser steps taken.
    pub step: u64,
    /// The best epoch so far (1-based, as the metrics number them).
    pub best_epoch: Option<u32>,
    /// Its mean validation AUC.
    pub best_auc: Option<f64>,
    /// The run's configuration digest (a resume must match it).
    pub config_digest: String,
}

/// Errors saving or loading.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// libtorch or safetensors.
    #[error("{path}: {source}")]
    Torch {
        /// The file.
        path: String,
        /// The cause.
        source: tch::TchError,
    },
    /// File system.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A variable is missing or has another shape.
    #[error("{path}: {message}")]
    Mismatch {
        /// The file.
        path: String,
        /// What.
        message: String,
    },
}

fn torch_err(path: &Path) -> impl Fn(tch::TchError) -> CheckpointError + '_ {
    move |source| CheckpointError::Torch {
        path: path.display().to_string(),
        source,
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn sorted_variables(vs: &VarStore) -> Vec<(String, Tensor)> {
    let mut v: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Which parts of the optimiser a checkpoint carries besides the weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contents {
    /// Weights only (`best.safetensors`): for prediction and for loading elsewhere.
    Weights,
    /// Weights and momentum buffers (`last.safetensors`): a resume point.
    WeightsAndMomentum,
}

/// Writes the model's variables (float32, on the CPU; `sgd`'s master copies where the model is
/// bfloat16) and, with [`Contents::WeightsAndMomentum`], its momentum buffers to `path`
/// atomically.
pub fn save(
    path: &Path,
    vs: &VarStore,
    sgd: &Sgd,
    contents: Contents,
) -> Result<(), CheckpointError> {
    let mut named: Vec<(String, Tensor)> = Vec::new();
    for (name, t) in sorted_variables(vs) {
        let source = sgd
            .master
            .get(&name)
            .map_or_else(|| t.shallow_clone(), Tensor::shallow_clone);
        let value = source
            .detach()
            .to_kind(Kind::Float)
            .to_device(Device::Cpu)
            .contiguous();
        named.push((format!("model.{name}"), value));
    }
    if contents == Contents::WeightsAndMomentum {
        for (name, b) in &sgd.buffers {
            named.push((
                format!("momentum.{name}"),
                b.detach().to_device(Device::Cpu).contiguous(),
            ));
        }
    }
    let tmp = path.with_extension("safetensors.tmp");
    Tensor::write_safetensors(&named, &tmp).map_err(torch_err(path))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

/// Loads `path` into the model (and, with `sgd`, its momentum buffers, and its float32 master
/// weights where the model runs in bfloat16).
pub fn load(path: &Path, vs: &VarStore, mut sgd: Option<&mut Sgd>) -> Result<(), CheckpointError> {
    let tensors = Tensor::read_safetensors(path).map_err(torch_err(path))?;
    let mut by_name: std::collections::HashMap<String, Tensor> = tensors.into_iter().collect();
    let device = vs.device();
    let mismatch = |message: String| CheckpointError::Mismatch {
        path: path.display().to_string(),
        message,
    };
    tch::no_grad(|| -> Result<(), CheckpointError> {
        for (name, mut t) in sorted_variables(vs) {
            let saved = by_name.remove(&format!("model.{name}")).ok_or_else(|| {
                mismatch(format!(
                    "no variable model.{name}: a checkpoint of another model?"
                ))
            })?;
            if saved.size() != t.size() {
                return Err(mismatch(format!(
                    "model.{name} is {:?}, the model has {:?}",
                    saved.size(),
                    t.size()
                )));
            }
            let saved = saved.to_device(device);
            t.copy_(&saved.to_kind(t.kind()));
            if let Some(master) = sgd.as_deref_mut().and_then(|s| s.master.get_mut(&name)) {
                master.copy_(&saved.to_kind(Kind::Float));
            }
        }
        Ok(())
    })?;
    if let Some(s) = sgd {
        s.buffers.clear();
        for (name, t) in by_name {
            if let Some(var) = name.strip_prefix("momentum.") {
                s.buffers.insert(var.to_string(), t.to_device(device));
            }
        }
    }
    Ok(())
}

/// Writes `state` to `dir/state.json` atomically.
pub fn save_state(dir: &Path, state: &RunState) -> Result<(), CheckpointError> {
    let path = dir.join(STATE);
    let tmp = dir.join("state.json.tmp");
    let text = serde_json::to_string_pretty(state).map_err(|e| CheckpointError::Io {
        path: path.display().to_string(),
        source: std::io::Error::other(e),
    })?;
    std::fs::write(&tmp, text).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io_err(&path))
}

/// Reads `dir/state.json`.
pub fn load_state(dir: &Path) -> Result<RunState, CheckpointError> {
    let path = dir.join(STATE);
    let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
    serde_json::from_str(&text).map_err(|e| CheckpointError::Io {
        path: path.display().to_string(),
        source: std::io::Error::other(e),
    })
}
