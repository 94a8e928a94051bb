//! `labels build` and `labels refresh`: the drivers that read the inputs, key the compounds,
//! match them to ChEMBL, run the label dataflow and write the export.
//!
//! A build reads Cell Painting metadata and a ChEMBL release. A refresh reads the previous
//! export (its compounds, its snapshot of the ChEMBL rows it used, its pipeline file) and a new
//! release; it feeds the old rows at time 0 and the difference at time 1 into the same dataflow,
//! writes a changelog, and reuses every label shard whose content did not change. Both produce
//! the same bytes for the same inputs.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::atomic_file::AtomicFile;
use crate::chem::{KeyCache, KeyResult};
use crate::dataflow::cluster::ClusterConfig;
use crate::dataflow::keying::{KeyingError, key_all};
use crate::dataflow::labels::{InputChanges, LabelDataflowError, OutputChanges, run_label_epochs};
use crate::export::label_export::{ExportError, LabelExport, Reuse, shard_of, write_label_export};
use crate::export::label_tables::{
    self, ChangeRow, Columns, CompoundRow, LabelRow, MatchReportRow, MatchRow, ReadTableError,
    RejectRow, TaskRow,
};
use crate::export::manifest::{FileEntry, Manifest, ManifestError, hash_file};
use crate::labels::records::{Activity, Label, Match, RawActivity, Stat, Task, TaskKind};
use crate::labels::split::fold_of;
use crate::pipeline::{LabelRules, LayoutChoice, MatchLevel, Pipeline, PipelineError};
use crate::sources::cellpainting::{
    CellPaintingError, CellPaintingMetadata, MetadataLayout, read_metadata,
};
use crate::sources::chembl::{AssayInfo, ChemblError, ChemblReject, ChemblRelease};

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

