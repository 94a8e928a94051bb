//! The staged loader: a seeded per-epoch order of items -> reader threads copying raw pixels
//! (uint8/uint16, or float32 features) from memory-mapped shards into reusable host buffers
//! (pinned when CUDA is present) -> the trainer, which copies a batch to the device and z-scores
//! it there ([`super::device_input`]). Stages are joined by bounded crossbeam channels and each
//! records how long it waited ([`Waits`]), so a run's log says which stage limits it.
//!
//! ```text
//! order --jobs--> reader x N --filled--> trainer (reorders by sequence number)
//!                     ^                      |
//!                     +------free buffers----+
//! ```
//! A reader takes a free buffer before it takes a job, so jobs are started in order and a
//! stalled early batch can never be starved of buffers by later ones. Batches reach the trainer
//! in order: the same seed gives the same batches whatever the number of readers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, bounded};

use crate::rng::SplitMix64;

use super::dataset::Dataset;
use super::host_batch::HostBuffer;
use super::shard_map::ShardMap;

/// How an epoch is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoaderOptions {
    /// Items per batch.
    pub batch_size: usize,
    /// Reader threads.
    pub readers: usize,
    /// Filled batches that may wait for the trainer.
    pub prefetch: usize,
    /// Shuffle (training) or keep the export order (evaluation).
    pub shuffle: bool,
    /// Shuffle shards, then items within each shard (page-cache friendly), instead of all items.
    pub shard_local: bool,
    /// Pin host buffers (when CUDA is present).
    pub pinned: bool,
}

/// Time each stage spent waiting, in nanoseconds, accumulated over a loader's life.
#[derive(Debug, Default)]
pub struct Waits {
    /// Readers waiting for a free buffer (the trainer holds them: trainer-bound).
    pub reader_for_buffer: AtomicU64,
    /// Readers waiting for a job (the order stage is behind; should be ~0).
    pub reader_for_job: AtomicU64,
    /// Readers waiting to hand over a filled batch (the queue is full: trainer-bound).
    pub reader_to_send: AtomicU64,
    /// Readers copying bytes (busy time, summed over readers).
    pub reader_busy: AtomicU64,
    /// The trainer waiting for the next batch (reader-bound).
    pub trainer_for_batch: AtomicU64,
    /// Batches delivered.
    pub batches: AtomicU64,
    /// Items delivered.
    pub items: AtomicU64,
}

/// A snapshot of [`Waits`] in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WaitSeconds {
    /// Readers waiting for a free buffer.
    pub reader_for_buffer: f64,
    /// Readers waiting for a job.
    pub reader_for_job: f64,
    /// Readers waiting to hand a batch over.
    pub reader_to_send: f64,
    /// Readers copying.
    pub reader_busy: f64,
    /// The trainer waiting for a batch.
    pub trainer_for_batch: f64,
}

impl Waits {
    /// Seconds so far.
    pub fn seconds(&self) -> WaitSeconds {
        let s = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64 * 1e-9;
        WaitSeconds {
            reader_for_buffer: s(&self.reader_for_buffer),
            reader_for_job: s(&self.reader_for_job),
            reader_to_send: s(&self.reader_to_send),
            reader_busy: s(&self.reader_busy),
            trainer_for_batch: s(&self.trainer_for_batch),
        }
    }
}

impl WaitSeconds {
    /// The difference from an earlier snapshot.
    pub fn since(&self, earlier: &WaitSeconds) -> WaitSeconds {
        WaitSeconds {
            reader_for_buffer: self.reader_for_buffer - earlier.reader_for_buffer,
            reader_for_job: self.reader_for_job - earlier.reader_for_job,
            reader_to_send: self.reader_to_send - earlier.reader_to_send,
            reader_busy: self.reader_busy - earlier.reader_busy,
            trainer_for_batch: self.trainer_for_batch - earlier.trainer_for_batch,
        }
    }

    /// Which side limits: `readers` when the trainer waited for batches longer than the readers
    /// waited for the trainer (per reader), else `trainer`.
    pub fn bottleneck(&self, readers: usize) -> &'static str {
        let reader_idle = (self.reader_for_buffer + self.reader_to_send) / readers.max(1) as f64;
        if self.trainer_for_batch > reader_idle {
            "readers"
        } else {
            "trainer"
        }
    }
}

fn elapsed_ns(t: Instant) -> u64 {
    t.elapsed().as_nanos() as u64
}

