//! Loader throughput (issue 6's benchmark): assayflow's staged loader (memory-mapped shards ->
//! reader threads -> reusable host batches, in order) against a PyTorch DataLoader over numpy
//! memory maps of the same shards (`benches/loader_torch.py`), both shuffling the labelled views
//! of a view export into batches with their label rows, with the same number of readers
//! (workers), no model.
//!
//! `cargo bench --features torch --bench loader` (after `eval "$(scripts/libtorch)"`):
//! 1. finds or makes the input in `ASSAYFLOW_BENCH_LOADER` (default `target/bench/loader`): the
//!    demo world (`synth world --scale demo --seed 1 --no-images`), its label export, all wells of
//!    its 4 plates drawn at 2 sites of 260 x 348 (`synth plates --width 348 --height 260`), and
//!    the view export of `pipelines/demo-training.toml` (uint8, as the demo trains on);
//! 2. warms the page cache, then runs `ASSAYFLOW_BENCH_ROUNDS` (5) interleaved rounds of one
//!    epoch of ours and one of PyTorch's (a persistent DataLoader; its epochs after the first);
//! 3. prints views/s and MB/s (medians) and the ratio, as Markdown.
//!
//! The Python side runs with `ASSAYFLOW_BENCH_PYTHON` (default `python3`) and is skipped, with a
//! message, when that cannot `import torch, numpy, pyarrow`.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use assayflow::train::dataset::{Dataset, Split};
use assayflow::train::loader::{Loader, LoaderOptions, Source, epoch_batches};
use assayflow::train::models::InputKind;
use common::{env_path, fresh, median, run_ok, s};

fn main() {
    let dir = env_path("ASSAYFLOW_BENCH_LOADER", "target/bench/loader");
    let rounds: usize = std::env::var("ASSAYFLOW_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let batch: usize = 64;
    let readers: usize = 2;
    let python = std::env::var("ASSAYFLOW_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let (world, labels, views) = (dir.join("world"), dir.join("labels"), dir.join("views"));
    if !views.join("manifest.json").is_file() {
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
            "--sites",
            "2",
            "--width",
            "348",
            "--height",
            "260",
            "--compression",
            "deflate",
        ]);
        let pipeline = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/demo-training.toml");
        run_ok(&[
            "-q",
            "images",
            "convert",
            "--plates",
            s(&world.join("images")),
            "--cellpainting",
            s(&world.join("cellpainting")),
            "--labels",
            s(&labels),
            "--pipeline",
            s(&pipeline),
            "--out",
            s(&views),
        ]);
        let _ = std::fs::remove_dir_all(world.join("images"));
    }
    let ds = Arc::new(Dataset::open(&views, Some(&labels), InputKind::Views).expect("dataset"));
    let mut items: Vec<u32> = Vec::new();
    for split in [Split::Train, Split::Valid, Split::Test] {
        items.extend(ds.labelled(split));
    }
    items.sort_unstable();
    let mb_per_view = ds.item_bytes() as f64 / 1e6;
    let options = LoaderOptions {
        batch_size: batch,
        readers,
        prefetch: 4,
        shuffle: true,
        shard_local: false,
        pinned: false,
    };
    let loader = Loader::new(
        ds.clone(),
        Arc::new(Source::open(&ds).expect("shards")),
        options,
    )
    .expect("loader");
    let ours_epoch = |epoch: u32| -> f64 {
        let started = Instant::now();
        let mut reader = loader.epoch(epoch_batches(&ds, &items, &options, 1, epoch), 0);
        let (mut n, mut check) = (0usize, 0u64);
        while let Some(b) = reader.next_batch().expect("batch") {
            n += b.items.len();
            check += b
                .labels
                .iter()
                .map(|&l| l as i64)
                .sum::<i64>()
                .unsigned_abs();
            loader.recycle(b.buffer);
        }
        assert_eq!(n, items.len());
        std::hint::black_box(check);
        n as f64 / started.elapsed().as_secs_f64()
    };
    let python_ok = Command::new(&python)
        .args(["-c", "import torch, numpy, pyarrow"])
        .output()
        .is_ok_and(|o| o.status.success());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/loader_torch.py");
    let torch_epochs = |epochs: usize| -> Vec<f64> {
        let out = Command::new(&python)
            .args([
                s(&script),
                s(&views),
                s(&labels),
                "--epochs",
                &epochs.to_string(),
                "--batch-size",
                &batch.to_string(),
                "--workers",
                &readers.to_string(),
            ])
            .output()
            .expect("python");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["views_per_second"].as_f64())
            .collect()
    };
    // Warm the page cache and both code paths.
    ours_epoch(0);
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for r in 0..rounds {
        ours.push(ours_epoch(r as u32 + 1));
        if python_ok {
            // The first epoch of a fresh DataLoader starts its workers: keep the second.
            let rates = torch_epochs(2);
            theirs.push(*rates.last().expect("an epoch"));
        }
    }
    println!(
        "\n{} labelled views of {:?} {} ({:.2} MB each), batches of {batch}, {readers} readers/workers, {rounds} rounds\n",
        items.len(),
        ds.item_shape,
        ds.dtype.name(),
        mb_per_view
    );
    println!("| loader | views/s (median) | MB/s | rounds |");
    println!("| --- | --- | --- | --- |");
    let o = median(ours.clone());
    println!(
        "| assayflow (memmap -> reader threads -> host batches) | {o:.0} | {:.0} | {:?} |",
        o * mb_per_view,
        ours.iter().map(|v| v.round()).collect::<Vec<_>>()
    );
    if python_ok {
        let t = median(theirs.clone());
        println!(
            "| PyTorch DataLoader + numpy memmap | {t:.0} | {:.0} | {:?} |",
            t * mb_per_view,
            theirs.iter().map(|v| v.round()).collect::<Vec<_>>()
        );
        println!("\nours / PyTorch: {:.2}x", o / t);
    } else {
        println!(
            "\nPyTorch: skipped ({python} cannot `import torch, numpy, pyarrow`; set ASSAYFLOW_BENCH_PYTHON)"
        );
    }
}
