//! Writing a label export directory: the tables of [`label_tables`], the
//! labels hash-partitioned by compound into `labels/part-NNNNN.parquet`, the authors' format,
//! a copy of the pipeline file, and `manifest.json` last.
//!
//! ```text
//! EXPORT/
//!   compounds.parquet  tasks.parquet  rejects.parquet  match_report.parquet
//!   labels/part-00000.parquet ... part-<shards-1>.parquet
//!   inputs/activities.parquet  inputs/matches.parquet  inputs/assays.parquet
//!   state/task_counts.parquet
//!   authors/label-matrix.mtx  authors/row-compound-index.csv  authors/column-assay-index.csv
//!   pipeline.toml
//!   manifest.json            (last)
//! ```
//!
//! A refresh passes the previous export and the shards whose content is unchanged; those are
//! copied byte for byte instead of being encoded again.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

use arrow_array::RecordBatch;
use arrow_schema::ArrowError;

use crate::atomic_file::AtomicFile;
use crate::export::authors_format;
use crate::export::label_tables::{
    self, CompoundRow, LabelTable, MatchReportRow, MatchRow, RejectRow, TaskRow,
};
use crate::export::manifest::{
    FileEntry, Inputs, LABEL_EXPORT_FORMAT, MANIFEST, Manifest, ManifestError, PipelineRef, entry,
};
use crate::export::parquet_file::{DEFAULT_ROW_GROUP_ROWS, ParquetFile, ParquetFileError};
use crate::labels::records::{Activity, Task};
use crate::pipeline::Pipeline;
use crate::sources::chembl::AssayInfo;

/// Everything a label export holds.
#[derive(Debug, Clone)]
pub struct LabelExport {
    /// The pipeline (copied into the export).
    pub pipeline: Pipeline,
    /// ChEMBL release number.
    pub chembl_release: String,
    /// Fingerprints of the Cell Painting metadata files read.
    pub cellpainting_files: Vec<FileEntry>,
    /// Compounds, sorted by InChIKey.
    pub compounds: Vec<CompoundRow>,
    /// Kept tasks, sorted by task id.
    pub tasks: Vec<TaskRow>,
    /// Labels, sorted by (InChIKey, task id).
    pub labels: LabelTable,
    /// Rejects, sorted.
    pub rejects: Vec<RejectRow>,
    /// Match report, one row per level.
    pub match_report: Vec<MatchReportRow>,
    /// ChEMBL activities the rules see (as classified), sorted by activity_id.
    pub input_activities: std::sync::Arc<Vec<Activity>>,
    /// Matches used, sorted.
    pub input_matches: Vec<MatchRow>,
    /// Assays of the kept tasks, sorted by assay_id.
    pub input_assays: Vec<AssayInfo>,
    /// Every task with a label, kept or not, with (actives, inactives), sorted by task.
    pub task_counts: Vec<(Task, (u32, u32))>,
    /// Report counts.
    pub stats: BTreeMap<String, u64>,
}

/// A previous export whose unchanged label shards are reused.
pub struct Reuse<'a> {
    /// Its directory.
    pub dir: &'a Path,
    /// Its manifest.
    pub manifest: &'a Manifest,
    /// Shards whose rows did not change.
    pub unchanged_shards: BTreeSet<u32>,
    /// The new export's rows of each shard ([`rows_by_shard`]), computed once by the caller.
    pub rows_by_shard: &'a [Vec<usize>],
}

/// Errors writing an export.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The directory already holds a complete export.
    #[error("{0} already holds an export (manifest.json); remove it or choose another --out")]
    Exists(String),
    /// Filesystem failure.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Building a batch failed.
    #[error("{path}: {source}")]
    Arrow {
        /// The file.
        path: String,
        /// The cause.
        source: ArrowError,
    },
    /// Writing Parquet failed.
    #[error(transparent)]
    Parquet(#[from] ParquetFileError),
    /// Writing the manifest failed.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A reused shard differs from its previous hash.
    #[error("{path}: the previous export's shard does not match its manifest")]
    Reuse {
        /// The shard.
        path: String,
    },
}

/// The ChEMBL rows the rules saw, relative to the export.
pub const INPUT_ACTIVITIES: &str = "inputs/activities.parquet";