/// The items of one epoch in batches: shuffled with a generator seeded by (seed, epoch) when
/// asked, shard by shard with `shard_local`. The last batch may be short.
pub fn epoch_batches(
    ds: &Dataset,
    items: &[u32],
    options: &LoaderOptions,
    seed: u64,
    epoch: u32,
) -> Vec<Vec<u32>> {
    let mut order = items.to_vec();
    if options.shuffle {
        let mut rng =
            SplitMix64::new(seed ^ (u64::from(epoch) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        if options.shard_local {
            let mut by_shard: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
            for &i in items {
                by_shard
                    .entry(ds.items[i as usize].shard)
                    .or_default()
                    .push(i);
            }
            let mut groups: Vec<Vec<u32>> = by_shard.into_values().collect();
            rng.shuffle(&mut groups);
            order.clear();
            for mut g in groups {
                rng.shuffle(&mut g);
                order.extend(g);
            }
        } else {
            rng.shuffle(&mut order);
        }
    }
    order
        .chunks(options.batch_size.max(1))
        .map(<[u32]>::to_vec)
        .collect()
}

/// A filled batch.
#[derive(Debug)]
pub struct Batch {
    /// Position in the epoch.
    pub seq: usize,
    /// The items, in batch order.
    pub items: Vec<u32>,
    /// Their bytes, item after item.
    pub buffer: HostBuffer,
    /// items x tasks labels (+1, -1, 0).
    pub labels: Vec<i8>,
}

/// Where readers copy items from.
#[derive(Debug)]
pub enum Source {
    /// Memory-mapped shards (views, crops).
    Shards(ShardMap),
    /// Feature rows (float32).
    Features(Vec<f32>, usize),
}

impl Source {
    /// Opens the dataset's shards (or takes its features).
    pub fn open(ds: &Dataset) -> Result<Source, super::dataset::DatasetError> {
        Ok(match &ds.features {
            Some(f) => Source::Features(f.values.clone(), f.names.len()),
            None => Source::Shards(ShardMap::open(&ds.shards)?),
        })
    }

    fn fill(&self, ds: &Dataset, item: u32, dst: &mut [u8]) -> Result<(), String> {
        let it = &ds.items[item as usize];
        match self {
            Source::Shards(map) => {
                let src = map
                    .row(it.shard, it.row, dst.len())
                    .ok_or_else(|| format!("{}: row {} is beyond its shard", it.key, it.row))?;
                dst.copy_from_slice(src);
            }
            Source::Features(values, n) => {
                let row = values
                    .get(it.row as usize * n..(it.row as usize + 1) * n)
                    .ok_or_else(|| format!("{}: no feature row {}", it.key, it.row))?;
                for (d, v) in dst.chunks_exact_mut(4).zip(row) {
                    d.copy_from_slice(&v.to_ne_bytes());
                }
            }
        }
        Ok(())
    }
}

/// The loader: reader threads and a pool of host buffers, reused across epochs.
pub struct Loader {
    ds: Arc<Dataset>,
    source: Arc<Source>,
    options: LoaderOptions,
    free_tx: Sender<HostBuffer>,
    free_rx: Receiver<HostBuffer>,
    waits: Arc<Waits>,
}

impl std::fmt::Debug for Loader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loader")
            .field("options", &self.options)
            .finish()
    }
}

/// Errors of the loader.
#[derive(Debug, thiserror::Error)]
pub enum LoaderError {
    /// A host buffer could not be allocated.
    #[error("allocating a host batch buffer: {0}")]
    Alloc(#[from] tch::TchError),
    /// A reader failed.
    #[error("reading a batch: {0}")]
    Read(String),
}

impl Loader {
    /// A loader over `ds` with `options` (allocates readers + prefetch + 2 host buffers).
    pub fn new(
        ds: Arc<Dataset>,
        source: Arc<Source>,
        options: LoaderOptions,
    ) -> Result<Loader, LoaderError> {
        let n = options.readers + options.prefetch + 2;
        let (free_tx, free_rx) = bounded(n);
        for _ in 0..n {
            let b = HostBuffer::new(options.batch_size * ds.item_bytes(), options.pinned)?;
            // The channel holds exactly n.
            let _ = free_tx.send(b);
        }
        Ok(Loader {
            ds,
            source,
            options,
            free_tx,
            free_rx,
            waits: Arc::new(Waits::default()),
        })
    }

    /// The stage waits so far.
    pub fn waits(&self) -> &Waits {
        &self.waits
    }

    /// The options.
    pub fn options(&self) -> &LoaderOptions {
        &self.options
    }

    /// Whether host buffers are pinned.
    pub fn pinned(&self) -> bool {
        self.options.pinned && tch::Cuda::is_available()
    }

    /// Starts reading `batches` from batch `start` on.
    pub fn epoch(&self, batches: Vec<Vec<u32>>, start: usize) -> EpochReader {
        let (job_tx, job_rx) = bounded::<(usize, Vec<u32>)>(self.options.prefetch.max(1));
        let (out_tx, out_rx) = bounded::<Result<Batch, String>>(self.options.prefetch.max(1));
        let total = batches.len();
        let stop = Arc::new(AtomicBool::new(false));
        let stop_feeder = stop.clone();
        let feeder = std::thread::Builder::new()
            .name("loader-order".into())
            .spawn(move || {
                for (seq, b) in batches.into_iter().enumerate().skip(start) {
                    if stop_feeder.load(Ordering::Relaxed) || job_tx.send((seq, b)).is_err() {
                        return;
                    }
                }
            })
            .ok();
        let mut handles: Vec<JoinHandle<()>> = feeder.into_iter().collect();
        for r in 0..self.options.readers.max(1) {
            let (job_rx, out_tx) = (job_rx.clone(), out_tx.clone());
            let (free_rx, free_tx) = (self.free_rx.clone(), self.free_tx.clone());
            let (ds, source, waits) = (self.ds.clone(), self.source.clone(), self.waits.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("loader-read-{r}"))
                .spawn(move || {
                    read_loop(&ds, &source, &waits, &job_rx, &free_rx, &free_tx, &out_tx)
                });
            if let Ok(h) = spawned {
                handles.push(h);
            }
        }
        EpochReader {
            rx: out_rx,
            pending: BTreeMap::new(),
            next: start,
            total,
            handles,
            waits: self.waits.clone(),
            free_tx: self.free_tx.clone(),
            stop,
        }
    }

