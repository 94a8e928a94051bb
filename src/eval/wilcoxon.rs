//! The paired Wilcoxon signed-rank test, two-sided, as `scipy.stats.wilcoxon(x, y)` computes it
//! with its defaults (zero_method "wilcox": zero differences dropped; no continuity correction;
//! method "auto"): for n <= 50 pairs without ties or zeros the exact null distribution; for
//! n <= 13 pairs with ties or zeros an exact permutation over all 2^n sign flips; otherwise the
//! normal approximation with the tie-corrected variance. Used to compare models over their
//! per-task AUCs (the paper's Table A1).
//!
//! ```
//! use assayflow::eval::wilcoxon::wilcoxon;
//! // Per-task AUCs of two models; scipy.stats.wilcoxon(x, y) gives 2.0 and 0.046875.
//! let x = [0.75, 0.80, 0.66, 0.93, 0.58, 0.77, 0.62];
//! let y = [0.70, 0.74, 0.68, 0.89, 0.55, 0.70, 0.61];
//! let r = wilcoxon(&x, &y).unwrap();
//! assert_eq!((r.method, r.statistic), ("exact", 2.0));
//! assert!((r.p_value - 0.046875).abs() < 1e-12);
//! ```

/// The result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wilcoxon {
    /// min(R+, R-), scipy's two-sided statistic.
    pub statistic: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Non-zero differences used.
    pub n: usize,
    /// "exact", "permutation" or "asymptotic".
    pub method: &'static str,
}

/// Average ranks (from 1) of `v`, and the sizes of its groups of ties.
fn average_ranks(v: &[f64]) -> (Vec<f64>, Vec<usize>) {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut ranks = vec![0.0; v.len()];
    let mut ties = Vec::new();
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = r;
        }
        ties.push(j - i + 1);
        i = j + 1;
    }
    (ranks, ties)
}

/// Counts of the signed-rank statistic T+ over 0..=n(n+1)/2 under the null (no ties).
fn null_counts(n: usize) -> Vec<f64> {
    let max = n * (n + 1) / 2;
    let mut c = vec![0.0; max + 1];
    c[0] = 1.0;
    for k in 1..=n {
        for t in (k..=max).rev() {
            c[t] += c[t - k];
        }
    }
    c
}

