//! Targets, assays and activity rows of the generated release.
//!
//! Two kinds of assays:
//! - **Screening assays**, each reading out one hidden [`Mechanism`]: a share of the Cell
//!   Painting compounds in ChEMBL plus other molecules, measured as dose-response (IC50/EC50,
//!   `nM`, pChEMBL when the relation is `=`), as single-point screens with activity comments
//!   (percent inhibition at 10 uM, spelled as ChEMBL spells them), or both. Acting compounds
//!   get their potency plus measurement noise; the others are censored (`>` the top
//!   concentration) or weak, with a few false positives. These make the label tasks.
//! - **Filler assays**: the bulk of ChEMBL, mostly small medicinal-chemistry assays on one
//!   family of analogues, with the real mix of standard types and units, a few Cell Painting
//!   compounds here and there (too few per assay to make a task).
//!
//! Every activity row may be duplicated (a re-measurement), and about 1.5% carry a
//! `data_validity_comment` with the real values and their rough frequencies.

use serde::{Deserialize, Serialize};

use crate::pipeline::normalize_comment;
use crate::rng::SplitMix64;
use crate::synth::bundled;
use crate::synth::chembl_db::{ActivityRow, AssayRow, ChemblWriteError, ChemblWriter, TargetRow};
use crate::synth::mechanisms::{Action, Mechanism};

/// Fraction of rows with a `data_validity_comment`.
pub const VALIDITY_RATE: f64 = 0.015;
/// Real `data_validity_comment` values with rough relative frequencies.
pub const VALIDITY_COMMENTS: [(&str, f64); 6] = [
    ("Outside typical range", 50.0),
    ("Potential transcription error", 15.0),
    ("Non standard unit for type", 10.0),
    ("Potential missing data", 10.0),
    ("Potential author error", 5.0),
    ("Manually validated", 10.0),
];
/// Fraction of measurements repeated in the same assay.
pub const DUPLICATE_RATE: f64 = 0.03;
/// Fraction of repeated single-point measurements whose comment disagrees.
pub const CONFLICT_RATE: f64 = 0.15;
/// Measurement noise of a dose-response potency (log units).
pub const POTENCY_NOISE: f64 = 0.25;
/// Fraction of non-acting compounds that read as active (assay artefacts).
pub const FALSE_POSITIVE_RATE: f64 = 0.01;
/// Fraction of filler assays that include some Cell Painting compounds.
pub const FILLER_CP_RATE: f64 = 0.08;
/// Largest filler assay.
pub const FILLER_MAX_SIZE: usize = 5_000;

/// Chooses from `(item, weight)` pairs.
pub fn pick<'a, T>(items: &'a [(T, f64)], rng: &mut SplitMix64) -> &'a T {
    let total: f64 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.unit() * total;
    for (item, w) in items {
        if x < *w {
            return item;
        }
        x -= w;
    }
    &items[items.len() - 1].0
}

/// The real comment spellings, by meaning.
pub struct Spellings {
    active: Vec<(&'static str, f64)>,
    inactive: Vec<(&'static str, f64)>,
    other: Vec<(&'static str, f64)>,
}

impl Spellings {
    /// From the bundled census; meanings as ChEMBL's curators read them (which are also the
    /// paper's active and inactive sets).
    pub fn census() -> Spellings {
        let mut s = Spellings {
            active: Vec::new(),
            inactive: Vec::new(),
            other: Vec::new(),
        };
        for (comment, weight) in bundled::activity_comments() {
            match normalize_comment(comment).as_str() {
                "active" => s.active.push((comment, weight)),
                "inactive"
                | "not active"
                | "not active (inhibition < 50% @ 10 um and thus dose-reponse curve not measured)" => {
                    s.inactive.push((comment, weight))
                }
                _ => s.other.push((comment, weight)),
            }
        }
        s
    }

    fn active(&self, rng: &mut SplitMix64) -> &'static str {
        pick::<&'static str>(&self.active, rng)
    }

    fn inactive(&self, rng: &mut SplitMix64) -> &'static str {
        pick::<&'static str>(&self.inactive, rng)
    }

    fn other(&self, rng: &mut SplitMix64) -> &'static str {
        pick::<&'static str>(&self.other, rng)
    }
}

