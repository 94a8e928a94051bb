//! Venkatraman's permutation test for two ROC curves measured on the same samples (paired:
//! two models scoring the same wells of one task), as the paper compares GapNet with the FNN
//! per task. The null hypothesis is that the two curves are the same curve, not only that their
//! areas are equal.
//!
//! The statistic follows Venkatraman & Begg (1996) and Venkatraman (2000) as R's pROC computes
//! it (`roc.test(method = "venkatraman", paired = TRUE)`): each model's scores become ranks 1..n
//! (ties broken by order); at every rank cut-off x the model's errors are the cases ranked at or
//! below x plus the controls ranked above x, and E is the sum over x of the absolute difference of
//! the two models' error counts. A permutation exchanges, sample by sample with probability 1/2,
//! the two models' ranks (jittered by a uniform ±0.5 so that exchanged ranks do not tie) and
//! re-ranks. The p-value is (1 + #{E* >= E}) / (1 + permutations) (pROC reports #{E* >= E} /
//! permutations, which can be 0; ours never is).
//!
//! ```
//! use assayflow::eval::venkatraman::{paired_test, DEFAULT_PERMUTATIONS};
//! let positive = [false, false, true, true, false, true];
//! let a = [0.1, 0.2, 0.8, 0.9, 0.3, 0.7];
//! // The same scores: E = 0 and no permutation can do better.
//! let same = paired_test(&a, &a, &positive, DEFAULT_PERMUTATIONS, 7).unwrap();
//! assert_eq!((same.statistic, same.p_value), (0.0, 1.0));
//! ```

use crate::rng::SplitMix64;

/// Permutations unless configured (pROC's default `boot.n`).
pub const DEFAULT_PERMUTATIONS: usize = 2000;

/// A test's outcome.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VenkatramanTest {
    /// E of the observed scores.
    pub statistic: f64,
    /// (1 + permutations with E* >= E) / (1 + permutations).
    pub p_value: f64,
    /// Permutations drawn.
    pub permutations: usize,
}

/// Tests two models' `a` and `b` scores of the same samples (`positive` their labels), with
/// `permutations` seeded by `seed`. `None` when the lengths differ, a score is NaN, a class is
/// missing or `permutations` is 0.
pub fn paired_test(
    a: &[f64],
    b: &[f64],
    positive: &[bool],
    permutations: usize,
    seed: u64,
) -> Option<VenkatramanTest> {
    let n = positive.len();
    if a.len() != n || b.len() != n || permutations == 0 {
        return None;
    }
    if a.iter().chain(b).any(|s| s.is_nan()) {
        return None;
    }
    let cases = positive.iter().filter(|&&p| p).count();
    if cases == 0 || cases == n {
        return None;
    }
    let r = ranks_first(a);
    let s = ranks_first(b);
    let observed = statistic(&r, &s, positive);
    let mut rng = SplitMix64::new(seed);
    let (mut r3, mut s3) = (vec![0.0; n], vec![0.0; n]);
    let mut at_least = 0usize;
    for _ in 0..permutations {
        for i in 0..n {
            let r2 = r[i] + rng.unit() - 0.5;
            let s2 = s[i] + rng.unit() - 0.5;
            if rng.chance(0.5) {
                r3[i] = r2;
                s3[i] = s2;
            } else {
                r3[i] = s[i];
                s3[i] = r[i];
            }
        }
        let e = statistic(&ranks_first(&r3), &ranks_first(&s3), positive);
        if e >= observed {
            at_least += 1;
        }
    }
    Some(VenkatramanTest {
        statistic: observed,
        p_value: (1 + at_least) as f64 / (1 + permutations) as f64,
        permutations,
    })
}

/// Ranks 1..n, ties in order of appearance (R's `rank(ties.method = "first")`).
fn ranks_first(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&x, &y| values[x].total_cmp(&values[y]).then(x.cmp(&y)));
    let mut ranks = vec![0.0; values.len()];
    for (rank, &i) in order.iter().enumerate() {
        ranks[i] = (rank + 1) as f64;
    }
    ranks
}

