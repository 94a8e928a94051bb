//! Label build and refresh at `full` scale, side by side with the plain pandas + sqlite3 + RDKit
//! script (`benches/labels_pandas.py`) on the same files: issue 4's benchmark.
//!
//! `cargo bench --bench labels_full` does, in order:
//! 1. finds the generated world in `ASSAYFLOW_BENCH_WORLD` (default `target/bench/world-full`),
//!    generating it with `assayflow synth world --scale full --seed 1 --processes 2` when it has
//!    no `world.json` (about ten minutes on two cores, timed once);
//! 2. derives the next release with `assayflow synth release --change-rate 0.01 --seed 1`
//!    (timed) into `ASSAYFLOW_BENCH_DIR` (default `target/bench/labels`);
//! 3. runs `ASSAYFLOW_BENCH_ROUNDS` (3) interleaved rounds of: `labels build` with
//!    `--processes 1` and `--processes 2`, `labels refresh` from the 1-process build's export to
//!    the new release with `--processes 1` and 2, and the pandas script (one process, as a
//!    straightforward script runs, and with `--processes 2` for reference), each as a separate
//!    command under `/usr/bin/time` for wall time and peak resident memory;
//! 4. checks correctness once: the pandas script's labels and tasks equal the export's
//!    (`--compare`), and the refreshed export equals a from-scratch build on the new release
//!    file for file, byte for byte;
//! 5. prints the medians and the ratios the issue sets targets for, as a Markdown table.
//!
//! The pandas steps are skipped, with a message, when `import pandas, rdkit, pyarrow` fails
//! (`ASSAYFLOW_BENCH_PANDAS=0` skips them too). Timings include process start-up and, for the
//! build, reading the Cell Painting metadata; the page cache is warm after the first round.

use std::path::Path;
use std::process::Command;

mod common;
use common::{EXE, Run, env_path, fresh, has_gnu_time, measure, median, s};

