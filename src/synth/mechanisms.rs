//! Hidden mechanisms: what a generated compound does to cells, and so how it scores in the
//! assays that read out that mechanism.
//!
//! A [`Mechanism`] has a prevalence (the fraction of compounds acting on it) and a
//! [`Phenotype`]: the change it makes to cells when images are drawn, as in the paper's
//! Figure 5: some act on every cell (`global`), some on only a few cells (`sparse`, the case
//! averaged features miss), some only on the number of cells (`cell_count`), and some leave
//! no visible trace (`invisible`, so not every assay is learnable from images). A compound's
//! [`Action`]s give each mechanism it acts on a potency (pXC50); screening assays tied to a
//! mechanism measure that potency with noise.

use serde::{Deserialize, Serialize};

use crate::rng::SplitMix64;

/// How a mechanism shows in cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhenotypeKind {
    /// Every cell changes.
    Global,
    /// A fraction of cells changes strongly; the well average hardly moves.
    Sparse,
    /// Fewer cells (toxicity, arrest); morphology unchanged.
    CellCount,
    /// No visible change.
    Invisible,
}

impl PhenotypeKind {
    /// The name written in truth tables.
    pub fn name(self) -> &'static str {
        match self {
            PhenotypeKind::Global => "global",
            PhenotypeKind::Sparse => "sparse",
            PhenotypeKind::CellCount => "cell_count",
            PhenotypeKind::Invisible => "invisible",
        }
    }
}

/// The five Cell Painting channels, in the paper's order.
pub const CHANNELS: [&str; 5] = ["DNA", "ER", "RNA", "AGP", "Mito"];

/// Morphological effects a phenotype can have on its channel.
pub const EFFECTS: [&str; 6] = [
    "brighter",
    "dimmer",
    "larger",
    "smaller",
    "textured",
    "elongated",
];

/// The visible change a mechanism makes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phenotype {
    /// How it shows.
    pub kind: PhenotypeKind,
    /// The channel that changes (`DNA`, `ER`, `RNA`, `AGP`, `Mito`); none for cell count and
    /// invisible mechanisms.
    pub channel: Option<String>,
    /// The change (`brighter`, `larger`, ...); none for cell count and invisible mechanisms.
    pub effect: Option<String>,
    /// Size of the change at full effect, 0..1 (for cell count: the fraction of cells lost).
    pub strength: f64,
    /// Fraction of cells that change at full effect (1 for global, 0.05-0.25 for sparse).
    pub cell_fraction: f64,
}

/// A hidden mechanism.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mechanism {
    /// `M01`, `M02`, ...
    pub id: String,
    /// A descriptive name (the kind of biology it stands for).
    pub name: String,
    /// Fraction of compounds acting on it.
    pub prevalence: f64,
    /// What it does to cells.
    pub phenotype: Phenotype,
}

/// One compound acting on one mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// Index into the mechanisms.
    pub mechanism: u16,
    /// Potency, as pXC50 (-log10 molar).
    pub potency: f64,
}

/// The kinds of biology mechanisms are named after.
const BIOLOGY: [&str; 24] = [
    "microtubule destabiliser",
    "actin disruptor",
    "DNA damage",
    "HDAC inhibition",
    "proteasome inhibition",
    "HSP90 inhibition",
    "mTOR inhibition",
    "CDK inhibition",
    "Aurora kinase inhibition",
    "topoisomerase inhibition",
    "mitochondrial uncoupling",
    "ER stress",
    "glucocorticoid receptor agonism",
    "GPCR signalling",
    "ion channel block",
    "PI3K inhibition",
    "EGFR inhibition",
    "tyrosine kinase inhibition",
    "PDE inhibition",
    "BET bromodomain inhibition",
    "Golgi disruption",
    "lysosomal dysfunction",
    "autophagy induction",
    "cholesterol synthesis inhibition",
];

/// Potency of an acting compound: mean and spread of the pXC50, and its bounds.
pub const POTENCY_MEAN: f64 = 6.8;
/// Spread of potencies.
pub const POTENCY_SD: f64 = 0.9;
/// Lowest and highest potency.
pub const POTENCY_RANGE: (f64, f64) = (4.5, 9.5);