/// Starts writing [`INPUT_ACTIVITIES`] into `dir` on a thread of its own: the file depends only
/// on the ChEMBL side, so builds and refreshes write it while the labels are being computed.
/// Pass the joined entry to [`write_label_export`] as already written.
pub fn spawn_input_activities(
    dir: &Path,
    rows: std::sync::Arc<Vec<Activity>>,
) -> std::thread::JoinHandle<Result<FileEntry, ExportError>> {
    let dir = dir.to_path_buf();
    std::thread::spawn(move || {
        let inputs = dir.join("inputs");
        std::fs::create_dir_all(&inputs).map_err(|source| ExportError::Io {
            path: inputs.display().to_string(),
            source,
        })?;
        let mut entries = write_table(
            &dir,
            INPUT_ACTIVITIES,
            label_tables::input_activities_batch(&rows),
        )?;
        entries.pop().ok_or_else(|| ExportError::Io {
            path: dir.join(INPUT_ACTIVITIES).display().to_string(),
            source: std::io::Error::other("written without an entry"),
        })
    })
}

/// Joins a [`spawn_input_activities`] thread.
pub fn join_input_activities(
    handle: std::thread::JoinHandle<Result<FileEntry, ExportError>>,
) -> Result<FileEntry, ExportError> {
    handle.join().unwrap_or_else(|_| {
        Err(ExportError::Io {
            path: INPUT_ACTIVITIES.into(),
            source: std::io::Error::other("the writing thread panicked"),
        })
    })
}

/// The per-task counts a refresh starts from, relative to the export.
pub const TASK_COUNTS: &str = "state/task_counts.parquet";

/// The shard of a compound: blake3 of its InChIKey, first eight bytes, modulo `shards`.
pub fn shard_of(inchikey: &str, shards: u32) -> u32 {
    let hash = blake3::hash(inchikey.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.as_bytes()[..8]);
    (u64::from_le_bytes(first) % u64::from(shards.max(1))) as u32
}

/// The rows of each shard, in table order (compounds are hashed once each).
pub fn rows_by_shard(table: &LabelTable, shards: u32) -> Vec<Vec<usize>> {
    let mut shard_of_compound: Vec<Option<u32>> = vec![None; table.inchikeys.len()];
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); shards.max(1) as usize];
    for (i, e) in table.rows.iter().enumerate() {
        let slot = shard_of_compound.get_mut(e.compound as usize);
        let s = match slot {
            Some(Some(s)) => *s,
            Some(slot) => {
                let s = shard_of(table.inchikey(e), shards);
                *slot = Some(s);
                s
            }
            None => shard_of(table.inchikey(e), shards),
        };
        out[s as usize].push(i);
    }
    out
}

/// Relative path of a label shard.
pub fn shard_path(shard: u32) -> String {
    format!("labels/part-{shard:05}.parquet")
}

fn io_at(dir: &Path, rel: &str) -> impl Fn(std::io::Error) -> ExportError {
    let path = dir.join(rel).display().to_string();
    move |source| ExportError::Io {
        path: path.clone(),
        source,
    }
}

fn write_table(
    dir: &Path,
    rel: &str,
    batch: Result<RecordBatch, ArrowError>,
) -> Result<Vec<FileEntry>, ExportError> {
    let started = std::time::Instant::now();
    let path = dir.join(rel);
    let batch = batch.map_err(|source| ExportError::Arrow {
        path: path.display().to_string(),
        source,
    })?;
    let mut file = ParquetFile::create(&path, batch.schema(), DEFAULT_ROW_GROUP_ROWS)?;
    file.write(&batch)?;
    file.commit()?;
    let e = entry(dir, rel, Some(batch.num_rows() as u64)).map_err(io_at(dir, rel))?;
    tracing::trace!("{rel}: {:.3} s", started.elapsed().as_secs_f64());
    Ok(vec![e])
}

fn copy_file(
    dir: &Path,
    from: &Path,
    rel: &str,
    expected: &FileEntry,
) -> Result<Vec<FileEntry>, ExportError> {
    let bytes = std::fs::read(from.join(rel)).map_err(io_at(dir, rel))?;
    if blake3::hash(&bytes).to_hex().as_str() != expected.blake3 {
        return Err(ExportError::Reuse {
            path: from.join(rel).display().to_string(),
        });
    }
    let mut f = AtomicFile::create(dir.join(rel)).map_err(io_at(dir, rel))?;
    f.write_all(&bytes).map_err(io_at(dir, rel))?;
    f.commit().map_err(io_at(dir, rel))?;
    Ok(vec![expected.clone()])
}

