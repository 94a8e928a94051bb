//! Evaluation: metrics over predictions and the tests that compare models.
//!
//! - [`auc`]: ROC AUC with average ranks for ties (scikit-learn's, to 1e-12 on a committed
//!   fixture);
//! - [`f1`]: F1 at a probability threshold;
//! - [`wilcoxon`]: the paired Wilcoxon signed-rank test as `scipy.stats.wilcoxon` (to 1e-6 on a
//!   committed fixture, exact, permutation and normal regimes).
//!
//! Fixtures: `scripts/fixtures/gen_metrics_fixture.py`, `scripts/fixtures/gen_wilcoxon_fixture.py`.
//! Issue 7 adds Venkatraman's ROC test, the report tables and the figures.

pub mod auc;
pub mod f1;
pub mod wilcoxon;
