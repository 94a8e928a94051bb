//! ResNet-101 (He et al. 2016) with a five-channel stem: a 7x7/2 convolution of `channels`
//! inputs to 64, batch norm, ReLU, 3x3/2 max-pool; bottleneck stages of [3, 4, 23, 3] blocks
//! (widths 64, 128, 256, 512, expansion 4; the stride sits on the 3x3 convolution); global
//! average pooling and one linear layer to the tasks. 42,934,673 parameters with 209 tasks.

use tch::Tensor;
use tch::nn::{self, ModuleT};

use super::layers::{bn, conv_kaiming};

/// Blocks per stage of ResNet-101.
pub const RESNET101_BLOCKS: [usize; 4] = [3, 4, 23, 3];

fn conv(p: nn::Path, i: i64, o: i64, k: i64, stride: i64) -> nn::Conv2D {
    conv_kaiming(p, i, o, k, stride, nn::init::FanInOut::FanOut)
}

#[derive(Debug)]
struct Bottleneck {
    c1: nn::Conv2D,
    b1: nn::BatchNorm,
    c2: nn::Conv2D,
    b2: nn::BatchNorm,
    c3: nn::Conv2D,
    b3: nn::BatchNorm,
    down: Option<(nn::Conv2D, nn::BatchNorm)>,
}

impl Bottleneck {
    fn new(p: nn::Path, i: i64, width: i64, stride: i64) -> Bottleneck {
        let o = width * 4;
        Bottleneck {
            c1: conv(&p / "conv1", i, width, 1, 1),
            b1: bn(&p / "bn1", width),
            c2: conv(&p / "conv2", width, width, 3, stride),
            b2: bn(&p / "bn2", width),
            c3: conv(&p / "conv3", width, o, 1, 1),
            b3: bn(&p / "bn3", o),
            down: (stride != 1 || i != o).then(|| {
                (
                    conv(&p / "downsample" / "0", i, o, 1, stride),
                    bn(&p / "downsample" / "1", o),
                )
            }),
        }
    }

    fn forward(&self, x: &Tensor, train: bool) -> Tensor {
        let y = x
            .apply(&self.c1)
            .apply_t(&self.b1, train)
            .relu()
            .apply(&self.c2)
            .apply_t(&self.b2, train)
            .relu()
            .apply(&self.c3)
            .apply_t(&self.b3, train);
        let shortcut = match &self.down {
            Some((c, b)) => x.apply(c).apply_t(b, train),
            None => x.shallow_clone(),
        };
        (y + shortcut).relu()
    }
}

/// ResNet-101 for `channels` inputs and `tasks` outputs.
#[derive(Debug)]
pub struct ResNet {
    stem: nn::Conv2D,
    stem_bn: nn::BatchNorm,
    stages: Vec<Vec<Bottleneck>>,
    fc: nn::Linear,
}

impl ResNet {
    /// ResNet-101 under `p`.
    pub fn resnet101(p: &nn::Path, channels: i64, tasks: i64) -> ResNet {
        let mut stages = Vec::new();
        let mut inputs = 64;
        for (s, (&n, width)) in RESNET101_BLOCKS
            .iter()
            .zip([64i64, 128, 256, 512])
            .enumerate()
        {
            let stage = p / format!("layer{}", s + 1);
            let blocks = (0..n)
                .map(|b| {
                    let stride = if b == 0 && s > 0 { 2 } else { 1 };
                    let block = Bottleneck::new(&stage / b.to_string(), inputs, width, stride);
                    inputs = width * 4;
                    block
                })
                .collect();
            stages.push(blocks);
        }
        ResNet {
            stem: conv(p / "conv1", channels, 64, 7, 2),
            stem_bn: bn(p / "bn1", 64),
            stages,
            fc: nn::linear(p / "fc", 2048, tasks, Default::default()),
        }
    }
}

impl ModuleT for ResNet {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let mut x = xs
            .apply(&self.stem)
            .apply_t(&self.stem_bn, train)
            .relu()
            .max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false);
        for stage in &self.stages {
            for block in stage {
                x = block.forward(&x, train);
            }
        }
        let kind = x.kind();
        x.mean_dim([2i64, 3].as_slice(), false, kind)
            .apply(&self.fc)
    }
}

impl super::Network for ResNet {
    fn outputs(&self, xs: &Tensor, train: bool) -> super::Outputs {
        super::Outputs::logits(self.forward_t(xs, train))
    }
}
