//! SMILES -> InChIKey throughput, side by side with RDKit on the same file and the same core.
//!
//! `cargo bench --bench inchikey_throughput` measures, in interleaved rounds:
//! 1. keying in-process (library, one thread), pinned to CPU 0 with `taskset` when available;
//! 2. RDKit from Python on the same file, pinned to the same CPU (skipped with a message when
//!    `import rdkit` fails);
//! 3. the `assayflow inchikey` command end to end with `--processes 1` and `--processes 2`,
//!    for the scaling figure.
//!
//! It prints medians and ratios. The input is `../shared/data/chem/smiles_inchikey_rdkit.tsv`
//! (7,075 molecules), or the path in `ASSAYFLOW_BENCH_INPUT`. Rounds: `ASSAYFLOW_BENCH_ROUNDS` (5).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use assayflow::chem::perceive::perceive;
use assayflow::chem::smiles::read;
use assayflow::chem::smiles_to_inchikey;

const INNER: &str = "ASSAYFLOW_BENCH_INNER";

fn input() -> PathBuf {
    std::env::var_os("ASSAYFLOW_BENCH_INPUT").map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/data/chem/smiles_inchikey_rdkit.tsv")
        },
        PathBuf::from,
    )
}

fn smiles_of(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
        .collect()
}

/// The inner measurement: key every SMILES once, then only read and perceive them (no InChI);
/// prints "molecules keyed seconds perceive_seconds".
fn inner(path: &Path) {
    let smiles = smiles_of(path);
    let start = Instant::now();
    let keyed = smiles
        .iter()
        .filter(|s| smiles_to_inchikey(s).is_ok())
        .count();
    let seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let perceived = smiles
        .iter()
        .filter(|s| read(s).and_then(|mut m| perceive(&mut m)).is_ok())
        .count();
    let perceive_seconds = start.elapsed().as_secs_f64();
    assert_eq!(keyed, perceived);
    println!("{} {keyed} {seconds} {perceive_seconds}", smiles.len());
}

fn has(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `program args`, pinned to CPU 0 when taskset exists; returns stdout.
fn pinned(taskset: bool, program: &Path, args: &[&str], env: Option<(&str, &str)>) -> String {
    let mut cmd = if taskset {
        let mut c = Command::new("taskset");
        c.arg("-c").arg("0").arg(program);
        c
    } else {
        Command::new(program)
    };
    cmd.args(args);
    if let Some((k, v)) = env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run benchmark step");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn cli_seconds(input: &Path, processes: usize) -> f64 {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_assayflow"))
        .args(["-q", "inchikey"])
        .arg(input)
        .args(["-o", "/dev/null", "--processes"])
        .arg(processes.to_string())
        .output()
        .expect("run assayflow");
    assert!(
        out.status.success() || out.status.code() == Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    start.elapsed().as_secs_f64()
}

fn main() {
    let path = input();
    if std::env::var_os(INNER).is_some() {
        inner(&path);
        return;
    }
    // `cargo bench` passes --bench; ignore arguments.
    let rounds: usize = std::env::var("ASSAYFLOW_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let taskset = has("taskset", &["-c", "0", "true"]);
    let python = has("python3", &["-c", "import rdkit"]);
    let molecules = smiles_of(&path).len();
    let me = std::env::current_exe().expect("bench binary");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/rdkit_inchikey_rate.py");
    println!(
        "input: {} ({molecules} molecules), {rounds} rounds",
        path.display()
    );
    println!(
        "pinning: {}",
        if taskset {
            "taskset -c 0 (same core for both)"
        } else {
            "none (taskset missing)"
        }
    );
    if !python {
        println!("RDKit: skipped (python3 cannot `import rdkit`; `pip install rdkit` to compare)");
    }
    let (mut ours, mut theirs, mut p1, mut p2) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut perceive_only = Vec::new();
    for round in 0..rounds {
        let line = pinned(taskset, &me, &[], Some((INNER, "1")));
        let f: Vec<f64> = line
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        ours.push(f[0] / f[2]);
        perceive_only.push(f[0] / f[3]);
        if python {
            let json = pinned(
                taskset,
                Path::new("python3"),
                &[
                    script.to_str().unwrap_or_default(),
                    path.to_str().unwrap_or_default(),
                ],
                None,
            );
            let seconds: f64 = json
                .split("\"seconds\": ")
                .nth(1)
                .and_then(|s| s.split([',', '}']).next())
                .and_then(|s| s.trim().parse().ok())
                .expect("RDKit script output");
            theirs.push(molecules as f64 / seconds);
        }
        p1.push(molecules as f64 / cli_seconds(&path, 1));
        p2.push(molecules as f64 / cli_seconds(&path, 2));
        eprintln!("round {}/{rounds} done", round + 1);
    }
    let ours_m = median(ours);
    println!("assayflow, library, 1 core: {ours_m:>8.0} molecules/s (median)");
    println!(
        "  of which reading + perception alone: {:>8.0} molecules/s (the rest is the InChI library)",
        median(perceive_only)
    );
    if python {
        let theirs_m = median(theirs);
        println!("RDKit (Python), 1 core:     {theirs_m:>8.0} molecules/s (median)");
        println!("ratio assayflow / RDKit:    {:>8.2}x", ours_m / theirs_m);
    }
    let (p1m, p2m) = (median(p1), median(p2));
    println!("assayflow inchikey --processes 1: {p1m:>8.0} molecules/s end to end (median)");
    println!("assayflow inchikey --processes 2: {p2m:>8.0} molecules/s end to end (median)");
    println!("scaling 2 / 1 processes:          {:>8.2}x", p2m / p1m);
}
