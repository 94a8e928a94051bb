//! Single-cell crops for SC-CNN: a `size` x `size` square of every channel around a nucleus
//! centre, cut from a view's shard row (so crops carry the view's pixel type and scaling).
//!
//! The crop of a centre (x, y) (CellProfiler's `Location_Center_X/Y`, pixels, x along a row)
//! covers columns `round(x) - size/2 .. round(x) + size/2` and the same rows around `round(y)`.
//! A centre outside the image is an error of the input (a reject); a crop that crosses the
//! border is skipped or zero-padded as [`BorderPolicy`] says.
//!
//! ```
//! use assayflow::images::crops::{cut_crop, CropOutcome};
//! use assayflow::images::settings::BorderPolicy;
//! // One uint8 channel of 4x4 pixels valued by position; a 2x2 crop around (1.2, 2.0).
//! let view: Vec<u8> = (0..16).collect();
//! let (w, h) = (4, 4);
//! match cut_crop(&view, 1, w, h, 1, 1.2, 2.0, 2, BorderPolicy::Skip) {
//!     CropOutcome::Crop { bytes, padded } => {
//!         assert_eq!(bytes, vec![4, 5, 8, 9]);
//!         assert!(!padded);
//!     }
//!     other => panic!("{other:?}"),
//! }
//! ```

use crate::images::settings::BorderPolicy;

/// What cutting a crop gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CropOutcome {
    /// The crop's bytes (channels x size x size), and whether any part was padding.
    Crop {
        /// Bytes, C-ordered.
        bytes: Vec<u8>,
        /// Some pixels lie outside the image (zeros).
        padded: bool,
    },
    /// The crop crosses the border and the policy skips such cells.
    SkippedAtBorder,
    /// The centre lies outside the image.
    CentreOutside,
}

/// Cuts the crop around (x, y) from a view row of `channels` planes of `w` x `h` pixels of
/// `item` bytes each.
#[allow(clippy::too_many_arguments)]
pub fn cut_crop(
    view: &[u8],
    channels: usize,
    w: u32,
    h: u32,
    item: usize,
    x: f64,
    y: f64,
    size: u32,
    border: BorderPolicy,
) -> CropOutcome {
    if !(x.is_finite() && y.is_finite())
        || x < 0.0
        || y < 0.0
        || x >= f64::from(w)
        || y >= f64::from(h)
    {
        return CropOutcome::CentreOutside;
    }
    let half = i64::from(size / 2);
    let (cx, cy) = (x.round() as i64, y.round() as i64);
    let (x0, y0) = (cx - half, cy - half);
    let inside = x0 >= 0
        && y0 >= 0
        && x0 + i64::from(size) <= i64::from(w)
        && y0 + i64::from(size) <= i64::from(h);
    if !inside && border == BorderPolicy::Skip {
        return CropOutcome::SkippedAtBorder;
    }
    let size = size as usize;
    let (w, h) = (w as usize, h as usize);
    let mut bytes = vec![0u8; channels * size * size * item];
    for c in 0..channels {
        let plane = &view[c * w * h * item..(c + 1) * w * h * item];
        for r in 0..size {
            let sy = y0 + r as i64;
            if sy < 0 || sy >= h as i64 {
                continue;
            }
            // The part of the crop row inside the image.
            let from = x0.max(0);
            let to = (x0 + size as i64).min(w as i64);
            if from >= to {
                continue;
            }
            let src = (sy as usize * w + from as usize) * item;
            let len = (to - from) as usize * item;
            let dst = ((c * size + r) * size + (from - x0) as usize) * item;
            bytes[dst..dst + len].copy_from_slice(&plane[src..src + len]);
        }
    }
    CropOutcome::Crop {
        bytes,
        padded: !inside,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn border_crops_are_skipped_or_padded_and_outside_centres_named() {
        let view: Vec<u8> = (0..16).collect();
        assert_eq!(
            cut_crop(&view, 1, 4, 4, 1, 0.0, 0.0, 2, BorderPolicy::Skip),
            CropOutcome::SkippedAtBorder
        );
        assert_eq!(
            cut_crop(&view, 1, 4, 4, 1, 0.0, 0.0, 2, BorderPolicy::Pad),
            CropOutcome::Crop {
                bytes: vec![0, 0, 0, 0],
                padded: true
            }
        );
        assert_eq!(
            cut_crop(&view, 1, 4, 4, 1, 3.4, 3.0, 2, BorderPolicy::Pad),
            CropOutcome::Crop {
                bytes: vec![10, 11, 14, 15],
                padded: false
            }
        );
        assert_eq!(
            cut_crop(&view, 1, 4, 4, 1, 4.0, 1.0, 2, BorderPolicy::Pad),
            CropOutcome::CentreOutside
        );
        // Two channels of 16-bit pixels keep both bytes of each pixel.
        let view16: Vec<u8> = (0..64).collect();
        match cut_crop(&view16, 2, 4, 4, 2, 2.0, 2.0, 2, BorderPolicy::Skip) {
            CropOutcome::Crop { bytes, .. } => {
                assert_eq!(&bytes[..4], &[10, 11, 12, 13]);
                assert_eq!(&bytes[8..12], &[42, 43, 44, 45]);
            }
            other => panic!("{other:?}"),
        }
    }
}
