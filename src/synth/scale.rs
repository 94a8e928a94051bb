//! World sizes. `full` is ChEMBL-sized (ChEMBL 35: 2.50 M compounds, 1.74 M assays, 21.1 M
//! activities) with a Cell Painting set like Bray 2017's (30,000 compounds, about 11,500 of them
//! in ChEMBL); `demo` builds in seconds and still gives dozens of label tasks.

use serde::{Deserialize, Serialize};

/// A named size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// A few thousand molecules: seconds.
    Demo,
    /// About a twentieth of ChEMBL.
    Small,
    /// ChEMBL-sized.
    Full,
}

/// The numbers a scale stands for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScaleParams {
    /// Cell Painting compounds.
    pub cp_compounds: usize,
    /// Of which in ChEMBL.
    pub cp_in_chembl: usize,
    /// ChEMBL molecules in all.
    pub molecules: usize,
    /// ChEMBL assays in all.
    pub assays: usize,
    /// ChEMBL activities in all (approximately).
    pub activities: usize,
    /// Hidden mechanisms.
    pub mechanisms: usize,
    /// Large screening assays that test many Cell Painting compounds.
    pub screening_assays: usize,
    /// Fraction of compounds acting on a given mechanism: (low, high).
    pub prevalence: (f64, f64),
    /// Fraction of the in-ChEMBL Cell Painting compounds a screening assay tests: (low, high).
    pub screened: (f64, f64),
    /// Replicate plates per platemap.
    pub replicates: usize,
}

impl Scale {
    /// The scale's numbers.
    pub fn params(self) -> ScaleParams {
        match self {
            Scale::Demo => ScaleParams {
                cp_compounds: 600,
                cp_in_chembl: 300,
                molecules: 6_000,
                assays: 3_000,
                activities: 60_000,
                mechanisms: 16,
                screening_assays: 40,
                prevalence: (0.08, 0.2),
                screened: (0.4, 0.9),
                replicates: 2,
            },
            Scale::Small => ScaleParams {
                cp_compounds: 3_000,
                cp_in_chembl: 1_150,
                molecules: 120_000,
                assays: 85_000,
                activities: 1_050_000,
                mechanisms: 40,
                screening_assays: 120,
                prevalence: (0.03, 0.12),
                screened: (0.1, 0.5),
                replicates: 4,
            },
            Scale::Full => ScaleParams {
                cp_compounds: 30_000,
                cp_in_chembl: 11_500,
                molecules: 2_400_000,
                assays: 1_700_000,
                activities: 21_000_000,
                mechanisms: 60,
                screening_assays: 400,
                prevalence: (0.02, 0.08),
                screened: (0.05, 0.35),
                replicates: 4,
            },
        }
    }

    /// The plates `synth world` draws at this scale: (plates, wells per plate, sites per well,
    /// compression); `None` draws none (`synth plates` draws any selection later). Demo: two
    /// replicate plates, 12 wells each, 6 sites, Deflate (about 350 MB).
    pub fn plate_defaults(
        self,
    ) -> Option<(usize, usize, u32, crate::synth::plates::TiffCompression)> {
        match self {
            Scale::Demo => Some((2, 12, 6, crate::synth::plates::TiffCompression::Deflate)),
            Scale::Small | Scale::Full => None,
        }
    }

    /// `demo`, `small` or `full`.
    pub fn name(self) -> &'static str {
        match self {
            Scale::Demo => "demo",
            Scale::Small => "small",
            Scale::Full => "full",
        }
    }
}