/// E = sum over cut-offs x = 1..n of |errors_b(x) - errors_a(x)|, errors(x) = cases ranked
/// <= x + controls ranked > x, for ranks that are a permutation of 1..n.
fn statistic(r: &[f64], s: &[f64], positive: &[bool]) -> f64 {
    let errors = |ranks: &[f64]| -> Vec<i64> {
        let n = ranks.len();
        // At each rank position: +1 for a case (it becomes a false negative at and after its
        // rank), -1 for a control (it stops being a false positive at its rank).
        let mut step = vec![0i64; n + 1];
        for (&rank, &p) in ranks.iter().zip(positive) {
            // Ranks are whole numbers 1..=n.
            let k = (rank as usize).clamp(1, n);
            step[k] += if p { 1 } else { -1 };
        }
        let controls = positive.iter().filter(|&&p| !p).count() as i64;
        let mut running = controls;
        (1..=n)
            .map(|x| {
                running += step[x];
                running
            })
            .collect()
    };
    let (er, es) = (errors(r), errors(s));
    er.iter().zip(&es).map(|(x, y)| (x - y).abs() as f64).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::auc::roc_auc;

    /// pROC's formula, transcribed literally (O(n^2)).
    fn literal(r: &[f64], s: &[f64], positive: &[bool]) -> f64 {
        let n = positive.len();
        let count = |ranks: &[f64], x: f64| {
            let fn_ = ranks
                .iter()
                .zip(positive)
                .filter(|&(&v, &p)| p && v <= x)
                .count() as i64;
            let fp = ranks
                .iter()
                .zip(positive)
                .filter(|&(&v, &p)| !p && v > x)
                .count() as i64;
            fn_ + fp
        };
        (1..=n)
            .map(|x| (count(s, x as f64) - count(r, x as f64)).abs() as f64)
            .sum()
    }

    #[test]
    fn the_statistic_equals_its_literal_definition() {
        let mut rng = SplitMix64::new(3);
        for _ in 0..300 {
            let n = 2 + rng.index(50);
            let a: Vec<f64> = (0..n).map(|_| rng.below(8) as f64).collect();
            let b: Vec<f64> = (0..n).map(|_| rng.unit()).collect();
            let positive: Vec<bool> = (0..n).map(|_| rng.chance(0.3)).collect();
            let (r, s) = (ranks_first(&a), ranks_first(&b));
            assert_eq!(statistic(&r, &s, &positive), literal(&r, &s, &positive));
        }
    }

    #[test]
    fn ranks_break_ties_in_order() {
        assert_eq!(ranks_first(&[0.5, 0.1, 0.5, 0.1]), vec![3.0, 1.0, 4.0, 2.0]);
    }

    #[test]
    fn a_perfect_model_differs_from_a_random_one() {
        let mut rng = SplitMix64::new(11);
        let positive: Vec<bool> = (0..60).map(|i| i % 3 == 0).collect();
        let perfect: Vec<f64> = positive
            .iter()
            .map(|&p| if p { 0.6 } else { 0.4 } + 0.1 * rng.unit())
            .collect();
        let random: Vec<f64> = (0..60).map(|_| rng.unit()).collect();
        let t = paired_test(&perfect, &random, &positive, 500, 1).unwrap();
        assert!(t.p_value < 0.01, "{t:?}");
        assert!(t.statistic > 0.0);
    }

    #[test]
    fn p_values_are_calibrated_under_the_null_and_seeded() {
        // Two exchangeable noisy readouts of one signal: about 5% of tasks at p < 0.05.
        let mut rng = SplitMix64::new(5);
        let (tasks, mut rejected) = (200, 0);
        for task in 0..tasks {
            let positive: Vec<bool> = (0..40).map(|_| rng.chance(0.4)).collect();
            let signal: Vec<f64> = positive
                .iter()
                .map(|&p| if p { 1.0 } else { 0.0 })
                .collect();
            let a: Vec<f64> = signal.iter().map(|s| s + 1.5 * rng.normal()).collect();
            let b: Vec<f64> = signal.iter().map(|s| s + 1.5 * rng.normal()).collect();
            if roc_auc(&a, &positive).is_none() {
                continue;
            }
            let t = paired_test(&a, &b, &positive, 200, task).unwrap();
            assert_eq!(Some(t), paired_test(&a, &b, &positive, 200, task));
            if t.p_value < 0.05 {
                rejected += 1;
            }
        }
        assert!((2..=25).contains(&rejected), "{rejected} of {tasks}");
    }

    #[test]
    fn undefined_inputs() {
        assert_eq!(paired_test(&[0.1], &[0.2], &[true], 10, 0), None);
        assert_eq!(
            paired_test(&[0.1, 0.2], &[0.2], &[true, false], 10, 0),
            None
        );
        assert_eq!(
            paired_test(&[f64::NAN, 0.2], &[0.2, 0.1], &[true, false], 10, 0),
            None
        );
        assert_eq!(
            paired_test(&[0.1, 0.2], &[0.2, 0.1], &[true, false], 0, 0),
            None
        );
    }
}
