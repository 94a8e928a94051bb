//! Helpers shared by the bench binaries: the built binary, timing a command under GNU time
//! (wall seconds, peak resident memory), medians, output directories.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The assayflow binary cargo built for the bench.
pub const EXE: &str = env!("CARGO_BIN_EXE_assayflow");

pub fn env_path(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join(default),
        PathBuf::from,
    )
}

/// One measured command: wall seconds and peak resident set (MiB, of the largest process in
/// the command's tree as GNU time reports it; `None` without /usr/bin/time).
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// Wall seconds.
    pub seconds: f64,
    /// Peak resident MiB.
    pub peak_mib: Option<f64>,
    /// User + system CPU seconds (all threads and children).
    pub cpu_seconds: Option<f64>,
}

pub fn has_gnu_time() -> bool {
    Command::new("/usr/bin/time")
        .args(["-f", "%e", "true"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `program args`; exit codes in `ok` count as success. Returns its timing.
pub fn measure(program: &str, args: &[&str], ok: &[i32], gnu_time: bool) -> Run {
    let marker = std::env::temp_dir().join(format!("assayflow-bench-time-{}", std::process::id()));
    let mut cmd = if gnu_time {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-f")
            .arg("%e %M %U %S")
            .arg("-o")
            .arg(&marker)
            .arg(program);
        c
    } else {
        Command::new(program)
    };
    cmd.args(args);
    let started = Instant::now();
    let out = cmd.output().expect("start a benchmark step");
    let seconds = started.elapsed().as_secs_f64();
    let code = out.status.code().unwrap_or(-1);
    assert!(
        ok.contains(&code),
        "{program} {}: exit {code}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut run = Run {
        seconds,
        peak_mib: None,
        cpu_seconds: None,
    };
    if gnu_time && let Ok(text) = std::fs::read_to_string(&marker) {
        // GNU time puts "Command exited with non-zero status N" first when the exit is not 0.
        let mut fields = text.lines().last().unwrap_or("").split_whitespace();
        if let (Some(e), Some(m)) = (fields.next(), fields.next()) {
            run.seconds = e.parse().unwrap_or(seconds);
            run.peak_mib = m.parse::<f64>().ok().map(|kb| kb / 1024.0);
            if let (Some(u), Some(s)) = (fields.next(), fields.next())
                && let (Ok(u), Ok(s)) = (u.parse::<f64>(), s.parse::<f64>())
            {
                run.cpu_seconds = Some(u + s);
            }
        }
        let _ = std::fs::remove_file(&marker);
    }
    run
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub fn fresh(dir: &Path) {
    if dir.exists() {
        std::fs::remove_dir_all(dir).expect("remove an old output");
    }
}

pub fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Runs the assayflow binary; exit 0 or 1 (rejects reported) is success, anything else fails
/// the bench with its standard error.
pub fn run_ok(args: &[&str]) {
    let out = Command::new(EXE)
        .args(args)
        .output()
        .expect("start assayflow");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "assayflow {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}
