//! The last loader stage, on the trainer's thread: a host batch of raw bytes goes to the device
//! as it is (uint8 or uint16 pixels, float32 features), and only there becomes float32, z-scored
//! per image and channel, `(x - mean) / (std + 1e-7)` with the population standard deviation,
//! as the paper's code normalises each view. Features were standardised on the host once.

use tch::{Device, Kind, Tensor};

use crate::images::settings::PixelType;

use super::dataset::Dataset;
use super::host_batch::HostBuffer;
use super::models::InputKind;

/// The z-scoring epsilon of the paper's code.
pub const NORMALISE_EPSILON: f64 = 1e-7;

/// How inputs are laid out and typed on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputFormat {
    /// The device.
    pub device: Device,
    /// bfloat16 inputs (with `--bf16`), else float32.
    pub bf16: bool,
    /// Channels-last (NHWC strides) images.
    pub channels_last: bool,
}

/// The batch of `n` items in `buffer` as a float tensor on the device, normalised.
pub fn device_input(ds: &Dataset, buffer: &HostBuffer, n: usize, format: InputFormat) -> Tensor {
    let [c, h, w] = ds.item_shape;
    let bytes = buffer.head(n * ds.item_bytes());
    let n = n as i64;
    let x = match ds.input {
        InputKind::Features => bytes.view_dtype(Kind::Float).view([n, c]),
        InputKind::Views | InputKind::Crops => {
            // tch has no uint16 kind: 16-bit pixels travel as int16 and are unwrapped on
            // the device (a negative int16 is the uint16 value minus 65,536).
            let raw = match ds.dtype {
                PixelType::Uint8 => bytes,
                PixelType::Uint16 => bytes.view_dtype(Kind::Int16),
            };
            raw.view([n, c, h, w])
        }
    };
    let on_device = x.to_device_(format.device, x.kind(), true, false);
    let mut x = on_device.to_kind(Kind::Float);
    if ds.input != InputKind::Features && ds.dtype == PixelType::Uint16 {
        let wrap = x.lt(0.0).to_kind(Kind::Float) * 65536.0;
        x += wrap;
    }
    if ds.input != InputKind::Features {
        let dims = [2i64, 3];
        let mean = x.mean_dim(dims.as_slice(), true, Kind::Float);
        let std = x.std_dim(dims.as_slice(), false, true);
        x = (x - mean) / (std + NORMALISE_EPSILON);
        if format.channels_last {
            x = channels_last(&x);
        }
    }
    if format.bf16 {
        x = x.to_kind(Kind::BFloat16);
    }
    x
}

/// The same 4-D tensor with NHWC strides (PyTorch's channels-last memory format).
pub fn channels_last(x: &Tensor) -> Tensor {
    x.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
}
