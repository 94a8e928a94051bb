//! M-CNN (Godinez et al. 2017, as in the paper's code): seven scales of the same input, scale `i`
//! max-pooled by 2^i, each through three 5x5 convolutions with ReLU ([16, 16, 16, 32, 32, 32, 64]
//! channels) and max-pooled by 2^(6 - i), so every scale ends at 1/64 of the input; the 208
//! concatenated channels go through a 1x1 convolution to 1,024 with ReLU, are max-pooled to a
//! common 4 x 5 grid (what a 520 x 696 view gives), then FC 512 with ReLU and the task layer.
//! 11,230,929 parameters with 209 tasks.
//!
//! The authors' code fixed the last pool and the FC input at build time; here the last pool is
//! adaptive, so any input of at least 64 x 64 pixels works (at 520 x 696 it equals their 2 x 2
//! pool exactly). Xavier-uniform weights and zero biases, as their code.

use tch::Tensor;
use tch::nn::{self, ModuleT};

use super::{Network, Outputs};

/// Channels per scale.
pub const SCALE_CHANNELS: [i64; 7] = [16, 16, 16, 32, 32, 32, 64];
/// The grid every input is pooled to before the fully connected layers.
pub const DEFAULT_GRID: [i64; 2] = [4, 5];
/// The smallest input side: the coarsest scale pools by 64.
pub const MIN_SIDE: i64 = 64;

fn xavier_uniform(fan_in: i64, fan_out: i64) -> nn::Init {
    let bound = (6.0 / (fan_in + fan_out) as f64).sqrt();
    nn::Init::Uniform {
        lo: -bound,
        up: bound,
    }
}

fn conv(p: nn::Path, i: i64, o: i64, k: i64) -> nn::Conv2D {
    nn::conv2d(
        p,
        i,
        o,
        k,
        nn::ConvConfig {
            padding: k / 2,
            ws_init: xavier_uniform(i * k * k, o * k * k),
            bs_init: nn::Init::Const(0.0),
            ..Default::default()
        },
    )
}

fn dense(p: nn::Path, i: i64, o: i64) -> nn::Linear {
    nn::linear(
        p,
        i,
        o,
        nn::LinearConfig {
            ws_init: xavier_uniform(i, o),
            bs_init: Some(nn::Init::Const(0.0)),
            bias: true,
        },
    )
}

/// M-CNN for `channels` inputs and `tasks` outputs.
#[derive(Debug)]
pub struct MCnn {
    scales: Vec<[nn::Conv2D; 3]>,
    combine: nn::Conv2D,
    fc: nn::Linear,
    out: nn::Linear,
}

impl MCnn {
    /// Builds the network's variables under `p`.
    pub fn new(p: &nn::Path, channels: i64, tasks: i64) -> MCnn {
        let scales = SCALE_CHANNELS
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                let s = p / format!("scale{i}");
                [
                    conv(&s / "conv1", channels, c, 5),
                    conv(&s / "conv2", c, c, 5),
                    conv(&s / "conv3", c, c, 5),
                ]
            })
            .collect();
        let total: i64 = SCALE_CHANNELS.iter().sum();
        let [gh, gw] = DEFAULT_GRID;
        MCnn {
            scales,
            combine: conv(p / "combine", total, 1024, 1),
            fc: dense(p / "fc", gh * gw * 1024, 512),
            out: dense(p / "out", 512, tasks),
        }
    }
}

fn max_pool(x: &Tensor, k: i64) -> Tensor {
    if k == 1 {
        x.shallow_clone()
    } else {
        x.max_pool2d([k, k], [k, k], [0, 0], [1, 1], false)
    }
}

impl Network for MCnn {
    fn outputs(&self, xs: &Tensor, _train: bool) -> Outputs {
        let scales: Vec<Tensor> = self
            .scales
            .iter()
            .enumerate()
            .map(|(i, convs)| {
                let mut x = max_pool(xs, 1 << i);
                for c in convs {
                    x = x.apply(c).relu();
                }
                max_pool(&x, 1 << (6 - i))
            })
            .collect();
        let x = Tensor::cat(&scales, 1)
            .apply(&self.combine)
            .relu()
            .adaptive_max_pool2d(DEFAULT_GRID)
            .0
            .flatten(1, -1);
        Outputs::logits(x.apply(&self.fc).relu().apply(&self.out))
    }
}

impl ModuleT for MCnn {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.outputs(xs, train).logits
    }
}
