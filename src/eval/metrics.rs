//! Per-task metrics of one model and their summary over tasks: the numbers of the paper's
//! Table 1 row (mean ± sd of AUC and F1, tasks with AUC above 0.9 / 0.8 / 0.7).
//!
//! [`task_metrics`] scores one task's evaluation samples (wells or compounds of the test split),
//! with the threshold for F1 fixed or chosen on the validation samples
//! ([`ThresholdPolicy`]); [`Summary::of`] aggregates tasks, with a single-class task either
//! undefined and excluded (counted in [`Summary::undefined`]) or scored 0.5 as the authors' code
//! did ([`OneClassPolicy`]). Standard deviations are population ones (numpy's default).
//!
//! ```
//! use assayflow::eval::metrics::{task_metrics, OneClassPolicy, Summary, ThresholdPolicy};
//! let good = task_metrics(&[0.9, 0.8, 0.2, 0.1], &[true, true, false, false], None,
//!     ThresholdPolicy::Fixed(0.5), OneClassPolicy::Exclude);
//! let one_class = task_metrics(&[0.9, 0.2], &[true, true], None,
//!     ThresholdPolicy::Fixed(0.5), OneClassPolicy::Exclude);
//! let s = Summary::of(&[good, one_class]);
//! assert_eq!((s.tasks, s.defined, s.undefined, s.auc_mean, s.above_0_9), (2, 1, 1, 1.0, 1));
//! ```

use std::fmt;
use std::str::FromStr;

use super::auc::roc_auc;
use super::f1::{DEFAULT_THRESHOLD, best_threshold, f1};

/// What a task with one class among its evaluation samples scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OneClassPolicy {
    /// No AUC: excluded from means and counts, counted as undefined.
    #[default]
    Exclude,
    /// AUC 0.5, as the paper's code (and its F1 as computed).
    Half,
}

impl FromStr for OneClassPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "exclude" => Ok(OneClassPolicy::Exclude),
            "half" => Ok(OneClassPolicy::Half),
            _ => Err(format!("{s:?}: expected exclude or half")),
        }
    }
}

impl fmt::Display for OneClassPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OneClassPolicy::Exclude => "exclude",
            OneClassPolicy::Half => "half",
        })
    }
}

/// How the F1 threshold is set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ThresholdPolicy {
    /// One threshold for every task (0.5 by default).
    Fixed(f64),
    /// Per task, the threshold that maximises F1 on the validation samples (0.5 when the
    /// validation samples have no active).
    ChosenOnValidation,
}

impl Default for ThresholdPolicy {
    fn default() -> Self {
        ThresholdPolicy::Fixed(DEFAULT_THRESHOLD)
    }
}

impl fmt::Display for ThresholdPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ThresholdPolicy::Fixed(t) => write!(f, "{t}"),
            ThresholdPolicy::ChosenOnValidation => f.write_str("validation"),
        }
    }
}

impl FromStr for ThresholdPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "validation" {
            return Ok(ThresholdPolicy::ChosenOnValidation);
        }
        match s.parse::<f64>() {
            Ok(t) if (0.0..=1.0).contains(&t) => Ok(ThresholdPolicy::Fixed(t)),
            _ => Err(format!(
                "{s:?}: expected a probability in 0..1 or \"validation\""
            )),
        }
    }
}

/// One task's metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaskMetrics {
    /// Active evaluation samples.
    pub n_active: usize,
    /// Inactive evaluation samples.
    pub n_inactive: usize,
    /// ROC AUC; `None` when undefined (one class, [`OneClassPolicy::Exclude`]).
    pub auc: Option<f64>,
    /// F1 at [`TaskMetrics::threshold`]; `None` when the AUC is undefined.
    pub f1: Option<f64>,
    /// The threshold used for F1.
    pub threshold: f64,
}

/// Scores one task: `scores`/`positive` of its evaluation samples, `valid` the validation
/// samples' (for [`ThresholdPolicy::ChosenOnValidation`]).
pub fn task_metrics(
    scores: &[f64],
    positive: &[bool],
    valid: Option<(&[f64], &[bool])>,
    threshold: ThresholdPolicy,
    one_class: OneClassPolicy,
) -> TaskMetrics {
    let n_active = positive.iter().filter(|&&p| p).count();
    let n_inactive = positive.len() - n_active;
    let threshold = match threshold {
        ThresholdPolicy::Fixed(t) => t,
        ThresholdPolicy::ChosenOnValidation => valid
            .and_then(|(s, p)| best_threshold(s, p))
            .unwrap_or(DEFAULT_THRESHOLD),
    };
    let auc = match (roc_auc(scores, positive), one_class) {
        (Some(a), _) => Some(a),
        (None, OneClassPolicy::Half) if !scores.is_empty() => Some(0.5),
        (None, _) => None,
    };
    TaskMetrics {
        n_active,
        n_inactive,
        auc,
        f1: auc.map(|_| f1(scores, positive, threshold)),
        threshold,
    }
}