/// Rounds to three significant digits, as deposited values usually are.
pub fn round_sig3(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let d = v.abs().log10().floor();
    let f = 10f64.powf(2.0 - d);
    (v * f).round() / f
}

/// Rounds to two decimals.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A concentration in nM for a pXC50, and the pChEMBL ChEMBL derives from the rounded value.
pub fn nm_and_pchembl(px: f64) -> (f64, f64) {
    let v = round_sig3(10f64.powf(9.0 - px));
    (v, round2(9.0 - v.log10()))
}

/// Writes activity rows with ids, duplicates and validity comments.
pub struct Emitter {
    next_activity_id: i64,
    /// Rows written.
    pub rows: u64,
    rng: SplitMix64,
    spellings: Spellings,
}

impl Emitter {
    /// Starts at activity id 1.
    pub fn new(seed: u64) -> Emitter {
        Emitter {
            next_activity_id: 1,
            rows: 0,
            rng: SplitMix64::new(seed),
            spellings: Spellings::census(),
        }
    }

    fn emit(&mut self, w: &mut ChemblWriter, mut row: ActivityRow) -> Result<(), ChemblWriteError> {
        row.activity_id = self.next_activity_id;
        self.next_activity_id += 1;
        if self.rng.chance(VALIDITY_RATE) {
            row.data_validity_comment = Some(pick(&VALIDITY_COMMENTS, &mut self.rng).to_string());
        }
        self.rows += 1;
        w.activity(&row)
    }
}

fn row(assay_id: i64, molregno: i64) -> ActivityRow {
    ActivityRow {
        activity_id: 0,
        assay_id,
        molregno,
        standard_relation: None,
        standard_value: None,
        standard_units: None,
        standard_type: None,
        activity_comment: None,
        data_validity_comment: None,
        potential_duplicate: Some(0),
        pchembl_value: None,
    }
}

/// Cell lines used as targets of cell-based screens.
const CELL_LINES: [&str; 10] = [
    "U-2 OS", "HeLa", "MCF7", "A549", "HEK293", "HepG2", "PC-3", "Jurkat", "K562", "HCT-116",
];
/// Protein families for target names.
const PROTEIN_FAMILIES: [&str; 12] = [
    "Tyrosine-protein kinase",
    "Serine/threonine-protein kinase",
    "G-protein coupled receptor",
    "Nuclear receptor",
    "Histone deacetylase",
    "Voltage-gated ion channel",
    "Serine protease",
    "Phosphodiesterase",
    "Heat shock protein",
    "Cytochrome P450",
    "Solute carrier",
    "Bromodomain-containing protein",
];
const ORGANISMS: [(&str, f64); 3] = [
    ("Homo sapiens", 80.0),
    ("Rattus norvegicus", 10.0),
    ("Mus musculus", 10.0),
];

/// The CHEMBL id of a generated target.
pub fn target_chembl_id(tid: i64) -> String {
    format!("CHEMBL{}", 5_000_000 + tid)
}

/// The CHEMBL id of a generated assay.
pub fn assay_chembl_id(assay_id: i64) -> String {
    format!("CHEMBL{}", 6_000_000 + assay_id)
}

/// The targets written.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    /// Protein targets of each mechanism.
    pub by_mechanism: Vec<Vec<i64>>,
    /// Cell-line targets.
    pub cell_lines: Vec<i64>,
    /// Every target (tid, name, type).
    pub all: Vec<(i64, String, &'static str)>,
}

