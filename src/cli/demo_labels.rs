//! The label half of `assayflow demo`: generate a demo-scale world, build its labels, derive the
//! next ChEMBL release, refresh the labels incrementally, and check the refresh against a
//! from-scratch build on the new release. Every step runs the same library code as the
//! `synth` and `labels` commands, on one process per core.

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use assayflow::atomic_file::AtomicFile;
use assayflow::export::manifest::{MANIFEST, Manifest};
use assayflow::labels::build::{self, BuildOptions, BuildReport};
use assayflow::labels::refresh::{self, RefreshOptions};
use assayflow::pipeline::Pipeline;
use assayflow::synth::next_release::{ReleaseChanges, derive_release};
use assayflow::synth::scale::Scale;
use assayflow::synth::world::{self, WORLD_RECORD, WorldOptions};

use super::cluster::{self, Role};

/// The paper's rules, bundled so the demo runs from any directory (written beside the outputs).
const PAPER_PIPELINE: &str = include_str!("../../pipelines/paper.toml");

/// Seed of the demo's world and release.
pub const DEMO_SEED: u64 = 1;

/// Share of activities the demo's next release changes.
pub const DEMO_CHANGE_RATE: f64 = 0.02;

fn role(processes: usize) -> Role {
    if processes > 1 {
        Role::LocalLeader {
            processes,
            workers: 1,
        }
    } else {
        Role::Alone(assayflow::dataflow::cluster::ClusterConfig::single(1))
    }
}

/// Removes a directory the demo wrote before, so a rerun starts that step afresh.
fn clear(dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    Ok(())
}

fn os(p: &Path) -> OsString {
    p.as_os_str().to_owned()
}

fn stat(report: &BuildReport, key: &str) -> u64 {
    report.manifest.stats.get(key).copied().unwrap_or(0)
}

