//! Raw command-line arguments (clap derive). Each command turns these into a validated config
//! before it touches any file.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// assayflow: Cell Painting images and ChEMBL bioactivity -> label shards, image shards and
/// models that predict assay outcomes from images.
#[derive(Debug, Parser)]
#[command(name = "assayflow", version, propagate_version = true)]
#[command(about = "Cell Painting + ChEMBL -> assay labels, image shards and trained models")]
pub struct Cli {
    /// More log output (-v: debug, -vv: trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only warnings and errors; no progress bars.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Convert SMILES to standard InChIKeys, exactly as RDKit 2026.09 computes them.
    ///
    /// Reads one SMILES per line (.smi: the SMILES, then optional whitespace and an id), or a
    /// CSV/TSV with a header when --column names the SMILES column. Writes one row per input row,
    /// in input order: `smiles<TAB>inchikey<TAB>error` (TSV; Parquet when -o ends in .parquet).
    /// Exit code 1 when some rows got no key.
    Inchikey(InchikeyArgs),
    /// Run the demo: key a bundled set of real ChEMBL 36 molecules and compare with ChEMBL's keys.
    Demo(DemoArgs),
    /// Build assay label tasks from a ChEMBL release and Cell Painting metadata, or refresh them.
    #[command(subcommand)]
    Labels(LabelsCommand),
    /// Generate inputs in the real formats: a whole world (ChEMBL-schema release, Cell Painting
    /// metadata, hidden truth), or the next release of a ChEMBL database.
    #[command(subcommand)]
    Synth(SynthCommand),
    /// Convert Cell Painting plates into memory-mappable view shards (.npy) with a Parquet
    /// index, joined with a label export.
    #[command(subcommand)]
    Images(ImagesCommand),
    /// List the models with their inputs and parameter counts (209 tasks, as in the paper).
    Models(ModelsArgs),
    /// Train a model on a view export and its label export (needs the `torch` build).
    ///
    /// Writes into --out: run.json, metrics.jsonl (one line per epoch: training loss, speed,
    /// loader waits, per-task validation AUC), best.safetensors (best epoch by mean validation
    /// AUC), last.safetensors + state.json (resume with --resume), predictions/wells.parquet.
    Train(TrainArgs),
    /// Predict every view (crop, well) of a view export with a trained checkpoint: per-item,
    /// per-well and per-compound probabilities as Parquet (needs the `torch` build).
    Predict(PredictArgs),
    /// Compare finished training runs the way the paper does: Table 1 (AUC, F1, counts),
    /// Table A1 (paired Wilcoxon p-values), Table 2 (parameters, time per epoch, device), and
    /// three figures (PNG + SVG), in one self-contained HTML page and in Markdown.
    ///
    /// Writes into --out: report.html (last), report.md, figures/, per_task.csv, summary.json.
    /// Needs no libtorch: it reads run.json, metrics.jsonl and predictions/ of each run.
    Report(ReportArgs),
}

