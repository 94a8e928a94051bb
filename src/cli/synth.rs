//! `assayflow synth world` and `assayflow synth release`: validated configs, then the
//! generators in [`assayflow::synth`].

use std::ffi::OsString;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use assayflow::synth::next_release::{ReleaseChanges, derive_release};
use assayflow::synth::world::{self, WORLD_RECORD, WorldOptions};

use super::Outcome;
use super::args::{SynthCommand, SynthPlatesArgs, SynthReleaseArgs, SynthWorldArgs};
use super::cluster;

/// Runs a `synth` subcommand.
pub fn run(command: &SynthCommand, quiet: bool) -> Result<Outcome> {
    match command {
        SynthCommand::World(a) => world_cmd(a, quiet),
        SynthCommand::Release(a) => release_cmd(a, quiet),
        SynthCommand::Plates(a) => plates_cmd(a, quiet),
    }
}

fn plates_cmd(args: &SynthPlatesArgs, quiet: bool) -> Result<Outcome> {
    use assayflow::synth::plates::{PlateOptions, write_plates};
    let record = args.world.join(WORLD_RECORD);
    let text = std::fs::read_to_string(&record)
        .with_context(|| format!("{} is not a generated world", args.world.display()))?;
    let seed = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["seed"].as_u64())
        .with_context(|| format!("{}: no seed", record.display()))?;
    if args.sites == 0 {
        bail!("--sites must be at least 1");
    }
    if !(32..=8192).contains(&args.width) || !(32..=8192).contains(&args.height) {
        bail!("--width and --height must lie in 32..=8192 pixels");
    }
    let options = PlateOptions {
        world: args.world.clone(),
        skip_plates: args.skip_plates,
        plates: args.plates,
        wells_per_plate: args.wells_per_plate,
        sites: args.sites,
        width: args.width,
        height: args.height,
        binning: args.binning,
        compression: args.compression,
        workers: args
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        seed,
    };
    let started = Instant::now();
    let bar = phase_bar(quiet);
    bar.set_style(
        ProgressStyle::with_template("{spinner} drawing sites {pos} ({per_sec}, {elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let report = write_plates(&options, &|n| bar.inc(n))
        .with_context(|| format!("drawing the plates of {}", args.world.display()))?;
    bar.finish_and_clear();
    tracing::info!(
        "{} plates, {} wells, {} sites, {} cells drawn; {:.1} MB of TIFF in {:.1} s",
        report.plates,
        report.wells,
        report.sites,
        report.cells,
        report.bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(Outcome::Clean)
}

/// A bar that follows the generator's phases: a counter with a rate and an ETA when the total
/// is known, a spinner otherwise.
fn phase_bar(quiet: bool) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if quiet {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    } else {
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
    }
    bar
}

fn world_cmd(args: &SynthWorldArgs, quiet: bool) -> Result<Outcome> {
    let role = cluster::role(&args.cluster)?;
    let peer: Vec<OsString> = vec![
        "synth".into(),
        "world".into(),
        "--out".into(),
        args.out.clone().into(),
        "--scale".into(),
        args.scale.name().into(),
        "--seed".into(),
        args.seed.to_string().into(),
    ];
    let options = WorldOptions {
        out: args.out.clone(),
        scale: args.scale,
        seed: args.seed,
        images: !args.no_images,
    };
    cluster::run(
        role,
        &peer,
        |c| {
            if options.out.join(WORLD_RECORD).exists() {
                bail!(
                    "{} already holds a generated world (world.json); remove it or choose another --out",
                    options.out.display()
                );
            }
            let started = Instant::now();
            let bar = phase_bar(quiet);
            let spinner = ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            let counter = ProgressStyle::with_template(
                "{spinner} {msg:<22} [{bar:30}] {human_pos}/{human_len} ({per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            let shown = bar.clone();
            let last_phase = Arc::new(std::sync::Mutex::new(String::new()));
            let progress: world::Progress = Arc::new(move |phase, done, total| {
                if let Ok(mut last) = last_phase.lock()
                    && *last != phase
                {
                    *last = phase.to_string();
                    shown.set_style(if total > 0 {
                        counter.clone()
                    } else {
                        spinner.clone()
                    });
                    shown.set_message(phase.to_string());
                    shown.reset();
                }
                if total > 0 {
                    shown.set_length(total);
                    shown.set_position(done.min(total));
                }
            });
            let summary = world::generate(&options, c, progress)
                .with_context(|| format!("generating a world in {}", options.out.display()))?;
            bar.finish_and_clear();
            let n = |k: &str| summary.counts.get(k).copied().unwrap_or(0);
            tracing::info!(
                "{} world (seed {}): {} Cell Painting compounds ({} samples on {} plates, {} in ChEMBL); {} {} with {} molecules, {} assays, {} activities; {} hidden mechanisms; {:.1} s",
                summary.scale.name(),
                summary.seed,
                n("cp_compounds"),
                n("cp_samples"),
                n("cp_plates"),
                n("cp_in_chembl"),
                summary.chembl_release,
                summary.chembl,
                n("chembl_molecules"),
                n("chembl_assays"),
                n("chembl_activities"),
                n("mechanisms"),
                started.elapsed().as_secs_f64()
            );
            if !quiet {
                eprintln!(
                    "world written to {} ({} last)",
                    options.out.display(),
                    WORLD_RECORD
                );
            }
            Ok(Outcome::Clean)
        },
        |c| {
            world::serve_peer(c)?;
            Ok(Outcome::Clean)
        },
    )
}

fn release_cmd(args: &SynthReleaseArgs, quiet: bool) -> Result<Outcome> {
    if !(0.0..=1.0).contains(&args.change_rate) {
        bail!(
            "--change-rate {} must lie between 0 and 1",
            args.change_rate
        );
    }
    if !args.from.is_file() {
        bail!("--from {}: no such file", args.from.display());
    }
    let started = Instant::now();
    let spinner = super::progress::phase_spinner("deriving the next release", quiet);
    let summary = derive_release(
        &args.from,
        &args.out,
        &ReleaseChanges {
            change_rate: args.change_rate,
            seed: args.seed,
            version_name: args.version_name.clone(),
        },
    )
    .with_context(|| {
        format!(
            "deriving {} from {}",
            args.out.display(),
            args.from.display()
        )
    })?;
    spinner.finish_and_clear();
    tracing::info!(
        "{} -> {}: {} activities before; {} retracted, {} corrected, {} validity comments changed, {} added ({} new molecules, {} new assays); {} after; {:.1} s",
        summary.from_version,
        summary.to_version,
        summary.activities_before,
        summary.retracted,
        summary.corrected,
        summary.validity_changed,
        summary.added,
        summary.new_molecules,
        summary.new_assays,
        summary.activities_after,
        started.elapsed().as_secs_f64()
    );
    Ok(Outcome::Clean)
}
