//! Evaluation: metrics over predictions and the tests that compare models.
//!
//! - [`auc`]: ROC AUC with average ranks for ties (scikit-learn's, to 1e-12 on a committed
//!   fixture);
//! - [`f1`]: F1 at a probability threshold, and the threshold that maximises it;
//! - [`wilcoxon`]: the paired Wilcoxon signed-rank test as `scipy.stats.wilcoxon` (to 1e-6 on a
//!   committed fixture, exact, permutation and normal regimes);
//! - [`venkatraman`]: Venkatraman's permutation test for two ROC curves of the same samples;
//! - [`metrics`]: per-task metrics of one model's predictions and their summary over tasks
//!   (the paper's Table 1 row).
//!
//! Fixtures: `scripts/fixtures/gen_metrics_fixture.py`, `scripts/fixtures/gen_wilcoxon_fixture.py`.

pub mod auc;
pub mod f1;
pub mod metrics;
pub mod venkatraman;
pub mod wilcoxon;