/// Arguments of `assayflow report`.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// Finished run directories (`assayflow train --out DIR`), trained on the same label export.
    #[arg(value_name = "RUN", required = true)]
    pub runs: Vec<PathBuf>,
    /// Directory for the report.
    #[arg(long, value_name = "DIR", default_value = "report")]
    pub out: PathBuf,
    /// The label export (default: the one the first run trained on, from its run.json).
    #[arg(long, value_name = "EXPORT")]
    pub labels: Option<PathBuf>,
    /// A generated world's truth/ directory (`assayflow synth world`): states the planted
    /// phenotype of each task beside the results.
    #[arg(long, value_name = "DIR")]
    pub truth: Option<PathBuf>,
    /// The split scored.
    #[arg(long, default_value = "test", value_parser = ["test", "valid"])]
    pub split: String,
    /// Samples: wells (the probabilities of a well's views averaged, as the authors' code) or
    /// compounds (a compound's wells averaged).
    #[arg(long, default_value = "well")]
    pub level: assayflow::report::Level,
    /// A task with one class among its samples: `exclude` (no AUC, counted as undefined) or
    /// `half` (AUC 0.5, as the authors' code).
    #[arg(long, default_value = "exclude")]
    pub one_class: assayflow::eval::metrics::OneClassPolicy,
    /// F1 threshold: a probability, or `validation` (per task, the threshold that maximises
    /// F1 on the validation split).
    #[arg(long, default_value = "0.5")]
    pub threshold: assayflow::eval::metrics::ThresholdPolicy,
    /// Permutations of Venkatraman's test per task.
    #[arg(long, default_value_t = assayflow::eval::venkatraman::DEFAULT_PERMUTATIONS)]
    pub permutations: usize,
    /// Seed of the permutations.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The two runs of the scatter and of Venkatraman's test, as `A,B` (names as in the
    /// tables; default GapNet,FNN when both are there, else the first two runs).
    #[arg(long, value_name = "A,B")]
    pub pair: Option<String>,
    /// The page title.
    #[arg(long, default_value = "assayflow report")]
    pub title: String,
}

/// Arguments of `assayflow models`.
#[derive(Debug, Clone, Args)]
pub struct ModelsArgs {
    /// Outputs to count parameters for.
    #[arg(long, default_value_t = 209)]
    pub tasks: i64,
    /// Input features of the FNN (the paper's CellProfiler set has 1,783).
    #[arg(long, default_value_t = 1783)]
    pub features: i64,
}

/// Which device to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeviceChoice {
    /// CUDA when available, else the CPU.
    Auto,
    /// The CPU.
    Cpu,
    /// The first CUDA device (an error without one).
    Cuda,
}

/// Arguments of `assayflow train`.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// The model: gapnet, milnet, mcnn, resnet101, densenet121, sccnn or fnn.
    #[arg(long)]
    pub model: String,
    /// A view export (`images convert`; SC-CNN and the FNN need it made with --cellprofiler).
    #[arg(long, value_name = "DIR")]
    pub views: PathBuf,
    /// The label export the view export was made from.
    #[arg(long, value_name = "DIR")]
    pub labels: PathBuf,
    /// The run directory.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The pipeline file (`[train]`: defaults per model).
    #[arg(long, value_name = "FILE", default_value = "pipelines/paper.toml")]
    pub pipeline: PathBuf,
    /// Continue the run in --out from its last checkpoint (same settings and data).
    #[arg(long)]
    pub resume: bool,
    /// Epochs (pipeline: train.epochs).
    #[arg(long)]
    pub epochs: Option<u32>,
    /// Items per batch (pipeline: train.models.<model>.batch_size).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// SGD momentum.
    #[arg(long)]
    pub momentum: Option<f64>,
    /// L2 weight decay.
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Gradient-norm clipping (0: off).
    #[arg(long)]
    pub clip_norm: Option<f64>,
    /// Seed of initialisation, data order and dropout.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Device.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    pub device: DeviceChoice,
    /// bfloat16 model and inputs with float32 master weights (GPU; also the CPU where it has
    /// AVX512-BF16, where the image models then train about twice as fast).
    #[arg(long)]
    pub bf16: bool,
    /// Channels-last images and convolution weights (GPU; the CPU too, with --bf16).
    #[arg(long)]
    pub channels_last: bool,
    /// Loader reader threads.
    #[arg(long)]
    pub readers: Option<usize>,
    /// Batches in flight between loader and model.
    #[arg(long)]
    pub prefetch: Option<usize>,
    /// Shuffle within shards (page-cache friendly).
    #[arg(long)]
    pub shard_local: bool,
    /// Training items per epoch at most (a fixed seeded subset; for smoke runs).
    #[arg(long)]
    pub max_items_per_epoch: Option<usize>,
    /// Stop after this many optimiser steps in total, keeping a checkpoint to --resume from.
    #[arg(long)]
    pub max_steps: Option<u64>,
    /// Also checkpoint every this many steps within an epoch (default: at epoch ends only).
    #[arg(long, value_name = "STEPS", default_value_t = 0)]
    pub checkpoint_every: u64,
    /// Intra-op CPU threads of libtorch (default: libtorch's choice).
    #[arg(long)]
    pub threads: Option<i32>,
}

