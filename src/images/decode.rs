//! One site's channel TIFFs -> one view row of a shard: the pixels in output channel order as
//! little-endian bytes (uint16 raw or the lab's uint8 scaling) and per-channel statistics.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::images::scaling::{channel_summary, scale_to_u8};
use crate::images::settings::{ImagesSection, PixelType};
use crate::sources::tiff_image::{TiffImageError, read_gray16};

/// Per-channel statistics of a view, in output channel order (of the 16-bit source).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChannelStats {
    /// Smallest pixel.
    pub min: Vec<u16>,
    /// Largest pixel.
    pub max: Vec<u16>,
    /// Mean pixel.
    pub mean: Vec<f64>,
    /// The 8-bit scaling's saturation threshold.
    pub threshold: Vec<u16>,
}

/// A decoded view.
#[derive(Debug, Clone)]
pub struct DecodedView {
    /// The shard row's bytes.
    pub bytes: Vec<u8>,
    /// Statistics.
    pub stats: ChannelStats,
}

/// Why a site could not be converted: the failing channel and file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeFailure {
    /// Output channel (stain).
    pub channel: String,
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub reason: String,
}

/// Decodes the files of one site (one per output channel) into a shard row.
pub fn decode_view(
    files: &[PathBuf],
    images: &ImagesSection,
) -> Result<DecodedView, DecodeFailure> {
    let (w, h) = (images.width, images.height);
    let plane = w as usize * h as usize;
    let mut bytes = Vec::with_capacity(plane * files.len() * images.dtype.bytes());
    let mut stats = ChannelStats::default();
    for (c, path) in files.iter().enumerate() {
        let failure = |e: TiffImageError| DecodeFailure {
            channel: images.channels.get(c).cloned().unwrap_or_default(),
            path: path.clone(),
            reason: e.to_string(),
        };
        let img = read_gray16(path, Some((w, h))).map_err(failure)?;
        let px = &img.pixels;
        let (lo, hi, sum, threshold) = channel_summary(px, images.saturated_percent);
        stats.min.push(lo);
        stats.max.push(hi);
        stats.mean.push(sum as f64 / px.len().max(1) as f64);
        stats.threshold.push(threshold);
        let start = bytes.len();
        match images.dtype {
            PixelType::Uint16 => {
                bytes.resize(start + plane * 2, 0);
                for (d, p) in bytes[start..].chunks_exact_mut(2).zip(px) {
                    d.copy_from_slice(&p.to_le_bytes());
                }
            }
            PixelType::Uint8 => {
                bytes.resize(start + plane, 0);
                scale_to_u8(px, threshold, &mut bytes[start..]);
            }
        }
    }
    Ok(DecodedView { bytes, stats })
}