/// Writes `count` targets (at least the mechanisms' and the cell lines').
pub fn write_targets(
    w: &mut ChemblWriter,
    mechanisms: &[Mechanism],
    count: usize,
    rng: &mut SplitMix64,
) -> Result<Targets, ChemblWriteError> {
    let mut t = Targets::default();
    let mut tid = 0i64;
    let mut add = |w: &mut ChemblWriter,
                   t: &mut Targets,
                   name: String,
                   kind: &'static str,
                   organism: &str|
     -> Result<i64, ChemblWriteError> {
        tid += 1;
        w.target(&TargetRow {
            tid,
            chembl_id: target_chembl_id(tid),
            pref_name: name.clone(),
            target_type: kind.to_string(),
            organism: Some(organism.to_string()),
        })?;
        t.all.push((tid, name, kind));
        Ok(tid)
    };
    for (i, m) in mechanisms.iter().enumerate() {
        let n = 1 + rng.index(3);
        let mut tids = Vec::new();
        for j in 0..n {
            let family = PROTEIN_FAMILIES[rng.index(PROTEIN_FAMILIES.len())];
            let name = format!(
                "{family} SYN{}{} ({})",
                i + 1,
                (b'A' + j as u8) as char,
                m.name
            );
            tids.push(add(w, &mut t, name, "SINGLE PROTEIN", "Homo sapiens")?);
        }
        t.by_mechanism.push(tids);
    }
    for cell in CELL_LINES {
        let id = add(w, &mut t, cell.to_string(), "CELL-LINE", "Homo sapiens")?;
        t.cell_lines.push(id);
    }
    while t.all.len() < count {
        let family = PROTEIN_FAMILIES[rng.index(PROTEIN_FAMILIES.len())];
        let organism = *pick(&ORGANISMS, rng);
        let name = format!("{family} SYN{}", 1000 + t.all.len());
        add(w, &mut t, name, "SINGLE PROTEIN", organism)?;
    }
    Ok(t)
}

/// How a screening assay reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScreenKind {
    /// Dose-response values only.
    Numeric,
    /// Single-point values with activity comments.
    Comment,
    /// Dose-response values and comments.
    Both,
}

impl ScreenKind {
    /// Name in truth tables.
    pub fn name(self) -> &'static str {
        match self {
            ScreenKind::Numeric => "screening_numeric",
            ScreenKind::Comment => "screening_comment",
            ScreenKind::Both => "screening_both",
        }
    }
}

/// A screening assay, for the truth tables.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreeningAssay {
    /// Integer id.
    pub assay_id: i64,
    /// CHEMBL id.
    pub chembl_id: String,
    /// Mechanism read out.
    pub mechanism: u16,
    /// Reporting.
    pub kind: ScreenKind,
    /// IC50, EC50 or Inhibition.
    pub standard_type: &'static str,
    /// Cell Painting compounds tested.
    pub cp_tested: u64,
    /// Activity rows.
    pub rows: u64,
}

/// A Cell Painting compound as the release records it.
#[derive(Debug, Clone, PartialEq)]
pub struct CpRecord {
    /// Index in the Cell Painting set.
    pub compound: usize,
    /// Its own molecule (the full-key match), if any.
    pub primary: Option<i64>,
    /// A salt form.
    pub salt: Option<i64>,
    /// A stereo-less record (instead of the primary).
    pub flat: Option<i64>,
}

impl CpRecord {
    fn measured(&self, rng: &mut SplitMix64) -> Option<i64> {
        match (self.flat, self.salt, self.primary) {
            (Some(f), _, _) => Some(f),
            (None, Some(s), _) if rng.chance(0.5) => Some(s),
            (_, _, p) => p,
        }
    }
}

/// What the assay generator needs to know about the release's molecules.
pub struct MoleculeIndex<'a> {
    /// Cell Painting compounds in the release.
    pub cp: &'a [CpRecord],
    /// Actions of every Cell Painting compound (by compound index).
    pub actions: &'a [Vec<Action>],
    /// First and one-past-last molregno of the other molecules.
    pub others: (i64, i64),
    /// Family of each other molecule (by molregno - others.0), `u32::MAX` for none.
    pub family_of: &'a [u32],
    /// Family members (molregnos; the parent first when in the release).
    pub families: &'a [Vec<i64>],
}

