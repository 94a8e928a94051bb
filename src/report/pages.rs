//! The report's pages and tables: a small document ([`Block`]s) built once from a
//! [`Comparison`] and rendered as Markdown ([`to_markdown`]) and as one self-contained HTML page
//! ([`to_html`], figures inlined as SVG, linked as PNG and SVG), plus `per_task.csv` and
//! `summary.json`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::ReportError;
use super::compare::{ALPHA, Comparison};
use super::figures::{
    AucVsCompounds, BoxPlot, PALETTE, Scatter, ScatterPoint, Significance, render,
};
use super::runs::Run;

/// A drawn figure.
#[derive(Debug, Clone)]
pub struct DrawnFigure {
    /// Caption.
    pub caption: String,
    /// The PNG.
    pub png: PathBuf,
    /// The SVG.
    pub svg: PathBuf,
}

/// A piece of the document.
#[derive(Debug, Clone)]
pub enum Block {
    /// A heading (level 1..3).
    Heading(u8, String),
    /// A paragraph (plain text; `**x**` marks emphasis).
    Para(String),
    /// A table.
    Table(Vec<String>, Vec<Vec<String>>),
    /// A figure.
    Figure(DrawnFigure),
}

fn f3(x: f64) -> String {
    if x.is_nan() {
        "n/a".into()
    } else {
        format!("{x:.3}")
    }
}

fn pm(mean: f64, sd: f64) -> String {
    if mean.is_nan() {
        "n/a".into()
    } else {
        format!("{mean:.3} ± {sd:.2}")
    }
}

