//! DenseNet-121 (Huang et al. 2017) with a five-channel stem: a 7x7/2 convolution of `channels`
//! inputs to 64 features, batch norm, ReLU, 3x3/2 max-pool; dense blocks of [6, 12, 24, 16]
//! layers (each: BN, ReLU, 1x1 conv to 4 x 32, BN, ReLU, 3x3 conv to 32 new features,
//! concatenated), transitions (BN, ReLU, 1x1 conv halving the features, 2x2 average pool);
//! a final BN, ReLU, global average pooling and one linear layer. 7,174,353 parameters with
//! 209 tasks.

use tch::Tensor;
use tch::nn::{self, ModuleT};

use super::layers::{bn, conv_kaiming};

/// Growth rate.
pub const GROWTH: i64 = 32;
/// Layers per dense block.
pub const DENSENET121_BLOCKS: [i64; 4] = [6, 12, 24, 16];
/// Bottleneck width factor.
pub const BN_SIZE: i64 = 4;

fn conv(p: nn::Path, i: i64, o: i64, k: i64, stride: i64) -> nn::Conv2D {
    conv_kaiming(p, i, o, k, stride, nn::init::FanInOut::FanIn)
}

#[derive(Debug)]
struct DenseLayer {
    n1: nn::BatchNorm,
    c1: nn::Conv2D,
    n2: nn::BatchNorm,
    c2: nn::Conv2D,
}

#[derive(Debug)]
struct Transition {
    n: nn::BatchNorm,
    c: nn::Conv2D,
}

/// DenseNet-121 for `channels` inputs and `tasks` outputs.
#[derive(Debug)]
pub struct DenseNet {
    stem: nn::Conv2D,
    stem_bn: nn::BatchNorm,
    blocks: Vec<Vec<DenseLayer>>,
    transitions: Vec<Transition>,
    final_bn: nn::BatchNorm,
    classifier: nn::Linear,
}

impl DenseNet {
    /// DenseNet-121 under `p`.
    pub fn densenet121(p: &nn::Path, channels: i64, tasks: i64) -> DenseNet {
        let f = p / "features";
        let mut features = 64;
        let mut blocks = Vec::new();
        let mut transitions = Vec::new();
        for (b, &layers) in DENSENET121_BLOCKS.iter().enumerate() {
            let block = &f / format!("denseblock{}", b + 1);
            let mut v = Vec::new();
            for l in 0..layers {
                let q = &block / format!("denselayer{}", l + 1);
                v.push(DenseLayer {
                    n1: bn(&q / "norm1", features),
                    c1: conv(&q / "conv1", features, BN_SIZE * GROWTH, 1, 1),
                    n2: bn(&q / "norm2", BN_SIZE * GROWTH),
                    c2: conv(&q / "conv2", BN_SIZE * GROWTH, GROWTH, 3, 1),
                });
                features += GROWTH;
            }
            blocks.push(v);
            if b + 1 < DENSENET121_BLOCKS.len() {
                let t = &f / format!("transition{}", b + 1);
                transitions.push(Transition {
                    n: bn(&t / "norm", features),
                    c: conv(&t / "conv", features, features / 2, 1, 1),
                });
                features /= 2;
            }
        }
        DenseNet {
            stem: conv(&f / "conv0", channels, 64, 7, 2),
            stem_bn: bn(&f / "norm0", 64),
            blocks,
            transitions,
            final_bn: bn(&f / "norm5", features),
            classifier: nn::linear(p / "classifier", features, tasks, Default::default()),
        }
    }
}

impl ModuleT for DenseNet {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let mut x = xs
            .apply(&self.stem)
            .apply_t(&self.stem_bn, train)
            .relu()
            .max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false);
        for (b, block) in self.blocks.iter().enumerate() {
            for l in block {
                let y = x
                    .apply_t(&l.n1, train)
                    .relu()
                    .apply(&l.c1)
                    .apply_t(&l.n2, train)
                    .relu()
                    .apply(&l.c2);
                x = Tensor::cat(&[x, y], 1);
            }
            if let Some(t) = self.transitions.get(b) {
                x = x.apply_t(&t.n, train).relu().apply(&t.c).avg_pool2d(
                    [2, 2],
                    [2, 2],
                    [0, 0],
                    false,
                    true,
                    None::<i64>,
                );
            }
        }
        let x = x.apply_t(&self.final_bn, train).relu();
        let kind = x.kind();
        x.mean_dim([2i64, 3].as_slice(), false, kind)
            .apply(&self.classifier)
    }
}

impl super::Network for DenseNet {
    fn outputs(&self, xs: &Tensor, train: bool) -> super::Outputs {
        super::Outputs::logits(self.forward_t(xs, train))
    }
}