/// The screening part of the release.
pub struct ScreeningPlan {
    /// Assays.
    pub assays: usize,
    /// Fraction of Cell Painting compounds in ChEMBL each tests: (low, high).
    pub screened: (f64, f64),
}

const NUMERIC_READOUTS: [&str; 5] = [
    "fluorescence polarization assay",
    "TR-FRET assay",
    "luciferase reporter gene assay",
    "AlphaScreen assay",
    "radioligand displacement assay",
];

/// Writes the screening assays and their activities; returns them, and the next assay id.
#[allow(clippy::too_many_arguments)]
pub fn write_screening(
    w: &mut ChemblWriter,
    e: &mut Emitter,
    plan: &ScreeningPlan,
    mechanisms: &[Mechanism],
    targets: &Targets,
    index: &MoleculeIndex<'_>,
    rng: &mut SplitMix64,
    progress: &dyn Fn(u64),
) -> Result<(Vec<ScreeningAssay>, i64), ChemblWriteError> {
    let mut out = Vec::new();
    let mut assay_id = 0i64;
    for s in 0..plan.assays {
        assay_id += 1;
        let m = if s < mechanisms.len() {
            s
        } else {
            rng.index(mechanisms.len())
        };
        let roll = rng.unit();
        let kind = if roll < 0.55 {
            ScreenKind::Numeric
        } else if roll < 0.85 {
            ScreenKind::Comment
        } else {
            ScreenKind::Both
        };
        let standard_type = match kind {
            ScreenKind::Comment => "Inhibition",
            _ if rng.chance(0.7) => "IC50",
            _ => "EC50",
        };
        let cell_based = rng.chance(0.3);
        let (tid, target_name) = if cell_based {
            let t = targets.cell_lines[rng.index(targets.cell_lines.len())];
            (t, targets.all[(t - 1) as usize].1.clone())
        } else {
            let ts = &targets.by_mechanism[m];
            let t = ts[rng.index(ts.len())];
            (t, targets.all[(t - 1) as usize].1.clone())
        };
        let description = match (kind, cell_based) {
            (ScreenKind::Comment, false) => {
                format!("qHTS assay for inhibitors of {target_name}: primary screen at 10 uM")
            }
            (ScreenKind::Comment, true) => format!(
                "Luminescence-based cell-based primary high throughput screen in {target_name} cells at 10 uM"
            ),
            (_, false) => format!(
                "Inhibition of human {target_name} by {}, {standard_type}",
                NUMERIC_READOUTS[rng.index(NUMERIC_READOUTS.len())]
            ),
            (_, true) => format!(
                "Cytotoxicity against human {target_name} cells assessed as reduction in cell viability after 72 hrs, {standard_type}"
            ),
        };
        w.assay(&AssayRow {
            assay_id,
            chembl_id: assay_chembl_id(assay_id),
            description,
            assay_type: if cell_based { "F" } else { "B" }.to_string(),
            tid: Some(tid),
            confidence_score: Some(if cell_based { 1 } else { 9 }),
        })?;
        let fraction = plan.screened.0 + (plan.screened.1 - plan.screened.0) * rng.unit();
        let top = *pick(
            &[
                (10_000.0, 4.0),
                (20_000.0, 1.0),
                (30_000.0, 2.0),
                (50_000.0, 1.0),
                (100_000.0, 1.0),
            ],
            rng,
        );
        let rows_before = e.rows;
        let mut cp_tested = 0u64;
        let measure = |w: &mut ChemblWriter,
                       e: &mut Emitter,
                       rng: &mut SplitMix64,
                       molregno: i64,
                       potency: Option<f64>|
         -> Result<(), ChemblWriteError> {
            let repeats = if rng.chance(DUPLICATE_RATE) { 2 } else { 1 };
            let mut first_active = None;
            for r in 0..repeats {
                let mut a = screening_row(
                    assay_id,
                    molregno,
                    kind,
                    standard_type,
                    top,
                    potency,
                    rng,
                    &e.spellings,
                );
                if r == 1 {
                    a.potential_duplicate = Some(i64::from(rng.chance(0.5)));
                    if kind == ScreenKind::Comment && rng.chance(CONFLICT_RATE) {
                        let flipped = if first_active == Some(true) {
                            e.spellings.inactive(rng)
                        } else {
                            e.spellings.active(rng)
                        };
                        a.activity_comment = Some(flipped.to_string());
                    }
                }
                first_active = a
                    .activity_comment
                    .as_deref()
                    .map(|c| normalize_comment(c) == "active");
                e.emit(w, a)?;
            }
            Ok(())
        };
        for record in index.cp {
            if !rng.chance(fraction) {
                continue;
            }
            let Some(molregno) = record.measured(rng) else {
                continue;
            };
            cp_tested += 1;
            let potency = index.actions[record.compound]
                .iter()
                .find(|a| usize::from(a.mechanism) == m)
                .map(|a| a.potency);
            measure(w, e, rng, molregno, potency)?;
        }
        let (lo, hi) = index.others;
        if hi > lo {
            let n_other = ((cp_tested as f64) * (0.5 + 2.5 * rng.unit())) as usize;
            let mut picked: Vec<i64> = (0..n_other)
                .map(|_| lo + rng.below((hi - lo) as u64) as i64)
                .collect();
            picked.sort_unstable();
            picked.dedup();
            for molregno in picked {
                let potency = rng
                    .chance(mechanisms[m].prevalence)
                    .then(|| crate::synth::mechanisms::draw_potency(rng));
                measure(w, e, rng, molregno, potency)?;
            }
        }
        out.push(ScreeningAssay {
            assay_id,
            chembl_id: assay_chembl_id(assay_id),
            mechanism: m as u16,
            kind,
            standard_type,
            cp_tested,
            rows: e.rows - rows_before,
        });
        progress(e.rows);
    }
    Ok((out, assay_id + 1))
}

