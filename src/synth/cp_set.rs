//! The generated Cell Painting compound set: real Bray 2017 compounds first, then analogues of
//! them (a library's follow-up series, `BRD-Z...` ids) up to the scale's count; each compound
//! with its hidden [`Action`]s, one or two samples (a second batch for a few), and plates in
//! the CDRP layout (352 compound wells and 32 DMSO wells per 384-well platemap, each platemap
//! imaged on several replicate plates).
//!
//! A few records are planted as real metadata has them: samples without a SMILES, and a
//! SMILES that no reader accepts (an unclosed branch), so that builds on a generated world
//! exercise their reject paths.

use std::collections::HashMap;

use crate::chem::KeyCache;
use crate::dataflow::cluster::ClusterConfig;
use crate::dataflow::keying::{KeyingError, key_all};
use crate::rng::SplitMix64;
use crate::synth::bundled;
use crate::synth::cellpainting_meta::{CompoundEntry, PlateLayout};
use crate::synth::mechanisms::{Action, Mechanism, draw_actions, inherit_actions};
use crate::synth::molecules::AnalogueMaker;

/// Compound wells per platemap.
pub const COMPOUND_WELLS: usize = 352;
/// First plate barcode (Bray 2017's plates are numbered from 24277).
pub const FIRST_BARCODE: u64 = 24_277;
/// Fraction of compounds with a second sample (another batch of the same compound).
pub const SECOND_BATCH_RATE: f64 = 0.02;
/// Fraction of samples whose annotation has no SMILES (at least one).
pub const EMPTY_SMILES_RATE: f64 = 0.003;
/// Fraction of samples whose SMILES is broken (at least one).
pub const BROKEN_SMILES_RATE: f64 = 0.001;

/// Where a compound comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A real compound of the Bray 2017 set.
    Bray2017,
    /// An analogue of the Bray 2017 compound with this Broad id.
    Analogue(String),
}

/// A compound (one structure, one standard InChIKey).
#[derive(Debug, Clone, PartialEq)]
pub struct CpCompound {
    /// Broad compound id (`BRD-K12345678`, or `BRD-Z...` for analogues).
    pub broad_id: String,
    /// SMILES.
    pub smiles: String,
    /// Standard InChIKey.
    pub inchikey: String,
    /// Origin.
    pub origin: Origin,
    /// Hidden mechanisms it acts on.
    pub actions: Vec<Action>,
}

/// What was planted in a sample's annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Planted {
    /// Nothing.
    None,
    /// The annotation has no SMILES.
    EmptySmiles,
    /// The SMILES cannot be read.
    BrokenSmiles,
}

impl Planted {
    /// Name in the truth tables.
    pub fn name(self) -> &'static str {
        match self {
            Planted::None => "none",
            Planted::EmptySmiles => "empty_smiles",
            Planted::BrokenSmiles => "broken_smiles",
        }
    }
}

/// A sample as the metadata lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct CpSample {
    /// `BRD-K12345678-001-01-1`.
    pub broad_sample: String,
    /// Index of its compound.
    pub compound: usize,
    /// The SMILES written in the annotation.
    pub smiles_written: Option<String>,
    /// What was planted.
    pub planted: Planted,
}

/// The whole set.
#[derive(Debug, Clone, PartialEq)]
pub struct CpSet {
    /// Distinct compounds.
    pub compounds: Vec<CpCompound>,
    /// Samples, in platemap order.
    pub samples: Vec<CpSample>,
    /// Plates.
    pub plates: Vec<PlateLayout>,
}

impl CpSet {
    /// The metadata rows, one per sample.
    pub fn entries(&self) -> Vec<CompoundEntry> {
        self.samples
            .iter()
            .map(|s| CompoundEntry {
                broad_sample: s.broad_sample.clone(),
                name: None,
                smiles: s.smiles_written.clone(),
            })
            .collect()
    }
}

