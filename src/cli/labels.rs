//! `assayflow labels build` and `assayflow labels refresh`: validated configs, then the library's
//! drivers ([`assayflow::labels::build`]) on one process, local peers or a hostfile cluster.

use std::ffi::OsString;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use assayflow::export::manifest::{MANIFEST, Manifest};
use assayflow::labels::build::{self, BuildOptions, BuildReport};
use assayflow::labels::refresh::{self, RefreshOptions};
use assayflow::pipeline::Pipeline;

use super::Outcome;
use super::args::{LabelsBuildArgs, LabelsCommand, LabelsRefreshArgs};
use super::cluster;

/// Runs a `labels` subcommand.
pub fn run(command: &LabelsCommand, quiet: bool) -> Result<Outcome> {
    match command {
        LabelsCommand::Build(a) => build_cmd(a, quiet),
        LabelsCommand::Refresh(a) => refresh_cmd(a, quiet),
    }
}

fn check_out(out: &std::path::Path) -> Result<()> {
    if out.join(MANIFEST).exists() {
        bail!(
            "{} already holds an export (manifest.json); remove it or choose another --out",
            out.display()
        );
    }
    Ok(())
}

fn build_cmd(args: &LabelsBuildArgs, quiet: bool) -> Result<Outcome> {
    let pipeline = Pipeline::load(&args.pipeline)?;
    let role = cluster::role(&args.cluster)?;
    let mut peer: Vec<OsString> = vec![
        "labels".into(),
        "build".into(),
        "--chembl".into(),
        args.chembl.clone().into(),
        "--cellpainting".into(),
        args.cellpainting.clone().into(),
        "--pipeline".into(),
        args.pipeline.clone().into(),
        "--out".into(),
        args.out.clone().into(),
    ];
    if let Some(r) = &args.chembl_release {
        peer.extend(["--chembl-release".into(), r.into()]);
    }
    let rules = pipeline.rules();
    let options = BuildOptions {
        chembl: args.chembl.clone(),
        chembl_release: args.chembl_release.clone(),
        cellpainting: args.cellpainting.clone(),
        pipeline,
        out: args.out.clone(),
        cache: args.cache.clone(),
    };
    cluster::run(
        role,
        &peer,
        |c| {
            check_out(&options.out)?;
            if !options.chembl.is_file() {
                bail!("--chembl {}: no such file", options.chembl.display());
            }
            if !options.cellpainting.is_dir() {
                bail!(
                    "--cellpainting {}: not a directory",
                    options.cellpainting.display()
                );
            }
            let started = Instant::now();
            let spinner = super::progress::phase_spinner("building labels", quiet);
            let report = build::build(&options, c)
                .with_context(|| format!("building labels into {}", options.out.display()))?;
            spinner.finish_and_clear();
            summarise(&report, &options.out, started, quiet);
            Ok(outcome(&report))
        },
        |c| {
            build::run_peer(c, &rules, false)?;
            Ok(Outcome::Clean)
        },
    )
}

fn refresh_cmd(args: &LabelsRefreshArgs, quiet: bool) -> Result<Outcome> {
    let previous = Manifest::load(&args.previous).with_context(|| {
        format!(
            "--previous {} is not a complete export",
            args.previous.display()
        )
    })?;
    let pipeline = Pipeline::load(&args.previous.join("pipeline.toml"))?;
    let role = cluster::role(&args.cluster)?;
    let mut peer: Vec<OsString> = vec![
        "labels".into(),
        "refresh".into(),
        "--previous".into(),
        args.previous.clone().into(),
        "--chembl".into(),
        args.chembl.clone().into(),
        "--out".into(),
        args.out.clone().into(),
    ];
    if let Some(r) = &args.chembl_release {
        peer.extend(["--chembl-release".into(), r.into()]);
    }
    let rules = pipeline.rules();
    let options = RefreshOptions {
        previous: args.previous.clone(),
        chembl: args.chembl.clone(),
        chembl_release: args.chembl_release.clone(),
        out: args.out.clone(),
    };
    cluster::run(
        role,
        &peer,
        |c| {
            check_out(&options.out)?;
            let started = Instant::now();
            let spinner = super::progress::phase_spinner("refreshing labels", quiet);
            let report = refresh::refresh(&options, c).with_context(|| {
                format!(
                    "refreshing {} (ChEMBL {}) into {}",
                    options.previous.display(),
                    previous.inputs.chembl_release,
                    options.out.display()
                )
            })?;
            spinner.finish_and_clear();
            summarise(&report, &options.out, started, quiet);
            Ok(outcome(&report))
        },
        |c| {
            build::run_peer(c, &rules, true)?;
            Ok(Outcome::Clean)
        },
    )
}

fn outcome(report: &BuildReport) -> Outcome {
    match report.manifest.stats.get("rejects").copied().unwrap_or(0) {
        0 => Outcome::Clean,
        n => Outcome::Rejected(n),
    }
}

fn summarise(report: &BuildReport, out: &std::path::Path, started: Instant, quiet: bool) {
    let s = &report.manifest.stats;
    let get = |k: &str| s.get(k).copied().unwrap_or(0);
    tracing::info!(
        "ChEMBL {}: {} compounds with a key, {} matched; {} activities read; {} labels in {} tasks for {} compounds; {} rejects; {:.1} s",
        report.manifest.inputs.chembl_release,
        get("keys.distinct"),
        get("chembl.compounds_matched"),
        get("chembl.activities"),
        get("labels.labels"),
        get("labels.tasks_kept"),
        get("labels.compounds_labelled"),
        get("rejects"),
        started.elapsed().as_secs_f64()
    );
    if let (Some(c), Some(rewritten)) = (report.changes, report.shards_rewritten) {
        tracing::info!(
            "changes: {} labels added, {} removed, {} flipped; {} tasks added, {} removed; {} label shard(s) rewritten, the others reused",
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            rewritten
        );
    }
    if !quiet {
        eprintln!("export written to {} (manifest.json last)", out.display());
    }
}