    /// Gives a buffer back to the pool (after the step that used it has finished).
    pub fn recycle(&self, buffer: HostBuffer) {
        let _ = self.free_tx.send(buffer);
    }
}

fn read_loop(
    ds: &Dataset,
    source: &Source,
    waits: &Waits,
    jobs: &Receiver<(usize, Vec<u32>)>,
    free: &Receiver<HostBuffer>,
    free_back: &Sender<HostBuffer>,
    out: &Sender<Result<Batch, String>>,
) {
    let item_bytes = ds.item_bytes();
    let tasks = ds.tasks.len();
    loop {
        let t = Instant::now();
        let Ok(mut buffer) = free.recv() else { return };
        waits
            .reader_for_buffer
            .fetch_add(elapsed_ns(t), Ordering::Relaxed);
        let t = Instant::now();
        let Ok((seq, items)) = jobs.recv() else {
            // No more work: the buffer goes back to the pool for the next epoch.
            let _ = free_back.send(buffer);
            return;
        };
        waits
            .reader_for_job
            .fetch_add(elapsed_ns(t), Ordering::Relaxed);
        let t = Instant::now();
        let mut labels = vec![0i8; items.len() * tasks];
        let bytes = buffer.bytes_mut();
        let mut result = Ok(());
        for (k, &item) in items.iter().enumerate() {
            if let Err(e) = source.fill(ds, item, &mut bytes[k * item_bytes..(k + 1) * item_bytes])
            {
                result = Err(e);
                break;
            }
            if let Some(row) = ds.label_row(item) {
                labels[k * tasks..(k + 1) * tasks].copy_from_slice(row);
            }
        }
        waits
            .reader_busy
            .fetch_add(elapsed_ns(t), Ordering::Relaxed);
        let t = Instant::now();
        let msg = result.map(|()| Batch {
            seq,
            items,
            buffer,
            labels,
        });
        if out.send(msg).is_err() {
            return;
        }
        waits
            .reader_to_send
            .fetch_add(elapsed_ns(t), Ordering::Relaxed);
    }
}

/// One epoch's batches, in order.
pub struct EpochReader {
    rx: Receiver<Result<Batch, String>>,
    pending: BTreeMap<usize, Batch>,
    next: usize,
    total: usize,
    handles: Vec<JoinHandle<()>>,
    waits: Arc<Waits>,
    free_tx: Sender<HostBuffer>,
    stop: Arc<AtomicBool>,
}

impl std::fmt::Debug for EpochReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EpochReader")
            .field("next", &self.next)
            .field("total", &self.total)
            .finish()
    }
}

impl EpochReader {
    /// The next batch in order, `None` after the last.
    pub fn next_batch(&mut self) -> Result<Option<Batch>, LoaderError> {
        if self.next >= self.total {
            return Ok(None);
        }
        let t = Instant::now();
        let batch = loop {
            if let Some(b) = self.pending.remove(&self.next) {
                break b;
            }
            match self.rx.recv() {
                Ok(Ok(b)) => {
                    self.pending.insert(b.seq, b);
                }
                Ok(Err(e)) => return Err(LoaderError::Read(e)),
                Err(_) => return Err(LoaderError::Read("the readers stopped early".into())),
            }
        };
        self.waits
            .trainer_for_batch
            .fetch_add(elapsed_ns(t), Ordering::Relaxed);
        self.waits.batches.fetch_add(1, Ordering::Relaxed);
        self.waits
            .items
            .fetch_add(batch.items.len() as u64, Ordering::Relaxed);
        self.next += 1;
        Ok(Some(batch))
    }
}

impl Drop for EpochReader {
    fn drop(&mut self) {
        // Stop feeding jobs, return buffers of batches never taken, drain what readers still
        // hand over, join.
        self.stop.store(true, Ordering::Relaxed);
        for (_, b) in std::mem::take(&mut self.pending) {
            let _ = self.free_tx.send(b.buffer);
        }
        let rx = self.rx.clone();
        let free_tx = self.free_tx.clone();
        let drain = std::thread::spawn(move || {
            while let Ok(msg) = rx.recv() {
                if let Ok(b) = msg {
                    let _ = free_tx.send(b.buffer);
                }
            }
        });
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
        let _ = drain.join();
    }
}