fn write_text(dir: &Path, rel: &str, text: &str) -> Result<Vec<FileEntry>, ExportError> {
    let mut f = AtomicFile::create(dir.join(rel)).map_err(io_at(dir, rel))?;
    f.write_all(text.as_bytes()).map_err(io_at(dir, rel))?;
    f.commit().map_err(io_at(dir, rel))?;
    Ok(vec![entry(dir, rel, None).map_err(io_at(dir, rel))?])
}

/// What a [`FileJob`] returns: the manifest entries of the files it wrote.
type JobResult = Result<Vec<FileEntry>, ExportError>;

/// One file (or group of files) of the export, written by whichever writing thread takes it.
type FileJob<'a> = Box<dyn FnOnce() -> JobResult + Send + 'a>;

/// Default number of threads writing an export's files at once (capped by the cores).
pub const DEFAULT_WRITE_THREADS: usize = 4;

/// Runs `jobs` on up to [`DEFAULT_WRITE_THREADS`] threads; returns every entry, or the error of
/// the first failing job in list order (so which error is reported does not depend on timing).
fn run_jobs(jobs: Vec<FileJob<'_>>) -> Result<Vec<FileEntry>, ExportError> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(DEFAULT_WRITE_THREADS)
        .min(jobs.len())
        .max(1);
    let slots: Vec<std::sync::Mutex<Option<FileJob<'_>>>> = jobs
        .into_iter()
        .map(|j| std::sync::Mutex::new(Some(j)))
        .collect();
    let results: Vec<std::sync::Mutex<Option<JobResult>>> =
        slots.iter().map(|_| std::sync::Mutex::new(None)).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(slot) = slots.get(i) else { break };
            let job = slot.lock().ok().and_then(|mut j| j.take());
            if let Some(job) = job {
                let r = job();
                if let Ok(mut out) = results[i].lock() {
                    *out = Some(r);
                }
            }
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..threads {
            scope.spawn(work);
        }
        work();
    });
    let mut files = Vec::new();
    for r in results {
        match r.into_inner().ok().flatten() {
            Some(r) => files.extend(r?),
            None => {
                return Err(ExportError::Io {
                    path: "export".into(),
                    source: std::io::Error::other("a writing thread panicked"),
                });
            }
        }
    }
    Ok(files)
}

/// Writes `export` into `dir` and returns its manifest (written last). Files in `written` were
/// written already (by [`spawn_input_activities`]) and are only listed.
pub fn write_label_export(
    dir: &Path,
    export: &LabelExport,
    reuse: Option<&Reuse<'_>>,
    written: Vec<FileEntry>,
) -> Result<Manifest, ExportError> {
    let files = write_label_files(dir, export, reuse, written)?;
    write_manifest(dir, export, files)
}