/// Arguments of `assayflow predict`.
#[derive(Debug, Clone, Args)]
pub struct PredictArgs {
    /// A checkpoint of a run (its run.json must sit beside it), e.g. RUN/best.safetensors.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: PathBuf,
    /// The view export whose views (crops, wells) to score.
    #[arg(long, value_name = "DIR")]
    pub views: PathBuf,
    /// The output directory.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Device.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    pub device: DeviceChoice,
    /// Items per batch.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Loader reader threads.
    #[arg(long, default_value_t = 2)]
    pub readers: usize,
}

/// `assayflow images ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum ImagesCommand {
    /// Convert every selected view (labelled compounds; controls and unlabelled compounds as
    /// the pipeline says) into `.npy` shards of shape (N, channels, height, width), once.
    ///
    /// Rerunning on the same --out converts only plates that were added or whose images
    /// changed; an interrupted run resumes. Sites that cannot be read go to rejects.parquet
    /// (exit status 1).
    Convert(ImagesConvertArgs),
}

/// Arguments of `assayflow images convert`.
#[derive(Debug, Clone, Args)]
pub struct ImagesConvertArgs {
    /// The plate folders (layout `cdrp` or `phenix`) or the load_data CSV (layout
    /// `load_data`), as the pipeline's `[images] layout` says.
    #[arg(long, value_name = "PATH")]
    pub plates: PathBuf,
    /// The Cell Painting metadata directory (platemaps), as for `labels build`.
    #[arg(long, value_name = "DIR")]
    pub cellpainting: PathBuf,
    /// A label export (from `labels build` or `labels refresh`).
    #[arg(long, value_name = "DIR")]
    pub labels: PathBuf,
    /// The pipeline file (`[images]`: layout, channel map and order, size, dtype, shard size).
    #[arg(long, value_name = "FILE", default_value = "pipelines/paper.toml")]
    pub pipeline: PathBuf,
    /// The view export directory (created, or updated in place).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Decoding threads (default: the machine's cores).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Detect changed images by content (hash every TIFF) rather than by size and time.
    #[arg(long)]
    pub checksum: bool,
    /// CellProfiler outputs: per-plate SQLite (DIR/<PLATE>/<PLATE>.sqlite or DIR/<PLATE>.sqlite)
    /// or per-site CSV folders (DIR/<PLATE>-<WELL>-<SITE>/Nuclei.csv ...). Adds single-cell
    /// crops around nucleus centres (crops/, cells.parquet) and per-well features
    /// (features.parquet), as `[images.crops]` and `[images.features]` say.
    #[arg(long, value_name = "DIR")]
    pub cellprofiler: Option<PathBuf>,
}

/// `assayflow synth ...`.
#[derive(Debug, Subcommand)]
pub enum SynthCommand {
    /// Generate a world: a ChEMBL-schema SQLite release (real and generated molecules, assays
    /// of very different sizes, realistic activity rows), Cell Painting metadata in the CDRP
    /// layout, and the hidden mechanisms behind both (truth/). Same seed and scale, same bytes.
    World(SynthWorldArgs),
    /// Derive a plausible next release from a ChEMBL SQLite file: retracted, corrected and
    /// added activities, new molecules and assays, changed validity comments.
    Release(SynthReleaseArgs),
    /// Draw a world's plates: five-channel 16-bit 696x520 TIFFs in the Bray 2017 / CDRP layout
    /// (world/images/) from each compound's hidden mechanisms, and per plate a CellProfiler-schema
    /// SQLite with nucleus centres and per-cell features (world/cellprofiler/).
    Plates(SynthPlatesArgs),
}

