//! View conversion throughput (issue 5's benchmark): `assayflow images convert` with 1 and 2
//! workers, side by side with the straightforward Python tifffile + numpy conversion of the same
//! views (`benches/images_tifffile.py`) with 1 and 2 processes, on the same files.
//!
//! `cargo bench --bench images_convert` does, in order:
//! 1. finds or makes the input in `ASSAYFLOW_BENCH_IMAGES` (default `target/bench/images`): a
//!    demo world without its default plates (`synth world --scale demo --seed 1 --no-images`),
//!    its label export, and `ASSAYFLOW_BENCH_IMAGE_WELLS` (48) wells x 6 sites of each of its
//!    first 2 plates drawn uncompressed, as the Bray 2017 files are (`synth plates`);
//! 2. runs `ASSAYFLOW_BENCH_ROUNDS` (3) interleaved rounds of: convert with `--workers 1` and
//!    `--workers 2` (every keyed and control site: `include_controls`, `include_unlabelled`),
//!    and the Python script with 1 and 2 processes, each a separate command under
//!    `/usr/bin/time` (wall, peak RSS), each into an empty output directory;
//! 3. measures peak memory on one plate against two (it must not grow with the views);
//! 4. checks once that the Python shards hold the same pixels as ours (`--compare`);
//! 5. prints medians, views/s, MB/s of TIFF input, and the ratios, as Markdown.
//!
//! The Python steps are skipped, with a message, when `import tifffile, numpy, pandas` fails.

mod common;

use std::path::Path;
use std::process::Command;

use common::{EXE, Run, env_path, fresh, has_gnu_time, measure, median, run_ok, s};

