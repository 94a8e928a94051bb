//! The image half of `assayflow demo`: convert the demo world's plates (drawn by `synth
//! world`) into view shards joined with the refreshed label export, then draw one more plate
//! and convert again to show that only the new plate is converted.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};

use assayflow::images::convert::{ConvertOptions, ConvertReport, convert};
use assayflow::pipeline::Pipeline;
use assayflow::synth::plates::{PlateOptions, write_plates};
use assayflow::synth::scale::Scale;

use super::demo_labels::DEMO_SEED;

fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Converts `out/world/images` with the labels of `out/labels-37` into `out/views`.
pub fn run(out: &Path, pipeline_path: &Path) -> Result<()> {
    let world = out.join("world");
    let pipeline = Pipeline::load(pipeline_path)?;
    let options = ConvertOptions {
        plates: world.join("images"),
        cellpainting: world.join("cellpainting"),
        labels: out.join("labels-37"),
        pipeline,
        out: out.join("views"),
        workers: workers(),
        checksum: false,
        cellprofiler: Some(world.join("cellprofiler")),
    };
    let run_once = || -> Result<(ConvertReport, f64)> {
        let started = Instant::now();
        let (report, _) = convert(&options, &|_| {}).with_context(|| {
            format!("converting the demo plates into {}", options.out.display())
        })?;
        Ok((report, started.elapsed().as_secs_f64()))
    };
    let (report, seconds) = run_once()?;
    let mut stdout = std::io::stdout();
    let tiff_mb = |r: &ConvertReport| r.bytes_decoded as f64 / 1e6;
    writeln!(
        stdout,
        "images convert in {seconds:.1} s: {} sites on {} plates, {} views of labelled compounds \
         written ({} plates converted, {} reused; {:.0} MB of TIFF decoded), {} single-cell \
         crops, CellProfiler features of {} wells, {} rejects",
        report.sites_found,
        report.plates_converted.len() + report.plates_reused.len(),
        report.views_written,
        report.plates_converted.len(),
        report.plates_reused.len(),
        tiff_mb(&report),
        report.crops_written,
        report.feature_wells,
        report.rejects,
    )?;
    writeln!(
        stdout,
        "  {} (views.parquet, cells.parquet, features.parquet; numpy.load(<shard>, mmap_mode=\"r\") \
         gives (N, 5, 520, 696) views and (N, 5, 96, 96) crops, uint16)",
        options.out.display()
    )?;

    // One more plate: only it is converted.
    let (plates, wells, sites, compression) = Scale::Demo
        .plate_defaults()
        .context("the demo scale draws plates")?;
    let drawn_before = std::fs::read_dir(world.join("images"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with("-Hoechst"))
                .count()
        })
        .unwrap_or(0);
    if drawn_before > plates {
        let (again, seconds) = run_once()?;
        writeln!(
            stdout,
            "the extra plate of an earlier run is kept; convert again in {seconds:.1} s: {} \
             converted, {} reused untouched; {} views in the export",
            again.plates_converted.len(),
            again.plates_reused.len(),
            again.views_written,
        )?;
        return Ok(());
    }
    let started = Instant::now();
    let drawn = write_plates(
        &PlateOptions {
            world: world.clone(),
            skip_plates: plates,
            plates: Some(1),
            wells_per_plate: Some(wells),
            sites,
            width: assayflow::images::settings::DEFAULT_WIDTH,
            height: assayflow::images::settings::DEFAULT_HEIGHT,
            binning: 1,
            compression,
            workers: workers(),
            seed: DEMO_SEED,
        },
        &|_| {},
    )
    .context("drawing one more demo plate")?;
    let drawn_in = started.elapsed().as_secs_f64();
    let (again, seconds) = run_once()?;
    writeln!(
        stdout,
        "one more plate drawn ({} sites in {drawn_in:.1} s), convert again in {seconds:.1} s: \
         {} converted ({}), {} reused untouched; {} views in the export",
        drawn.sites,
        again.plates_converted.len(),
        again.plates_converted.join(", "),
        again.plates_reused.len(),
        again.views_written,
    )?;
    Ok(())
}
