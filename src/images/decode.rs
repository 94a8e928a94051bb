//! One site's channel TIFFs -> one view row of a shard: the pixels in output channel order as
//! little-endian bytes (uint16 raw or the lab's uint8 scaling), per-channel statistics, and a
//! digest of the source files' bytes (for change detection and provenance).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::images::scaling::{saturation_threshold, scale_to_u8};
use crate::images::settings::{ImagesSection, PixelType};
use crate::sources::tiff_image::read_gray16;

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
    /// blake3 over the channel files' digests, in output order (hex).
    pub source_blake3: String,
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
    let mut digests = blake3::Hasher::new();
    for (c, path) in files.iter().enumerate() {
        let (img, digest) = read_gray16(path, Some((w, h))).map_err(|e| DecodeFailure {
            channel: images.channels.get(c).cloned().unwrap_or_default(),
            path: path.clone(),
            reason: e.to_string(),
        })?;
        digests.update(digest.as_bytes());
        let px = &img.pixels;
        let (mut lo, mut hi, mut sum) = (u16::MAX, 0u16, 0u64);
        for &p in px {
            lo = lo.min(p);
            hi = hi.max(p);
            sum += u64::from(p);
        }
        let threshold = saturation_threshold(px, images.saturated_percent);
        stats.min.push(lo);
        stats.max.push(hi);
        stats.mean.push(sum as f64 / px.len().max(1) as f64);
        stats.threshold.push(threshold);
        match images.dtype {
            PixelType::Uint16 => {
                for &p in px {
                    bytes.extend_from_slice(&p.to_le_bytes());
                }
            }
            PixelType::Uint8 => {
                let start = bytes.len();
                bytes.resize(start + plane, 0);
                scale_to_u8(px, threshold, &mut bytes[start..]);
            }
        }
    }
    Ok(DecodedView {
        bytes,
        stats,
        source_blake3: digests.finalize().to_hex().to_string(),
    })
}
