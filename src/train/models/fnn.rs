//! The FNN baseline (Simm et al. 2018's network, as the paper's code): on one CellProfiler
//! feature vector per well, input dropout 0.1, three layers of [Linear 2,048, ReLU, dropout 0.5],
//! then the task layer. Xavier-normal weights and zero biases.

use tch::Tensor;
use tch::nn::{self, ModuleT};

use super::milnet::xavier_normal;
use super::{Network, Outputs};

/// Hidden width.
pub const DEFAULT_HIDDEN: i64 = 2048;
/// Dropout on the input features.
pub const DEFAULT_INPUT_DROPOUT: f64 = 0.1;
/// Dropout after each hidden layer.
pub const DEFAULT_DROPOUT: f64 = 0.5;

/// The FNN for `features` inputs and `tasks` outputs.
#[derive(Debug)]
pub struct Fnn {
    layers: Vec<nn::Linear>,
}

fn dense(p: nn::Path, i: i64, o: i64) -> nn::Linear {
    nn::linear(
        p,
        i,
        o,
        nn::LinearConfig {
            ws_init: xavier_normal(i, o),
            bs_init: Some(nn::Init::Const(0.0)),
            bias: true,
        },
    )
}

impl Fnn {
    /// Builds the network's variables under `p`.
    pub fn new(p: &nn::Path, features: i64, tasks: i64) -> Fnn {
        let h = DEFAULT_HIDDEN;
        Fnn {
            layers: vec![
                dense(p / "fc1", features, h),
                dense(p / "fc2", h, h),
                dense(p / "fc3", h, h),
                dense(p / "out", h, tasks),
            ],
        }
    }
}

impl Network for Fnn {
    fn outputs(&self, xs: &Tensor, train: bool) -> Outputs {
        let mut x = xs.dropout(DEFAULT_INPUT_DROPOUT, train);
        let (last, hidden) = self.layers.split_last().expect("four layers");
        for l in hidden {
            x = x.apply(l).relu().dropout(DEFAULT_DROPOUT, train);
        }
        Outputs::logits(x.apply(last))
    }
}

impl ModuleT for Fnn {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.outputs(xs, train).logits
    }
}