fn python_ok() -> bool {
    Command::new("python3")
        .args(["-c", "import tifffile, numpy, pandas, pyarrow"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn tiff_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(dir).expect("plates").flatten() {
        if e.path().is_dir() {
            total += tiff_bytes(&e.path());
        } else if e.path().extension().is_some_and(|x| x == "tif") {
            total += e.metadata().map_or(0, |m| m.len());
        }
    }
    total
}

fn main() {
    let dir = env_path("ASSAYFLOW_BENCH_IMAGES", "target/bench/images");
    let rounds: usize = std::env::var("ASSAYFLOW_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let wells = std::env::var("ASSAYFLOW_BENCH_IMAGE_WELLS").unwrap_or_else(|_| "48".into());
    let world = dir.join("world");
    let labels = dir.join("labels");
    let plates = world.join("images");
    if !world.join("cellprofiler").is_dir() {
        fresh(&dir);
        std::fs::create_dir_all(&dir).expect("bench dir");
        eprintln!("making the input in {} ...", dir.display());
        run_ok(&[
            "-q",
            "synth",
            "world",
            "--scale",
            "demo",
            "--seed",
            "1",
            "--no-images",
            "--out",
            s(&world),
        ]);
        run_ok(&[
            "-q",
            "labels",
            "build",
            "--chembl",
            s(&world.join("chembl/chembl_36.db")),
            "--cellpainting",
            s(&world.join("cellpainting")),
            "--out",
            s(&labels),
        ]);
        run_ok(&[
            "-q",
            "synth",
            "plates",
            "--world",
            s(&world),
            "--plates",
            "2",
            "--wells-per-plate",
            &wells,
            "--sites",
            "6",
            "--compression",
            "none",
        ]);
    }
    // Every keyed and control site.
    let pipeline = dir.join("pipeline.toml");
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/paper.toml"))
            .expect("paper.toml")
            .replace("include_controls = false", "include_controls = true")
            .replace("include_unlabelled = false", "include_unlabelled = true");
    std::fs::write(&pipeline, text).expect("pipeline");
    // One plate alone, for the memory check.
    let one = dir.join("one-plate");
    if !one.is_dir() {
        std::fs::create_dir_all(&one).expect("dir");
        for e in std::fs::read_dir(&plates).expect("plates").flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("24277-") {
                std::os::unix::fs::symlink(e.path(), one.join(&name)).expect("link");
            }
        }
    }
    let gnu_time = has_gnu_time();
    let python = python_ok();
    if !python {
        println!("Python: skipped (python3 cannot `import tifffile, numpy, pandas, pyarrow`)");
    }
    let convert = |plates: &Path, out: &Path, workers: &str| -> Run {
        fresh(out);
        measure(
            EXE,
            &[
                "-q",
                "images",
                "convert",
                "--plates",
                s(plates),
                "--cellpainting",
                s(&world.join("cellpainting")),
                "--labels",
                s(&labels),
                "--pipeline",
                s(&pipeline),
                "--out",
                s(out),
                "--workers",
                workers,
            ],
            &[0],
            gnu_time,
        )
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/images_tifffile.py");
    let py = |export: &Path, out: &Path, processes: &str, compare: bool| -> Run {
        fresh(out);
        let mut args = vec![
            s(&script),
            "--export",
            s(export),
            "--plates",
            s(&plates),
            "--out",
            s(out),
            "--processes",
            processes,
        ];
        if compare {
            args.push("--compare");
        }
        measure("python3", &args, &[0], gnu_time)
    };

    let (o1, o2) = (dir.join("ours-1"), dir.join("ours-2"));
    let (p1, p2) = (dir.join("py-1"), dir.join("py-2"));
    let mut runs: Vec<Vec<Run>> = vec![Vec::new(); 4];
    for round in 0..rounds {
        runs[0].push(convert(&plates, &o1, "1"));
        runs[1].push(convert(&plates, &o2, "2"));
        if python {
            runs[2].push(py(&o1, &p1, "1", false));
            runs[3].push(py(&o1, &p2, "2", false));
        }
        let secs: Vec<String> = runs
            .iter()
            .filter_map(|r| r.last())
            .map(|r| format!("{:.2}", r.seconds))
            .collect();
        eprintln!("round {}: {}", round + 1, secs.join(" "));
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(o1.join("manifest.json")).expect("manifest"))
            .expect("json");
    let views = manifest["stats"]["views_written"].as_u64().unwrap_or(0) as f64;
    let input_mb: f64 = manifest["plates"]
        .as_array()
        .map(|p| {
            p.iter()
                .filter_map(|x| x["input_bytes"].as_u64())
                .sum::<u64>()
        })
        .unwrap_or(0) as f64
        / 1e6;
    let one_plate = convert(&one, &dir.join("ours-one-plate"), "2");
    if python {
        py(&o1, &p1, "1", true);
    }

    println!(
        "\nInput: {} views ({:.0} MB of uncompressed 16-bit TIFF, {} on disk under {}); {} rounds, medians.\n",
        views,
        input_mb,
        tiff_bytes(&plates) / 1_000_000,
        plates.display(),
        rounds
    );
    println!(
        "| conversion | median wall (s) | median CPU (s) | views/s | MB/s of TIFF | peak RSS (MiB) |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    let names = [
        "`assayflow images convert --workers 1`",
        "`assayflow images convert --workers 2`",
        "`benches/images_tifffile.py` (tifffile + numpy), 1 process",
        "`benches/images_tifffile.py --processes 2`",
    ];
    let peak_of = |r: &[Run]| {
        let v: Vec<f64> = r.iter().filter_map(|x| x.peak_mib).collect();
        if v.is_empty() { f64::NAN } else { median(v) }
    };
    let cpu_of = |r: &[Run]| {
        let v: Vec<f64> = r.iter().filter_map(|x| x.cpu_seconds).collect();
        if v.is_empty() { f64::NAN } else { median(v) }
    };
    let mut medians = [f64::NAN; 4];
    let mut cpus = [f64::NAN; 4];
    for (i, (name, r)) in names.iter().zip(&runs).enumerate() {
        if r.is_empty() {
            continue;
        }
        let m = median(r.iter().map(|x| x.seconds).collect());
        medians[i] = m;
        cpus[i] = cpu_of(r);
        let peak = peak_of(r);
        println!(
            "| {name} | {m:.2} | {:.2} | {:.1} | {:.0} | {peak:.0} |",
            cpus[i],
            views / m,
            input_mb / m
        );
    }
    if python {
        println!("\n| ratio | measured | target |");
        println!("| --- | --- | --- |");
        println!(
            "| Python 1 process / ours 1 worker, wall | {:.2}x | >= 3x per core |",
            medians[2] / medians[0]
        );
        println!(
            "| Python 1 process / ours 1 worker, CPU time (per core) | {:.2}x | >= 3x |",
            cpus[2] / cpus[0]
        );
        println!(
            "| Python 2 processes / ours 2 workers, wall | {:.2}x | (for reference) |",
            medians[3] / medians[1]
        );
    }
    println!(
        "\nPeak memory, 2 workers: {:.0} MiB converting one plate ({} views), {:.0} MiB converting two ({} views).",
        one_plate.peak_mib.unwrap_or(f64::NAN),
        std::fs::read_to_string(dir.join("ours-one-plate/manifest.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|m| m["stats"]["views_written"].as_u64())
            .unwrap_or(0),
        peak_of(&runs[1]),
        views
    );
    if python {
        println!("Check: the Python shards hold the same pixels as ours (--compare).");
    }
}
