//! `assayflow images convert`: plate folders + Cell Painting metadata + a label export -> a
//! view export of memory-mappable `.npy` shards.
//!
//! ```text
//! OUT/
//!   views/<plate>/part-00000-<blake3:12>.npy ...   (N, C, H, W) uint16 or uint8, C-ordered
//!   views.parquet  rejects.parquet  incomplete_wells.parquet  pipeline.toml
//!   manifest.json                                  (last)
//!   .state/plates/<plate>.json                     (resume and change detection; not listed)
//! ```
//!
//! The steps: scan the plate folders ([`crate::sources::plate_images`]), run the view index
//! dataflow ([`crate::dataflow::view_index`]) over sites, platemaps and the label export's
//! compounds, select the views to export (labelled compounds; controls and unlabelled
//! compounds as the pipeline says), then plate by plate either reuse the shards of an earlier
//! run (same fingerprint: same views, same files by size and time or by content, same
//! settings) or decode the plate's TIFFs on `workers` threads into new shards. Shard names
//! carry their content hash, so a rewritten plate never overwrites a file an existing manifest
//! lists; files no manifest lists are removed once the new manifest is in place.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::atomic_file::AtomicFile;
use crate::dataflow::cluster::ClusterConfig;
use crate::dataflow::view_index::{
    Compound, ViewIndexError, ViewIndexInputs, ViewKind, WellContent, run_view_index,
};
use crate::export::label_tables::{Columns, ReadTableError, list_strings, read_table};
use crate::export::manifest::{FileEntry, ManifestError, PipelineRef, entry, hash_file};
use crate::export::npy::NpyWriter;
use crate::export::parquet_file::{DEFAULT_ROW_GROUP_ROWS, ParquetFile, ParquetFileError};
use crate::export::view_tables::{
    CellTableRow, FeatureTableRow, ViewTableRow, cells_batch, features_batch, image_rejects_batch,
    incomplete_wells_batch, views_batch,
};
use crate::images::crops::{CropOutcome, cut_crop};
use crate::images::decode::{DecodeFailure, DecodedView, decode_view};
use crate::images::plate_state::{ConvertedCell, PlateFeatures};
use crate::images::plate_state::{ConvertedView, FailedSite, PlateState};
use crate::images::settings::ImagesSection;
use crate::pipeline::{LayoutChoice, Pipeline};
use crate::sources::cellpainting::{CellPaintingError, MetadataLayout, read_metadata};
use crate::sources::cellprofiler::{
    CellProfilerError, CellProfilerSource, Nucleus, find_source, nuclei, well_features,
};
use crate::sources::plate_images::{ImageReject, PlateScanError, SiteImages, scan_plates};

/// The manifest's format tag.
pub const VIEW_EXPORT_FORMAT: &str = "assayflow-view-export/1";

/// Views decoded per worker between two writes (bounds memory: a few views per worker).
pub const DEFAULT_VIEWS_PER_WORKER_BATCH: usize = 4;

/// What to convert.
#[derive(Debug, Clone)]
pub struct ConvertOptions {
    /// The plate folders (CDRP, Phenix) or the load_data CSV.
    pub plates: PathBuf,
    /// The Cell Painting metadata directory (platemaps).
    pub cellpainting: PathBuf,
    /// A label export (its compounds decide what is exported).
    pub labels: PathBuf,
    /// The pipeline.
    pub pipeline: Pipeline,
    /// The view export directory (created, or updated in place).
    pub out: PathBuf,
    /// Decoding threads.
    pub workers: usize,
    /// Detect changed inputs by content (hash every TIFF) instead of size and time, and check
    /// reused shards by hash.
    pub checksum: bool,
    /// CellProfiler outputs (per-plate SQLite or per-site CSV folders): nucleus centres for
    /// single-cell crops and per-well features.
    pub cellprofiler: Option<PathBuf>,
}

/// What a conversion did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConvertReport {
    /// Complete sites found on disk.
    pub sites_found: u64,
    /// Views the pipeline selects.
    pub views_selected: u64,
    /// Views in the shards.
    pub views_written: u64,
    /// Plates decoded in this run.
    pub plates_converted: Vec<String>,
    /// Plates whose earlier shards were kept.
    pub plates_reused: Vec<String>,
    /// Reject rows.
    pub rejects: u64,
    /// Wells with missing sites.
    pub incomplete_wells: u64,
    /// TIFF bytes decoded in this run.
    pub bytes_decoded: u64,
    /// Single-cell crops in the export.
    pub crops_written: u64,
    /// Wells in the features table.
    pub feature_wells: u64,
}