/// What a refresh needs.
#[derive(Debug, Clone)]
pub struct RefreshOptions {
    /// The previous export.
    pub previous: PathBuf,
    /// The new ChEMBL release file.
    pub chembl: PathBuf,
    /// Overrides its release number.
    pub chembl_release: Option<String>,
    /// The export directory to create.
    pub out: PathBuf,
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

/// Compounds of the Cell Painting set, by InChIKey.
#[derive(Debug, Clone, Default, PartialEq)]
struct Compounds {
    keys: Vec<String>,
    smiles: Vec<String>,
    broad_samples: Vec<Vec<String>>,
}

impl Compounds {
    fn id(&self, key: &str) -> Option<u32> {
        self.keys
            .binary_search_by(|k| k.as_str().cmp(key))
            .ok()
            .map(|i| i as u32)
    }
}

/// What the ChEMBL side of a build reads.
struct ChemblInputs {
    release: String,
    matches: Vec<MatchRow>,
    match_report: Vec<MatchReportRow>,
    chembl_ids: BTreeMap<i64, String>,
    activities: Vec<RawActivity>,
    assays: BTreeMap<i64, AssayInfo>,
    rejects: Vec<ChemblReject>,
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> BuildError + '_ {
    move |source| BuildError::Io {
        path: path.display().to_string(),
        source,
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

/// Runs the peer side of a build or refresh on processes other than 0: lends its workers to
/// the keying (a build only) and label dataflows, in the order process 0 runs them. Peers apply
/// the same rules to the records routed to them, so they need the same pipeline.
pub fn run_peer(
    cluster: &ClusterConfig,
    rules: &LabelRules,
    keying: bool,
) -> Result<(), BuildError> {
    if keying {
        key_all(cluster, None, &mut KeyCache::new())?;
    }
    run_label_epochs(cluster, rules, None)?;
    Ok(())
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

/// Matches compounds to ChEMBL molecules at every level (for the report), and reads the
/// activities and assays of the molecules matched at `level`.
fn read_chembl(
    release: &ChemblRelease,
    compounds: &Compounds,
    level: MatchLevel,
) -> Result<ChemblInputs, BuildError> {
    let mut phases = Phases::new("reading ChEMBL");
    let n = compounds.keys.len();
    let mut by_level: BTreeMap<MatchLevel, Vec<BTreeSet<i64>>> = BTreeMap::new();
    let mut full = vec![BTreeSet::new(); n];
    for (i, m) in release.molecules_by_key(&compounds.keys)? {
        full[i].insert(m);
    }
    let mut blocks: Vec<String> = compounds
        .keys
        .iter()
        .map(|k| k.split('-').next().unwrap_or(k).to_string())
        .collect();
    blocks.sort();
    blocks.dedup();
    let mut by_block: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
    for (i, m) in release.molecules_by_first_block(&blocks)? {
        by_block.entry(blocks[i].as_str()).or_default().insert(m);
    }
    let first_block: Vec<BTreeSet<i64>> = compounds
        .keys
        .iter()
        .map(|k| {
            by_block
                .get(k.split('-').next().unwrap_or(k))
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    let all_full: Vec<i64> = full.iter().flatten().copied().collect();
    let mut family: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    for (m, related) in release.parent_family(&all_full)? {
        family.entry(m).or_default().insert(related);
    }
    let parent: Vec<BTreeSet<i64>> = full
        .iter()
        .map(|ms| {
            ms.iter()
                .flat_map(|m| family.get(m).cloned().unwrap_or_default())
                .collect()
        })
        .collect();
    by_level.insert(MatchLevel::Full, full);
    by_level.insert(MatchLevel::FirstBlock, first_block);
    by_level.insert(MatchLevel::Parent, parent);

    let match_report = by_level
        .iter()
        .map(|(l, sets)| MatchReportRow {
            level: l.name().to_string(),
            compounds: n as u64,
            matched: sets.iter().filter(|s| !s.is_empty()).count() as u64,
            molecules: sets.iter().flatten().collect::<BTreeSet<_>>().len() as u64,
            used: *l == level,
        })
        .collect();
    let used = by_level.remove(&level).unwrap_or_default();
    let mut matches: Vec<MatchRow> = used
        .iter()
        .enumerate()
        .flat_map(|(i, ms)| {
            ms.iter().map(move |&m| MatchRow {
                inchikey: compounds.keys[i].clone(),
                molregno: m,
            })
        })
        .collect();
    matches.sort();
    let molregnos: Vec<i64> = used
        .iter()
        .flatten()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    phases.lap("matching");
    let chembl_ids = release.molecule_chembl_ids(&molregnos)?;
    let mut rejects = Vec::new();
    let activities = release.activities(&molregnos, &mut rejects)?;
    phases.lap("activities");
    let assay_ids: Vec<i64> = activities
        .iter()
        .map(|a| a.assay_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let assays = release.assays(&assay_ids)?;
    phases.lap("assays");
    for id in assay_ids.iter().filter(|id| !assays.contains_key(id)) {
        rejects.push(ChemblReject {
            source: "activities.assay_id".into(),
            record: format!("assay_id={id}"),
            reason: "no such assay in the assays table; its tasks are named by assay_id".into(),
        });
    }
    Ok(ChemblInputs {
        release: release.release().to_string(),
        matches,
        match_report,
        chembl_ids,
        activities,
        assays,
        rejects,
    })
}

/// Applies the rules' classifications; rows whose ids do not fit become rejects.
fn classify(raw: &[RawActivity], rules: &LabelRules) -> (Vec<Activity>, Vec<RejectRow>) {
    let mut out = Vec::with_capacity(raw.len());
    let mut rejects = Vec::new();
    for r in raw {
        match r.classify(rules) {
            Some(a) => out.push(a),
            None => rejects.push(RejectRow {
                source: "chembl:activities".into(),
                record: format!("activity_id={}", r.activity_id),
                reason: "an id is negative or too large (assay_id above 2^32)".into(),
            }),
        }
    }
    (out, rejects)
}

fn match_records(matches: &[MatchRow], compounds: &Compounds) -> Vec<Match> {
    matches
        .iter()
        .filter_map(|m| {
            Some(Match {
                molregno: u64::try_from(m.molregno).ok()?,
                compound: compounds.id(&m.inchikey)?,
            })
        })
        .collect()
}

/// The accumulated outputs of the dataflow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct State {
    labels: BTreeSet<Label>,
    task_counts: BTreeMap<Task, (u32, u32)>,
    stats: BTreeMap<Stat, i64>,
}

impl State {
    fn apply(&mut self, changes: &OutputChanges) {
        for (l, r) in &changes.labels {
            if *r > 0 {
                self.labels.insert(*l);
            } else {
                self.labels.remove(l);
            }
        }
        for ((t, c), r) in &changes.task_counts {
            if *r > 0 {
                self.task_counts.insert(*t, *c);
            } else if self.task_counts.get(t) == Some(c) {
                self.task_counts.remove(t);
            }
        }
        for (s, r) in &changes.stats {
            *self.stats.entry(*s).or_default() += *r as i64;
        }
        self.stats.retain(|_, v| *v != 0);
    }
}

fn task_id(task: &Task, assays: &BTreeMap<i64, AssayInfo>) -> String {
    match assays.get(&i64::from(task.assay_id)) {
        Some(a) => task.id(&a.chembl_id),
        None => task.id(&format!("assay_id={}", task.assay_id)),
    }
}

fn label_rows(
    state: &State,
    compounds: &Compounds,
    assays: &BTreeMap<i64, AssayInfo>,
) -> Vec<LabelRow> {
    let mut rows: Vec<LabelRow> = state
        .labels
        .iter()
        .filter_map(|l| {
            Some(LabelRow {
                inchikey: compounds.keys.get(l.compound as usize)?.clone(),
                task_id: task_id(&l.task, assays),
                label: l.value.label,
                n_measurements: l.value.measurements,
                median_pchembl: l.value.median2.map(|m| f64::from(m) / 200.0),
            })
        })
        .collect();
    rows.sort_by(|a, b| (&a.inchikey, &a.task_id).cmp(&(&b.inchikey, &b.task_id)));
    rows
}

fn task_rows(state: &State, rules: &LabelRules, assays: &BTreeMap<i64, AssayInfo>) -> Vec<TaskRow> {
    let mut rows: Vec<TaskRow> = state
        .task_counts
        .iter()
        .filter(|(_, (a, i))| *a >= rules.min_actives && *i >= rules.min_inactives)
        .map(|(t, (a, i))| {
            let info = assays.get(&i64::from(t.assay_id));
            let (kind, threshold) = match t.kind {
                TaskKind::Threshold(h) => ("pchembl", Some(f64::from(h) / 100.0)),
                TaskKind::Comment => ("comment", None),
            };
            TaskRow {
                task_id: task_id(t, assays),
                assay_chembl_id: info.map(|x| x.chembl_id.clone()).unwrap_or_default(),
                assay_id: i64::from(t.assay_id),
                kind: kind.to_string(),
                threshold,
                n_active: *a,
                n_inactive: *i,
                assay_type: info.map(|x| x.assay_type.clone()).unwrap_or_default(),
                confidence_score: info.and_then(|x| x.confidence_score),
                target_chembl_id: info.and_then(|x| x.target_chembl_id.clone()),
                target_name: info.and_then(|x| x.target_name.clone()),
                description: info.map(|x| x.description.clone()).unwrap_or_default(),
            }
        })
        .collect();
    rows.sort_by(|a, b| a.task_id.cmp(&b.task_id));
    rows
}

/// Everything the export says, from the compounds, the ChEMBL side and the dataflow's state.
#[allow(clippy::too_many_arguments)]
fn assemble(
    pipeline: &Pipeline,
    compounds: &Compounds,
    chembl: &ChemblInputs,
    state: &State,
    mut rejects: Vec<RejectRow>,
    mut stats: BTreeMap<String, u64>,
    cellpainting_files: Vec<FileEntry>,
    extra_rejects: Vec<RejectRow>,
) -> LabelExport {
    let rules = pipeline.rules();
    let labels = label_rows(state, compounds, &chembl.assays);
    let tasks = task_rows(state, &rules, &chembl.assays);
    let mut per_compound: BTreeMap<&str, u32> = BTreeMap::new();
    for l in &labels {
        *per_compound.entry(l.inchikey.as_str()).or_default() += 1;
    }
    let mut molregnos_of: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for m in &chembl.matches {
        molregnos_of
            .entry(m.inchikey.as_str())
            .or_default()
            .push(m.molregno);
    }
    let level = pipeline.chembl.match_level.name().to_string();
    let compound_rows: Vec<CompoundRow> = compounds
        .keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let molregnos = molregnos_of.get(key.as_str()).cloned().unwrap_or_default();
            let mut chembl_ids: Vec<String> = molregnos
                .iter()
                .filter_map(|m| chembl.chembl_ids.get(m).cloned())
                .collect();
            chembl_ids.sort();
            CompoundRow {
                inchikey: key.clone(),
                smiles: compounds.smiles[i].clone(),
                broad_samples: compounds.broad_samples[i].clone(),
                split: fold_of(key, &pipeline.split).name().to_string(),
                match_level: (!molregnos.is_empty()).then(|| level.clone()),
                chembl_ids,
                molregnos,
                n_labels: per_compound.get(key.as_str()).copied().unwrap_or(0),
            }
        })
        .collect();
    for r in &chembl.rejects {
        rejects.push(RejectRow {
            source: format!("chembl:{}", r.source),
            record: r.record.clone(),
            reason: r.reason.clone(),
        });
    }
    rejects.extend(extra_rejects);
    rejects.sort();
    rejects.dedup();
    let chembl_rejects = rejects
        .iter()
        .filter(|r| r.source.starts_with("chembl:"))
        .count();
    stats.insert(
        "chembl.molecules_matched".into(),
        chembl.chembl_ids.len() as u64,
    );
    stats.insert("chembl.compounds_matched".into(), molregnos_of.len() as u64);
    stats.insert("chembl.activities".into(), chembl.activities.len() as u64);
    stats.insert("chembl.assays".into(), chembl.assays.len() as u64);
    stats.insert("chembl.rejects".into(), chembl_rejects as u64);
    stats.insert("labels.labels".into(), labels.len() as u64);
    stats.insert("labels.tasks_kept".into(), tasks.len() as u64);
    stats.insert(
        "labels.tasks_with_labels".into(),
        state.task_counts.len() as u64,
    );
    stats.insert(
        "labels.compounds_labelled".into(),
        per_compound.len() as u64,
    );
    for s in [
        Stat::ExcludedByValidity,
        Stat::IgnoredComment,
        Stat::CommentConflict,
        Stat::PchemblOutOfRange,
    ] {
        let v = state.stats.get(&s).copied().unwrap_or(0).max(0) as u64;
        stats.insert(format!("labels.{}", s.name()), v);
    }
    stats.insert("rejects".into(), rejects.len() as u64);
    let mut input_activities = chembl.activities.clone();
    input_activities.sort_by_key(|a| (a.molregno, a.activity_id));
    LabelExport {
        pipeline: pipeline.clone(),
        chembl_release: chembl.release.clone(),
        cellpainting_files,
        compounds: compound_rows,
        tasks,
        labels,
        rejects,
        match_report: chembl.match_report.clone(),
        input_activities,
        input_matches: chembl.matches.clone(),
        input_assays: chembl.assays.values().cloned().collect(),
        stats,
    }
}

/// Logs how long each phase of a run took (at debug level: `-v`).
struct Phases {
    run: &'static str,
    last: std::time::Instant,
}

impl Phases {
    fn new(run: &'static str) -> Phases {
        Phases {
            run,
            last: std::time::Instant::now(),
        }
    }

    fn lap(&mut self, phase: &str) {
        let now = std::time::Instant::now();
        tracing::debug!(
            "{}: {phase} took {:.2} s",
            self.run,
            (now - self.last).as_secs_f64()
        );
        self.last = now;
    }
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
    let (compounds, rejects, stats) = keyed_compounds(&meta, &keyed);
    let chembl = read_chembl(&release, &compounds, opts.pipeline.chembl.match_level)?;
    phases.lap("reading ChEMBL");
    let (activities, activity_rejects) = classify(&chembl.activities, &rules);
    let matches = match_records(&chembl.matches, &compounds);
    let out = run_label_epochs(
        cluster,
        &rules,
        Some(vec![InputChanges {
            activities: activities.into_iter().map(|a| (a, 1)).collect(),
            matches: matches.into_iter().map(|m| (m, 1)).collect(),
        }]),
    )?;
    let mut state = State::default();
    for o in &out {
        state.apply(o);
    }
    phases.lap("label dataflow");
    let export = assemble(
        &opts.pipeline,
        &compounds,
        &chembl,
        &state,
        rejects,
        stats,
        cellpainting_files,
        activity_rejects,
    );
    phases.lap("assembling");
    let manifest = write_label_export(&opts.out, &export, None)?;
    phases.lap("writing");
    Ok(BuildReport {
        manifest,
        changes: None,
        shards_rewritten: None,
    })
}

/// Reads the previous export's compounds (keys, SMILES, samples).
fn read_compounds(dir: &Path) -> Result<Compounds, BuildError> {
    let path = dir.join("compounds.parquet");
    let name = path.display().to_string();
    let mut c = Compounds::default();
    for batch in label_tables::read_table(&path)? {
        let cols = Columns::new(&name, &batch);
        let (keys, smiles, samples) = (
            cols.utf8("inchikey")?,
            cols.utf8("smiles")?,
            cols.list("broad_samples")?,
        );
        for i in 0..batch.num_rows() {
            c.keys.push(keys.value(i).to_string());
            c.smiles.push(smiles.value(i).to_string());
            c.broad_samples.push(label_tables::list_strings(samples, i));
        }
    }
    if c.keys.windows(2).any(|w| w[0] >= w[1]) {
        return Err(BuildError::Invalid(format!(
            "{name}: compounds are not sorted by InChIKey"
        )));
    }
    Ok(c)
}

/// Reads the previous export's rejects that came from the Cell Painting side.
fn read_cellpainting_rejects(dir: &Path) -> Result<Vec<RejectRow>, BuildError> {
    let path = dir.join("rejects.parquet");
    let name = path.display().to_string();
    let mut out = Vec::new();
    for batch in label_tables::read_table(&path)? {
        let cols = Columns::new(&name, &batch);
        let (source, record, reason) = (
            cols.utf8("source")?,
            cols.utf8("record")?,
            cols.utf8("reason")?,
        );
        for i in 0..batch.num_rows() {
            if source.value(i).starts_with("cellpainting:") {
                out.push(RejectRow {
                    source: source.value(i).to_string(),
                    record: record.value(i).to_string(),
                    reason: reason.value(i).to_string(),
                });
            }
        }
    }
    Ok(out)
}

/// Reads the previous export's ChEMBL snapshot back into the form a build reads.
fn read_snapshot(
    dir: &Path,
    manifest: &Manifest,
    compounds: &Compounds,
    level: MatchLevel,
) -> Result<ChemblInputs, BuildError> {
    let name = |rel: &str| dir.join(rel).display().to_string();
    let mut matches = Vec::new();
    for batch in label_tables::read_table(&dir.join("inputs/matches.parquet"))? {
        let n = name("inputs/matches.parquet");
        let cols = Columns::new(&n, &batch);
        let (k, m) = (cols.utf8("inchikey")?, cols.int64("molregno")?);
        for i in 0..batch.num_rows() {
            matches.push(MatchRow {
                inchikey: k.value(i).to_string(),
                molregno: m.value(i),
            });
        }
    }
    let mut activities = Vec::new();
    for batch in label_tables::read_table(&dir.join("inputs/activities.parquet"))? {
        let n = name("inputs/activities.parquet");
        let c = Columns::new(&n, &batch);
        let (mol, act, assay) = (
            c.int64("molregno")?,
            c.int64("activity_id")?,
            c.int64("assay_id")?,
        );
        let (st, rel, p) = (
            c.utf8("standard_type")?,
            c.utf8("standard_relation")?,
            c.float64("pchembl_value")?,
        );
        let (com, val) = (
            c.utf8("activity_comment")?,
            c.utf8("data_validity_comment")?,
        );
        for i in 0..batch.num_rows() {
            activities.push(RawActivity {
                activity_id: act.value(i),
                assay_id: assay.value(i),
                molregno: mol.value(i),
                standard_type: label_tables::opt_str(st, i),
                standard_relation: label_tables::opt_str(rel, i),
                pchembl_value: label_tables::opt_f64(p, i),
                activity_comment: label_tables::opt_str(com, i),
                data_validity_comment: label_tables::opt_str(val, i),
            });
        }
    }
    let mut assays = BTreeMap::new();
    for batch in label_tables::read_table(&dir.join("inputs/assays.parquet"))? {
        let n = name("inputs/assays.parquet");
        let c = Columns::new(&n, &batch);
        let (id, chembl, desc, ty) = (
            c.int64("assay_id")?,
            c.utf8("chembl_id")?,
            c.utf8("description")?,
            c.utf8("assay_type")?,
        );
        let (conf, tid, tname) = (
            c.int64("confidence_score")?,
            c.utf8("target_chembl_id")?,
            c.utf8("target_name")?,
        );
        for i in 0..batch.num_rows() {
            assays.insert(
                id.value(i),
                AssayInfo {
                    assay_id: id.value(i),
                    chembl_id: chembl.value(i).to_string(),
                    description: desc.value(i).to_string(),
                    assay_type: ty.value(i).to_string(),
                    confidence_score: label_tables::opt_i64(conf, i),
                    target_chembl_id: label_tables::opt_str(tid, i),
                    target_name: label_tables::opt_str(tname, i),
                },
            );
        }
    }
    let _ = (compounds, level);
    Ok(ChemblInputs {
        release: manifest.inputs.chembl_release.clone(),
        matches,
        match_report: Vec::new(),
        chembl_ids: BTreeMap::new(),
        activities,
        assays,
        rejects: Vec::new(),
    })
}

/// The changes between two sets of label rows and kept tasks.
fn changelog(
    old: &[LabelRow],
    new: &[LabelRow],
    old_tasks: &[TaskRow],
    new_tasks: &[TaskRow],
) -> Vec<ChangeRow> {
    let key = |r: &LabelRow| (r.inchikey.clone(), r.task_id.clone());
    let old_map: BTreeMap<(String, String), i8> = old.iter().map(|r| (key(r), r.label)).collect();
    let new_map: BTreeMap<(String, String), i8> = new.iter().map(|r| (key(r), r.label)).collect();
    let mut out = Vec::new();
    for ((k, t), l) in &old_map {
        match new_map.get(&(k.clone(), t.clone())) {
            None => out.push(ChangeRow {
                change: "label_removed".into(),
                inchikey: Some(k.clone()),
                task_id: t.clone(),
                old_label: Some(*l),
                new_label: None,
            }),
            Some(n) if n != l => out.push(ChangeRow {
                change: "label_flipped".into(),
                inchikey: Some(k.clone()),
                task_id: t.clone(),
                old_label: Some(*l),
                new_label: Some(*n),
            }),
            Some(_) => {}
        }
    }
    for ((k, t), n) in &new_map {
        if !old_map.contains_key(&(k.clone(), t.clone())) {
            out.push(ChangeRow {
                change: "label_added".into(),
                inchikey: Some(k.clone()),
                task_id: t.clone(),
                old_label: None,
                new_label: Some(*n),
            });
        }
    }
    let old_ids: BTreeSet<&str> = old_tasks.iter().map(|t| t.task_id.as_str()).collect();
    let new_ids: BTreeSet<&str> = new_tasks.iter().map(|t| t.task_id.as_str()).collect();
    for t in old_ids.difference(&new_ids) {
        out.push(ChangeRow {
            change: "task_removed".into(),
            inchikey: None,
            task_id: t.to_string(),
            old_label: None,
            new_label: None,
        });
    }
    for t in new_ids.difference(&old_ids) {
        out.push(ChangeRow {
            change: "task_added".into(),
            inchikey: None,
            task_id: t.to_string(),
            old_label: None,
            new_label: None,
        });
    }
    out.sort();
    out
}

fn diff<T: Ord + Clone>(old: &[T], new: &[T]) -> Vec<(T, isize)> {
    let mut changes: BTreeMap<T, isize> = BTreeMap::new();
    for x in old {
        *changes.entry(x.clone()).or_default() -= 1;
    }
    for x in new {
        *changes.entry(x.clone()).or_default() += 1;
    }
    changes.into_iter().filter(|(_, r)| *r != 0).collect()
}

/// Name of the refresh record written beside the changelog.
pub const REFRESH_RECORD: &str = "refresh.json";

/// Refreshes an export against a new ChEMBL release (process 0).
pub fn refresh(opts: &RefreshOptions, cluster: &ClusterConfig) -> Result<BuildReport, BuildError> {
    let prev = &opts.previous;
    let manifest = Manifest::load(prev)?;
    manifest.verify(prev)?;
    let pipeline = Pipeline::load(&prev.join("pipeline.toml"))?;
    if pipeline.hash() != manifest.pipeline.blake3 {
        return Err(BuildError::Invalid(format!(
            "{}: pipeline.toml does not match the manifest",
            prev.display()
        )));
    }
    let rules = pipeline.rules();
    let level = pipeline.chembl.match_level;
    let compounds = read_compounds(prev)?;
    let carried_rejects = read_cellpainting_rejects(prev)?;
    let carried_stats: BTreeMap<String, u64> = manifest
        .stats
        .iter()
        .filter(|(k, _)| k.starts_with("cellpainting.") || k.starts_with("keys."))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    let old = read_snapshot(prev, &manifest, &compounds, level)?;
    let release = ChemblRelease::open(&opts.chembl, opts.chembl_release.as_deref())?;
    let new = read_chembl(&release, &compounds, level)?;

    let (old_acts, _) = classify(&old.activities, &rules);
    let (new_acts, activity_rejects) = classify(&new.activities, &rules);
    let old_matches = match_records(&old.matches, &compounds);
    let new_matches = match_records(&new.matches, &compounds);
    let out = run_label_epochs(
        cluster,
        &rules,
        Some(vec![
            InputChanges {
                activities: old_acts.iter().map(|a| (a.clone(), 1)).collect(),
                matches: old_matches.iter().map(|m| (*m, 1)).collect(),
            },
            InputChanges {
                activities: diff(&old_acts, &new_acts),
                matches: diff(&old_matches, &new_matches),
            },
        ]),
    )?;
    let mut state = State::default();
    let mut old_state = State::default();
    if let Some(first) = out.first() {
        old_state.apply(first);
    }
    for o in &out {
        state.apply(o);
    }
    let export = assemble(
        &pipeline,
        &compounds,
        &new,
        &state,
        carried_rejects,
        carried_stats,
        manifest.inputs.cellpainting.clone(),
        activity_rejects,
    );
    let old_labels = label_rows(&old_state, &compounds, &old.assays);
    let old_tasks = task_rows(&old_state, &rules, &old.assays);
    let shards = pipeline.export.label_shards;
    let by_shard = |rows: &[LabelRow]| -> Vec<Vec<LabelRow>> {
        let mut v: Vec<Vec<LabelRow>> = vec![Vec::new(); shards as usize];
        for r in rows {
            v[shard_of(&r.inchikey, shards) as usize].push(r.clone());
        }
        v
    };
    let (old_shards, new_shards) = (by_shard(&old_labels), by_shard(&export.labels));
    let unchanged: BTreeSet<u32> = (0..shards)
        .filter(|&s| old_shards[s as usize] == new_shards[s as usize])
        .collect();
    let changes = changelog(&old_labels, &export.labels, &old_tasks, &export.tasks);
    let count = |c: &str| changes.iter().filter(|r| r.change == c).count() as u64;
    let counts = [
        count("label_added"),
        count("label_removed"),
        count("label_flipped"),
        count("task_added"),
        count("task_removed"),
    ];

    // The changelog and the refresh record go in first; the manifest (last) covers exactly
    // what a from-scratch build on the new release writes.
    std::fs::create_dir_all(&opts.out).map_err(io_err(&opts.out))?;
    if opts.out.join(crate::export::manifest::MANIFEST).exists() {
        return Err(BuildError::Export(ExportError::Exists(
            opts.out.display().to_string(),
        )));
    }
    let changelog_path = opts.out.join("changelog.parquet");
    let batch = label_tables::changelog_batch(&changes)
        .map_err(|e| BuildError::Invalid(format!("{}: {e}", changelog_path.display())))?;
    let mut file = crate::export::parquet_file::ParquetFile::create(
        &changelog_path,
        batch.schema(),
        crate::export::parquet_file::DEFAULT_ROW_GROUP_ROWS,
    )
    .map_err(|e| BuildError::Export(ExportError::Parquet(e)))?;
    file.write(&batch)
        .map_err(|e| BuildError::Export(ExportError::Parquet(e)))?;
    file.commit()
        .map_err(|e| BuildError::Export(ExportError::Parquet(e)))?;
    let (changelog_hash, _) = hash_file(&changelog_path).map_err(io_err(&changelog_path))?;
    let record = serde_json::json!({
        "previous_export": {
            "chembl_release": manifest.inputs.chembl_release,
            "manifest_blake3": hash_file(&prev.join(crate::export::manifest::MANIFEST)).map_err(io_err(prev))?.0,
        },
        "chembl_release": export.chembl_release,
        "changes": {
            "label_added": counts[0], "label_removed": counts[1], "label_flipped": counts[2],
            "task_added": counts[3], "task_removed": counts[4],
        },
        "label_shards_reused": unchanged.len(),
        "label_shards_rewritten": shards as usize - unchanged.len(),
        "changelog_blake3": changelog_hash,
    });
    let record_path = opts.out.join(REFRESH_RECORD);
    let mut f = AtomicFile::create(&record_path).map_err(io_err(&record_path))?;
    f.write_all(
        serde_json::to_string_pretty(&record)
            .map_err(|e| BuildError::Invalid(e.to_string()))?
            .as_bytes(),
    )
    .map_err(io_err(&record_path))?;
    f.write_all(b"\n").map_err(io_err(&record_path))?;
    f.commit().map_err(io_err(&record_path))?;

    let reuse = Reuse {
        dir: prev,
        manifest: &manifest,
        unchanged_shards: unchanged.clone(),
    };
    let new_manifest = write_label_export(&opts.out, &export, Some(&reuse))?;
    Ok(BuildReport {
        manifest: new_manifest,
        changes: Some(counts),
        shards_rewritten: Some(u64::from(shards) - unchanged.len() as u64),
    })
}
