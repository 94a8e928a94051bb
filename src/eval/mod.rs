//! Evaluation: metrics over predictions ([`auc`]). Reads runs, writes reports (issue 7 adds the
//! statistical tests, tables and figures).

pub mod auc;