/// Errors that stop a conversion.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// The plate folders cannot be scanned.
    #[error(transparent)]
    Scan(#[from] PlateScanError),
    /// The metadata cannot be read.
    #[error(transparent)]
    Metadata(#[from] CellPaintingError),
    /// The label export cannot be read.
    #[error("label export {dir}: {message}")]
    Labels {
        /// The export.
        dir: String,
        /// What is wrong.
        message: String,
    },
    /// The index dataflow failed.
    #[error(transparent)]
    Index(#[from] ViewIndexError),
    /// Writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing a table failed.
    #[error(transparent)]
    Parquet(#[from] ParquetFileError),
    /// Building a table failed.
    #[error("building {table}: {source}")]
    Arrow {
        /// The table.
        table: &'static str,
        /// The cause.
        source: arrow_schema::ArrowError,
    },
    /// The manifest could not be written.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// CellProfiler outputs could not be read.
    #[error(transparent)]
    CellProfiler(#[from] CellProfilerError),
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> ConvertError + '_ {
    move |source| ConvertError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// One plate's entry in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlateEntry {
    /// Plate.
    pub plate: String,
    /// Views in its shards.
    pub views: u64,
    /// Sites that failed to decode.
    pub failed_sites: u64,
    /// Source files read.
    pub input_files: u64,
    /// Their bytes.
    pub input_bytes: u64,
    /// blake3 over the views' source digests (content, not file times).
    pub input_blake3: String,
    /// Single-cell crops.
    pub crops: u64,
    /// Nuclei skipped at the border.
    pub crops_skipped_at_border: u64,
}

/// A view export's manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewManifest {
    /// Format tag.
    pub format: String,
    /// `assayflow <version>`.
    pub tool: String,
    /// The pipeline.
    pub pipeline: PipelineRef,
    /// blake3 of the label export's manifest.json.
    pub labels_manifest_blake3: String,
    /// The `[images]` settings used.
    pub images: ImagesSection,
    /// How changed inputs are detected on a rerun: `size_mtime` or `content`.
    pub change_detection: String,
    /// Every plate converted.
    pub plates: Vec<PlateEntry>,
    /// Counts.
    pub stats: BTreeMap<String, u64>,
    /// Every file, sorted by path.
    pub files: Vec<FileEntry>,
}

/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";

impl ViewManifest {
    /// Reads `dir/manifest.json`.
    pub fn load(dir: &Path) -> Result<ViewManifest, ConvertError> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
        serde_json::from_str(&text).map_err(|e| ConvertError::Io {
            path: path.display().to_string(),
            source: std::io::Error::other(e),
        })
    }
}

/// Label export compounds by sample: (broad_sample, (inchikey, split, n_labels)).
pub fn read_label_compounds(dir: &Path) -> Result<Vec<Compound>, ConvertError> {
    let err = |e: ReadTableError| ConvertError::Labels {
        dir: dir.display().to_string(),
        message: e.to_string(),
    };
    if !dir.join(crate::export::manifest::MANIFEST).is_file() {
        return Err(ConvertError::Labels {
            dir: dir.display().to_string(),
            message: "no manifest.json: not a complete label export".into(),
        });
    }
    let path = dir.join("compounds.parquet");
    let name = path.display().to_string();
    let mut out = Vec::new();
    for batch in read_table(&path).map_err(err)? {
        let cols = Columns::new(&name, &batch);
        let keys = cols.utf8("inchikey").map_err(err)?;
        let samples = cols.list("broad_samples").map_err(err)?;
        let split = cols.utf8("split").map_err(err)?;
        let n_labels = cols.uint32("n_labels").map_err(err)?;
        for i in 0..batch.num_rows() {
            for b in list_strings(samples, i) {
                out.push((
                    b,
                    (
                        keys.value(i).to_string(),
                        split.value(i).to_string(),
                        n_labels.value(i),
                    ),
                ));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn relative(path: &Path, root: &Path) -> String {
    let base = if root.is_file() {
        root.parent().unwrap_or(root)
    } else {
        root
    };
    path.strip_prefix(base)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// What a plate's inputs are, from one pass over their metadata (and contents with
/// `--checksum`).
struct PlateInputs {
    /// Decides reuse: settings, views, files by size and time (or content), CellProfiler files.
    fingerprint: String,
    /// Source files.
    files: u64,
    /// Their bytes.
    bytes: u64,
    /// For the manifest, free of file times: relative paths, sizes (and content digests).
    input_blake3: String,
    /// Per site, with `--checksum`: blake3 over its files' digests, in output channel order.
    view_digests: Vec<Option<String>>,
}

/// A file's size, modification time (ns) and, when asked, content digest.
fn identity(path: &Path, checksum: bool) -> Result<(u64, u128, Option<String>), ConvertError> {
    let meta = std::fs::metadata(path).map_err(io_err(path))?;
    let time = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let content = if checksum {
        Some(hash_file(path).map_err(io_err(path))?.0)
    } else {
        None
    };
    Ok((meta.len(), time, content))
}

fn plate_inputs(
    sites: &[&SiteImages],
    settings: &str,
    root: &Path,
    checksum: bool,
    cellprofiler: Option<&CellProfilerSource>,
) -> Result<PlateInputs, ConvertError> {
    let mut h = blake3::Hasher::new();
    let mut stable = blake3::Hasher::new();
    h.update(settings.as_bytes());
    let add = |h: &mut blake3::Hasher,
               name: &str,
               f: &Path|
     -> Result<(u64, Option<String>), ConvertError> {
        let (len, time, content) = identity(f, checksum)?;
        h.update(name.as_bytes());
        h.update(&len.to_le_bytes());
        match &content {
            Some(c) => h.update(c.as_bytes()),
            None => h.update(&time.to_le_bytes()),
        };
        Ok((len, content))
    };
    let mut sources: Vec<PathBuf> = Vec::new();
    match cellprofiler {
        Some(CellProfilerSource::Sqlite(p)) => sources.push(p.clone()),
        Some(CellProfilerSource::CsvSites(dirs)) => {
            for d in dirs {
                if let Ok(rd) = std::fs::read_dir(d) {
                    let mut files: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
                    files.sort();
                    sources.extend(files);
                }
            }
        }
        None => {}
    }
    for f in &sources {
        add(&mut h, &format!("cellprofiler:{}", f.display()), f)?;
    }
    let (mut files, mut bytes) = (0u64, 0u64);
    let mut view_digests = Vec::with_capacity(sites.len());
    for s in sites {
        h.update(s.key().as_bytes());
        let mut view = checksum.then(blake3::Hasher::new);
        for f in &s.files {
            let rel = relative(f, root);
            let (len, content) = add(&mut h, &rel, f)?;
            files += 1;
            bytes += len;
            stable.update(rel.as_bytes());
            stable.update(&len.to_le_bytes());
            if let (Some(v), Some(c)) = (view.as_mut(), &content) {
                stable.update(c.as_bytes());
                v.update(c.as_bytes());
            }
        }
        view_digests.push(view.map(|v| v.finalize().to_hex().to_string()));
    }
    Ok(PlateInputs {
        fingerprint: h.finalize().to_hex().to_string(),
        files,
        bytes,
        input_blake3: stable.finalize().to_hex().to_string(),
        view_digests,
    })
}

fn decode_batch(
    sites: &[&SiteImages],
    images: &ImagesSection,
    workers: usize,
) -> Vec<Result<DecodedView, DecodeFailure>> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut parts: Vec<(usize, Result<DecodedView, DecodeFailure>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers.max(1).min(sites.len()))
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(site) = sites.get(i) else { break };
                        done.push((i, decode_view(&site.files, images)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    parts.sort_by_key(|(i, _)| *i);
    parts.into_iter().map(|(_, r)| r).collect()
}

struct ShardSink {
    dir: PathBuf,
    rel_dir: String,
    descr: &'static str,
    shape: [u64; 3],
    per_shard: u64,
    writer: Option<NpyWriter>,
    index: u32,
    shards: Vec<FileEntry>,
    /// Rows still to come, when known (views: the plate's sites not yet written or failed);
    /// a shard's header then states its row count from the start and its hash is computed
    /// while writing.
    remaining: Option<u64>,
}

impl ShardSink {
    fn new(
        out: &Path,
        rel_dir: String,
        descr: &'static str,
        shape: [u64; 3],
        per_shard: u32,
    ) -> Result<ShardSink, ConvertError> {
        let dir = out.join(&rel_dir);
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        Ok(ShardSink {
            dir,
            rel_dir,
            descr,
            shape,
            per_shard: u64::from(per_shard),
            writer: None,
            index: 0,
            shards: Vec::new(),
            remaining: None,
        })
    }

    /// One expected row will not come (its site failed).
    fn skip_one(&mut self) {
        if let Some(r) = self.remaining.as_mut() {
            *r = r.saturating_sub(1);
        }
    }

    fn push(&mut self, bytes: &[u8]) -> Result<(u32, u32), ConvertError> {
        if self.writer.is_none() {
            let path = self.dir.join(format!("part-{:05}.npy", self.index));
            let expected = self
                .remaining
                .map_or(self.per_shard, |r| r.min(self.per_shard));
            self.writer = Some(
                NpyWriter::create(&path, self.descr, &self.shape, expected)
                    .map_err(io_err(&path))?,
            );
        }
        if let Some(r) = self.remaining.as_mut() {
            *r = r.saturating_sub(1);
        }
        let shard = self.index;
        let w = self.writer.as_mut().ok_or_else(|| ConvertError::Io {
            path: self.dir.display().to_string(),
            source: std::io::Error::other("no shard open"),
        })?;
        let row = w.rows() as u32;
        w.write_row(bytes).map_err(io_err(&self.dir))?;
        if w.rows() >= self.per_shard {
            self.finish()?;
        }
        Ok((shard, row))
    }

    fn finish(&mut self) -> Result<(), ConvertError> {
        let Some(w) = self.writer.take() else {
            return Ok(());
        };
        let path = self.dir.join(format!("part-{:05}.npy", self.index));
        let (rows, hash) = w.commit().map_err(io_err(&path))?;
        let (hash, bytes) = match hash {
            Some(h) => (h, std::fs::metadata(&path).map_err(io_err(&path))?.len()),
            None => hash_file(&path).map_err(io_err(&path))?,
        };
        let name = format!("part-{:05}-{}.npy", self.index, &hash[..12]);
        std::fs::rename(&path, self.dir.join(&name)).map_err(io_err(&path))?;
        self.shards.push(FileEntry {
            path: format!("{}/{name}", self.rel_dir),
            blake3: hash,
            bytes,
            rows: Some(rows),
        });
        self.index += 1;
        Ok(())
    }
}

/// Nucleus centres of one plate by (well, site).
type PlateNuclei = BTreeMap<(String, u32), Vec<Nucleus>>;

fn convert_plate(
    opts: &ConvertOptions,
    plate: &str,
    sites: &[&SiteImages],
    inputs: PlateInputs,
    cellprofiler: Option<&CellProfilerSource>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<PlateState, ConvertError> {
    let images = &opts.pipeline.images;
    let channels = images.channels.len() as u64;
    let mut sink = ShardSink::new(
        &opts.out,
        format!("views/{plate}"),
        images.dtype.npy_descr(),
        [channels, u64::from(images.height), u64::from(images.width)],
        images.views_per_shard,
    )?;
    let crops = &images.crops;
    let mut source_problems = Vec::new();
    let nuclei_by_site: Option<PlateNuclei> = match cellprofiler {
        Some(source) if crops.enabled => {
            let mut m = PlateNuclei::new();
            let read = nuclei(source)?;
            source_problems.extend(read.problems);
            for n in read.nuclei {
                m.entry((n.well.clone(), n.site)).or_default().push(n);
            }
            Some(m)
        }
        _ => None,
    };
    let mut crop_sink = match nuclei_by_site {
        Some(_) => Some(ShardSink::new(
            &opts.out,
            format!("crops/{plate}"),
            images.dtype.npy_descr(),
            [channels, u64::from(crops.size), u64::from(crops.size)],
            crops.crops_per_shard,
        )?),
        None => None,
    };
    let mut views: Vec<(ConvertedView, u32)> = Vec::new();
    let mut cells: Vec<(ConvertedCell, u32)> = Vec::new();
    let mut skipped = 0u64;
    let mut failed = Vec::new();
    let batch = opts.workers.max(1) * DEFAULT_VIEWS_PER_WORKER_BATCH;
    sink.remaining = Some(sites.len() as u64);
    // Decoding (worker threads, one batch ahead) overlaps writing (this thread).
    std::thread::scope(|scope| -> Result<(), ConvertError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let workers = opts.workers;
        scope.spawn(move || {
            for chunk in sites.chunks(batch) {
                if tx
                    .send((chunk, decode_batch(chunk, images, workers)))
                    .is_err()
                {
                    break;
                }
            }
        });
        let mut index = 0usize;
        for (chunk, results) in rx {
            for (site, result) in chunk.iter().zip(results) {
                let source_blake3 = inputs.view_digests.get(index).cloned().flatten();
                index += 1;
                match result {
                    Ok(v) => {
                        let (shard, row) = sink.push(&v.bytes)?;
                        if let (Some(by_site), Some(crop_sink)) =
                            (&nuclei_by_site, crop_sink.as_mut())
                        {
                            for n in by_site
                                .get(&(site.well.clone(), site.site))
                                .into_iter()
                                .flatten()
                            {
                                match cut_crop(
                                &v.bytes,
                                images.channels.len(),
                                images.width,
                                images.height,
                                images.dtype.bytes(),
                                n.x,
                                n.y,
                                crops.size,
                                crops.border,
                            ) {
                                CropOutcome::Crop { bytes, padded } => {
                                    let (cshard, crow) = crop_sink.push(&bytes)?;
                                    cells.push((
                                        ConvertedCell {
                                            well: site.well.clone(),
                                            site: site.site,
                                            object: n.object,
                                            x: n.x,
                                            y: n.y,
                                            padded,
                                            shard: String::new(),
                                            row: crow,
                                        },
                                        cshard,
                                    ));
                                }
                                CropOutcome::SkippedAtBorder => skipped += 1,
                                CropOutcome::CentreOutside => failed.push(FailedSite {
                                    well: site.well.clone(),
                                    site: site.site,
                                    channel: None,
                                    path: format!("nucleus {}", n.object),
                                    reason: if n.x.is_finite() && n.y.is_finite() {
                                        format!(
                                            "nucleus centre ({:.1}, {:.1}) outside the {}x{} image; the cell is skipped",
                                            n.x, n.y, images.width, images.height
                                        )
                                    } else {
                                        "nucleus without a centre (empty Location_Center_X/Y); the cell is skipped".to_string()
                                    },
                                }),
                            }
                            }
                        }
                        views.push((
                            ConvertedView {
                                well: site.well.clone(),
                                site: site.site,
                                shard: String::new(),
                                row,
                                stats: v.stats,
                                source_blake3,
                            },
                            shard,
                        ));
                    }
                    Err(f) => {
                        sink.skip_one();
                        failed.push(FailedSite {
                            well: site.well.clone(),
                            site: site.site,
                            channel: Some(f.channel),
                            path: relative(&f.path, &opts.plates),
                            reason: f.reason,
                        })
                    }
                }
            }
            progress(chunk.len() as u64);
        }
        Ok(())
    })?;
    sink.finish()?;
    let views = views
        .into_iter()
        .map(|(mut v, shard)| {
            v.shard = sink.shards[shard as usize].path.clone();
            v
        })
        .collect();
    let (cells, crop_shards) = match crop_sink {
        Some(mut cs) => {
            cs.finish()?;
            let cells = cells
                .into_iter()
                .map(|(mut c, shard)| {
                    c.shard = cs.shards[shard as usize].path.clone();
                    c
                })
                .collect();
            (cells, cs.shards)
        }
        None => (Vec::new(), Vec::new()),
    };
    let features = match cellprofiler {
        Some(source) if images.features.enabled => {
            let f = well_features(source, images.features.level)?;
            source_problems.extend(f.problems);
            Some(PlateFeatures {
                names: f.names,
                wells: f
                    .wells
                    .into_iter()
                    .map(|(w, n, v)| {
                        (
                            w,
                            n,
                            v.into_iter().map(|x| x.is_finite().then_some(x)).collect(),
                        )
                    })
                    .collect(),
            })
        }
        _ => None,
    };
    Ok(PlateState {
        plate: plate.to_string(),
        fingerprint: inputs.fingerprint,
        views,
        failed,
        shards: sink.shards,
        cells,
        crop_shards,
        crops_skipped_at_border: skipped,
        features,
        source_problems,
        input_files: inputs.files,
        input_bytes: inputs.bytes,
        input_blake3: inputs.input_blake3,
    })
}

fn write_table(
    out: &Path,
    rel: &str,
    batch: Result<arrow_array::RecordBatch, arrow_schema::ArrowError>,
    table: &'static str,
) -> Result<FileEntry, ConvertError> {
    let batch = batch.map_err(|source| ConvertError::Arrow { table, source })?;
    let path = out.join(rel);
    let mut f = ParquetFile::create(&path, batch.schema(), DEFAULT_ROW_GROUP_ROWS)?;
    f.write(&batch)?;
    f.commit()?;
    entry(out, rel, Some(batch.num_rows() as u64)).map_err(io_err(&path))
}

/// Removes files under `out/views` and plate states that `keep` does not list.
fn remove_unlisted(out: &Path, keep: &BTreeSet<String>, plates: &BTreeSet<String>) {
    for top in ["views", "crops"] {
        let views = out.join(top);
        if let Ok(dirs) = std::fs::read_dir(&views) {
            for d in dirs.flatten() {
                let dir = d.path();
                if let Ok(files) = std::fs::read_dir(&dir) {
                    for f in files.flatten() {
                        let rel = relative(&f.path(), out);
                        if !keep.contains(&rel) {
                            let _ = std::fs::remove_file(f.path());
                        }
                    }
                }
                let _ = std::fs::remove_dir(&dir); // only when empty
            }
        }
    }
    let state = out.join(crate::images::plate_state::STATE_DIR);
    if let Ok(files) = std::fs::read_dir(&state) {
        for f in files.flatten() {
            let path = f.path();
            let plate = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            if !plates.contains(plate) {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

/// Converts (or updates) a view export; `progress` is told how many selected views were
/// handled (converted or reused).
pub fn convert(
    opts: &ConvertOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(ConvertReport, ViewManifest), ConvertError> {
    let started = Instant::now();
    let images = &opts.pipeline.images;
    let mut report = ConvertReport::default();

    // Updating in place is for view exports only: never write over another kind of output.
    let existing = opts.out.join(MANIFEST);
    if existing.is_file() {
        let text = std::fs::read_to_string(&existing).map_err(io_err(&existing))?;
        let format = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["format"].as_str().map(String::from));
        if format.as_deref() != Some(VIEW_EXPORT_FORMAT) {
            return Err(ConvertError::Io {
                path: opts.out.display().to_string(),
                source: std::io::Error::other(format!(
                    "holds a manifest.json that is not a view export's ({}); choose another --out",
                    format.unwrap_or_else(|| "unreadable".into())
                )),
            });
        }
    }
    let scan = scan_plates(&opts.plates, images)?;
    report.sites_found = scan.sites.len() as u64;
    let layout = match opts.pipeline.cellpainting.layout {
        LayoutChoice::Detect => None,
        LayoutChoice::Cdrp => Some(MetadataLayout::Cdrp),
        LayoutChoice::Jump => Some(MetadataLayout::Jump),
    };
    let metadata = read_metadata(&opts.cellpainting, layout)?;
    let compounds = read_label_compounds(&opts.labels)?;
    let (labels_manifest, _) = hash_file(&opts.labels.join(crate::export::manifest::MANIFEST))
        .map_err(io_err(&opts.labels))?;
    tracing::debug!(
        "scanned {} sites, {} wells, {} samples in {:.2} s",
        scan.sites.len(),
        metadata.wells.len(),
        compounds.len(),
        started.elapsed().as_secs_f64()
    );

    let inputs = ViewIndexInputs {
        sites: scan
            .sites
            .iter()
            .map(|s| (s.plate.clone(), s.well.clone(), s.site))
            .collect(),
        wells: metadata
            .wells
            .iter()
            .map(|w| {
                let content = match (&w.broad_sample, w.control) {
                    (Some(b), false) => WellContent::Sample(b.clone()),
                    _ => WellContent::Control,
                };
                ((w.plate.clone(), w.well.clone()), content)
            })
            .collect(),
        compounds,
    };
    let index = run_view_index(&ClusterConfig::single(1), inputs)?;
    let selected: Vec<_> = index
        .views
        .iter()
        .filter(|v| match v.kind {
            ViewKind::Labelled => true,
            ViewKind::Unlabelled => images.include_unlabelled,
            ViewKind::Control => images.include_controls,
            ViewKind::Unkeyed | ViewKind::NotInPlatemap => false,
        })
        .collect();
    report.views_selected = selected.len() as u64;
    report.incomplete_wells = index.incomplete_wells.len() as u64;

    let by_key: BTreeMap<(&str, &str, u32), &SiteImages> = scan
        .sites
        .iter()
        .map(|s| ((s.plate.as_str(), s.well.as_str(), s.site), s))
        .collect();
    let mut plates: BTreeMap<&str, Vec<&SiteImages>> = BTreeMap::new();
    for v in &selected {
        if let Some(s) = by_key.get(&(v.plate.as_str(), v.well.as_str(), v.site)) {
            plates.entry(v.plate.as_str()).or_default().push(s);
        }
    }
    let settings = serde_json::to_string(images).unwrap_or_default();
    std::fs::create_dir_all(&opts.out).map_err(io_err(&opts.out))?;
    let mut states: BTreeMap<String, PlateState> = BTreeMap::new();
    for (plate, sites) in &plates {
        let source = opts
            .cellprofiler
            .as_deref()
            .and_then(|root| find_source(root, plate));
        if opts.cellprofiler.is_some() && source.is_none() {
            tracing::warn!(
                "plate {plate}: no CellProfiler outputs found; no crops or features for it"
            );
        }
        let inputs = plate_inputs(
            sites,
            &settings,
            &opts.plates,
            opts.checksum,
            source.as_ref(),
        )?;
        if let Some(state) =
            PlateState::reusable(&opts.out, plate, &inputs.fingerprint, opts.checksum)
        {
            report.plates_reused.push(plate.to_string());
            progress(sites.len() as u64);
            states.insert(plate.to_string(), state);
            continue;
        }
        let t = Instant::now();
        let bytes = inputs.bytes;
        let state = convert_plate(opts, plate, sites, inputs, source.as_ref(), progress)?;
        state.save(&opts.out).map_err(io_err(&opts.out))?;
        tracing::debug!(
            "plate {plate}: {} views in {:.2} s",
            state.views.len(),
            t.elapsed().as_secs_f64()
        );
        report.bytes_decoded += bytes;
        report.plates_converted.push(plate.to_string());
        states.insert(plate.to_string(), state);
    }

    // The tables.
    let converted: BTreeMap<(&str, &str, u32), &ConvertedView> = states
        .values()
        .flat_map(|s| {
            s.views
                .iter()
                .map(move |c| ((s.plate.as_str(), c.well.as_str(), c.site), c))
        })
        .collect();
    let mut rows = Vec::new();
    for v in &selected {
        let Some(c) = converted.get(&(v.plate.as_str(), v.well.as_str(), v.site)) else {
            continue;
        };
        rows.push(ViewTableRow {
            view: format!("{}-{}-{}", v.plate, v.well, v.site),
            plate: v.plate.clone(),
            well: v.well.clone(),
            site: v.site,
            kind: v.kind.name().to_string(),
            broad_sample: v.broad_sample.clone(),
            inchikey: v.inchikey.clone(),
            split: v.split.clone(),
            n_labels: v.n_labels,
            shard: c.shard.clone(),
            row: c.row,
            stats: c.stats.clone(),
            source_blake3: c.source_blake3.clone(),
        });
    }
    report.views_written = rows.len() as u64;
    let mut rejects: Vec<ImageReject> = scan
        .rejects
        .iter()
        .map(|r| ImageReject {
            path: relative(Path::new(&r.path), &opts.plates),
            ..r.clone()
        })
        .collect();
    for s in states.values() {
        for f in &s.failed {
            rejects.push(ImageReject {
                plate: Some(s.plate.clone()),
                well: Some(f.well.clone()),
                site: Some(f.site),
                channel: f.channel.clone(),
                path: f.path.clone(),
                reason: f.reason.clone(),
            });
        }
        for p in &s.source_problems {
            rejects.push(ImageReject {
                plate: Some(s.plate.clone()),
                well: None,
                site: None,
                channel: None,
                path: p.record.clone(),
                reason: p.reason.clone(),
            });
        }
    }
    rejects.sort();
    report.rejects = rejects.len() as u64;

    // Crops of the exported views, and features of their wells.
    let by_view: BTreeMap<(&str, &str, u32), &crate::dataflow::view_index::ViewRow> = selected
        .iter()
        .map(|v| ((v.plate.as_str(), v.well.as_str(), v.site), *v))
        .collect();
    let mut cell_rows = Vec::new();
    let mut skipped = 0;
    for s in states.values() {
        skipped += s.crops_skipped_at_border;
        for c in &s.cells {
            let Some(v) = by_view.get(&(s.plate.as_str(), c.well.as_str(), c.site)) else {
                continue;
            };
            cell_rows.push(CellTableRow {
                cell: format!("{}-{}-{}-{}", s.plate, c.well, c.site, c.object),
                view: format!("{}-{}-{}", s.plate, c.well, c.site),
                plate: s.plate.clone(),
                well: c.well.clone(),
                site: c.site,
                object: c.object,
                x: c.x,
                y: c.y,
                padded: c.padded,
                kind: v.kind.name().to_string(),
                inchikey: v.inchikey.clone(),
                split: v.split.clone(),
                shard: c.shard.clone(),
                row: c.row,
            });
        }
    }
    cell_rows.sort_by(|a, b| {
        (&a.plate, &a.well, a.site, a.object).cmp(&(&b.plate, &b.well, b.site, b.object))
    });
    report.crops_written = cell_rows.len() as u64;
    let mut feature_names: Vec<String> = Vec::new();
    let mut feature_rows: Vec<FeatureTableRow> = Vec::new();
    let mut well_of: BTreeMap<(&str, &str), &crate::dataflow::view_index::ViewRow> =
        BTreeMap::new();
    for v in &selected {
        well_of
            .entry((v.plate.as_str(), v.well.as_str()))
            .or_insert(*v);
    }
    for s in states.values() {
        let Some(f) = &s.features else { continue };
        let index: Vec<usize> = f
            .names
            .iter()
            .map(|n| match feature_names.iter().position(|x| x == n) {
                Some(i) => i,
                None => {
                    feature_names.push(n.clone());
                    feature_names.len() - 1
                }
            })
            .collect();
        for (well, n, values) in &f.wells {
            let Some(v) = well_of.get(&(s.plate.as_str(), well.as_str())) else {
                continue;
            };
            let mut placed = vec![None; feature_names.len()];
            for (k, value) in index.iter().zip(values) {
                placed[*k] = *value;
            }
            feature_rows.push(FeatureTableRow {
                plate: s.plate.clone(),
                well: well.clone(),
                n_objects: *n,
                kind: v.kind.name().to_string(),
                broad_sample: v.broad_sample.clone(),
                inchikey: v.inchikey.clone(),
                split: v.split.clone(),
                values: placed,
            });
        }
    }
    report.feature_wells = feature_rows.len() as u64;

    let out = &opts.out;
    let mut files = vec![
        write_table(out, "views.parquet", views_batch(&rows), "views")?,
        write_table(
            out,
            "rejects.parquet",
            image_rejects_batch(&rejects),
            "rejects",
        )?,
        write_table(
            out,
            "incomplete_wells.parquet",
            incomplete_wells_batch(&index.incomplete_wells),
            "incomplete_wells",
        )?,
    ];
    if opts.cellprofiler.is_some() && images.crops.enabled {
        files.push(write_table(
            out,
            "cells.parquet",
            cells_batch(&cell_rows),
            "cells",
        )?);
    }
    if opts.cellprofiler.is_some() && images.features.enabled {
        files.push(write_table(
            out,
            "features.parquet",
            features_batch(&feature_names, &feature_rows),
            "features",
        )?);
    }
    let pipeline_path = out.join("pipeline.toml");
    let mut f = AtomicFile::create(&pipeline_path).map_err(io_err(&pipeline_path))?;
    f.write_all(opts.pipeline.text.as_bytes())
        .and_then(|()| f.commit())
        .map_err(io_err(&pipeline_path))?;
    files.push(entry(out, "pipeline.toml", None).map_err(io_err(&pipeline_path))?);
    for s in states.values() {
        files.extend(s.shards.iter().cloned());
        files.extend(s.crop_shards.iter().cloned());
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));

    let mut stats = BTreeMap::new();
    stats.insert("sites_found".to_string(), report.sites_found);
    stats.insert("views_selected".to_string(), report.views_selected);
    stats.insert("views_written".to_string(), report.views_written);
    stats.insert("rejects".to_string(), report.rejects);
    stats.insert("incomplete_wells".to_string(), report.incomplete_wells);
    stats.insert("other_files".to_string(), scan.other_files);
    if opts.cellprofiler.is_some() {
        stats.insert("crops_written".to_string(), report.crops_written);
        stats.insert("crops_skipped_at_border".to_string(), skipped);
        stats.insert("feature_wells".to_string(), report.feature_wells);
        stats.insert("feature_columns".to_string(), feature_names.len() as u64);
    }
    for kind in [
        ViewKind::Labelled,
        ViewKind::Unlabelled,
        ViewKind::Control,
        ViewKind::Unkeyed,
        ViewKind::NotInPlatemap,
    ] {
        let n = index.views.iter().filter(|v| v.kind == kind).count() as u64;
        stats.insert(format!("sites_{}", kind.name()), n);
    }
    let manifest = ViewManifest {
        format: VIEW_EXPORT_FORMAT.to_string(),
        tool: format!("assayflow {}", env!("CARGO_PKG_VERSION")),
        pipeline: PipelineRef {
            name: opts.pipeline.pipeline.name.clone(),
            blake3: opts.pipeline.hash(),
        },
        labels_manifest_blake3: labels_manifest,
        images: images.clone(),
        change_detection: if opts.checksum {
            "content"
        } else {
            "size_mtime"
        }
        .to_string(),
        plates: states
            .values()
            .map(|s| PlateEntry {
                plate: s.plate.clone(),
                views: s.views.len() as u64,
                failed_sites: s.failed.len() as u64,
                input_files: s.input_files,
                input_bytes: s.input_bytes,
                input_blake3: s.input_blake3.clone(),
                crops: s.cells.len() as u64,
                crops_skipped_at_border: s.crops_skipped_at_border,
            })
            .collect(),
        stats,
        files,
    };
    let path = out.join(MANIFEST);
    let json = serde_json::to_string_pretty(&manifest).map_err(|e| ConvertError::Io {
        path: path.display().to_string(),
        source: std::io::Error::other(e),
    })?;
    let mut f = AtomicFile::create(&path).map_err(io_err(&path))?;
    f.write_all(json.as_bytes())
        .and_then(|()| f.write_all(b"\n"))
        .and_then(|()| f.commit())
        .map_err(io_err(&path))?;

    let keep: BTreeSet<String> = manifest.files.iter().map(|f| f.path.clone()).collect();
    remove_unlisted(out, &keep, &states.keys().cloned().collect());
    tracing::debug!("conversion took {:.2} s", started.elapsed().as_secs_f64());
    Ok((report, manifest))
}