/// Draws the set: `n` compounds, keyed on `cluster` (process 0 only; see
/// [`crate::synth::world::serve_peer`] for the other processes).
pub fn draw_cp_set(
    n: usize,
    replicates: usize,
    mechanisms: &[Mechanism],
    seed: u64,
    cluster: &ClusterConfig,
) -> Result<CpSet, KeyingError> {
    let mut rng = SplitMix64::new(seed);
    let bray = bundled::bray2017();
    let mut order: Vec<usize> = (0..bray.len()).collect();
    rng.shuffle(&mut order);
    order.truncate(n.min(bray.len()));
    let chosen: Vec<&str> = order.iter().map(|&i| bray[i].smiles).collect();
    let needed = n.saturating_sub(chosen.len());
    let mut analogues: Vec<(usize, String)> = Vec::new();
    if needed > 0 {
        let mut maker = AnalogueMaker::new(&chosen, rng.next_u64());
        let want = needed + needed / 5 + 100;
        let mut attempts = 0;
        while analogues.len() < want && attempts < want * 4 {
            attempts += 1;
            let parent = rng.index(chosen.len());
            let edits = 1 + rng.index(3);
            if let Some(s) = maker.analogue(parent, edits) {
                analogues.push((parent, s));
            }
        }
    }
    let smiles: Vec<String> = chosen
        .iter()
        .map(|s| s.to_string())
        .chain(analogues.iter().map(|(_, s)| s.clone()))
        .collect();
    let keys = key_all(cluster, Some(&smiles), &mut KeyCache::new())?;

    let mut compounds: Vec<CpCompound> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    // (compound, Broad id) of every sample, in discovery order.
    let mut sample_of: Vec<(usize, String)> = Vec::new();
    let mut compound_of_chosen: Vec<Option<usize>> = vec![None; chosen.len()];
    for (i, key) in keys.iter().take(chosen.len()).enumerate() {
        let Ok(key) = key else { continue };
        let broad_id = bray[order[i]].broad_id.to_string();
        let c = match by_key.get(key) {
            Some(&c) => c,
            None => {
                compounds.push(CpCompound {
                    broad_id: broad_id.clone(),
                    smiles: chosen[i].to_string(),
                    inchikey: key.clone(),
                    origin: Origin::Bray2017,
                    actions: draw_actions(mechanisms, &mut rng),
                });
                by_key.insert(key.clone(), compounds.len() - 1);
                compounds.len() - 1
            }
        };
        compound_of_chosen[i] = Some(c);
        sample_of.push((c, broad_id));
    }
    let mut z_number = 10_000_000 + rng.below(80_000_000);
    for ((parent, s), key) in analogues.iter().zip(keys.iter().skip(chosen.len())) {
        if compounds.len() >= n {
            break;
        }
        let Ok(key) = key else { continue };
        if by_key.contains_key(key) {
            continue;
        }
        let Some(pc) = compound_of_chosen[*parent] else {
            continue;
        };
        let actions = inherit_actions(&compounds[pc].actions, mechanisms, &mut rng);
        let broad_id = format!("BRD-Z{z_number:08}");
        z_number += 1 + rng.below(5);
        compounds.push(CpCompound {
            broad_id: broad_id.clone(),
            smiles: s.clone(),
            inchikey: key.clone(),
            origin: Origin::Analogue(compounds[pc].broad_id.clone()),
            actions,
        });
        by_key.insert(key.clone(), compounds.len() - 1);
        sample_of.push((compounds.len() - 1, broad_id));
    }

    let mut samples: Vec<CpSample> = Vec::new();
    for (c, broad_id) in &sample_of {
        let smiles = if compounds[*c].broad_id == *broad_id {
            compounds[*c].smiles.clone()
        } else {
            // A second Bray id with the same structure keeps its own published SMILES.
            order
                .iter()
                .map(|&i| bray[i])
                .find(|b| b.broad_id == broad_id)
                .map(|b| b.smiles.to_string())
                .unwrap_or_else(|| compounds[*c].smiles.clone())
        };
        samples.push(CpSample {
            broad_sample: format!("{broad_id}-001-01-1"),
            compound: *c,
            smiles_written: Some(smiles.clone()),
            planted: Planted::None,
        });
        if rng.chance(SECOND_BATCH_RATE) {
            samples.push(CpSample {
                broad_sample: format!("{broad_id}-001-02-1"),
                compound: *c,
                smiles_written: Some(smiles),
                planted: Planted::None,
            });
        }
    }
    plant(&mut samples, &mut rng);
    rng.shuffle(&mut samples);
    let plates = plates_for(&samples, replicates);
    Ok(CpSet {
        compounds,
        samples,
        plates,
    })
}

/// Plants empty and broken SMILES in distinct samples.
fn plant(samples: &mut [CpSample], rng: &mut SplitMix64) {
    if samples.len() < 4 {
        return;
    }
    let count = |rate: f64| ((samples.len() as f64 * rate).round() as usize).max(1);
    let (empty, broken) = (count(EMPTY_SMILES_RATE), count(BROKEN_SMILES_RATE));
    let mut picked = 0;
    let mut attempts = 0;
    while picked < empty + broken && attempts < 100 * (empty + broken) {
        attempts += 1;
        let s = &mut samples[rng.index(samples.len())];
        if s.planted != Planted::None {
            continue;
        }
        if picked < empty {
            s.planted = Planted::EmptySmiles;
            s.smiles_written = None;
        } else {
            s.planted = Planted::BrokenSmiles;
            s.smiles_written = s.smiles_written.as_ref().map(|x| format!("{x}("));
        }
        picked += 1;
    }
}

/// The 384 wells of a plate, row-major (`A01` ... `P24`).
pub fn wells_384() -> Vec<String> {
    (0..384)
        .map(|i| format!("{}{:02}", (b'A' + (i / 24) as u8) as char, i % 24 + 1))
        .collect()
}

/// Platemaps of [`COMPOUND_WELLS`] samples (DMSO in columns 1 and 24), each on `replicates`
/// plates with consecutive barcodes.
fn plates_for(samples: &[CpSample], replicates: usize) -> Vec<PlateLayout> {
    let wells = wells_384();
    let mut plates = Vec::new();
    let mut barcode = FIRST_BARCODE;
    for (m, chunk) in samples.chunks(COMPOUND_WELLS).enumerate() {
        let platemap = format!("C-7210-01-CMP-{:03}", m + 1);
        let mut next = chunk.iter();
        let layout: Vec<(String, Option<String>)> = wells
            .iter()
            .map(|w| {
                let control = w.ends_with("01") || w.ends_with("24");
                let sample = if control {
                    None
                } else {
                    next.next().map(|s| s.broad_sample.clone())
                };
                (w.clone(), sample)
            })
            .collect();
        for _ in 0..replicates.max(1) {
            plates.push(PlateLayout {
                plate: barcode.to_string(),
                platemap: platemap.clone(),
                wells: layout.clone(),
            });
            barcode += 1;
        }
    }
    plates
}
