//! `assayflow report`: arguments validated into [`ReportOptions`], the report written, its
//! headline numbers printed.

use std::io::Write;

use anyhow::{Context, Result, bail};

use assayflow::report::{CompareOptions, ReportOptions, write_report};

use super::Outcome;
use super::args::ReportArgs;

/// Validates `args` into options.
fn options(args: &ReportArgs) -> Result<ReportOptions> {
    if args.permutations == 0 {
        bail!("--permutations must be at least 1");
    }
    let pair = match &args.pair {
        None => None,
        Some(p) => match p.split_once(',') {
            Some((a, b)) if !a.trim().is_empty() && !b.trim().is_empty() => {
                Some((a.trim().to_string(), b.trim().to_string()))
            }
            _ => bail!("--pair {p:?}: expected two run names as A,B"),
        },
    };
    Ok(ReportOptions {
        runs: args.runs.clone(),
        labels: args.labels.clone(),
        truth: args.truth.clone(),
        out: args.out.clone(),
        compare: CompareOptions {
            split: args.split.clone(),
            level: args.level,
            one_class: args.one_class,
            threshold: args.threshold,
            permutations: args.permutations,
            seed: args.seed,
            pair,
        },
        title: args.title.clone(),
    })
}

/// Prints Table 1 in short.
pub fn print_summary(outcome: &assayflow::report::ReportOutcome) -> Result<()> {
    let c = &outcome.comparison;
    let mut out = std::io::stdout();
    writeln!(
        out,
        "{:<14} {:<13} {:>13} {:>13} {:>5} {:>5} {:>5} {:>6}",
        "model", "type", "AUC", "F1", ">0.9", ">0.8", ">0.7", "tasks"
    )?;
    for m in c.ranked() {
        let e = &c.models[m];
        let s = &e.summary;
        writeln!(
            out,
            "{:<14} {:<13} {:>6.3} ± {:<4.2} {:>6.3} ± {:<4.2} {:>5} {:>5} {:>5} {:>6}",
            e.name,
            e.family,
            s.auc_mean,
            s.auc_sd,
            s.f1_mean,
            s.f1_sd,
            s.above_0_9,
            s.above_0_8,
            s.above_0_7,
            s.defined
        )?;
    }
    for p in c.phenotypes() {
        let parts: Vec<String> = c
            .ranked()
            .into_iter()
            .map(|m| {
                let (auc, _) = c.phenotype_auc(m, &p);
                format!("{} {auc:.3}", c.models[m].name)
            })
            .collect();
        let n = c
            .tasks
            .iter()
            .filter(|t| t.phenotype.as_deref() == Some(p.as_str()))
            .count();
        writeln!(
            out,
            "  planted {p} tasks ({n}): mean AUC {}",
            parts.join(", ")
        )?;
    }
    Ok(())
}

/// Runs `assayflow report`.
pub fn run(args: &ReportArgs) -> Result<Outcome> {
    let options = options(args)?;
    let outcome = write_report(&options)
        .with_context(|| format!("writing the report into {}", options.out.display()))?;
    print_summary(&outcome)?;
    writeln!(
        std::io::stdout(),
        "report: {} (also {}, figures/, per_task.csv, summary.json)",
        outcome.html.display(),
        outcome.markdown.display()
    )?;
    Ok(Outcome::Clean)
}
