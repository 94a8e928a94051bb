//! `labels build`: reads Cell Painting metadata and a ChEMBL release, keys the compounds,
//! matches them to ChEMBL, runs the label dataflow and writes the export. `labels refresh`
//! ([`crate::labels::refresh`]) continues from an export with a new release; both end in
//! [`crate::labels::assemble`], so the same inputs give the same bytes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::chem::{KeyCache, KeyResult};
use crate::dataflow::cluster::ClusterConfig;
use crate::dataflow::keying::{KeyingError, key_all};
use crate::dataflow::labels::{InputChanges, LabelCapture, LabelDataflowError, run_label_epochs};
use crate::export::label_export::{
    ExportError, join_input_activities, spawn_input_activities, write_label_export,
};
use crate::export::label_tables::{ReadTableError, RejectRow};
use crate::export::manifest::{FileEntry, Manifest, ManifestError, hash_file};
use crate::labels::assemble::{Parts, State, assemble};
use crate::labels::chembl_side::{read_assays, read_chembl_side};
use crate::labels::compounds::Compounds;
use crate::labels::previous::PreviousError;
use crate::labels::records::Match;
use crate::pipeline::{LabelRules, LayoutChoice, Pipeline, PipelineError};
use crate::sources::cellpainting::{
    CellPaintingError, CellPaintingMetadata, MetadataLayout, read_metadata,
};
use crate::sources::chembl::{ChemblError, ChemblRelease};