/// One screening measurement.
#[allow(clippy::too_many_arguments)]
fn screening_row(
    assay_id: i64,
    molregno: i64,
    kind: ScreenKind,
    standard_type: &str,
    top_nm: f64,
    potency: Option<f64>,
    rng: &mut SplitMix64,
    spellings: &Spellings,
) -> ActivityRow {
    let mut a = row(assay_id, molregno);
    a.standard_type = Some(standard_type.to_string());
    let false_positive = potency.is_none() && rng.chance(FALSE_POSITIVE_RATE);
    if kind == ScreenKind::Comment {
        let active = match potency {
            Some(p) => p >= 5.5 && !rng.chance(0.05),
            None => false_positive,
        };
        let value = if active {
            50.0 + 60.0 * rng.unit()
        } else {
            -15.0 + 60.0 * rng.unit()
        };
        a.standard_relation = Some("=".into());
        a.standard_value = Some((value * 10.0).round() / 10.0);
        a.standard_units = Some("%".into());
        a.activity_comment = Some(
            if rng.chance(0.03) {
                spellings.other(rng)
            } else if active {
                spellings.active(rng)
            } else {
                spellings.inactive(rng)
            }
            .to_string(),
        );
        return a;
    }
    a.standard_units = Some("nM".into());
    let measured = match potency {
        Some(p) => Some(p + POTENCY_NOISE * rng.normal()),
        None if false_positive => Some(5.5 + 1.5 * rng.unit()),
        None if rng.chance(0.4) => Some(4.0 + 1.3 * rng.unit()),
        None => None,
    };
    // A few sub-nanomolar values: outside the rules' pChEMBL range.
    let measured = measured.map(|p| {
        if rng.chance(0.001) {
            10.1 + rng.unit()
        } else {
            p
        }
    });
    let top_p = 9.0 - top_nm.log10();
    match measured {
        Some(p) if p >= top_p.max(4.0) => {
            let (v, pchembl) = nm_and_pchembl(p);
            a.standard_relation = Some("=".into());
            a.standard_value = Some(v);
            a.pchembl_value = Some(pchembl);
            if kind == ScreenKind::Both {
                a.activity_comment = Some(
                    if pchembl >= 5.0 {
                        spellings.active(rng)
                    } else {
                        spellings.inactive(rng)
                    }
                    .to_string(),
                );
            }
        }
        _ => {
            a.standard_relation = Some(">".into());
            a.standard_value = Some(top_nm);
            if kind == ScreenKind::Both {
                a.activity_comment = Some(spellings.inactive(rng).to_string());
            }
        }
    }
    a
}

