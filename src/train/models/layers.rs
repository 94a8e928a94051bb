//! Building blocks the convolutional models share: bias-free convolutions with Kaiming-normal
//! weights (the torchvision initialisation of ResNet and DenseNet) and batch norm.

use tch::nn;

/// A `k` x `k` convolution (padding `k / 2`), no bias, Kaiming-normal weights for ReLU over
/// `fan` (fan-out for ResNet, fan-in for DenseNet, as torchvision).
pub fn conv_kaiming(
    p: nn::Path,
    i: i64,
    o: i64,
    k: i64,
    stride: i64,
    fan: nn::init::FanInOut,
) -> nn::Conv2D {
    nn::conv2d(
        p,
        i,
        o,
        k,
        nn::ConvConfig {
            stride,
            padding: k / 2,
            bias: false,
            ws_init: nn::Init::Kaiming {
                dist: nn::init::NormalOrUniform::Normal,
                fan,
                non_linearity: nn::init::NonLinearity::ReLU,
            },
            ..Default::default()
        },
    )
}

/// 2-D batch norm over `c` channels with default settings.
pub fn bn(p: nn::Path, c: i64) -> nn::BatchNorm {
    nn::batch_norm2d(p, c, Default::default())
}