fn p_value(p: f64) -> String {
    if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

fn colour(i: usize) -> plotters::style::RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Significance of one task of the pair.
fn significance(c: &Comparison, t: usize) -> Significance {
    let Some(pair) = &c.pair else {
        return Significance::Untested;
    };
    let (a, b) = (
        c.models[pair.a].per_task[t].auc,
        c.models[pair.b].per_task[t].auc,
    );
    match (pair.tests[t], a, b) {
        (Some(test), Some(a), Some(b)) if test.p_value < ALPHA => {
            if a >= b {
                Significance::YBetter
            } else {
                Significance::XBetter
            }
        }
        (Some(_), Some(_), Some(_)) => Significance::NotSignificant,
        _ => Significance::Untested,
    }
}

/// Draws the three figures.
pub fn draw_figures(c: &Comparison, dir: &Path) -> Result<Vec<DrawnFigure>, ReportError> {
    let mut out = Vec::new();
    let order = c.ranked();
    let boxes = BoxPlot {
        title: format!(
            "Per-task ROC AUC by model ({} split, {} level)",
            c.options.split, c.options.level
        ),
        names: order.iter().map(|&m| c.models[m].name.clone()).collect(),
        colours: order.iter().map(|&m| colour(m)).collect(),
        values: order
            .iter()
            .map(|&m| c.models[m].per_task.iter().filter_map(|t| t.auc).collect())
            .collect(),
    };
    let (png, svg) = render(&boxes, dir, "auc_boxplot")?;
    out.push(DrawnFigure {
        caption: "Per-task ROC AUC by model: box from the first to the third quartile, the median as a thick line, whiskers to the furthest task within 1.5 IQR, the mean as a cross (the paper's Figure 3).".into(),
        png,
        svg,
    });
    if let Some(pair) = &c.pair {
        let sparse = c
            .tasks
            .iter()
            .any(|t| t.phenotype.as_deref() == Some("sparse"));
        let points: Vec<ScatterPoint> = (0..c.tasks.len())
            .filter_map(|t| {
                let x = c.models[pair.b].per_task[t].auc?;
                let y = c.models[pair.a].per_task[t].auc?;
                Some(ScatterPoint {
                    x,
                    y,
                    significance: significance(c, t),
                    highlighted: c.tasks[t].phenotype.as_deref() == Some("sparse"),
                })
            })
            .collect();
        let scatter = Scatter {
            title: format!(
                "{} vs {} per task (Venkatraman, {} permutations)",
                c.models[pair.a].name, c.models[pair.b].name, c.options.permutations
            ),
            x_name: c.models[pair.b].name.clone(),
            y_name: c.models[pair.a].name.clone(),
            points,
            highlight_label: sparse.then(|| "sparse-phenotype task (planted)".to_string()),
        };
        let (png, svg) = render(&scatter, dir, "auc_scatter")?;
        out.push(DrawnFigure {
            caption: format!(
                "Per-task ROC AUC of {} (y) against {} (x), coloured by Venkatraman's permutation test of the two ROC curves on the samples both scored (p < {ALPHA}); above the diagonal {} is better{}.",
                c.models[pair.a].name,
                c.models[pair.b].name,
                c.models[pair.a].name,
                if sparse {
                    "; triangles are the planted sparse-phenotype tasks"
                } else {
                    ""
                }
            ),
            png,
            svg,
        });
    }
    let series = order
        .iter()
        .map(|&m| {
            (
                c.models[m].name.clone(),
                colour(m),
                c.tasks
                    .iter()
                    .zip(&c.models[m].per_task)
                    .filter_map(|(t, x)| x.auc.map(|a| (f64::from(t.labelled_compounds), a)))
                    .collect(),
            )
        })
        .collect();
    let (png, svg) = render(
        &AucVsCompounds {
            title: "Per-task ROC AUC against labelled compounds".into(),
            series,
        },
        dir,
        "auc_vs_compounds",
    )?;
    out.push(DrawnFigure {
        caption: "Per-task ROC AUC against the number of labelled compounds of the task in the label export (all splits).".into(),
        png,
        svg,
    });
    Ok(out)
}

/// Table 1.
fn table1(c: &Comparison) -> Block {
    let rows = c
        .ranked()
        .into_iter()
        .map(|m| {
            let e = &c.models[m];
            let s = &e.summary;
            vec![
                e.name.clone(),
                e.family.clone(),
                pm(s.auc_mean, s.auc_sd),
                pm(s.f1_mean, s.f1_sd),
                s.above_0_9.to_string(),
                s.above_0_8.to_string(),
                s.above_0_7.to_string(),
                format!("{} ({} undefined)", s.defined, s.undefined),
            ]
        })
        .collect();
    Block::Table(
        [
            "model",
            "type",
            "AUC",
            "F1",
            "AUC > 0.9",
            "AUC > 0.8",
            "AUC > 0.7",
            "tasks",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    )
}

/// Table A1.
fn table_a1(c: &Comparison) -> Block {
    let order = c.ranked();
    let mut header = vec!["".to_string()];
    header.extend(order.iter().map(|&m| c.models[m].name.clone()));
    let rows = order
        .iter()
        .map(|&i| {
            let mut row = vec![c.models[i].name.clone()];
            row.extend(order.iter().map(|&j| {
                if i == j {
                    "–".into()
                } else {
                    c.wilcoxon[i][j].map_or("n/a".into(), |w| p_value(w.p_value))
                }
            }));
            row
        })
        .collect();
    Block::Table(header, rows)
}

/// Table 2.
fn table2(c: &Comparison, runs: &[Run]) -> Block {
    let rows = c
        .ranked()
        .into_iter()
        .map(|m| {
            let r = &runs[m];
            let shape = r
                .item_shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(" x ");
            let length = match r.max_items_per_epoch {
                Some(cap) => format!(
                    "{} of {} (≤ {cap} items each)",
                    r.epochs.len(),
                    r.epochs_configured
                ),
                None => format!("{} of {}", r.epochs.len(), r.epochs_configured),
            };
            vec![
                r.name.clone(),
                r.parameters.to_string(),
                shape,
                length,
                r.steps().to_string(),
                format!("{:.1}", r.seconds_per_epoch()),
                format!("{:.0}", r.items_per_second()),
                r.best()
                    .map_or("n/a".into(), |(e, a)| format!("{e} ({a:.3})")),
                r.device.clone(),
            ]
        })
        .collect();
    Block::Table(
        [
            "model",
            "parameters",
            "input item",
            "epochs run",
            "steps",
            "s/epoch (median)",
            "items/s",
            "best epoch (valid AUC)",
            "device",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    )
}

/// The planted-truth section (empty without truth).
fn truth_blocks(c: &Comparison) -> Vec<Block> {
    let phenotypes = c.phenotypes();
    if phenotypes.is_empty() {
        return vec![];
    }
    let mut blocks = vec![
        Block::Heading(2, "Planted truth beside the results".into()),
        Block::Para("The world was generated with hidden mechanisms; each screening assay reads one out, and each mechanism changes the images in one way: **global** (every cell changes), **sparse** (only a fraction of cells changes, as in the paper's Figure 5), **cell_count** (fewer cells), **invisible** (no visible change). Tasks of filler assays (**none**) read out no mechanism, so no model should do better than chance on them. Mean per-task ROC AUC by phenotype class (tasks with an AUC):".into()),
    ];
    let order = c.ranked();
    let mut header = vec!["phenotype".to_string(), "tasks".into(), "mechanisms".into()];
    header.extend(order.iter().map(|&m| c.models[m].name.clone()));
    let rows = phenotypes
        .iter()
        .map(|p| {
            let mut mechanisms: Vec<String> = c
                .tasks
                .iter()
                .filter(|t| t.phenotype.as_deref() == Some(p.as_str()))
                .filter_map(|t| t.mechanism.clone())
                .collect();
            mechanisms.sort();
            mechanisms.dedup();
            let tasks = c
                .tasks
                .iter()
                .filter(|t| t.phenotype.as_deref() == Some(p.as_str()))
                .count();
            let mut row = vec![
                p.clone(),
                tasks.to_string(),
                if mechanisms.is_empty() {
                    "–".into()
                } else {
                    mechanisms.join(", ")
                },
            ];
            row.extend(order.iter().map(|&m| {
                let (mean, n) = c.phenotype_auc(m, p);
                format!("{} ({n})", f3(mean))
            }));
            row
        })
        .collect();
    blocks.push(Block::Table(header, rows));
    // The paper's finding, checked on the sparse tasks against the strongest FNN run there.
    let fnn = (0..c.models.len())
        .filter(|&m| c.models[m].name.starts_with("FNN"))
        .max_by(|&a, &b| {
            c.phenotype_auc(a, "sparse")
                .0
                .total_cmp(&c.phenotype_auc(b, "sparse").0)
        });
    let cnns: Vec<usize> = (0..c.models.len())
        .filter(|&m| c.models[m].family == "end-to-end")
        .collect();
    if let (Some(f), true, true) = (
        fnn,
        !cnns.is_empty(),
        phenotypes.iter().any(|p| p == "sparse"),
    ) {
        let (fnn_auc, n) = c.phenotype_auc(f, "sparse");
        let sparse: Vec<usize> = (0..c.tasks.len())
            .filter(|&t| c.tasks[t].phenotype.as_deref() == Some("sparse"))
            .collect();
        let mut lines = Vec::new();
        let (mut higher, mut significant) = (0, 0);
        for &m in &cnns {
            let (auc, _) = c.phenotype_auc(m, "sparse");
            let pairs: Vec<(f64, f64)> = sparse
                .iter()
                .filter_map(|&t| c.models[m].per_task[t].auc.zip(c.models[f].per_task[t].auc))
                .collect();
            let wins = pairs.iter().filter(|(a, b)| a > b).count();
            let (x, y): (Vec<f64>, Vec<f64>) = pairs.iter().copied().unzip();
            let w = crate::eval::wilcoxon::wilcoxon(&x, &y);
            if auc > fnn_auc {
                higher += 1;
                if w.is_some_and(|w| w.p_value < ALPHA) {
                    significant += 1;
                }
            }
            lines.push(format!(
                "{} {} (higher on {wins} of {} tasks; Wilcoxon p = {})",
                c.models[m].name,
                f3(auc),
                pairs.len(),
                w.map_or("n/a".into(), |w| p_value(w.p_value))
            ));
        }
        let verdict = if higher * 2 > cnns.len() && significant > 0 {
            "these runs reproduce the paper's finding that end-to-end CNNs beat averaged cell-centric features where only some cells respond."
        } else if higher * 2 > cnns.len() {
            "these runs point the paper's way, but not significantly: the differences are within what the small test set and the short training leave to chance."
        } else {
            "these runs do not reproduce the paper's finding (a small world and short training; see the per-task table)."
        };
        blocks.push(Block::Para(format!(
            "**Sparse-phenotype tasks** ({n} with an AUC): {} (averaged CellProfiler features) reaches a mean AUC of {}; the end-to-end CNNs: {}. {higher} of {} end-to-end runs are higher than the FNN on these tasks, {significant} significantly (p < {ALPHA}): {verdict}",
            c.models[f].name,
            f3(fnn_auc),
            lines.join("; "),
            cnns.len(),
        )));
    }
    blocks
}

/// The whole document.
pub fn document(
    title: &str,
    c: &Comparison,
    runs: &[Run],
    labels: &Path,
    figures: &[DrawnFigure],
) -> Vec<Block> {
    let o = &c.options;
    let mut doc = vec![Block::Heading(1, title.to_string())];
    doc.push(Block::Para(format!(
        "{} runs compared on the **{}** split of the label export {} ({} tasks every run predicts). Samples are {}s ({}); a task whose samples are all of one class {}; F1 at {}. Written by assayflow {}.",
        runs.len(),
        o.split,
        labels.display(),
        c.tasks.len(),
        o.level,
        match o.level {
            super::Level::Well => "the probabilities of a well's views or crops averaged, as the authors' code",
            super::Level::Compound => "the probabilities of a compound's wells averaged",
        },
        match o.one_class {
            crate::eval::metrics::OneClassPolicy::Exclude => "has no AUC and is left out of the means and counts (counted as undefined)",
            crate::eval::metrics::OneClassPolicy::Half => "scores 0.5, as the authors' code",
        },
        match o.threshold {
            crate::eval::metrics::ThresholdPolicy::Fixed(t) => format!("probability >= {t}"),
            crate::eval::metrics::ThresholdPolicy::ChosenOnValidation =>
                "the per-task threshold that maximises F1 on the validation split".into(),
        },
        env!("CARGO_PKG_VERSION")
    )));
    doc.push(Block::Para(format!(
        "Runs: {}.",
        runs.iter()
            .map(|r| format!("{}: {}", r.name, r.dir.display()))
            .collect::<Vec<_>>()
            .join(", ")
    )));
    doc.push(Block::Heading(2, "Table 1: per-task ROC AUC and F1".into()));
    doc.push(Block::Para("Mean ± population standard deviation over tasks, and the number of tasks above each AUC (the paper's Table 1 layout), best mean AUC first.".into()));
    doc.push(table1(c));
    doc.extend(truth_blocks(c));
    doc.push(Block::Heading(
        2,
        "Table A1: paired Wilcoxon signed-rank tests".into(),
    ));
    doc.push(Block::Para("Two-sided p-values of the Wilcoxon signed-rank test over the per-task AUCs of two runs (tasks with an AUC for both; zeros dropped; exact for small samples, normal approximation with tie correction otherwise, as scipy.stats.wilcoxon).".into()));
    doc.push(table_a1(c));
    doc.push(Block::Heading(2, "Table 2: size and cost".into()));
    doc.push(Block::Para("Trainable parameters for this task count, the run's length, the median training seconds per epoch and the device. Runs with few epochs or capped epochs are short runs: their AUCs are not converged figures.".into()));
    doc.push(table2(c, runs));
    if let Some(pair) = &c.pair {
        let (mut a_better, mut b_better, mut ns, mut untested) = (0, 0, 0, 0);
        for t in 0..c.tasks.len() {
            match significance(c, t) {
                Significance::YBetter => a_better += 1,
                Significance::XBetter => b_better += 1,
                Significance::NotSignificant => ns += 1,
                Significance::Untested => untested += 1,
            }
        }
        doc.push(Block::Heading(2, "Venkatraman's test per task".into()));
        doc.push(Block::Para(format!(
            "{} against {}, {} permutations (seed {}): the ROC curves differ at p < {ALPHA} on {} tasks where {} is better and {} where {} is better; {} tasks not significant, {} not testable (one class or no shared samples).",
            c.models[pair.a].name,
            c.models[pair.b].name,
            o.permutations,
            o.seed,
            a_better,
            c.models[pair.a].name,
            b_better,
            c.models[pair.b].name,
            ns,
            untested
        )));
    }
    doc.push(Block::Heading(2, "Figures".into()));
    for f in figures {
        doc.push(Block::Figure(f.clone()));
    }
    doc.push(Block::Heading(2, "Per task".into()));
    doc.push(Block::Para("Also in per_task.csv.".into()));
    doc.push(per_task_table(c));
    doc
}

fn per_task_table(c: &Comparison) -> Block {
    let order = c.ranked();
    let mut header = vec!["task".to_string(), "labelled compounds".into()];
    if !c.phenotypes().is_empty() {
        header.push("phenotype".into());
    }
    header.extend(order.iter().map(|&m| format!("{} AUC", c.models[m].name)));
    if let Some(pair) = &c.pair {
        header.push(format!(
            "Venkatraman p ({} vs {})",
            c.models[pair.a].name, c.models[pair.b].name
        ));
    }
    let rows = c
        .tasks
        .iter()
        .enumerate()
        .map(|(t, info)| {
            let mut row = vec![info.id.clone(), info.labelled_compounds.to_string()];
            if let Some(p) = &info.phenotype {
                row.push(p.clone());
            }
            row.extend(
                order
                    .iter()
                    .map(|&m| c.models[m].per_task[t].auc.map_or("n/a".into(), f3)),
            );
            if let Some(pair) = &c.pair {
                row.push(pair.tests[t].map_or("n/a".into(), |x| p_value(x.p_value)));
            }
            row
        })
        .collect();
    Block::Table(header, rows)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn opt(x: Option<f64>) -> String {
    x.map_or(String::new(), |v| format!("{v}"))
}

/// `per_task.csv`: one row per task; empty cells where undefined.
pub fn per_task_csv(c: &Comparison) -> String {
    let mut out = String::from("task_id,labelled_compounds,phenotype,mechanism");
    for m in &c.models {
        for col in ["auc", "f1", "threshold", "n_active", "n_inactive"] {
            let _ = write!(out, ",{}", csv_field(&format!("{}_{col}", m.name)));
        }
    }
    out.push_str(",venkatraman_e,venkatraman_p\n");
    for (t, info) in c.tasks.iter().enumerate() {
        let _ = write!(
            out,
            "{},{},{},{}",
            csv_field(&info.id),
            info.labelled_compounds,
            info.phenotype.as_deref().unwrap_or(""),
            csv_field(info.mechanism.as_deref().unwrap_or(""))
        );
        for m in &c.models {
            let x = &m.per_task[t];
            let _ = write!(
                out,
                ",{},{},{},{},{}",
                opt(x.auc),
                opt(x.f1),
                x.threshold,
                x.n_active,
                x.n_inactive
            );
        }
        let test = c.pair.as_ref().and_then(|p| p.tests[t]);
        let _ = writeln!(
            out,
            ",{},{}",
            opt(test.map(|x| x.statistic)),
            opt(test.map(|x| x.p_value))
        );
    }
    out
}

fn num(x: f64) -> serde_json::Value {
    if x.is_finite() { json!(x) } else { json!(null) }
}

/// `summary.json`: the tables' numbers.
pub fn summary_json(c: &Comparison, runs: &[Run]) -> String {
    let models: Vec<_> = c
        .models
        .iter()
        .zip(runs)
        .map(|(m, r)| {
            let s = &m.summary;
            json!({
                "name": m.name,
                "model": r.model,
                "family": m.family,
                "run": r.dir.display().to_string(),
                "auc_mean": num(s.auc_mean), "auc_sd": num(s.auc_sd),
                "f1_mean": num(s.f1_mean), "f1_sd": num(s.f1_sd),
                "tasks": s.tasks, "defined": s.defined, "undefined": s.undefined,
                "auc_above_0_9": s.above_0_9, "auc_above_0_8": s.above_0_8, "auc_above_0_7": s.above_0_7,
                "parameters": r.parameters,
                "epochs": r.epochs.len(),
                "seconds_per_epoch": num(r.seconds_per_epoch()),
                "device": r.device,
                "phenotype_auc": c.phenotypes().iter().map(|p| {
                    let idx = c.models.iter().position(|x| x.name == m.name).unwrap_or(0);
                    let (mean, n) = c.phenotype_auc(idx, p);
                    (p.clone(), json!({"mean": num(mean), "tasks": n}))
                }).collect::<serde_json::Map<_, _>>(),
            })
        })
        .collect();
    let wilcoxon: Vec<_> = (0..c.models.len())
        .flat_map(|i| (0..c.models.len()).map(move |j| (i, j)))
        .filter(|(i, j)| i < j)
        .map(|(i, j)| {
            let w = c.wilcoxon[i][j];
            json!({
                "a": c.models[i].name, "b": c.models[j].name,
                "p_value": w.map(|w| num(w.p_value)), "n": w.map(|w| w.n),
                "method": w.map(|w| w.method),
            })
        })
        .collect();
    let o = &c.options;
    let doc = json!({
        "format": "assayflow-report/1",
        "split": o.split,
        "level": o.level.to_string(),
        "one_class": o.one_class.to_string(),
        "threshold": o.threshold.to_string(),
        "permutations": o.permutations,
        "seed": o.seed,
        "tasks": c.tasks.len(),
        "models": models,
        "wilcoxon": wilcoxon,
        "pair": c.pair.as_ref().map(|p| json!({
            "a": c.models[p.a].name, "b": c.models[p.b].name,
            "significant_a_better": (0..c.tasks.len()).filter(|&t| significance(c, t) == Significance::YBetter).count(),
            "significant_b_better": (0..c.tasks.len()).filter(|&t| significance(c, t) == Significance::XBetter).count(),
        })),
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|")
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Markdown.
pub fn to_markdown(doc: &[Block]) -> String {
    let mut out = String::new();
    for b in doc {
        match b {
            Block::Heading(level, text) => {
                let _ = writeln!(out, "{} {text}\n", "#".repeat(usize::from(*level)));
            }
            Block::Para(text) => {
                let _ = writeln!(out, "{text}\n");
            }
            Block::Table(header, rows) => {
                let _ = writeln!(
                    out,
                    "| {} |",
                    header
                        .iter()
                        .map(|h| md_cell(h))
                        .collect::<Vec<_>>()
                        .join(" | ")
                );
                let _ = writeln!(out, "|{}", " --- |".repeat(header.len()));
                for r in rows {
                    let _ = writeln!(
                        out,
                        "| {} |",
                        r.iter().map(|c| md_cell(c)).collect::<Vec<_>>().join(" | ")
                    );
                }
                out.push('\n');
            }
            Block::Figure(f) => {
                let _ = writeln!(
                    out,
                    "![{}](figures/{})\n\n{} ([SVG](figures/{}))\n",
                    md_cell(&f.caption),
                    file_name(&f.png),
                    f.caption,
                    file_name(&f.svg)
                );
            }
        }
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `**x**` -> `<strong>x</strong>` on escaped text.
fn inline(s: &str) -> String {
    let e = escape(s);
    let mut out = String::new();
    for (i, part) in e.split("**").enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<strong>{part}</strong>");
        } else {
            out.push_str(part);
        }
    }
    out
}

/// One HTML page: the figures' SVG inlined, so the page stands alone.
pub fn to_html(title: &str, doc: &[Block], figure_dir: &Path) -> Result<String, ReportError> {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>\n\
         body {{ font-family: 'DejaVu Sans', Verdana, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }}\n\
         table {{ border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }}\n\
         th, td {{ border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: right; }}\n\
         th:first-child, td:first-child {{ text-align: left; }}\n\
         th {{ background: #f0f0f0; }}\n\
         figure {{ margin: 1.5em 0; }} figure svg {{ max-width: 100%; height: auto; }}\n\
         figcaption {{ font-size: 0.9em; color: #444; }}\n\
         </style>\n</head>\n<body>\n",
        escape(title)
    );
    for b in doc {
        match b {
            Block::Heading(level, text) => {
                let _ = writeln!(out, "<h{level}>{}</h{level}>", inline(text));
            }
            Block::Para(text) => {
                let _ = writeln!(out, "<p>{}</p>", inline(text));
            }
            Block::Table(header, rows) => {
                out.push_str("<table>\n<tr>");
                for h in header {
                    let _ = write!(out, "<th>{}</th>", escape(h));
                }
                out.push_str("</tr>\n");
                for r in rows {
                    out.push_str("<tr>");
                    for c in r {
                        let _ = write!(out, "<td>{}</td>", escape(c));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</table>\n");
            }
            Block::Figure(f) => {
                let svg_path = figure_dir.join(file_name(&f.svg));
                let svg = std::fs::read_to_string(&svg_path).map_err(|source| ReportError::Io {
                    path: svg_path.display().to_string(),
                    source,
                })?;
                let svg = svg
                    .find("<svg")
                    .map_or(svg.as_str(), |i| &svg[i..])
                    .to_string();
                let _ = writeln!(
                    out,
                    "<figure>\n{svg}\n<figcaption>{} (<a href=\"figures/{}\">PNG</a>, <a href=\"figures/{}\">SVG</a>)</figcaption>\n</figure>",
                    inline(&f.caption),
                    escape(&file_name(&f.png)),
                    escape(&file_name(&f.svg))
                );
            }
        }
    }
    out.push_str("</body>\n</html>\n");
    Ok(out)
}