/// A standard type of the filler assays: name, units, weight, pChEMBL applies, value model.
struct FillerType {
    name: &'static str,
    units: Option<&'static str>,
    weight: f64,
    pchembl: bool,
    model: ValueModel,
}

#[derive(Clone, Copy)]
enum ValueModel {
    /// A concentration in nM from a pXC50.
    Concentration,
    /// A percentage.
    Percent,
    /// Powers of two (MIC in ug/mL).
    Dilution,
    /// A positive number with a log-normal spread around `mean`.
    Positive(f64),
}

const FILLER_TYPES: [FillerType; 15] = [
    FillerType {
        name: "IC50",
        units: Some("nM"),
        weight: 30.0,
        pchembl: true,
        model: ValueModel::Concentration,
    },
    FillerType {
        name: "Ki",
        units: Some("nM"),
        weight: 15.0,
        pchembl: true,
        model: ValueModel::Concentration,
    },
    FillerType {
        name: "Inhibition",
        units: Some("%"),
        weight: 12.0,
        pchembl: false,
        model: ValueModel::Percent,
    },
    FillerType {
        name: "EC50",
        units: Some("nM"),
        weight: 6.0,
        pchembl: true,
        model: ValueModel::Concentration,
    },
    FillerType {
        name: "Potency",
        units: Some("nM"),
        weight: 5.0,
        pchembl: true,
        model: ValueModel::Concentration,
    },
    FillerType {
        name: "MIC",
        units: Some("ug.mL-1"),
        weight: 5.0,
        pchembl: false,
        model: ValueModel::Dilution,
    },
    FillerType {
        name: "Activity",
        units: Some("%"),
        weight: 4.0,
        pchembl: false,
        model: ValueModel::Percent,
    },
    FillerType {
        name: "GI50",
        units: Some("nM"),
        weight: 4.0,
        pchembl: false,
        model: ValueModel::Concentration,
    },
    FillerType {
        name: "Kd",
        units: Some("nM"),
        weight: 3.0,
        pchembl: true,
        model: ValueModel::Concentration,
    },
    FillerType {
        name: "AC50",
        units: Some("nM"),
        weight: 3.0,
        pchembl: true,
        model: ValueModel::Concentration,
    },
    FillerType {
        name: "CC50",
        units: Some("nM"),
        weight: 2.0,
        pchembl: false,
        model: ValueModel::Concentration,
    },
    FillerType {
        name: "Ratio",
        units: None,
        weight: 2.0,
        pchembl: false,
        model: ValueModel::Positive(1.5),
    },
    FillerType {
        name: "T1/2",
        units: Some("hr"),
        weight: 2.0,
        pchembl: false,
        model: ValueModel::Positive(3.0),
    },
    FillerType {
        name: "Solubility",
        units: Some("ug.mL-1"),
        weight: 2.0,
        pchembl: false,
        model: ValueModel::Positive(20.0),
    },
    FillerType {
        name: "ED50",
        units: Some("mg.kg-1"),
        weight: 2.0,
        pchembl: true,
        model: ValueModel::Positive(10.0),
    },
];