/// Arguments of `assayflow synth plates`.
#[derive(Debug, Clone, Args)]
pub struct SynthPlatesArgs {
    /// The world directory (from `synth world`).
    #[arg(long, value_name = "DIR")]
    pub world: PathBuf,
    /// Pass over the first N plates (by barcode), e.g. to add plates to a world.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub skip_plates: usize,
    /// Only N plates (by barcode, after the skipped ones); default all.
    #[arg(long, value_name = "N")]
    pub plates: Option<usize>,
    /// Only the first N wells of each plate (platemap order); default all.
    #[arg(long, value_name = "N")]
    pub wells_per_plate: Option<usize>,
    /// Sites (fields) per well.
    #[arg(long, value_name = "N", default_value_t = 6)]
    pub sites: u32,
    /// Image width in pixels (cells keep their size: a smaller image is a smaller field).
    #[arg(long, value_name = "PX", default_value_t = assayflow::images::settings::DEFAULT_WIDTH)]
    pub width: u32,
    /// Image height in pixels.
    #[arg(long, value_name = "PX", default_value_t = assayflow::images::settings::DEFAULT_HEIGHT)]
    pub height: u32,
    /// Camera binning: 2 makes each pixel cover 2 x 2 sensor pixels, so cells are half as
    /// large and an image of the same size holds four times the field (1: none, as Bray 2017).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=4))]
    pub binning: u32,
    /// TIFF compression: none (as the Bray 2017 files), deflate or lzw.
    #[arg(long, value_enum, default_value = "none")]
    pub compression: assayflow::synth::plates::TiffCompression,
    /// Drawing threads (default: the machine's cores).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
}