/// The relative paths and bytes of every file under `dir`, sorted.
fn files_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).expect("read an export") {
            let p = e.expect("read an export").path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).expect("under root");
                out.push((
                    rel.display().to_string(),
                    std::fs::read(&p).expect("read a file"),
                ));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn main() {
    let world = env_path("ASSAYFLOW_BENCH_WORLD", "target/bench/world-full");
    let dir = env_path("ASSAYFLOW_BENCH_DIR", "target/bench/labels");
    let rounds: usize = std::env::var("ASSAYFLOW_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let gnu_time = has_gnu_time();
    let pipeline = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/paper.toml");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/labels_pandas.py");
    let pandas = std::env::var("ASSAYFLOW_BENCH_PANDAS").as_deref() != Ok("0")
        && Command::new("python3")
            .args(["-c", "import pandas, rdkit, pyarrow"])
            .output()
            .is_ok_and(|o| o.status.success());
    std::fs::create_dir_all(&dir).expect("create the bench directory");

    println!("# labels at full scale ({rounds} rounds)");
    if !pandas {
        println!(
            "the pandas script is skipped: {}",
            if std::env::var("ASSAYFLOW_BENCH_PANDAS").as_deref() == Ok("0") {
                "ASSAYFLOW_BENCH_PANDAS=0"
            } else {
                "python3 cannot import pandas, rdkit and pyarrow (pip install pandas rdkit pyarrow)"
            }
        );
    }
    if !world.join("world.json").exists() {
        println!("generating the full world into {} ...", world.display());
        fresh(&world);
        let run = measure(
            EXE,
            &[
                "-q",
                "synth",
                "world",
                "--out",
                s(&world),
                "--scale",
                "full",
                "--seed",
                "1",
                "--processes",
                "2",
            ],
            &[0],
            gnu_time,
        );
        println!(
            "synth world --scale full --processes 2: {:.0} s, peak {:.0} MiB",
            run.seconds,
            run.peak_mib.unwrap_or(f64::NAN)
        );
    }
    let old_db = world.join("chembl/chembl_36.db");
    let cellpainting = world.join("cellpainting");
    let new_db = dir.join("chembl_37.db");
    let _ = std::fs::remove_file(&new_db);
    let derive = measure(
        EXE,
        &[
            "-q",
            "synth",
            "release",
            "--from",
            s(&old_db),
            "--out",
            s(&new_db),
            "--change-rate",
            "0.01",
            "--seed",
            "1",
        ],
        &[0],
        gnu_time,
    );
    println!(
        "synth release --change-rate 0.01: {:.1} s, peak {:.0} MiB",
        derive.seconds,
        derive.peak_mib.unwrap_or(f64::NAN)
    );

    let build = |out: &Path, db: &Path, processes: &str| {
        fresh(out);
        measure(
            EXE,
            &[
                "-q",
                "labels",
                "build",
                "--chembl",
                s(db),
                "--cellpainting",
                s(&cellpainting),
                "--pipeline",
                s(&pipeline),
                "--out",
                s(out),
                "--processes",
                processes,
            ],
            // 1: some records were rejected (the world plants bad SMILES on purpose).
            &[0, 1],
            gnu_time,
        )
    };
    let refresh = |out: &Path, previous: &Path, processes: &str| {
        fresh(out);
        measure(
            EXE,
            &[
                "-q",
                "labels",
                "refresh",
                "--previous",
                s(previous),
                "--chembl",
                s(&new_db),
                "--out",
                s(out),
                "--processes",
                processes,
            ],
            &[0, 1],
            gnu_time,
        )
    };
    let pandas_run = |out: &Path, processes: &str, compare: Option<&Path>| {
        fresh(out);
        let mut args = vec![
            s(&script),
            "--chembl",
            s(&old_db),
            "--cellpainting",
            s(&cellpainting),
            "--pipeline",
            s(&pipeline),
            "--out",
            s(out),
            "--processes",
            processes,
        ];
        if let Some(c) = compare {
            args.extend(["--compare", s(c)]);
        }
        measure("python3", &args, &[0], gnu_time)
    };

    let names = [
        "build, 1 process",
        "build, 2 processes",
        "refresh, 1 process",
        "refresh, 2 processes",
        "pandas script, 1 process",
        "pandas script, 2 processes",
    ];
    let mut runs: Vec<Vec<Run>> = vec![Vec::new(); names.len()];
    let (b1, b2) = (dir.join("build-1"), dir.join("build-2"));
    let (r1, r2) = (dir.join("refresh-1"), dir.join("refresh-2"));
    let (p1, p2) = (dir.join("pandas-1"), dir.join("pandas-2"));
    for round in 0..rounds {
        runs[0].push(build(&b1, &old_db, "1"));
        runs[1].push(build(&b2, &old_db, "2"));
        runs[2].push(refresh(&r1, &b1, "1"));
        runs[3].push(refresh(&r2, &b1, "2"));
        if pandas {
            runs[4].push(pandas_run(&p1, "1", None));
            runs[5].push(pandas_run(&p2, "2", None));
        }
        let line: Vec<String> = runs
            .iter()
            .filter_map(|r| r.last())
            .map(|r| format!("{:.2}", r.seconds))
            .collect();
        println!("round {}: {}", round + 1, line.join(" "));
    }

    // Correctness, once: pandas == export, 1 == 2 processes, refresh == build on the new release.
    assert_eq!(
        files_of(&b1),
        files_of(&b2),
        "builds with 1 and 2 processes differ"
    );
    let fresh_build = dir.join("build-new");
    let new_build = build(&fresh_build, &new_db, "1");
    let (a, b) = (files_of(&r1), files_of(&fresh_build));
    let refreshed: Vec<_> = a
        .iter()
        .filter(|(p, _)| p != "changelog.parquet" && p != "refresh.json")
        .cloned()
        .collect();
    assert_eq!(
        refreshed, b,
        "the refreshed export differs from a build on the new release"
    );
    assert_eq!(files_of(&r1), files_of(&r2), "refreshes differ");
    if pandas {
        let check = pandas_run(&dir.join("pandas-check"), "1", Some(&b1));
        println!(
            "pandas script --compare: identical labels and tasks ({:.1} s)",
            check.seconds
        );
    }
    println!(
        "checks: 1 and 2 processes byte-identical; refresh == build on the new release \
         ({} files byte-identical; that build took {:.2} s)",
        b.len(),
        new_build.seconds
    );

    let med: Vec<Option<(f64, Option<f64>)>> = runs
        .iter()
        .map(|r| {
            (!r.is_empty()).then(|| {
                let peak = r
                    .iter()
                    .map(|x| x.peak_mib)
                    .collect::<Option<Vec<f64>>>()
                    .map(median);
                (median(r.iter().map(|x| x.seconds).collect()), peak)
            })
        })
        .collect();
    println!();
    println!("| command | median wall (s) | peak RSS (MiB) |");
    println!("| --- | --- | --- |");
    for (name, m) in names.iter().zip(&med) {
        if let Some((t, peak)) = m {
            let peak = peak.map_or("-".to_string(), |p| format!("{p:.0}"));
            println!("| {name} | {t:.2} | {peak} |");
        }
    }
    println!();
    let t = |i: usize| med[i].map(|m| m.0);
    if let (Some(b1), Some(b2), Some(r1), Some(r2)) = (t(0), t(1), t(2), t(3)) {
        println!("| ratio | value | target |");
        println!("| --- | --- | --- |");
        println!(
            "| refresh / build, 1 process each | {:.2} | <= 0.20 |",
            r1 / b1
        );
        println!(
            "| refresh (1 process) / build, 2 processes | {:.2} | <= 0.20 |",
            r1 / b2
        );
        println!(
            "| refresh / build, 2 processes each | {:.2} | <= 0.20 |",
            r2 / b2
        );
        if let (Some(p1), Some(p2)) = (t(4), t(5)) {
            println!(
                "| pandas (1 process) / build, 1 process | {:.2}x | >= 5x |",
                p1 / b1
            );
            println!(
                "| pandas (1 process) / build, 2 processes | {:.2}x | >= 5x |",
                p1 / b2
            );
            println!(
                "| pandas / build, 2 processes each | {:.2}x | (reference) |",
                p2 / b2
            );
        }
    }
}
