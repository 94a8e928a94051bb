//! `assayflow report RUN...`: the paper's evaluation for any set of finished training runs.
//!
//! [`write_report`] reads the runs ([`runs`]) and the label export they trained on
//! ([`labels`]), scores every run per task on one split ([`compare`]: AUC, F1, Wilcoxon between
//! every two runs, Venkatraman per task for one pair), optionally reads a generated world's
//! planted truth ([`truth`]) and writes into the output directory:
//!
//! - `report.html` (self-contained: the figures inlined as SVG) and `report.md`: Table 1 (model,
//!   type, AUC, F1, counts), the planted truth beside the results, Table A1 (Wilcoxon p-values),
//!   Table 2 (parameters, time per epoch, device), the figures and the per-task table
//!   ([`pages`]);
//! - `figures/auc_boxplot`, `figures/auc_scatter`, `figures/auc_vs_compounds`, each `.png` and
//!   `.svg` ([`figures`]);
//! - `per_task.csv` (one row per task: labelled compounds, phenotype, every run's AUC and F1,
//!   the pair's Venkatraman p-value) and `summary.json` (the tables' numbers).
//!
//! Every file is written to a temporary name and renamed; `report.html` comes last, so a
//! directory with a `report.html` is complete. The report is deterministic: same runs, options
//! and seed give the same bytes.

pub mod compare;
pub mod figures;
pub mod labels;
pub mod pages;
pub mod runs;
pub mod truth;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::atomic_file::AtomicFile;
use crate::export::label_tables::ReadTableError;
use crate::export::prediction_tables::PredictionTableError;

pub use compare::{CompareOptions, Comparison, Level};

/// Errors of the report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// An input breaks its contract.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file or directory.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A Parquet input.
    #[error(transparent)]
    Table(#[from] ReadTableError),
    /// A prediction table.
    #[error(transparent)]
    Predictions(#[from] PredictionTableError),
    /// Drawing a figure.
    #[error("drawing {figure}: {reason}")]
    Figure {
        /// The figure.
        figure: String,
        /// What failed.
        reason: String,
    },
    /// Nothing to compare.
    #[error("{0}")]
    Usage(String),
}

/// What to report.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Finished run directories.
    pub runs: Vec<PathBuf>,
    /// The label export (by default the one the first run trained on).
    pub labels: Option<PathBuf>,
    /// A generated world's `truth/` directory, to state the planted truth.
    pub truth: Option<PathBuf>,
    /// The output directory.
    pub out: PathBuf,
    /// How to compare.
    pub compare: CompareOptions,
    /// The page title.
    pub title: String,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct ReportOutcome {
    /// `report.html`.
    pub html: PathBuf,
    /// `report.md`.
    pub markdown: PathBuf,
    /// Figures (PNG and SVG).
    pub figures: Vec<PathBuf>,
    /// The comparison behind it.
    pub comparison: Comparison,
}

/// Writes `bytes` to `path` atomically.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let io = |source| ReportError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut f = AtomicFile::create(path).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.commit().map_err(io)
}

/// Builds the report.
pub fn write_report(options: &ReportOptions) -> Result<ReportOutcome, ReportError> {
    if options.runs.is_empty() {
        return Err(ReportError::Usage("no runs to report".into()));
    }
    let runs = runs::read_runs(&options.runs)?;
    let label_dir = options
        .labels
        .clone()
        .unwrap_or_else(|| runs[0].labels.clone());
    let labels = labels::read_labels(&label_dir)?;
    for r in &runs {
        if options.labels.is_none() && r.labels != label_dir {
            let other = labels::read_labels(&r.labels)?;
            if other.manifest_blake3 != labels.manifest_blake3 {
                return Err(ReportError::Invalid {
                    path: r.dir.display().to_string(),
                    reason: format!(
                        "trained on the label export {}, not {} like {}: runs on different labels are not compared",
                        r.labels.display(),
                        label_dir.display(),
                        runs[0].dir.display()
                    ),
                });
            }
        }
    }
    let truth = options
        .truth
        .as_deref()
        .map(truth::read_truth)
        .transpose()?;
    let comparison = compare::compare(&runs, &labels, truth.as_ref(), &options.compare);
    if comparison.tasks.is_empty() {
        return Err(ReportError::Usage(
            "the runs share no task: nothing to compare".into(),
        ));
    }
    // A report.html marks a complete report: drop an earlier one before rewriting the rest,
    // so that an interrupted rerun does not leave old pages beside new figures.
    let html = options.out.join("report.html");
    match std::fs::remove_file(&html) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(ReportError::Io {
                path: html.display().to_string(),
                source: e,
            });
        }
        _ => {}
    }
    let figure_dir = options.out.join("figures");
    std::fs::create_dir_all(&figure_dir).map_err(|source| ReportError::Io {
        path: figure_dir.display().to_string(),
        source,
    })?;
    let figures = pages::draw_figures(&comparison, &figure_dir)?;
    write_file(
        &options.out.join("per_task.csv"),
        pages::per_task_csv(&comparison).as_bytes(),
    )?;
    write_file(
        &options.out.join("summary.json"),
        pages::summary_json(&comparison, &runs).as_bytes(),
    )?;
    let doc = pages::document(&options.title, &comparison, &runs, &label_dir, &figures);
    let markdown = options.out.join("report.md");
    write_file(&markdown, pages::to_markdown(&doc).as_bytes())?;
    let html = options.out.join("report.html");
    write_file(
        &html,
        pages::to_html(&options.title, &doc, &figure_dir)?.as_bytes(),
    )?;
    Ok(ReportOutcome {
        html,
        markdown,
        figures: figures
            .iter()
            .flat_map(|f| [f.png.clone(), f.svg.clone()])
            .collect(),
        comparison,
    })
}
