//! F1 at a probability threshold (0.5 by default, [`DEFAULT_THRESHOLD`]): a sample is predicted
//! active when its probability is at least the threshold; F1 = 2 TP / (2 TP + FP + FN), and 0
//! when there is no true or predicted positive (scikit-learn's `f1_score(..., zero_division=0)`).
//!
//! ```
//! use assayflow::eval::f1::f1;
//! assert_eq!(f1(&[0.9, 0.6, 0.2, 0.7], &[true, false, false, true], 0.5), 0.8);
//! ```

/// The paper's threshold.
pub const DEFAULT_THRESHOLD: f64 = 0.5;

/// F1 of `scores >= threshold` against `positive`.
pub fn f1(scores: &[f64], positive: &[bool], threshold: f64) -> f64 {
    let (mut tp, mut fp, mut fn_) = (0u64, 0u64, 0u64);
    for (&s, &y) in scores.iter().zip(positive) {
        match (s >= threshold, y) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fn_ += 1,
            (false, false) => {}
        }
    }
    let denominator = 2 * tp + fp + fn_;
    if denominator == 0 {
        0.0
    } else {
        (2 * tp) as f64 / denominator as f64
    }
}

/// The threshold that maximises F1 on `scores` (one of the scores; the highest of equally good
/// ones), for choosing a task's threshold on validation wells and applying it to test wells.
/// `None` without a positive sample or with a NaN score.
pub fn best_threshold(scores: &[f64], positive: &[bool]) -> Option<f64> {
    if scores.len() != positive.len() || scores.iter().any(|s| s.is_nan()) {
        return None;
    }
    let positives = positive.iter().filter(|&&p| p).count() as u64;
    if positives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    // Lower the threshold one distinct score at a time: TP and FP grow.
    let (mut tp, mut fp) = (0u64, 0u64);
    let mut best: Option<(u64, u64, f64)> = None; // (2TP, 2TP + FP + FN, threshold)
    let mut i = 0;
    while i < order.len() {
        let t = scores[order[i]];
        while i < order.len() && scores[order[i]] == t {
            if positive[order[i]] {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        let (num, den) = (2 * tp, 2 * tp + fp + (positives - tp));
        // num/den > best_num/best_den, compared exactly.
        let better = best
            .is_none_or(|(bn, bd, _)| (num as u128) * (bd as u128) > (bn as u128) * (den as u128));
        if better {
            best = Some((num, den, t));
        }
    }
    best.map(|(_, _, t)| t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::auc::roc_auc;

    #[test]
    fn auc_and_f1_match_scikit_learn_on_the_committed_fixture() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/metrics_sklearn.json"
        );
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
        let cases = v["cases"].as_array().expect("cases");
        assert!(cases.len() >= 40);
        for (i, c) in cases.iter().enumerate() {
            let s: Vec<f64> = c["scores"]
                .as_array()
                .expect("scores")
                .iter()
                .map(|x| x.as_f64().expect("f64"))
                .collect();
            let y: Vec<bool> = c["labels"]
                .as_array()
                .expect("labels")
                .iter()
                .map(|x| x.as_bool().expect("bool"))
                .collect();
            let auc = roc_auc(&s, &y).expect("two classes");
            let want = c["auc"].as_f64().expect("auc");
            assert!(
                (auc - want).abs() < 1e-12,
                "case {i}: AUC {auc} vs sklearn {want}"
            );
            let f = f1(&s, &y, DEFAULT_THRESHOLD);
            let want = c["f1"].as_f64().expect("f1");
            assert!(
                (f - want).abs() < 1e-12,
                "case {i}: F1 {f} vs sklearn {want}"
            );
        }
    }

    #[test]
    fn the_best_threshold_is_the_best_of_all_scores() {
        let mut rng = crate::rng::SplitMix64::new(9);
        for _ in 0..200 {
            let n = 1 + rng.index(30);
            let s: Vec<f64> = (0..n).map(|_| rng.below(7) as f64 / 6.0).collect();
            let y: Vec<bool> = (0..n).map(|_| rng.chance(0.4)).collect();
            let Some(t) = best_threshold(&s, &y) else {
                assert!(y.iter().all(|&p| !p));
                continue;
            };
            let got = f1(&s, &y, t);
            for &c in &s {
                let other = f1(&s, &y, c);
                assert!(other <= got + 1e-15, "{c} gives {other} > {got} at {t}");
                if other == got {
                    assert!(c <= t, "the highest of equally good thresholds");
                }
            }
        }
    }

    #[test]
    fn no_positive_anywhere_scores_zero() {
        assert_eq!(f1(&[0.1, 0.2], &[false, false], 0.5), 0.0);
    }
}