const ASSAY_TYPES: [(&str, f64); 6] = [
    ("B", 45.0),
    ("F", 35.0),
    ("A", 12.0),
    ("T", 5.0),
    ("P", 2.0),
    ("U", 1.0),
];

/// The filler part of the release.
pub struct FillerPlan {
    /// First assay id.
    pub first_assay_id: i64,
    /// Assays to write.
    pub assays: usize,
    /// Activity rows to aim for.
    pub rows: u64,
}

/// Writes the filler assays and their activities.
pub fn write_filler(
    w: &mut ChemblWriter,
    e: &mut Emitter,
    plan: &FillerPlan,
    targets: &Targets,
    index: &MoleculeIndex<'_>,
    rng: &mut SplitMix64,
    progress: &dyn Fn(u64),
) -> Result<(), ChemblWriteError> {
    let (lo, hi) = index.others;
    if plan.assays == 0 || hi <= lo {
        return Ok(());
    }
    let sigma = 1.5f64;
    let mean = (plan.rows as f64 / plan.assays as f64).max(1.0);
    let mu = (mean - 0.5).max(0.6).ln() - sigma * sigma / 2.0;
    let type_weights: Vec<(usize, f64)> = FILLER_TYPES
        .iter()
        .enumerate()
        .map(|(i, t)| (i, t.weight))
        .collect();
    let start_rows = e.rows;
    for k in 0..plan.assays {
        let assay_id = plan.first_assay_id + k as i64;
        // Keep the running total near the plan: sizes follow the log-normal, scaled by how far
        // the rows written so far are from the expected count.
        let expected = plan.rows as f64 * k as f64 / plan.assays as f64;
        let written = (e.rows - start_rows) as f64;
        let drift = if expected > 1000.0 {
            (expected / written.max(1.0)).clamp(0.5, 2.0)
        } else {
            1.0
        };
        let size = ((mu + sigma * rng.normal()).exp() * drift)
            .ceil()
            .clamp(1.0, FILLER_MAX_SIZE as f64) as usize;
        let ty = &FILLER_TYPES[*pick(&type_weights, rng)];
        let assay_type = *pick(&ASSAY_TYPES, rng);
        let tid = targets.all[rng.index(targets.all.len())].0;
        let target_name = &targets.all[(tid - 1) as usize].1;
        w.assay(&AssayRow {
            assay_id,
            chembl_id: assay_chembl_id(assay_id),
            description: format!(
                "{} of {target_name}{}",
                match assay_type {
                    "B" => "Binding affinity",
                    "A" => "ADME profile",
                    "T" => "Toxicity",
                    "P" => "Physicochemical property",
                    "U" => "Unclassified measurement",
                    _ => "Functional activity",
                },
                match ty.units {
                    Some(u) => format!(", {} ({u})", ty.name),
                    None => format!(", {}", ty.name),
                }
            ),
            assay_type: assay_type.to_string(),
            tid: Some(tid),
            confidence_score: Some(match assay_type {
                "B" => 9,
                "F" => 8,
                _ => 1,
            }),
        })?;
        let members = filler_members(index, size, rng);
        let commented = matches!(ty.model, ValueModel::Percent) && rng.chance(0.1);
        let relations = rng.chance(0.5);
        for molregno in members {
            let repeats = if rng.chance(DUPLICATE_RATE) { 2 } else { 1 };
            for r in 0..repeats {
                let mut a = row(assay_id, molregno);
                a.standard_type = Some(ty.name.to_string());
                a.standard_units = ty.units.map(str::to_string);
                a.potential_duplicate = Some(i64::from(r == 1 && rng.chance(0.5)));
                fill_value(&mut a, ty, relations, rng);
                if commented {
                    let active = a.standard_value.is_some_and(|v| v >= 50.0);
                    a.activity_comment = Some(
                        if active {
                            e.spellings.active(rng)
                        } else {
                            e.spellings.inactive(rng)
                        }
                        .to_string(),
                    );
                } else if rng.chance(0.04) {
                    a.activity_comment = Some(e.spellings.other(rng).to_string());
                }
                e.emit(w, a)?;
            }
        }
        if k % 1024 == 0 {
            progress(e.rows);
        }
    }
    progress(e.rows);
    Ok(())
}