/// Runs the label demo into `out`; prints what it did.
pub fn run(out: &Path, processes: usize) -> Result<()> {
    let world_dir = out.join("world");
    let pipeline_path = out.join("paper.toml");
    let mut f = AtomicFile::create(&pipeline_path)
        .with_context(|| format!("cannot write {}", pipeline_path.display()))?;
    f.write_all(PAPER_PIPELINE.as_bytes())?;
    f.commit()?;
    let pipeline = Pipeline::load(&pipeline_path)?;

    // 1. The world (kept when a previous run finished it: world.json is written last).
    let started = Instant::now();
    let reused = world_dir.join(WORLD_RECORD).exists();
    if !reused {
        clear(&world_dir)?;
        let options = WorldOptions {
            out: world_dir.clone(),
            scale: Scale::Demo,
            seed: DEMO_SEED,
            images: true,
        };
        let peer: Vec<OsString> = vec![
            "synth".into(),
            "world".into(),
            "--out".into(),
            os(&world_dir),
            "--scale".into(),
            "demo".into(),
            "--seed".into(),
            DEMO_SEED.to_string().into(),
        ];
        let progress: world::Progress = Arc::new(|_, _, _| {});
        cluster::run(
            role(processes),
            &peer,
            |c| {
                world::generate(&options, c, progress.clone()).with_context(|| {
                    format!("generating the demo world in {}", world_dir.display())
                })
            },
            |c| {
                world::serve_peer(c)?;
                bail!("a peer process cannot lead the demo")
            },
        )?;
    }
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(world_dir.join(WORLD_RECORD))
            .with_context(|| format!("cannot read {}", world_dir.join(WORLD_RECORD).display()))?,
    )
    .context("world.json is not JSON")?;
    let count = |k: &str| record["counts"][k].as_u64().unwrap_or(0);
    let how = if reused {
        "kept from an earlier run".to_string()
    } else {
        format!("generated in {:.1} s", started.elapsed().as_secs_f64())
    };
    writeln!(
        std::io::stdout(),
        "world (demo scale, seed {DEMO_SEED}, {how}): {} Cell Painting compounds ({} in ChEMBL) \
         on {} plates; a ChEMBL-schema release with {} molecules, {} assays, {} activities",
        count("cp_compounds"),
        count("cp_in_chembl"),
        count("cp_plates"),
        count("chembl_molecules"),
        count("chembl_assays"),
        count("chembl_activities"),
    )?;
    writeln!(
        std::io::stdout(),
        "  {} (images/: {} sites of {} wells on {} plates, 696x520 16-bit TIFFs; cellprofiler/: {} cells measured)",
        world_dir.display(),
        count("images_sites"),
        count("images_wells"),
        count("images_plates"),
        count("images_cells"),
    )?;

    // 2. Labels on the world's release.
    let old_db = world_dir.join("chembl/chembl_36.db");
    let cellpainting = world_dir.join("cellpainting");
    let build_into = |db: &Path, export: &Path| -> Result<(BuildReport, f64)> {
        clear(export)?;
        let started = Instant::now();
        let options = BuildOptions {
            chembl: db.to_path_buf(),
            chembl_release: None,
            cellpainting: cellpainting.clone(),
            pipeline: pipeline.clone(),
            out: export.to_path_buf(),
            cache: None,
        };
        let peer: Vec<OsString> = vec![
            "labels".into(),
            "build".into(),
            "--chembl".into(),
            os(db),
            "--cellpainting".into(),
            os(&cellpainting),
            "--pipeline".into(),
            os(&pipeline_path),
            "--out".into(),
            os(export),
        ];
        let rules = pipeline.rules();
        let report = cluster::run(
            role(processes),
            &peer,
            |c| {
                build::build(&options, c)
                    .with_context(|| format!("building labels into {}", export.display()))
            },
            |c| {
                build::run_peer(c, &rules, false)?;
                bail!("a peer process cannot lead the demo")
            },
        )?;
        Ok((report, started.elapsed().as_secs_f64()))
    };
    let first = out.join("labels-36");
    let (report, seconds) = build_into(&old_db, &first)?;
    writeln!(
        std::io::stdout(),
        "labels build (ChEMBL 36, {processes} process(es)) in {seconds:.1} s: {} distinct compounds keyed \
         ({} SMILES rejected, planted by the generator), {} matched in ChEMBL; {} activities \
         read; {} tasks kept of {} with labels; {} labels for {} compounds",
        stat(&report, "keys.distinct"),
        stat(&report, "keys.rejected"),
        stat(&report, "chembl.compounds_matched"),
        stat(&report, "chembl.activities"),
        stat(&report, "labels.tasks_kept"),
        stat(&report, "labels.tasks_with_labels"),
        stat(&report, "labels.labels"),
        stat(&report, "labels.compounds_labelled"),
    )?;
    writeln!(
        std::io::stdout(),
        "  rules applied: {} activities excluded by data_validity_comment, {} comments ignored, \
         {} comment conflicts dropped, {} pChEMBL values out of range",
        stat(&report, "labels.excluded_by_validity_comment"),
        stat(&report, "labels.ignored_activity_comments"),
        stat(&report, "labels.comment_conflicts_dropped"),
        stat(&report, "labels.pchembl_out_of_range"),
    )?;
    writeln!(
        std::io::stdout(),
        "  {} (labels/, tasks, compounds, rejects, match_report, authors/, manifest.json)",
        first.display()
    )?;

    // 3. The next release, and the refresh.
    let new_db = out.join("chembl_37.db");
    if new_db.exists() {
        std::fs::remove_file(&new_db)
            .with_context(|| format!("cannot remove {}", new_db.display()))?;
    }
    let started = Instant::now();
    let summary = derive_release(
        &old_db,
        &new_db,
        &ReleaseChanges {
            change_rate: DEMO_CHANGE_RATE,
            seed: DEMO_SEED,
            version_name: None,
        },
    )
    .with_context(|| format!("deriving {}", new_db.display()))?;
    writeln!(
        std::io::stdout(),
        "next release ({} -> {}) in {:.1} s: {} activities retracted, {} corrected, {} validity \
         comments changed, {} added ({} new molecules, {} new assays)",
        summary.from_version,
        summary.to_version,
        started.elapsed().as_secs_f64(),
        summary.retracted,
        summary.corrected,
        summary.validity_changed,
        summary.added,
        summary.new_molecules,
        summary.new_assays,
    )?;
    let refreshed = out.join("labels-37");
    clear(&refreshed)?;
    let started = Instant::now();
    let options = RefreshOptions {
        previous: first.clone(),
        chembl: new_db.clone(),
        chembl_release: None,
        out: refreshed.clone(),
    };
    let peer: Vec<OsString> = vec![
        "labels".into(),
        "refresh".into(),
        "--previous".into(),
        os(&first),
        "--chembl".into(),
        os(&new_db),
        "--out".into(),
        os(&refreshed),
    ];
    let rules = pipeline.rules();
    let report = cluster::run(
        role(processes),
        &peer,
        |c| {
            refresh::refresh(&options, c)
                .with_context(|| format!("refreshing labels into {}", refreshed.display()))
        },
        |c| {
            build::run_peer(c, &rules, true)?;
            bail!("a peer process cannot lead the demo")
        },
    )?;
    let seconds = started.elapsed().as_secs_f64();
    let changes = report.changes.unwrap_or_default();
    let shards = pipeline.export.label_shards;
    let rewritten = report.shards_rewritten.unwrap_or(0);
    writeln!(
        std::io::stdout(),
        "labels refresh (ChEMBL 36 -> 37) in {seconds:.1} s: {} labels added, {} removed, {} \
         flipped; {} tasks added, {} removed; {rewritten} of {shards} label shards rewritten, {} \
         reused byte for byte",
        changes[0],
        changes[1],
        changes[2],
        changes[3],
        changes[4],
        u64::from(shards).saturating_sub(rewritten),
    )?;
    writeln!(
        std::io::stdout(),
        "  {} (changelog.parquet lists every change)",
        refreshed.display()
    )?;

    // 4. The refresh must equal a build from scratch on the new release.
    let scratch = out.join("labels-37-from-scratch");
    let (_, seconds) = build_into(&new_db, &scratch)?;
    let same = std::fs::read(refreshed.join(MANIFEST))? == std::fs::read(scratch.join(MANIFEST))?;
    let manifest = Manifest::load(&scratch)?;
    manifest.verify(&refreshed)?;
    if !same {
        bail!(
            "the refreshed export {} differs from a build from scratch {}",
            refreshed.display(),
            scratch.display()
        );
    }
    writeln!(
        std::io::stdout(),
        "check: a from-scratch build on ChEMBL 37 ({seconds:.1} s) has the same manifest and the \
         same {} files, byte for byte, as the refresh",
        manifest.files.len()
    )?;
    Ok(())
}
