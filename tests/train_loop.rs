//! The training loop on CPU (cargo feature `torch`): a tiny batch is overfitted, an interrupted
//! and resumed run takes exactly the steps of an uninterrupted one, the loader delivers the same
//! batches whatever the number of readers, 16-bit pixels survive the trip to the device, and a
//! diverging loss stops the run naming the step.
#![cfg(feature = "torch")]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use assayflow::export::npy;
use assayflow::images::settings::PixelType;
use assayflow::train::dataset::{Dataset, Group, Item, Shard, Split, Task};
use assayflow::train::device_input::{InputFormat, device_input};
use assayflow::train::fit::{self, EpochMetrics, Progress, TrainConfig, TrainError};
use assayflow::train::loader::{Loader, LoaderOptions, Source, epoch_batches};
use assayflow::train::loss::masked_bce;
use assayflow::train::models::{InputKind, ModelKind};
use assayflow::train::sgd::Sgd;
use tch::{Device, Kind, Tensor};

/// libtorch's random generator is process-wide: tests that seed it run one at a time.
static TORCH_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    TORCH_RNG
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("assayflow-train-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// A dataset of `wells` wells x `per_well` views of 5 x `side` x `side` uint8 pixels in shards
/// of 8 rows, with 3 tasks whose labels follow the mean brightness of channel 0 (learnable).
fn synthetic(dir: &Path, wells: usize, per_well: usize, side: usize) -> Dataset {
    let mut rng = assayflow::rng::SplitMix64::new(11);
    let tasks = 3;
    let mut groups = Vec::new();
    let mut items = Vec::new();
    let mut labels = Vec::new();
    let mut rows: Vec<Vec<u8>> = Vec::new();
    for w in 0..wells {
        let active = w % 2 == 0;
        let split = match w % 5 {
            0..=2 => Split::Train,
            3 => Split::Valid,
            _ => Split::Test,
        };
        groups.push(Group {
            plate: "P1".into(),
            well: format!("A{:02}", w + 1),
            inchikey: Some(format!("KEY{w:04}")),
            compound: Some(w as u32),
            split: Some(split),
        });
        for t in 0..tasks {
            labels.push(match (t, active) {
                (2, _) if w % 3 == 0 => 0,
                (_, true) => 1,
                (_, false) => -1,
            });
        }
        for v in 0..per_well {
            let mut px = vec![0u8; 5 * side * side];
            for (i, p) in px.iter_mut().enumerate() {
                let base = if i < side * side && active { 150 } else { 60 };
                *p = (base + rng.below(60)) as u8;
            }
            items.push(Item {
                key: format!("P1-A{:02}-{}", w + 1, v + 1),
                group: w as u32,
                shard: (rows.len() / 8) as u32,
                row: (rows.len() % 8) as u32,
            });
            rows.push(px);
        }
    }
    let mut shards = Vec::new();
    for (s, chunk) in rows.chunks(8).enumerate() {
        let path = dir.join(format!("part-{s:05}.npy"));
        let mut bytes =
            npy::header("|u1", chunk.len() as u64, &[5, side as u64, side as u64]).expect("header");
        let offset = bytes.len();
        for r in chunk {
            bytes.extend_from_slice(r);
        }
        std::fs::write(&path, bytes).expect("shard");
        shards.push(Shard {
            path,
            rows: chunk.len() as u64,
            data_offset: offset,
        });
    }
    Dataset {
        input: InputKind::Views,
        tasks: (0..tasks)
            .map(|t| Task {
                task_id: format!("CHEMBL{t}:comment"),
                n_active: 0,
                n_inactive: 0,
            })
            .collect(),
        compounds: (0..wells).map(|w| format!("KEY{w:04}")).collect(),
        labels,
        groups,
        items,
        shards,
        item_shape: [5, side as i64, side as i64],
        dtype: PixelType::Uint8,
        features: None,
        fingerprint: "synthetic".into(),
    }
}

fn config(epochs: u32) -> TrainConfig {
    TrainConfig {
        model: "gapnet".into(),
        views: PathBuf::from("views"),
        labels: PathBuf::from("labels"),
        epochs,
        batch_size: 4,
        lr: 1e-2,
        momentum: 0.9,
        weight_decay: 1e-4,
        clip_norm: 5.0,
        seed: 3,
        readers: 2,
        prefetch: 2,
        shard_local: false,
        bf16: false,
        channels_last: false,
        max_loss: 1e3,
        max_items_per_epoch: None,
        checkpoint_every: 0,
    }
}

#[derive(Default)]
struct Losses {
    steps: Vec<f64>,
    epochs: Vec<EpochMetrics>,
}

impl Progress for Losses {
    fn epoch_start(&mut self, _: u32, _: usize, _: usize) {}
    fn step(&mut self, loss: f64) {
        self.steps.push(loss);
    }
    fn epoch_end(&mut self, m: &EpochMetrics) {
        self.epochs.push(m.clone());
    }
}

/// The CPU, and the first CUDA device where libtorch sees one: tests run per device.
fn devices() -> Vec<Device> {
    let _ = assayflow::train::cuda_runtime::load_cuda();
    let mut d = vec![Device::Cpu];
    if tch::Cuda::is_available() {
        d.push(Device::Cuda(0));
    }
    d
}

#[test]
fn a_tiny_batch_is_overfitted() {
    let _serial = serial();
    for device in devices() {
        tch::manual_seed(5);
        let vs = tch::nn::VarStore::new(device);
        let net = ModelKind::GapNet.build(&vs.root(), 5, 4);
        let x = Tensor::randn([6, 5, 48, 48], (Kind::Float, device));
        let y = Tensor::from_slice(&[
            1i8, -1, 0, 1, -1, 1, 1, 0, 0, -1, -1, 1, 1, 1, -1, -1, -1, 0, 1, 1, 0, 1, -1, -1,
        ])
        .view([6, 4])
        .to_device(device);
        let mut sgd = Sgd::new(1e-2, 0.9, 0.0);
        let mut first = None;
        let mut last = f64::NAN;
        for _ in 0..60 {
            let out = net.outputs(&x, true);
            let loss = masked_bce(&out.logits, &y, None);
            last = loss.double_value(&[]);
            first.get_or_insert(last);
            loss.backward();
            Sgd::clip_grad_norm(&vs, 5.0);
            sgd.step(&vs);
        }
        let first = first.expect("steps ran");
        assert!(first > 0.5, "{device:?}: starts near log 2: {first}");
        assert!(
            last < 0.05,
            "{device:?}: a tiny batch is memorised: {first} -> {last}"
        );
    }
}

#[test]
fn the_masked_loss_ignores_missing_labels_and_averages_observed_ones() {
    let logits = Tensor::from_slice(&[2.0f32, -1.0, 0.5, 3.0]).view([2, 2]);
    let labels = Tensor::from_slice(&[1i8, 0, -1, 1]).view([2, 2]);
    let got = masked_bce(&logits, &labels, None).double_value(&[]);
    let bce = |p: f64, y: f64| p.max(0.0) - p * y + (-p.abs()).exp().ln_1p();
    let want = (bce(2.0, 1.0) + bce(0.5, 0.0) + bce(3.0, 1.0)) / 3.0;
    assert!((got - want).abs() < 1e-6, "{got} vs {want}");
    let none = Tensor::zeros([2, 2], (Kind::Int8, Device::Cpu));
    assert_eq!(masked_bce(&logits, &none, None).double_value(&[]), 0.0);
}

#[test]
fn a_resumed_run_takes_exactly_the_steps_of_an_uninterrupted_one() {
    let _serial = serial();
    let dir = tmp("resume");
    let ds = Arc::new(synthetic(&dir, 20, 2, 40));
    let cfg = config(2);
    let mut whole = Losses::default();
    let a = fit::train(
        ModelKind::GapNet,
        ds.clone(),
        &cfg,
        Device::Cpu,
        &dir.join("a"),
        false,
        None,
        &mut whole,
    )
    .expect("uninterrupted run");
    assert!(!a.interrupted);
    assert_eq!(whole.steps.len() as u64, a.steps);

    let mut first = Losses::default();
    let b = fit::train(
        ModelKind::GapNet,
        ds.clone(),
        &cfg,
        Device::Cpu,
        &dir.join("b"),
        false,
        Some(4),
        &mut first,
    )
    .expect("interrupted run");
    assert!(b.interrupted);
    assert_eq!(first.steps.len(), 4);
    // Starting again without --resume is refused.
    assert!(
        fit::train(
            ModelKind::GapNet,
            ds.clone(),
            &cfg,
            Device::Cpu,
            &dir.join("b"),
            false,
            None,
            &mut Losses::default()
        )
        .is_err()
    );
    let mut rest = Losses::default();
    let c = fit::train(
        ModelKind::GapNet,
        ds.clone(),
        &cfg,
        Device::Cpu,
        &dir.join("b"),
        true,
        None,
        &mut rest,
    )
    .expect("resumed run");
    assert_eq!(c.steps, a.steps);
    let resumed: Vec<f64> = first.steps.iter().chain(&rest.steps).copied().collect();
    assert_eq!(resumed.len(), whole.steps.len());
    for (i, (x, y)) in resumed.iter().zip(&whole.steps).enumerate() {
        assert!(
            (x - y).abs() <= 1e-6 * y.abs().max(1.0),
            "step {}: resumed {x} vs uninterrupted {y}",
            i + 1
        );
    }
    // The fifth step (the first after the interruption) in particular.
    assert_eq!(rest.steps[0].to_bits(), whole.steps[4].to_bits());
    let same = |f: &str| {
        std::fs::read(dir.join("a").join(f)).ok() == std::fs::read(dir.join("b").join(f)).ok()
    };
    assert!(same("last.safetensors"), "same final weights and momentum");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn training_learns_the_synthetic_tasks_and_writes_a_complete_run() {
    let _serial = serial();
    let dir = tmp("learn");
    let ds = Arc::new(synthetic(&dir, 30, 2, 40));
    let mut cfg = config(6);
    cfg.batch_size = 6;
    let mut p = Losses::default();
    let s = fit::train(
        ModelKind::GapNet,
        ds,
        &cfg,
        Device::Cpu,
        &dir.join("run"),
        false,
        None,
        &mut p,
    )
    .expect("run");
    let (_, best) = s.best.expect("validation AUC");
    assert!(
        best > 0.9,
        "brightness of channel 0 decides the labels: best AUC {best}"
    );
    for f in [
        "run.json",
        "metrics.jsonl",
        "best.safetensors",
        "last.safetensors",
        "state.json",
        "predictions/wells.parquet",
        "predictions/tasks.parquet",
    ] {
        assert!(dir.join("run").join(f).is_file(), "{f}");
    }
    // The prediction tables keep their contracts.
    for (file, schema) in [
        ("predictions/wells.parquet", "predictions"),
        ("predictions/tasks.parquet", "prediction_tasks"),
    ] {
        let contract = assayflow::export::schema::TableSchema::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("data-schemas/{schema}.toml")),
        )
        .expect("schema");
        let f = std::fs::File::open(dir.join("run").join(file)).expect("file");
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
            .expect("parquet");
        contract
            .check_arrow(reader.schema().as_ref())
            .expect("contract");
    }
    let lines = std::fs::read_to_string(dir.join("run/metrics.jsonl")).expect("metrics");
    assert_eq!(lines.lines().count(), 6);
    // The checkpoint loads into PyTorch-style names: model.<variable>.
    let names: Vec<String> = Tensor::read_safetensors(dir.join("run/best.safetensors"))
        .expect("safetensors")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(
        names.contains(&"model.block1.conv1.weight".to_string()),
        "{names:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_diverging_loss_stops_the_run_naming_the_step() {
    let _serial = serial();
    let dir = tmp("nan");
    let ds = Arc::new(synthetic(&dir, 10, 2, 40));
    let mut cfg = config(3);
    cfg.lr = 1e6;
    cfg.clip_norm = 0.0;
    cfg.max_loss = 50.0;
    let err = fit::train(
        ModelKind::GapNet,
        ds,
        &cfg,
        Device::Cpu,
        &dir.join("run"),
        false,
        None,
        &mut Losses::default(),
    )
    .expect_err("an absurd learning rate diverges");
    match err {
        TrainError::Diverged { step, .. } => {
            assert!(step >= 2, "the first step's loss is fine: {step}")
        }
        other => panic!("expected a divergence, got {other}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn batches_are_the_same_whatever_the_number_of_readers() {
    let dir = tmp("readers");
    let ds = Arc::new(synthetic(&dir, 12, 3, 16));
    let items = ds.labelled(Split::Train);
    let collect = |readers: usize, shard_local: bool| {
        let options = LoaderOptions {
            batch_size: 5,
            readers,
            prefetch: 2,
            shuffle: true,
            shard_local,
            pinned: false,
        };
        let loader = Loader::new(
            ds.clone(),
            Arc::new(Source::open(&ds).expect("source")),
            options,
        )
        .expect("loader");
        let mut out = Vec::new();
        for epoch in 0..2 {
            let mut r = loader.epoch(epoch_batches(&ds, &items, &options, 9, epoch), 0);
            while let Some(b) = r.next_batch().expect("batch") {
                let n = b.items.len();
                let mut bytes = vec![0u8; n * ds.item_bytes()];
                let len = bytes.len();
                b.buffer.head(len).copy_data_u8(&mut bytes, len);
                out.push((b.items.clone(), bytes, b.labels.clone()));
                loader.recycle(b.buffer);
            }
        }
        out
    };
    let one = collect(1, false);
    assert_eq!(one, collect(3, false));
    let local = collect(2, true);
    assert_eq!(local, collect(1, true));
    assert_ne!(
        one, local,
        "shard-local order differs from a global shuffle"
    );
    // Every training item once per epoch, and the two epochs differ in order.
    let per_epoch: usize = items.len().div_ceil(5);
    assert_eq!(one.len(), 2 * per_epoch);
    let order = |e: usize| {
        one[e * per_epoch..(e + 1) * per_epoch]
            .iter()
            .flat_map(|b| b.0.clone())
            .collect::<Vec<u32>>()
    };
    let (mut e0, e1) = (order(0), order(1));
    assert_ne!(e0, e1);
    e0.sort_unstable();
    assert_eq!(e0, items);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sixteen_bit_pixels_reach_the_device_unchanged_and_z_scored() {
    let dir = tmp("u16");
    let mut ds = synthetic(&dir, 2, 1, 4);
    // Rewrite as one uint16 shard whose values span the whole range.
    let values: Vec<u16> = (0..2 * 5 * 16)
        .map(|i| (i as u16).wrapping_mul(823).wrapping_add(40_000))
        .collect();
    let path = dir.join("u16.npy");
    let mut bytes = npy::header("<u2", 2, &[5, 4, 4]).expect("header");
    let offset = bytes.len();
    for v in &values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(&path, bytes).expect("shard");
    ds.shards = vec![Shard {
        path,
        rows: 2,
        data_offset: offset,
    }];
    ds.dtype = PixelType::Uint16;
    for (i, it) in ds.items.iter_mut().enumerate() {
        it.shard = 0;
        it.row = i as u32;
    }
    let ds = Arc::new(ds);
    let options = LoaderOptions {
        batch_size: 2,
        readers: 1,
        prefetch: 1,
        shuffle: false,
        shard_local: false,
        pinned: false,
    };
    let loader = Loader::new(
        ds.clone(),
        Arc::new(Source::open(&ds).expect("source")),
        options,
    )
    .expect("loader");
    let mut r = loader.epoch(vec![vec![0, 1]], 0);
    let b = r.next_batch().expect("read").expect("a batch");
    let format = InputFormat {
        device: Device::Cpu,
        bf16: false,
        channels_last: false,
    };
    let x = device_input(&ds, &b.buffer, 2, format);
    let raw = Tensor::from_slice(&values.iter().map(|&v| f32::from(v)).collect::<Vec<f32>>())
        .view([2, 5, 4, 4]);
    let mean = raw.mean_dim([2i64, 3].as_slice(), true, Kind::Float);
    let std = raw.std_dim([2i64, 3].as_slice(), false, true);
    let want = (raw - mean) / (std + 1e-7);
    let diff = (x - want).abs().max().double_value(&[]);
    assert!(diff < 1e-4, "max difference {diff}");
    loader.recycle(b.buffer);
    drop(r);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bf16_with_channels_last_trains_and_checkpoints_float32_masters() {
    let _serial = serial();
    let dir = tmp("bf16");
    let ds = Arc::new(synthetic(&dir, 10, 2, 40));
    let mut cfg = config(2);
    cfg.bf16 = true;
    cfg.channels_last = true;
    let mut whole = Losses::default();
    fit::train(
        ModelKind::GapNet,
        ds.clone(),
        &cfg,
        Device::Cpu,
        &dir.join("a"),
        false,
        None,
        &mut whole,
    )
    .expect("bf16 run");
    assert!(
        whole.steps.iter().all(|l| l.is_finite()),
        "{:?}",
        whole.steps
    );
    let saved = Tensor::read_safetensors(dir.join("a/last.safetensors")).expect("checkpoint");
    assert!(
        saved.iter().all(|(_, t)| t.kind() == Kind::Float),
        "masters and momentum in float32"
    );
    // Interrupted and resumed in bf16: the same steps.
    let mut first = Losses::default();
    fit::train(
        ModelKind::GapNet,
        ds.clone(),
        &cfg,
        Device::Cpu,
        &dir.join("b"),
        false,
        Some(3),
        &mut first,
    )
    .expect("interrupted");
    let mut rest = Losses::default();
    fit::train(
        ModelKind::GapNet,
        ds,
        &cfg,
        Device::Cpu,
        &dir.join("b"),
        true,
        None,
        &mut rest,
    )
    .expect("resumed");
    let resumed: Vec<f64> = first.steps.iter().chain(&rest.steps).copied().collect();
    assert_eq!(resumed, whole.steps);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Copies a run's checkpoint files when step `at` is reported (what a crash then would leave).
struct SnapshotAt {
    at: usize,
    run: PathBuf,
    seen: Vec<f64>,
    snapshot: Option<(Vec<u8>, Vec<u8>)>,
}

impl Progress for SnapshotAt {
    fn epoch_start(&mut self, _: u32, _: usize, _: usize) {}
    fn step(&mut self, loss: f64) {
        self.seen.push(loss);
        if self.seen.len() == self.at {
            self.snapshot = Some((
                std::fs::read(self.run.join("last.safetensors")).expect("checkpoint"),
                std::fs::read(self.run.join("state.json")).expect("state"),
            ));
        }
    }
    fn epoch_end(&mut self, _: &EpochMetrics) {}
}

#[test]
fn a_mid_epoch_checkpoint_resumes_exactly() {
    let _serial = serial();
    let dir = tmp("every");
    let ds = Arc::new(synthetic(&dir, 40, 2, 40));
    let mut cfg = config(1);
    cfg.checkpoint_every = 2;
    let run = dir.join("run");
    // The whole epoch, with a snapshot of the files as a crash during step 5 would leave them
    // (the checkpoint written after step 4).
    let mut p = SnapshotAt {
        at: 5,
        run: run.clone(),
        seen: Vec::new(),
        snapshot: None,
    };
    fit::train(
        ModelKind::GapNet,
        ds.clone(),
        &cfg,
        Device::Cpu,
        &run,
        false,
        None,
        &mut p,
    )
    .expect("uninterrupted");
    assert!(p.seen.len() > 6);
    let (ckpt, state) = p.snapshot.expect("a mid-epoch checkpoint");
    assert!(
        String::from_utf8_lossy(&state).contains("\"step\": 4"),
        "{}",
        String::from_utf8_lossy(&state)
    );
    std::fs::write(run.join("last.safetensors"), ckpt).expect("restore");
    std::fs::write(run.join("state.json"), state).expect("restore");
    // The crash came after the epoch's metrics line was written (here: a stale line stands in).
    std::fs::write(run.join("metrics.jsonl"), "{\"epoch\":1,\"stale\":true}\n").expect("metrics");
    let mut rest = Losses::default();
    fit::train(
        ModelKind::GapNet,
        ds,
        &cfg,
        Device::Cpu,
        &run,
        true,
        None,
        &mut rest,
    )
    .expect("resumed");
    assert_eq!(
        rest.steps,
        p.seen[4..].to_vec(),
        "steps 5.. replayed exactly"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
