//! ROC AUC by the rank-sum (Mann-Whitney) formula, ties sharing their average rank (equal to
//! scikit-learn's `roc_auc_score`). A task whose labelled samples are all of one class has no
//! AUC ([`roc_auc`] returns `None`); the paper's code scored such a task 0.5.
//!
//! ```
//! use assayflow::eval::auc::roc_auc;
//! assert_eq!(roc_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]), Some(0.75));
//! assert_eq!(roc_auc(&[0.5, 0.5], &[false, true]), Some(0.5));
//! assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None);
//! ```

/// AUC of `scores` for `positive` labels (same length); `None` when a class is missing or a
/// score is NaN.
pub fn roc_auc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    if scores.len() != positive.len() || scores.iter().any(|s| s.is_nan()) {
        return None;
    }
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Sum of the positives' ranks (1-based), ties at their average rank.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        let pos_in_tie = order[i..=j].iter().filter(|&&k| positive[k]).count();
        rank_sum += avg_rank * pos_in_tie as f64;
        i = j + 1;
    }
    let (p, n) = (n_pos as f64, n_neg as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition: the fraction of (positive, negative) pairs ordered right, ties half.
    fn pairs(scores: &[f64], positive: &[bool]) -> f64 {
        let (mut good, mut all) = (0.0, 0.0);
        for (i, &pi) in positive.iter().enumerate() {
            for (j, &pj) in positive.iter().enumerate() {
                if pi && !pj {
                    all += 1.0;
                    good += match scores[i].total_cmp(&scores[j]) {
                        std::cmp::Ordering::Greater => 1.0,
                        std::cmp::Ordering::Equal => 0.5,
                        std::cmp::Ordering::Less => 0.0,
                    };
                }
            }
        }
        good / all
    }

    #[test]
    fn equals_the_pairwise_definition_on_random_tied_scores() {
        let mut rng = crate::rng::SplitMix64::new(7);
        for _ in 0..200 {
            let n = 2 + rng.index(40);
            let scores: Vec<f64> = (0..n).map(|_| rng.below(6) as f64 / 5.0).collect();
            let positive: Vec<bool> = (0..n).map(|_| rng.chance(0.4)).collect();
            match roc_auc(&scores, &positive) {
                Some(a) => assert!((a - pairs(&scores, &positive)).abs() < 1e-12),
                None => assert!(positive.iter().all(|&p| p) || positive.iter().all(|&p| !p)),
            }
        }
    }

    #[test]
    fn perfect_inverted_and_nan() {
        assert_eq!(roc_auc(&[0.1, 0.9], &[false, true]), Some(1.0));
        assert_eq!(roc_auc(&[0.9, 0.1], &[false, true]), Some(0.0));
        assert_eq!(roc_auc(&[f64::NAN, 0.1], &[false, true]), None);
    }
}