fn fill_value(a: &mut ActivityRow, ty: &FillerType, relations: bool, rng: &mut SplitMix64) {
    match ty.model {
        ValueModel::Concentration => {
            let px = (6.2 + 1.3 * rng.normal()).clamp(2.5, 11.0);
            let (v, pchembl) = nm_and_pchembl(px);
            let roll = rng.unit();
            let relation = if !relations || roll < 0.85 {
                "="
            } else if roll < 0.95 {
                ">"
            } else {
                "<"
            };
            a.standard_relation = Some(relation.into());
            a.standard_value = Some(v);
            if relation == "=" && ty.pchembl {
                a.pchembl_value = Some(pchembl);
            }
        }
        ValueModel::Percent => {
            a.standard_relation = Some("=".into());
            a.standard_value = Some(((-20.0 + 140.0 * rng.unit()) * 10.0).round() / 10.0);
        }
        ValueModel::Dilution => {
            let k = rng.index(11) as i32 - 3;
            a.standard_relation = Some(if rng.chance(0.15) { ">" } else { "=" }.into());
            a.standard_value = Some(2f64.powi(k));
        }
        ValueModel::Positive(mean) => {
            a.standard_relation = Some("=".into());
            a.standard_value = Some(round_sig3(mean * (0.8 * rng.normal()).exp()));
        }
    }
}

/// The molecules a filler assay tests: a window of one family (a series), topped up with
/// other molecules when the family is small, and now and then a few Cell Painting compounds.
fn filler_members(index: &MoleculeIndex<'_>, size: usize, rng: &mut SplitMix64) -> Vec<i64> {
    let (lo, hi) = index.others;
    let span = (hi - lo) as u64;
    let mut out: Vec<i64> = Vec::with_capacity(size + 3);
    let pivot = lo + rng.below(span) as i64;
    let family = index.family_of.get((pivot - lo) as usize).copied();
    match family.and_then(|f| index.families.get(f as usize)) {
        Some(members) if !members.is_empty() => {
            if members.len() <= size {
                out.extend_from_slice(members);
            } else {
                let start = rng.index(members.len());
                out.extend((0..size).map(|i| members[(start + i) % members.len()]));
            }
        }
        _ => out.push(pivot),
    }
    let mut guard = 0;
    while out.len() < size && guard < size * 2 {
        guard += 1;
        out.push(lo + rng.below(span) as i64);
    }
    if !index.cp.is_empty() && rng.chance(FILLER_CP_RATE) {
        for _ in 0..1 + rng.index(3) {
            let record = &index.cp[rng.index(index.cp.len())];
            if let Some(m) = record.measured(rng) {
                out.push(m);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_like_deposited_data() {
        assert_eq!(round_sig3(1234.5), 1230.0);
        assert_eq!(round_sig3(0.012345), 0.0123);
        let (v, p) = nm_and_pchembl(7.5);
        assert_eq!(v, 31.6);
        assert_eq!(p, 7.5);
        let (v, p) = nm_and_pchembl(5.0);
        assert_eq!((v, p), (10_000.0, 5.0));
    }

    #[test]
    fn census_spellings_split_by_meaning() {
        let s = Spellings::census();
        assert!(s.active.iter().any(|(c, _)| *c == "Active"));
        assert!(s.inactive.iter().any(|(c, _)| *c == " Not  Active "));
        assert!(s.other.iter().any(|(c, _)| *c == "Inconclusive"));
        assert_eq!(s.active.len() + s.inactive.len() + s.other.len(), 16);
    }
}
