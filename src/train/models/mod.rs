//! The paper's models (../shared/docs/reference.md), one file each, every one a [`Network`]
//! from images (or crops, or feature vectors) to one logit per task, for any input size.
//!
//! | model | file | input | parameters with 209 tasks |
//! | --- | --- | --- | --- |
//! | GapNet | [`gapnet`] | views | 3,694,545 |
//! | MIL-Net | [`milnet`] | views (>= 135 x 135) | 726,180 |
//! | M-CNN | [`mcnn`] | views (>= 64 x 64) | 11,230,929 |
//! | ResNet-101 | [`resnet`] | views | 42,934,673 |
//! | DenseNet-121 | [`densenet`] | views | 7,174,353 |
//! | SC-CNN | [`sccnn`] | 96 x 96 single-cell crops | 3,694,545 |
//! | FNN | [`fnn`] | CellProfiler features per well | depends on the features |
//!
//! [`ModelKind`] names them (`assayflow models` lists them) and [`ModelKind::build`] makes one.

use std::fmt;
use std::str::FromStr;

use tch::Tensor;
use tch::nn;

pub mod densenet;
pub mod fnn;
pub mod gapnet;
pub mod layers;
pub mod mcnn;
pub mod milnet;
pub mod resnet;
pub mod sccnn;

/// What a network returns: task logits, and for MIL-Net also the noisy-AND pooled
/// probabilities (the loss adds a term for them).
#[derive(Debug)]
pub struct Outputs {
    /// (batch, tasks) logits.
    pub logits: Tensor,
    /// (batch, tasks) probabilities from MIL pooling, if the model has them.
    pub pooled: Option<Tensor>,
}

impl Outputs {
    /// Logits only.
    pub fn logits(logits: Tensor) -> Outputs {
        Outputs {
            logits,
            pooled: None,
        }
    }
}

/// A model: a forward pass in training or evaluation mode.
pub trait Network: fmt::Debug + Send {
    /// The forward pass (`train` switches dropout and batch-norm statistics).
    fn outputs(&self, xs: &Tensor, train: bool) -> Outputs;
}

/// What a model reads from a view export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// Whole views: `views.parquet` and its shards.
    Views,
    /// Single-cell crops: `cells.parquet` and its shards.
    Crops,
    /// Per-well CellProfiler features: `features.parquet`.
    Features,
}

/// The seven architectures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ModelKind {
    /// The paper's GapNet.
    GapNet,
    /// Kraus et al.'s MIL-Net with noisy-AND pooling.
    MilNet,
    /// Godinez et al.'s multi-scale CNN.
    MCnn,
    /// ResNet-101, five-channel stem.
    ResNet101,
    /// DenseNet-121, five-channel stem.
    DenseNet121,
    /// GapNet without dilations on single-cell crops.
    ScCnn,
    /// Feed-forward network on CellProfiler features.
    Fnn,
}

impl ModelKind {
    /// All models, in the paper's Table 1 family order.
    pub const ALL: [ModelKind; 7] = [
        ModelKind::GapNet,
        ModelKind::MilNet,
        ModelKind::MCnn,
        ModelKind::ResNet101,
        ModelKind::DenseNet121,
        ModelKind::ScCnn,
        ModelKind::Fnn,
    ];

    /// The name used on the command line and in the pipeline file.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::GapNet => "gapnet",
            ModelKind::MilNet => "milnet",
            ModelKind::MCnn => "mcnn",
            ModelKind::ResNet101 => "resnet101",
            ModelKind::DenseNet121 => "densenet121",
            ModelKind::ScCnn => "sccnn",
            ModelKind::Fnn => "fnn",
        }
    }

    /// The name as the paper writes it.
    pub fn display_name(self) -> &'static str {
        match self {
            ModelKind::GapNet => "GapNet",
            ModelKind::MilNet => "MIL-Net",
            ModelKind::MCnn => "M-CNN",
            ModelKind::ResNet101 => "ResNet-101",
            ModelKind::DenseNet121 => "DenseNet-121",
            ModelKind::ScCnn => "SC-CNN",
            ModelKind::Fnn => "FNN",
        }
    }

    /// End-to-end (whole views) or cell-centric (crops, features), as the paper's Table 1.
    pub fn family(self) -> &'static str {
        match self.input() {
            InputKind::Views => "end-to-end",
            InputKind::Crops | InputKind::Features => "cell-centric",
        }
    }

    /// What it reads.
    pub fn input(self) -> InputKind {
        match self {
            ModelKind::ScCnn => InputKind::Crops,
            ModelKind::Fnn => InputKind::Features,
            _ => InputKind::Views,
        }
    }

    /// The smallest input side the layout takes without padding (views or crops).
    pub fn min_side(self) -> i64 {
        match self {
            ModelKind::MilNet => milnet::MIN_SIDE,
            ModelKind::MCnn => mcnn::MIN_SIDE,
            ModelKind::Fnn => 1,
            _ => 32,
        }
    }

    /// The parameter count the paper reports (209 tasks), where it reports one.
    pub fn paper_parameters(self) -> Option<i64> {
        match self {
            ModelKind::GapNet => Some(3_694_545),
            ModelKind::MilNet => Some(726_180),
            ModelKind::MCnn => Some(11_230_929),
            ModelKind::ResNet101 => Some(42_934_673),
            ModelKind::DenseNet121 => Some(7_174_353),
            ModelKind::ScCnn | ModelKind::Fnn => None,
        }
    }

    /// Builds the model under `p`: `inputs` is the number of channels (or features for the
    /// FNN), `tasks` the number of outputs.
    pub fn build(self, p: &nn::Path, inputs: i64, tasks: i64) -> Box<dyn Network> {
        match self {
            ModelKind::GapNet => Box::new(gapnet::GapNet::new(p, inputs, tasks)),
            ModelKind::MilNet => Box::new(milnet::MilNet::new(p, inputs, tasks)),
            ModelKind::MCnn => Box::new(mcnn::MCnn::new(p, inputs, tasks)),
            ModelKind::ResNet101 => Box::new(resnet::ResNet::resnet101(p, inputs, tasks)),
            ModelKind::DenseNet121 => Box::new(densenet::DenseNet::densenet121(p, inputs, tasks)),
            ModelKind::ScCnn => Box::new(sccnn::sc_cnn(p, inputs, tasks)),
            ModelKind::Fnn => Box::new(fnn::Fnn::new(p, inputs, tasks)),
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown model name.
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown model {0:?}; the models are gapnet, milnet, mcnn, resnet101, densenet121, sccnn, fnn"
)]
pub struct UnknownModel(pub String);

impl FromStr for ModelKind {
    type Err = UnknownModel;

    fn from_str(s: &str) -> Result<ModelKind, UnknownModel> {
        let wanted = s.to_ascii_lowercase().replace(['-', '_'], "");
        ModelKind::ALL
            .into_iter()
            .find(|m| m.name() == wanted)
            .ok_or_else(|| UnknownModel(s.to_string()))
    }
}

/// The number of scalar parameters (trainable variables) of a variable store.
pub fn parameter_count(vs: &nn::VarStore) -> i64 {
    vs.trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum()
}