/// The standard normal survival function.
fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// erfc with relative error below 1e-14 (continued fraction for large x, series otherwise).
fn erfc(x: f64) -> f64 {
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if x < 2.0 {
        // erf by its Taylor series.
        let mut sum = x;
        let mut term = x;
        let x2 = x * x;
        for k in 1..200 {
            term *= -x2 / k as f64;
            let add = term / (2 * k + 1) as f64;
            sum += add;
            if add.abs() < 1e-17 * sum.abs() {
                break;
            }
        }
        1.0 - 2.0 / std::f64::consts::PI.sqrt() * sum
    } else {
        // Lentz's continued fraction for erfc.
        let tiny = 1e-300;
        let mut f = x;
        let mut c = x;
        let mut d = 0.0;
        for k in 1..500 {
            let a = k as f64 / 2.0;
            d = x + a * d;
            d = if d.abs() < tiny { tiny } else { d };
            c = x + a / c;
            c = if c.abs() < tiny { tiny } else { c };
            d = 1.0 / d;
            let delta = c * d;
            f *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        (-x * x).exp() / (f * std::f64::consts::PI.sqrt())
    }
}

/// The two-sided test of `x` against `y` (same length); `None` without non-zero differences or
/// with NaN.
pub fn wilcoxon(x: &[f64], y: &[f64]) -> Option<Wilcoxon> {
    if x.len() != y.len() || x.iter().chain(y).any(|v| v.is_nan()) {
        return None;
    }
    let all: Vec<f64> = x.iter().zip(y).map(|(a, b)| a - b).collect();
    let zeros = all.iter().filter(|&&d| d == 0.0).count();
    let d: Vec<f64> = all.iter().copied().filter(|&v| v != 0.0).collect();
    let n = d.len();
    if n == 0 {
        return None;
    }
    let abs: Vec<f64> = d.iter().map(|v| v.abs()).collect();
    let (ranks, ties) = average_ranks(&abs);
    let r_plus: f64 = d
        .iter()
        .zip(&ranks)
        .filter(|(v, _)| **v > 0.0)
        .map(|(_, r)| r)
        .sum();
    let r_minus: f64 = d
        .iter()
        .zip(&ranks)
        .filter(|(v, _)| **v < 0.0)
        .map(|(_, r)| r)
        .sum();
    let statistic = r_plus.min(r_minus);
    let has_ties = ties.iter().any(|&t| t > 1);
    let total = all.len();
    let (p, method) = if total <= 50 && !has_ties && zeros == 0 {
        let counts = null_counts(n);
        let all_ways: f64 = counts.iter().sum();
        let k_floor = r_plus.floor() as usize;
        let k_ceil = r_plus.ceil() as usize;
        let sf: f64 = counts[k_floor.min(counts.len())..].iter().sum::<f64>() / all_ways;
        let cdf: f64 = counts[..=k_ceil.min(counts.len() - 1)].iter().sum::<f64>() / all_ways;
        ((2.0 * sf.min(cdf)).min(1.0), "exact")
    } else if total <= 13 {
        // Every sign assignment of the non-zero differences (zeros stay out of the ranks).
        let eps = f64::EPSILON * 100.0 * r_plus.abs();
        let (mut le, mut ge) = (0u64, 0u64);
        let m = 1u64 << n;
        for mask in 0..m {
            let t: f64 = (0..n)
                .filter(|&i| mask >> i & 1 == 1)
                .map(|i| ranks[i])
                .sum();
            if t <= r_plus + eps {
                le += 1;
            }
            if t >= r_plus - eps {
                ge += 1;
            }
        }
        let p = 2.0 * (le.min(ge) as f64) / m as f64;
        (p.min(1.0), "permutation")
    } else {
        let nf = n as f64;
        let mean = nf * (nf + 1.0) / 4.0;
        let tie: f64 = ties.iter().map(|&t| (t * t * t - t) as f64).sum();
        let se = ((nf * (nf + 1.0) * (2.0 * nf + 1.0) - tie / 2.0) / 24.0).sqrt();
        let z = (r_plus - mean) / se;
        ((2.0 * normal_sf(z.abs())).min(1.0), "asymptotic")
    };
    Some(Wilcoxon {
        statistic,
        p_value: p,
        n,
        method,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erfc_matches_known_values() {
        for (x, want) in [
            (0.0, 1.0),
            (0.5, 0.4795001221869535),
            (1.0, 0.15729920705028513),
            (2.0, 0.004677734981047266),
            (3.0, 2.209049699858544e-05),
            (5.0, 1.537_459_794_428_035e-12),
        ] {
            assert!(
                (erfc(x) - want).abs() <= 1e-14 * want.max(1e-300) + 1e-16,
                "{x}: {} vs {want}",
                erfc(x)
            );
        }
    }

    #[test]
    fn p_values_match_scipy_on_the_committed_fixture() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/wilcoxon_scipy.json"
        );
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
        let cases = v["cases"].as_array().expect("cases");
        assert!(cases.len() > 20);
        let nums = |c: &serde_json::Value, k: &str| -> Vec<f64> {
            c[k].as_array()
                .expect("array")
                .iter()
                .map(|x| x.as_f64().expect("number"))
                .collect()
        };
        let mut methods = std::collections::BTreeSet::new();
        for c in cases {
            let r = wilcoxon(&nums(c, "x"), &nums(c, "y")).expect("a test");
            let (p, s) = (
                c["p_value"].as_f64().expect("p"),
                c["statistic"].as_f64().expect("s"),
            );
            assert!(
                (r.p_value - p).abs() < 1e-6,
                "{}: p {} vs scipy {p} ({})",
                c["label"],
                r.p_value,
                r.method
            );
            assert!(
                (r.statistic - s).abs() < 1e-9,
                "{}: statistic {} vs {s}",
                c["label"],
                r.statistic
            );
            methods.insert(r.method);
        }
        assert_eq!(methods.len(), 3, "every regime is covered: {methods:?}");
    }

    #[test]
    fn null_distribution_sums_to_two_to_the_n() {
        for n in 1..20 {
            assert_eq!(null_counts(n).iter().sum::<f64>(), (1u64 << n) as f64);
        }
    }
}
