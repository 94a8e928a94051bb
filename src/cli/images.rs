//! `assayflow images convert`: a validated config, then the library's driver
//! ([`assayflow::images::convert`]) with a progress bar over views.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use assayflow::images::convert::{ConvertOptions, convert};
use assayflow::pipeline::Pipeline;

use super::Outcome;
use super::args::{ImagesCommand, ImagesConvertArgs};

/// Runs an `images` subcommand.
pub fn run(command: &ImagesCommand, quiet: bool) -> Result<Outcome> {
    match command {
        ImagesCommand::Convert(a) => convert_cmd(a, quiet),
    }
}

fn convert_cmd(args: &ImagesConvertArgs, quiet: bool) -> Result<Outcome> {
    let pipeline = Pipeline::load(&args.pipeline)?;
    let workers = match args.workers {
        Some(0) => bail!("--workers must be at least 1"),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    if !args.plates.exists() {
        bail!(
            "--plates {}: no such file or directory",
            args.plates.display()
        );
    }
    let options = ConvertOptions {
        plates: args.plates.clone(),
        cellpainting: args.cellpainting.clone(),
        labels: args.labels.clone(),
        pipeline,
        out: args.out.clone(),
        workers,
        checksum: args.checksum,
        cellprofiler: args.cellprofiler.clone(),
    };
    let started = Instant::now();
    let bar = ProgressBar::new_spinner().with_style(
        ProgressStyle::with_template("{spinner} converting views {pos} ({per_sec}, {elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    if quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    let (report, _) = convert(&options, &|n| bar.inc(n)).with_context(|| {
        format!(
            "converting {} into {}",
            options.plates.display(),
            options.out.display()
        )
    })?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    tracing::info!(
        "{} sites found, {} views selected, {} written ({} plates converted, {} reused), \
         {} crops, {} wells of features, {} rejects, {} incomplete wells; {:.1} s",
        report.sites_found,
        report.views_selected,
        report.views_written,
        report.plates_converted.len(),
        report.plates_reused.len(),
        report.crops_written,
        report.feature_wells,
        report.rejects,
        report.incomplete_wells,
        secs
    );
    if !quiet {
        use std::io::Write;
        let mut out = std::io::stdout();
        writeln!(
            out,
            "view export written to {} (manifest.json last)",
            options.out.display()
        )?;
    }
    if report.rejects > 0 {
        return Ok(Outcome::Rejected(report.rejects));
    }
    Ok(Outcome::Clean)
}