/// Tasks' metrics summarised (one row of Table 1).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Summary {
    /// Tasks scored.
    pub tasks: usize,
    /// Tasks with an AUC.
    pub defined: usize,
    /// Tasks without (one class among the evaluation samples).
    pub undefined: usize,
    /// Mean AUC over defined tasks (NaN when none).
    pub auc_mean: f64,
    /// Its population standard deviation.
    pub auc_sd: f64,
    /// Mean F1 over defined tasks.
    pub f1_mean: f64,
    /// Its population standard deviation.
    pub f1_sd: f64,
    /// Tasks with AUC > 0.9.
    pub above_0_9: usize,
    /// Tasks with AUC > 0.8.
    pub above_0_8: usize,
    /// Tasks with AUC > 0.7.
    pub above_0_7: usize,
}

/// Mean and population standard deviation (NaN, NaN for no values).
pub fn mean_sd(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

impl Summary {
    /// Summarises tasks.
    pub fn of(tasks: &[TaskMetrics]) -> Summary {
        let aucs: Vec<f64> = tasks.iter().filter_map(|t| t.auc).collect();
        let f1s: Vec<f64> = tasks.iter().filter_map(|t| t.f1).collect();
        let (auc_mean, auc_sd) = mean_sd(&aucs);
        let (f1_mean, f1_sd) = mean_sd(&f1s);
        let above = |x: f64| aucs.iter().filter(|&&a| a > x).count();
        Summary {
            tasks: tasks.len(),
            defined: aucs.len(),
            undefined: tasks.len() - aucs.len(),
            auc_mean,
            auc_sd,
            f1_mean,
            f1_sd,
            above_0_9: above(0.9),
            above_0_8: above(0.8),
            above_0_7: above(0.7),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_class_tasks_are_excluded_or_half() {
        let s = [0.2, 0.7];
        let p = [false, false];
        let fixed = ThresholdPolicy::Fixed(0.5);
        let ex = task_metrics(&s, &p, None, fixed, OneClassPolicy::Exclude);
        assert_eq!((ex.auc, ex.f1, ex.n_inactive), (None, None, 2));
        let half = task_metrics(&s, &p, None, fixed, OneClassPolicy::Half);
        assert_eq!((half.auc, half.f1), (Some(0.5), Some(0.0)));
        let empty = task_metrics(&[], &[], None, fixed, OneClassPolicy::Half);
        assert_eq!(empty.auc, None);
    }

    #[test]
    fn the_threshold_can_come_from_validation() {
        // Validation puts the cut between 0.2 and 0.3: the test's 0.25 active counts.
        let valid_s = [0.1, 0.2, 0.3, 0.35];
        let valid_p = [false, false, true, true];
        let m = task_metrics(
            &[0.05, 0.25, 0.4],
            &[false, true, true],
            Some((&valid_s, &valid_p)),
            ThresholdPolicy::ChosenOnValidation,
            OneClassPolicy::Exclude,
        );
        assert_eq!((m.threshold, m.f1), (0.3, Some(2.0 / 3.0)));
        let fixed = task_metrics(
            &[0.05, 0.25, 0.4],
            &[false, true, true],
            None,
            ThresholdPolicy::default(),
            OneClassPolicy::Exclude,
        );
        assert_eq!((fixed.threshold, fixed.f1), (0.5, Some(0.0)));
    }

    #[test]
    fn summary_counts_and_moments() {
        let t = |auc: Option<f64>| TaskMetrics {
            n_active: 1,
            n_inactive: 1,
            auc,
            f1: auc.map(|a| a / 2.0),
            threshold: 0.5,
        };
        let s = Summary::of(&[
            t(Some(0.95)),
            t(Some(0.85)),
            t(Some(0.75)),
            t(Some(0.65)),
            t(None),
        ]);
        assert_eq!((s.tasks, s.defined, s.undefined), (5, 4, 1));
        assert_eq!((s.above_0_9, s.above_0_8, s.above_0_7), (1, 2, 3));
        assert!((s.auc_mean - 0.8).abs() < 1e-12);
        assert!((s.auc_sd - 0.125f64.sqrt() / 10.0f64.sqrt() * 1.0).abs() < 1e-12);
        assert!((s.f1_mean - 0.4).abs() < 1e-12);
        // Strictly above: 0.9 itself does not count.
        assert_eq!(Summary::of(&[t(Some(0.9))]).above_0_9, 0);
        assert!(Summary::of(&[]).auc_mean.is_nan());
    }

    #[test]
    fn policies_parse() {
        assert_eq!("half".parse(), Ok(OneClassPolicy::Half));
        assert_eq!(
            "validation".parse(),
            Ok(ThresholdPolicy::ChosenOnValidation)
        );
        assert_eq!("0.3".parse(), Ok(ThresholdPolicy::Fixed(0.3)));
        assert!("1.5".parse::<ThresholdPolicy>().is_err());
    }
}
