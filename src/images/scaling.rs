//! The lab's 16-bit -> 8-bit channel scaling (ml-jku preprocessing, the format the paper's
//! authors trained on): per image and channel, the `saturated_percent` brightest pixels
//! saturate. With `n = round(H * W * saturated_percent / 100)` (half to even, as numpy), the
//! threshold `t` is the smallest of the `n` brightest pixels and each pixel becomes
//! `min(255, floor(v * 256 / t))` in exact integer arithmetic (an all-zero image stays zero).
//!
//! The lab's code computes `v * (256.0 / t)` in floating point; on both real sites in
//! `../shared` the two agree on every pixel (tests/fixtures/cellpainting_real_sites.json).
//!
//! ```
//! use assayflow::images::scaling::{saturation_threshold, scale_to_u8};
//! let pixels: Vec<u16> = (0..1000).collect();
//! let t = saturation_threshold(&pixels, 1.0); // the 10 brightest saturate
//! assert_eq!(t, 990);
//! let mut out = vec![0u8; pixels.len()];
//! scale_to_u8(&pixels, t, &mut out);
//! assert_eq!((out[0], out[495], out[989], out[999]), (0, 128, 255, 255));
//! ```

/// The paper lab's share of saturated pixels, in percent.
pub const DEFAULT_SATURATED_PERCENT: f64 = 0.0028;

/// How many pixels saturate in an image of `pixels` pixels (numpy's `around`: half to even).
pub fn saturated_count(pixels: usize, saturated_percent: f64) -> usize {
    let r = (pixels as f64 * saturated_percent / 100.0).round_ties_even();
    r.max(0.0) as usize
}

/// The smallest of the `saturated_count` brightest pixels (the image's maximum when that
/// count is 0; 0 for an empty image).
pub fn saturation_threshold(pixels: &[u16], saturated_percent: f64) -> u16 {
    let n = saturated_count(pixels.len(), saturated_percent);
    if pixels.is_empty() {
        return 0;
    }
    if n == 0 {
        return pixels.iter().copied().max().unwrap_or(0);
    }
    let mut histogram = vec![0u32; 1 << 16];
    for &p in pixels {
        histogram[usize::from(p)] += 1;
    }
    let mut seen = 0usize;
    for value in (0..histogram.len()).rev() {
        seen += histogram[value] as usize;
        if seen >= n {
            return value as u16;
        }
    }
    0
}

/// Largest count of saturated pixels [`channel_summary`] tracks directly; above it the
/// threshold comes from a histogram.
pub const DEFAULT_TOP_TRACKED: usize = 64;

/// One pass over a channel: (min, max, sum, saturation threshold). Equal to
/// `saturation_threshold` and the obvious min/max/sum, but the few brightest pixels are kept in
/// a small sorted array instead of a 65,536-bin histogram (one compare per pixel).
pub fn channel_summary(pixels: &[u16], saturated_percent: f64) -> (u16, u16, u64, u16) {
    let n = saturated_count(pixels.len(), saturated_percent);
    // Pass 1 (vectorised): min, max, sum.
    let (lo, hi, sum) = pixels
        .chunks(4096)
        .fold((u16::MAX, 0u16, 0u64), |(lo, hi, sum), c| {
            let (mut l, mut h, mut s) = (u16::MAX, 0u16, 0u32);
            for &p in c {
                l = l.min(p);
                h = h.max(p);
                s += u32::from(p);
            }
            (lo.min(l), hi.max(h), sum + u64::from(s))
        });
    if n > DEFAULT_TOP_TRACKED {
        return (lo, hi, sum, saturation_threshold(pixels, saturated_percent));
    }
    if pixels.is_empty() {
        return (0, 0, 0, 0);
    }
    if n == 0 {
        return (lo, hi, sum, hi);
    }
    // Pass 2: the n brightest, in a small ascending array; once it is full a pixel enters
    // only when brighter than its smallest (rare: the branch predicts well).
    let mut top = [0u16; DEFAULT_TOP_TRACKED];
    let mut filled = 0usize;
    for &p in pixels {
        if filled < n {
            let at = top[..filled].partition_point(|&t| t < p);
            top.copy_within(at..filled, at + 1);
            top[at] = p;
            filled += 1;
        } else if p > top[0] {
            let at = top[..n].partition_point(|&t| t < p);
            top.copy_within(1..at, 0);
            top[at - 1] = p;
        }
    }
    (lo, hi, sum, top[0])
}

/// Scales `pixels` into `out` with threshold `t` (see the module docs).
pub fn scale_to_u8(pixels: &[u16], threshold: u16, out: &mut [u8]) {
    if threshold == 0 {
        out.fill(0);
        return;
    }
    let t = u32::from(threshold);
    for (o, &p) in out.iter_mut().zip(pixels) {
        *o = (u32::from(p) * 256 / t).min(255) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_rounds_half_to_even_like_numpy() {
        // 696 x 520 at 0.0028%: 10.13 -> 10; 1080 x 1080: 32.66 -> 33.
        assert_eq!(saturated_count(696 * 520, DEFAULT_SATURATED_PERCENT), 10);
        assert_eq!(saturated_count(1080 * 1080, DEFAULT_SATURATED_PERCENT), 33);
        assert_eq!(saturated_count(250, 1.0), 2); // 2.5 -> 2
        assert_eq!(saturated_count(350, 1.0), 4); // 3.5 -> 4
    }

    #[test]
    fn one_pass_summary_equals_the_histogram_threshold() {
        let mut rng = crate::rng::SplitMix64::new(3);
        for len in [0usize, 1, 5, 100, 5000, 361_920] {
            let px: Vec<u16> = (0..len)
                .map(|_| (rng.below(4096) as u16).saturating_mul(1 + rng.below(3) as u16))
                .collect();
            for percent in [0.0, DEFAULT_SATURATED_PERCENT, 0.5, 1.0, 5.0] {
                let (lo, hi, sum, t) = channel_summary(&px, percent);
                assert_eq!(t, saturation_threshold(&px, percent), "{len} {percent}");
                assert_eq!(hi, px.iter().copied().max().unwrap_or(0));
                if len > 0 {
                    assert_eq!(lo, px.iter().copied().min().unwrap_or(0));
                }
                assert_eq!(sum, px.iter().map(|&p| u64::from(p)).sum::<u64>());
            }
        }
    }

    #[test]
    fn threshold_counts_ties() {
        let mut px = vec![5u16; 100];
        px[..3].fill(9);
        // 1% of 100 = 1 pixel saturates: the brightest (9).
        assert_eq!(saturation_threshold(&px, 1.0), 9);
        // 5 pixels: 9, 9, 9, 5, 5 -> 5.
        assert_eq!(saturation_threshold(&px, 5.0), 5);
        assert_eq!(saturation_threshold(&[0, 0, 0], 50.0), 0);
        let mut out = [1u8; 3];
        scale_to_u8(&[0, 0, 0], 0, &mut out);
        assert_eq!(out, [0, 0, 0]);
    }
}