/// Errors of a build or refresh.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Cell Painting metadata.
    #[error(transparent)]
    CellPainting(#[from] CellPaintingError),
    /// The ChEMBL release.
    #[error(transparent)]
    Chembl(#[from] ChemblError),
    /// Keying.
    #[error(transparent)]
    Keying(#[from] KeyingError),
    /// The dataflow.
    #[error(transparent)]
    Dataflow(#[from] LabelDataflowError),
    /// Writing the export.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// Reading the previous export.
    #[error(transparent)]
    Read(#[from] ReadTableError),
    /// The previous export's content.
    #[error(transparent)]
    Previous(#[from] PreviousError),
    /// The previous export's manifest.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The previous export's pipeline file.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// A filesystem failure.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Anything else that makes the run impossible.
    #[error("{0}")]
    Invalid(String),
}

/// What a build needs.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The ChEMBL release file.
    pub chembl: PathBuf,
    /// Overrides the release number read from the file.
    pub chembl_release: Option<String>,
    /// The Cell Painting metadata directory.
    pub cellpainting: PathBuf,
    /// The pipeline.
    pub pipeline: Pipeline,
    /// The export directory to create.
    pub out: PathBuf,
    /// An InChIKey cache file to read and update.
    pub cache: Option<PathBuf>,
}

/// Counts for the CLI to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildReport {
    /// The manifest written.
    pub manifest: Manifest,
    /// Label changes a refresh made: (added, removed, flipped, tasks added, tasks removed).
    pub changes: Option<[u64; 5]>,
    /// Label shards rewritten by a refresh (the others were reused).
    pub shards_rewritten: Option<u64>,
}

pub(crate) fn io_err(path: &Path) -> impl Fn(std::io::Error) -> BuildError + '_ {
    move |source| BuildError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Logs how long each phase of a run took (at debug level: `-v`).
pub(crate) struct Phases {
    run: &'static str,
    last: std::time::Instant,
}

impl Phases {
    pub(crate) fn new(run: &'static str) -> Phases {
        Phases {
            run,
            last: std::time::Instant::now(),
        }
    }

    pub(crate) fn lap(&mut self, phase: &str) {
        let now = std::time::Instant::now();
        tracing::debug!(
            "{}: {phase} took {:.2} s",
            self.run,
            (now - self.last).as_secs_f64()
        );
        self.last = now;
    }
}

/// The metadata files a layout reads, with fingerprints.
fn metadata_files(dir: &Path, layout: MetadataLayout) -> Result<Vec<FileEntry>, BuildError> {
    let mut rels: Vec<String> = Vec::new();
    let names = |d: &Path| -> Result<Vec<String>, BuildError> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .map_err(io_err(d))?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        Ok(v)
    };
    match layout {
        MetadataLayout::Cdrp => {
            for n in names(dir)? {
                if n == "chemical_annotations.csv" || n == "barcode_platemap.csv" {
                    rels.push(n);
                }
            }
            let platemaps = dir.join("platemap");
            if platemaps.is_dir() {
                for n in names(&platemaps)? {
                    if n.ends_with(".txt") {
                        rels.push(format!("platemap/{n}"));
                    }
                }
            }
        }
        MetadataLayout::Jump => {
            for n in names(dir)? {
                if n.ends_with("_compound_metadata.tsv")
                    || n.ends_with("_compound_platemap.tsv")
                    || n == "barcode_platemap.csv"
                {
                    rels.push(n);
                }
            }
        }
    }
    rels.iter()
        .map(|rel| {
            let path = dir.join(rel);
            let (blake3, bytes) = hash_file(&path).map_err(io_err(&path))?;
            Ok(FileEntry {
                path: rel.clone(),
                blake3,
                bytes,
                rows: None,
            })
        })
        .collect()
}

fn layout_of(choice: LayoutChoice) -> Option<MetadataLayout> {
    match choice {
        LayoutChoice::Detect => None,
        LayoutChoice::Cdrp => Some(MetadataLayout::Cdrp),
        LayoutChoice::Jump => Some(MetadataLayout::Jump),
    }
}

/// Groups keyed Cell Painting compounds by InChIKey; compounds whose SMILES got no key become
/// rejects naming the metadata row and the reason.
fn keyed_compounds(
    meta: &CellPaintingMetadata,
    keyed: &[(usize, KeyResult)],
) -> (Compounds, Vec<RejectRow>, BTreeMap<String, u64>) {
    let mut by_key: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    let mut rejects = Vec::new();
    let mut key_rejects = 0u64;
    for (index, result) in keyed {
        let c = &meta.compounds[*index];
        match result {
            Ok(key) => {
                let smiles = c.smiles.clone().unwrap_or_default();
                let e = by_key
                    .entry(key.clone())
                    .or_insert_with(|| (smiles, Vec::new()));
                e.1.push(c.broad_sample.clone());
            }
            Err(rejection) => {
                key_rejects += 1;
                rejects.push(RejectRow {
                    source: format!("cellpainting:{}", c.source.file),
                    record: format!("line {} ({})", c.source.line, c.broad_sample),
                    reason: format!("SMILES has no InChIKey: {}", rejection.message),
                });
            }
        }
    }
    for r in &meta.rejects {
        rejects.push(RejectRow {
            source: format!("cellpainting:{}", r.source.file),
            record: format!("line {}", r.source.line),
            reason: r.reason.clone(),
        });
    }
    let mut compounds = Compounds::default();
    for (key, (smiles, mut samples)) in by_key {
        samples.sort();
        samples.dedup();
        compounds.keys.push(key);
        compounds.smiles.push(smiles);
        compounds.broad_samples.push(samples);
    }
    let mut stats = BTreeMap::new();
    stats.insert("cellpainting.compounds".into(), meta.compounds.len() as u64);
    stats.insert(
        "cellpainting.compounds_without_smiles".into(),
        meta.compounds.iter().filter(|c| c.smiles.is_none()).count() as u64,
    );
    stats.insert("cellpainting.wells".into(), meta.wells.len() as u64);
    stats.insert(
        "cellpainting.control_wells".into(),
        meta.wells.iter().filter(|w| w.control).count() as u64,
    );
    stats.insert("cellpainting.rejects".into(), meta.rejects.len() as u64);
    stats.insert("keys.rejected".into(), key_rejects);
    stats.insert("keys.distinct".into(), compounds.keys.len() as u64);
    (compounds, rejects, stats)
}

/// Runs the peer side of a build (`refresh: false`) or refresh (`refresh: true`) on processes
/// other than 0: lends its workers to the dataflows process 0 runs, in the same order (a build
/// keys, then runs the label dataflow once; a refresh runs it twice). Peers apply the same rules
/// to the records routed to them, so they need the same pipeline.
pub fn run_peer(
    cluster: &ClusterConfig,
    rules: &LabelRules,
    refresh: bool,
) -> Result<(), BuildError> {
    if refresh {
        for _ in 0..crate::labels::refresh::LABEL_RUNS {
            run_label_epochs(cluster, rules, LabelCapture::All, None)?;
        }
    } else {
        key_all(cluster, None, &mut KeyCache::new())?;
        run_label_epochs(cluster, rules, LabelCapture::Kept, None)?;
    }
    Ok(())
}

/// Builds an export from Cell Painting metadata and a ChEMBL release (process 0).
pub fn build(opts: &BuildOptions, cluster: &ClusterConfig) -> Result<BuildReport, BuildError> {
    let mut phases = Phases::new("build");
    let rules = opts.pipeline.rules();
    let meta = read_metadata(
        &opts.cellpainting,
        layout_of(opts.pipeline.cellpainting.layout),
    )?;
    let cellpainting_files = metadata_files(&opts.cellpainting, meta.layout)?;
    // Open the release before the long keying step, so a wrong path fails fast.
    let release = ChemblRelease::open(&opts.chembl, opts.chembl_release.as_deref())?;
    let with_smiles: Vec<usize> = (0..meta.compounds.len())
        .filter(|&i| meta.compounds[i].smiles.is_some())
        .collect();
    let smiles: Vec<String> = with_smiles
        .iter()
        .map(|&i| meta.compounds[i].smiles.clone().unwrap_or_default())
        .collect();
    let mut cache = match &opts.cache {
        Some(p) => KeyCache::load(p).map_err(|e| BuildError::Invalid(e.to_string()))?,
        None => KeyCache::new(),
    };
    phases.lap("reading metadata");
    let keys = key_all(cluster, Some(&smiles), &mut cache)?;
    phases.lap("keying");
    if let Some(p) = &opts.cache {
        cache
            .save(p)
            .map_err(|e| BuildError::Invalid(e.to_string()))?;
    }
    let keyed: Vec<(usize, KeyResult)> = with_smiles.into_iter().zip(keys).collect();
    let (compounds, cellpainting_rejects, cellpainting_stats) = keyed_compounds(&meta, &keyed);
    let chembl = read_chembl_side(
        &release,
        &compounds,
        opts.pipeline.chembl.match_level,
        &rules,
    )?;
    phases.lap("reading ChEMBL");
    std::fs::create_dir_all(&opts.out).map_err(io_err(&opts.out))?;
    let snapshot = spawn_input_activities(&opts.out, std::sync::Arc::clone(&chembl.activities));
    let matches = match_records(&chembl.matches, &compounds);
    let out = run_label_epochs(
        cluster,
        &rules,
        LabelCapture::Kept,
        Some(vec![InputChanges {
            activities: chembl.activities.iter().map(|a| (a.clone(), 1)).collect(),
            matches: matches.into_iter().map(|m| (m, 1)).collect(),
        }]),
    )?;
    let mut state = State::default();
    for o in &out {
        state.apply(o);
    }
    phases.lap("label dataflow");
    let mut assay_rejects = Vec::new();
    let kept_assays = state
        .kept_tasks(&rules)
        .iter()
        .map(|t| t.assay_id)
        .collect();
    let assays = read_assays(&release, &kept_assays, &mut assay_rejects)?;
    let export = assemble(Parts {
        pipeline: &opts.pipeline,
        compounds: &compounds,
        chembl: &chembl,
        assays: &assays,
        assay_rejects: &assay_rejects,
        state: &state,
        cellpainting_rejects,
        cellpainting_stats,
        cellpainting_files,
    });
    phases.lap("assembling");
    let written = vec![join_input_activities(snapshot)?];
    let manifest = write_label_export(&opts.out, &export, None, written)?;
    phases.lap("writing");
    Ok(BuildReport {
        manifest,
        changes: None,
        shards_rewritten: None,
    })
}

/// The dataflow's match records for (key, molregno) rows.
pub(crate) fn match_records(
    matches: &[crate::export::label_tables::MatchRow],
    compounds: &Compounds,
) -> Vec<Match> {
    // Matches come sorted by key (as written): one walk along the sorted keys instead of a
    // search per match.
    if !matches.is_sorted_by(|a, b| a.inchikey <= b.inchikey) {
        return matches
            .iter()
            .filter_map(|m| {
                Some(Match {
                    molregno: u64::try_from(m.molregno).ok()?,
                    compound: compounds.id(&m.inchikey)?,
                })
            })
            .collect();
    }
    let keys = &compounds.keys;
    let mut at = 0;
    let mut out = Vec::with_capacity(matches.len());
    for m in matches {
        while keys
            .get(at)
            .is_some_and(|k| k.as_str() < m.inchikey.as_str())
        {
            at += 1;
        }
        if keys.get(at) == Some(&m.inchikey)
            && let Ok(molregno) = u64::try_from(m.molregno)
        {
            out.push(Match {
                molregno,
                compound: at as u32,
            });
        }
    }
    out
}
