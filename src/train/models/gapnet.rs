//! GapNet (the paper's Table A2): four convolutional blocks of 3x3 convolutions with SELU,
//! global average pooling of every block's output, concatenated (32 + 64 + 128 + 256 = 480
//! features), then two fully connected SELU layers of 1,024 and the task layer.
//!
//! | block | layers | output at 5 x 520 x 696 |
//! | --- | --- | --- |
//! | 1 | conv 5->32 stride 2; max-pool 2 | 32 x 130 x 174 |
//! | 2 | conv 32->64 stride 2; conv 64->64 x 2; max-pool 2 with padding 1 | 64 x 33 x 44 |
//! | 3 | conv 64->128; conv 128->128 x 2; max-pool 2 | 128 x 16 x 22 |
//! | 4 | conv 128->256 dilation 2; conv 256->256 dilation 2; conv 256->256 dilation 4 | 256 x 16 x 22 |
//!
//! The global pooling is a mean over the spatial dimensions, so the network takes any input
//! size (the paper's code fixed it at build time). Convolution weights are drawn from
//! N(0, 1/fan_in) (LeCun normal, as SELU wants), biases start at 0. The paper's alpha-dropout
//! has p = 0 and is left out.

use tch::Tensor;
use tch::nn::{self, ModuleT};

use super::{Network, Outputs};

/// The paper's width of the fully connected layers.
pub const DEFAULT_HIDDEN: i64 = 1024;

/// What distinguishes GapNet from its single-cell variant (SC-CNN): the dilations of block 4 and
/// the padding of block 2's pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GapNetLayout {
    /// Dilation of block 4's three convolutions.
    pub block4_dilations: [i64; 3],
    /// Padding of block 2's max-pool.
    pub block2_pool_padding: i64,
}

/// The paper's GapNet.
pub const GAPNET_LAYOUT: GapNetLayout = GapNetLayout {
    block4_dilations: [2, 2, 4],
    block2_pool_padding: 1,
};

/// GapNet (or SC-CNN, by its layout) for `channels` input channels and `tasks` outputs.
#[derive(Debug)]
pub struct GapNet {
    blocks: Vec<Vec<nn::Conv2D>>,
    block2_pool_padding: i64,
    fc1: nn::Linear,
    fc2: nn::Linear,
    out: nn::Linear,
}

fn conv(p: nn::Path, i: i64, o: i64, stride: i64, dilation: i64) -> nn::Conv2D {
    let fan_in = (i * 9) as f64;
    nn::conv2d(
        p,
        i,
        o,
        3,
        nn::ConvConfig {
            stride,
            padding: dilation,
            dilation,
            ws_init: nn::Init::Randn {
                mean: 0.0,
                stdev: (1.0 / fan_in).sqrt(),
            },
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
            ws_init: nn::Init::Randn {
                mean: 0.0,
                stdev: (1.0 / i as f64).sqrt(),
            },
            bs_init: Some(nn::Init::Const(0.0)),
            bias: true,
        },
    )
}

impl GapNet {
    /// Builds the paper's GapNet under `p`.
    pub fn new(p: &nn::Path, channels: i64, tasks: i64) -> GapNet {
        GapNet::with_layout(p, channels, tasks, GAPNET_LAYOUT)
    }

    /// Builds the network's variables under `p` with the given layout.
    pub fn with_layout(p: &nn::Path, channels: i64, tasks: i64, layout: GapNetLayout) -> GapNet {
        let [d1, d2, d3] = layout.block4_dilations;
        let b = |n: usize| p / format!("block{n}");
        let blocks = vec![
            vec![conv(b(1) / "conv1", channels, 32, 2, 1)],
            vec![
                conv(b(2) / "conv1", 32, 64, 2, 1),
                conv(b(2) / "conv2", 64, 64, 1, 1),
                conv(b(2) / "conv3", 64, 64, 1, 1),
            ],
            vec![
                conv(b(3) / "conv1", 64, 128, 1, 1),
                conv(b(3) / "conv2", 128, 128, 1, 1),
                conv(b(3) / "conv3", 128, 128, 1, 1),
            ],
            vec![
                conv(b(4) / "conv1", 128, 256, 1, d1),
                conv(b(4) / "conv2", 256, 256, 1, d2),
                conv(b(4) / "conv3", 256, 256, 1, d3),
            ],
        ];
        GapNet {
            blocks,
            block2_pool_padding: layout.block2_pool_padding,
            fc1: dense(p / "fc1", 480, DEFAULT_HIDDEN),
            fc2: dense(p / "fc2", DEFAULT_HIDDEN, DEFAULT_HIDDEN),
            out: dense(p / "out", DEFAULT_HIDDEN, tasks),
        }
    }
}

impl Network for GapNet {
    fn outputs(&self, xs: &Tensor, _train: bool) -> Outputs {
        let mut x = xs.shallow_clone();
        let mut pooled = Vec::with_capacity(4);
        for (n, block) in self.blocks.iter().enumerate() {
            for c in block {
                x = x.apply(c).selu();
            }
            x = match n {
                0 => x.max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false),
                1 => {
                    let pad = self.block2_pool_padding;
                    x.max_pool2d([2, 2], [2, 2], [pad, pad], [1, 1], false)
                }
                2 => x.max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false),
                _ => x,
            };
            pooled.push(x.mean_dim([2i64, 3].as_slice(), false, x.kind()));
        }
        Outputs::logits(
            Tensor::cat(&pooled, 1)
                .apply(&self.fc1)
                .selu()
                .apply(&self.fc2)
                .selu()
                .apply(&self.out),
        )
    }
}

impl ModuleT for GapNet {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.outputs(xs, train).logits
    }
}
