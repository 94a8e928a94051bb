//! MIL-Net (Kraus et al. 2016, as in the paper's code): a convolutional stack that ends in one
//! sigmoid map per task, noisy-AND pooling of each map (`a` = 10, a threshold `b` learned per
//! task, initialised to 0.1), then a linear layer from the pooled values to the task logits.
//!
//! | layers | notes |
//! | --- | --- |
//! | avg-pool 3/2; conv 3x3 c->32; conv 3x3 32->64; max-pool 3/2 | ReLU after each convolution |
//! | conv 5x5 64->64; max-pool 3/2 | dropout 0.2 after each pool |
//! | conv 3x3 64->128; max-pool 3/2; conv 3x3 128->128; max-pool 3/2 | no padding anywhere |
//! | conv 1x1 128->1000; dropout 0.5; conv 1x1 1000->tasks; sigmoid | the per-task maps |
//!
//! Noisy-AND of a map with mean `m`: `(σ(a(m - b)) - σ(-ab)) / (σ(a(1 - b)) - σ(-ab))`.
//! 726,180 parameters with 209 tasks. The pooled values are an auxiliary output: the loss adds
//! their binary cross-entropy to the logits' (see [`crate::train::loss`]). The authors' code fed
//! the pooled probabilities to a logit loss; here they get the probability form.
//! Xavier-normal weights and zero biases, as the authors' code.

use tch::Tensor;
use tch::nn::{self, ModuleT};

use super::{Network, Outputs};

/// The paper's noisy-AND slope.
pub const DEFAULT_NOISY_AND_A: f64 = 10.0;
/// The initial noisy-AND threshold of every task.
pub const DEFAULT_NOISY_AND_B: f64 = 0.1;
/// The smallest input side: the unpadded stack needs 135 pixels to leave a 3 x 3 map for its
/// last max-pool.
pub const MIN_SIDE: i64 = 135;

/// MIL-Net for `channels` inputs and `tasks` outputs.
#[derive(Debug)]
pub struct MilNet {
    convs: Vec<nn::Conv2D>,
    thresholds: Tensor,
    classifier: nn::Linear,
    a: f64,
}

fn conv(p: nn::Path, i: i64, o: i64, k: i64) -> nn::Conv2D {
    nn::conv2d(
        p,
        i,
        o,
        k,
        nn::ConvConfig {
            ws_init: xavier_normal(i * k * k, o * k * k),
            bs_init: nn::Init::Const(0.0),
            ..Default::default()
        },
    )
}

/// Xavier (Glorot) normal initialisation for the given fans.
pub(crate) fn xavier_normal(fan_in: i64, fan_out: i64) -> nn::Init {
    nn::Init::Randn {
        mean: 0.0,
        stdev: (2.0 / (fan_in + fan_out) as f64).sqrt(),
    }
}

impl MilNet {
    /// Builds the network's variables under `p`.
    pub fn new(p: &nn::Path, channels: i64, tasks: i64) -> MilNet {
        let convs = vec![
            conv(p / "conv1", channels, 32, 3),
            conv(p / "conv2", 32, 64, 3),
            conv(p / "conv3", 64, 64, 5),
            conv(p / "conv4", 64, 128, 3),
            conv(p / "conv5", 128, 128, 3),
            conv(p / "conv6", 128, 1000, 1),
            conv(p / "maps", 1000, tasks, 1),
        ];
        let thresholds = p.var(
            "noisy_and_b",
            &[tasks],
            nn::Init::Const(DEFAULT_NOISY_AND_B),
        );
        let classifier = nn::linear(
            p / "classifier",
            tasks,
            tasks,
            nn::LinearConfig {
                ws_init: xavier_normal(tasks, tasks),
                bs_init: Some(nn::Init::Const(0.0)),
                bias: true,
            },
        );
        MilNet {
            convs,
            thresholds,
            classifier,
            a: DEFAULT_NOISY_AND_A,
        }
    }

    fn pool(x: Tensor) -> Tensor {
        x.max_pool2d([3, 3], [2, 2], [0, 0], [1, 1], false)
    }
}

impl Network for MilNet {
    fn outputs(&self, xs: &Tensor, train: bool) -> Outputs {
        let c = &self.convs;
        let x = xs.avg_pool2d([3, 3], [2, 2], [0, 0], false, true, None::<i64>);
        let x = x.apply(&c[0]).relu().apply(&c[1]).relu();
        let x = Self::pool(x).dropout(0.2, train);
        let x = Self::pool(x.apply(&c[2]).relu()).dropout(0.2, train);
        let x = Self::pool(x.apply(&c[3]).relu()).dropout(0.2, train);
        let x = Self::pool(x.apply(&c[4]).relu()).dropout(0.2, train);
        let maps = x
            .apply(&c[5])
            .relu()
            .dropout(0.5, train)
            .apply(&c[6])
            .sigmoid();
        let mean = maps.mean_dim([2i64, 3].as_slice(), false, maps.kind());
        let (a, b) = (self.a, &self.thresholds);
        let low = (b * -a).sigmoid();
        let high = ((b * -1.0 + 1.0) * a).sigmoid();
        let pooled = (((mean - b) * a).sigmoid() - &low) / (high - &low);
        Outputs {
            logits: pooled.apply(&self.classifier),
            pooled: Some(pooled),
        }
    }
}

impl ModuleT for MilNet {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.outputs(xs, train).logits
    }
}