/// Writes every file of `export` but its manifest, returning their entries (with those of
/// `written`). A caller that writes files of its own beside the export (a refresh's changelog)
/// finishes them before [`write_manifest`].
pub fn write_label_files(
    dir: &Path,
    export: &LabelExport,
    reuse: Option<&Reuse<'_>>,
    written: Vec<FileEntry>,
) -> Result<Vec<FileEntry>, ExportError> {
    if dir.join(MANIFEST).exists() {
        return Err(ExportError::Exists(dir.display().to_string()));
    }
    for sub in ["", "labels", "inputs", "state", "authors"] {
        std::fs::create_dir_all(dir.join(sub)).map_err(|source| ExportError::Io {
            path: dir.join(sub).display().to_string(),
            source,
        })?;
    }
    let shards = export.pipeline.export.label_shards;
    let given = reuse
        .map(|r| r.rows_by_shard)
        .filter(|b| b.len() == shards as usize);
    let computed = match given {
        Some(_) => Vec::new(),
        None => rows_by_shard(&export.labels, shards),
    };
    let by_shard: &[Vec<usize>] = given.unwrap_or(&computed);
    // Largest first, so that the threads finish together.
    let mut jobs: Vec<FileJob<'_>> = Vec::new();
    if export.pipeline.export.authors_format {
        jobs.push(Box::new(move || {
            let started = std::time::Instant::now();
            authors_format::write(&dir.join("authors"), &export.tasks, &export.labels)
                .map_err(io_at(dir, "authors"))?;
            let mut files = Vec::new();
            for f in [
                authors_format::MATRIX,
                authors_format::ROWS,
                authors_format::COLUMNS,
            ] {
                let rel = format!("authors/{f}");
                files.push(entry(dir, &rel, None).map_err(io_at(dir, &rel))?);
            }
            tracing::trace!("authors format: {:.3} s", started.elapsed().as_secs_f64());
            Ok(files)
        }));
    }
    if !written.iter().any(|e| e.path == INPUT_ACTIVITIES) {
        jobs.push(Box::new(move || {
            write_table(
                dir,
                INPUT_ACTIVITIES,
                label_tables::input_activities_batch(&export.input_activities),
            )
        }));
    }
    jobs.push(Box::new(move || {
        write_table(
            dir,
            "compounds.parquet",
            label_tables::compounds_batch(&export.compounds),
        )
    }));
    jobs.push(Box::new(move || {
        write_table(
            dir,
            TASK_COUNTS,
            label_tables::task_counts_batch(&export.task_counts),
        )
    }));
    for (s, rows) in by_shard.iter().enumerate() {
        let rel = shard_path(s as u32);
        let reused = reuse.and_then(|r| {
            r.unchanged_shards
                .contains(&(s as u32))
                .then(|| r.manifest.file(&rel).map(|e| (r.dir, e)))
                .flatten()
        });
        jobs.push(match reused {
            Some((from, expected)) => Box::new(move || copy_file(dir, from, &rel, expected)),
            None => Box::new(move || {
                write_table(dir, &rel, label_tables::labels_batch(&export.labels, rows))
            }),
        });
    }
    jobs.push(Box::new(move || {
        write_table(
            dir,
            "tasks.parquet",
            label_tables::tasks_batch(&export.tasks),
        )
    }));
    jobs.push(Box::new(move || {
        write_table(
            dir,
            "rejects.parquet",
            label_tables::rejects_batch(&export.rejects),
        )
    }));
    jobs.push(Box::new(move || {
        write_table(
            dir,
            "match_report.parquet",
            label_tables::match_report_batch(&export.match_report),
        )
    }));
    jobs.push(Box::new(move || {
        write_table(
            dir,
            "inputs/matches.parquet",
            label_tables::input_matches_batch(&export.input_matches),
        )
    }));
    jobs.push(Box::new(move || {
        write_table(
            dir,
            "inputs/assays.parquet",
            label_tables::input_assays_batch(&export.input_assays),
        )
    }));
    jobs.push(Box::new(move || {
        write_text(dir, "pipeline.toml", &export.pipeline.text)
    }));
    let mut files = run_jobs(jobs)?;
    files.extend(written);
    Ok(files)
}

/// Writes the manifest of `export`, listing `files` (every file of the export but itself).
pub fn write_manifest(
    dir: &Path,
    export: &LabelExport,
    mut files: Vec<FileEntry>,
) -> Result<Manifest, ExportError> {
    let snapshot = {
        let mut h = blake3::Hasher::new();
        for rel in [
            INPUT_ACTIVITIES,
            "inputs/matches.parquet",
            "inputs/assays.parquet",
        ] {
            if let Some(e) = files.iter().find(|f| f.path == rel) {
                h.update(e.blake3.as_bytes());
            }
        }
        h.finalize().to_hex().to_string()
    };
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let manifest = Manifest {
        format: LABEL_EXPORT_FORMAT.to_string(),
        tool: format!("assayflow {}", env!("CARGO_PKG_VERSION")),
        pipeline: PipelineRef {
            name: export.pipeline.pipeline.name.clone(),
            blake3: export.pipeline.hash(),
        },
        inputs: Inputs {
            cellpainting: export.cellpainting_files.clone(),
            chembl_release: export.chembl_release.clone(),
            chembl_snapshot: snapshot,
        },
        stats: export.stats.clone(),
        files,
    };
    manifest.write(dir)?;
    Ok(manifest)
}