/// Draws `n` mechanisms with prevalences log-uniform in `prevalence`.
pub fn draw_mechanisms(n: usize, prevalence: (f64, f64), rng: &mut SplitMix64) -> Vec<Mechanism> {
    (0..n)
        .map(|i| {
            let (lo, hi) = (prevalence.0.ln(), prevalence.1.ln());
            let prevalence = (lo + (hi - lo) * rng.unit()).exp();
            let roll = rng.unit();
            let kind = if roll < 0.40 {
                PhenotypeKind::Global
            } else if roll < 0.70 {
                PhenotypeKind::Sparse
            } else if roll < 0.85 {
                PhenotypeKind::CellCount
            } else {
                PhenotypeKind::Invisible
            };
            let visible_channel = matches!(kind, PhenotypeKind::Global | PhenotypeKind::Sparse);
            let channel = visible_channel.then(|| CHANNELS[rng.index(CHANNELS.len())].to_string());
            let effect = visible_channel.then(|| EFFECTS[rng.index(EFFECTS.len())].to_string());
            let strength = match kind {
                PhenotypeKind::Invisible => 0.0,
                PhenotypeKind::CellCount => 0.2 + 0.4 * rng.unit(),
                _ => 0.3 + 0.7 * rng.unit(),
            };
            let cell_fraction = match kind {
                PhenotypeKind::Sparse => 0.05 + 0.2 * rng.unit(),
                PhenotypeKind::Invisible => 0.0,
                _ => 1.0,
            };
            let biology = BIOLOGY[i % BIOLOGY.len()];
            let name = if i < BIOLOGY.len() {
                biology.to_string()
            } else {
                format!("{biology} ({})", i / BIOLOGY.len() + 1)
            };
            Mechanism {
                id: format!("M{:02}", i + 1),
                name,
                prevalence,
                phenotype: Phenotype {
                    kind,
                    channel,
                    effect,
                    strength: round3(strength),
                    cell_fraction: round3(cell_fraction),
                },
            }
        })
        .collect()
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A potency for an acting compound.
pub fn draw_potency(rng: &mut SplitMix64) -> f64 {
    let p = POTENCY_MEAN + POTENCY_SD * rng.normal();
    round3(p.clamp(POTENCY_RANGE.0, POTENCY_RANGE.1))
}

/// The actions of a compound with no known relative: each mechanism independently, with its
/// prevalence.
pub fn draw_actions(mechanisms: &[Mechanism], rng: &mut SplitMix64) -> Vec<Action> {
    let mut out = Vec::new();
    for (m, mech) in mechanisms.iter().enumerate() {
        if rng.chance(mech.prevalence) {
            out.push(Action {
                mechanism: m as u16,
                potency: draw_potency(rng),
            });
        }
    }
    out
}

/// The actions of an analogue of a compound with actions `parent`: most carry over with a
/// potency shift (structure-activity relationships are smooth but not flat), a few are lost,
/// and a few new ones appear at a fifth of the usual prevalence.
pub fn inherit_actions(
    parent: &[Action],
    mechanisms: &[Mechanism],
    rng: &mut SplitMix64,
) -> Vec<Action> {
    let mut out: Vec<Action> = Vec::new();
    for (m, mech) in mechanisms.iter().enumerate() {
        match parent.iter().find(|a| usize::from(a.mechanism) == m) {
            Some(a) => {
                if rng.chance(0.8) {
                    let p =
                        (a.potency + 0.5 * rng.normal()).clamp(POTENCY_RANGE.0, POTENCY_RANGE.1);
                    out.push(Action {
                        mechanism: a.mechanism,
                        potency: round3(p),
                    });
                }
            }
            None => {
                if rng.chance(mech.prevalence * 0.2) {
                    out.push(Action {
                        mechanism: m as u16,
                        potency: draw_potency(rng),
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mechanisms_are_varied_and_actions_follow_prevalence() {
        let mut rng = SplitMix64::new(3);
        let mechs = draw_mechanisms(60, (0.02, 0.08), &mut rng);
        assert_eq!(mechs.len(), 60);
        assert_eq!(mechs[0].id, "M01");
        let kinds: std::collections::BTreeSet<&str> =
            mechs.iter().map(|m| m.phenotype.kind.name()).collect();
        assert_eq!(kinds.len(), 4, "{kinds:?}");
        assert!(mechs.iter().all(|m| (0.02..=0.08).contains(&m.prevalence)));
        let expected: f64 = mechs.iter().map(|m| m.prevalence).sum::<f64>() * 20_000.0;
        let drawn: usize = (0..20_000)
            .map(|_| draw_actions(&mechs, &mut rng).len())
            .sum();
        let ratio = drawn as f64 / expected;
        assert!((0.95..1.05).contains(&ratio), "{ratio}");
        let parent = [Action {
            mechanism: 0,
            potency: 8.0,
        }];
        let kept = (0..2_000)
            .filter(|_| {
                inherit_actions(&parent, &mechs, &mut rng)
                    .iter()
                    .any(|a| a.mechanism == 0)
            })
            .count();
        assert!((1_500..1_700).contains(&kept), "{kept}");
    }
}