/// Arguments of `assayflow synth world`.
#[derive(Debug, Clone, Args)]
pub struct SynthWorldArgs {
    /// The world directory to create.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Size: demo (seconds), small (a twentieth of ChEMBL), full (ChEMBL-sized: 2.4 M
    /// molecules, 1.7 M assays, 21 M activities, 30,000 Cell Painting compounds).
    #[arg(long, value_enum, default_value = "demo")]
    pub scale: assayflow::synth::scale::Scale,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Do not draw the scale's default plates (demo: 2 plates x 12 wells x 6 sites).
    #[arg(long)]
    pub no_images: bool,
    /// Where to run (keying spreads over processes).
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// Arguments of `assayflow synth release`.
#[derive(Debug, Clone, Args)]
pub struct SynthReleaseArgs {
    /// The release to start from (never modified).
    #[arg(long, value_name = "DB")]
    pub from: PathBuf,
    /// The new release file to create.
    #[arg(long, value_name = "DB")]
    pub out: PathBuf,
    /// Fraction of activity rows that change (retracted, corrected, validity, added).
    #[arg(long, default_value_t = 0.01, value_name = "F")]
    pub change_rate: f64,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The new version name (default: the old one with its number increased, ChEMBL_37).
    #[arg(long, value_name = "NAME")]
    pub version_name: Option<String>,
}

/// `assayflow labels ...`.
#[derive(Debug, Subcommand)]
pub enum LabelsCommand {
    /// Build a label export: Cell Painting compounds keyed to InChIKeys, matched to a ChEMBL
    /// release, labelled by the pipeline's rules, written as Parquet shards with a manifest.
    Build(LabelsBuildArgs),
    /// Refresh an export against a new ChEMBL release: recompute only what changed, write a
    /// changelog, reuse unchanged shards. The result equals a build on the new release.
    Refresh(LabelsRefreshArgs),
}

/// Arguments of `assayflow labels build`.
#[derive(Debug, Clone, Args)]
pub struct LabelsBuildArgs {
    /// The ChEMBL release, as its SQLite file (chembl_NN.db).
    #[arg(long, value_name = "DB")]
    pub chembl: PathBuf,
    /// The release number, when the file's `version` table lacks it.
    #[arg(long, value_name = "NN")]
    pub chembl_release: Option<String>,
    /// The Cell Painting metadata directory (CDRP or JUMP layout).
    #[arg(long, value_name = "DIR")]
    pub cellpainting: PathBuf,
    /// The pipeline file (rules, split, shards).
    #[arg(long, value_name = "FILE", default_value = "pipelines/paper.toml")]
    pub pipeline: PathBuf,
    /// The export directory to create.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// InChIKey cache file: keys found there are not computed again.
    #[arg(long, value_name = "FILE")]
    pub cache: Option<PathBuf>,
    /// Where to run.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// Arguments of `assayflow labels refresh`.
#[derive(Debug, Clone, Args)]
pub struct LabelsRefreshArgs {
    /// The previous export.
    #[arg(long, value_name = "DIR")]
    pub previous: PathBuf,
    /// The new ChEMBL release's SQLite file.
    #[arg(long, value_name = "DB")]
    pub chembl: PathBuf,
    /// The release number, when the file's `version` table lacks it.
    #[arg(long, value_name = "NN")]
    pub chembl_release: Option<String>,
    /// The new export directory to create.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Where to run.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// Where the work runs: threads, processes, hosts.
#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// Processes to run on this machine (the InChI library runs one call at a time per process,
    /// so processes are what use more cores). Output is identical whatever the number.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub processes: usize,
    /// Worker threads per process.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub workers: usize,
    /// timely hostfile (one host:port per line) for a run across machines: start the same
    /// command on every host with its own --process; process 0 reads input and writes output.
    #[arg(long, value_name = "FILE")]
    pub hostfile: Option<PathBuf>,
    /// This process's index in the hostfile (with --hostfile).
    #[arg(long, value_name = "I", requires = "hostfile")]
    pub process: Option<usize>,
}

/// Arguments of `assayflow inchikey`.
#[derive(Debug, Clone, Args)]
pub struct InchikeyArgs {
    /// Input file, or '-' (the default) for standard input.
    #[arg(value_name = "FILE|-")]
    pub input: Option<PathBuf>,
    /// Read a CSV/TSV with a header and take SMILES from this column.
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,
    /// Field delimiter for --column: 'tab', 'comma', or one character (default: from the file
    /// extension; tab for .tsv/.tab/.txt, comma otherwise).
    #[arg(long, value_name = "CHAR", requires = "column")]
    pub delimiter: Option<String>,
    /// Output file (default: standard output as TSV). A name ending in .parquet writes Parquet.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the rows that got no key, with line numbers and reason classes, to this TSV.
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
    /// Key cache file (TSV): keys found there are not computed again, and new ones are added.
    #[arg(long, value_name = "FILE")]
    pub cache: Option<PathBuf>,
    /// Where to run.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// Arguments of `assayflow demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Directory for the demo's outputs.
    #[arg(long, value_name = "DIR", default_value = "demo-out")]
    pub out: PathBuf,
    /// Processes to key with (default: one per available core).
    #[arg(long, value_name = "N")]
    pub processes: Option<usize>,
    /// Skip the training step (drawing the training plates, training GapNet, the FNN, the
    /// SC-CNN, MIL-Net and M-CNN, and the report: about 6 minutes on 2 cores).
    #[arg(long)]
    pub no_train: bool,
    /// Also train ResNet-101 and DenseNet-121 for a few steps (about 2.5 minutes more).
    #[arg(long, conflicts_with = "no_train")]
    pub all_models: bool,
    /// GapNet's epochs. The default, 10 on a CPU with native bfloat16 (AVX512-BF16) and 5
    /// otherwise, keeps the whole demo within 15 minutes on 2 cores; each more epoch takes about
    /// 15 s there in bfloat16 (30 s in float32). The best epoch by validation AUC is kept.
    #[arg(long, value_name = "N", conflicts_with = "no_train",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub gapnet_epochs: Option<u32>,
    /// Train the image models in float32 even on a CPU with native bfloat16 (by default they
    /// train there in bfloat16 with float32 master weights and channels-last, about twice as
    /// fast).
    #[arg(long, conflicts_with = "no_train")]
    pub fp32: bool,
}
