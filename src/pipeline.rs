//! Pipeline files (`pipelines/*.toml`): the single place where sources, label rules, split and
//! export layout are set. [`Pipeline::load`] parses and validates one; [`LabelRules`] is the
//! validated, fixed-point form of the rules that the dataflow applies.
//!
//! ```
//! let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/pipelines/paper.toml")).unwrap();
//! let p = assayflow::pipeline::Pipeline::parse(&text, "paper.toml").unwrap();
//! assert_eq!(p.rules().thresholds, vec![550, 650, 750]);
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};

/// How Cell Painting compounds are matched to ChEMBL molecules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchLevel {
    /// The whole 27-character standard InChIKey.
    Full,
    /// The 14-character first (connectivity) block.
    FirstBlock,
    /// The full key, then every molecule sharing its parent in `molecule_hierarchy`.
    Parent,
}

impl MatchLevel {
    /// The name used in files and reports.
    pub fn name(self) -> &'static str {
        match self {
            MatchLevel::Full => "full",
            MatchLevel::FirstBlock => "first_block",
            MatchLevel::Parent => "parent",
        }
    }
}

/// Which Cell Painting metadata layout to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayoutChoice {
    /// Decide from the files present.
    Detect,
    /// Bray 2017 / CDRP.
    Cdrp,
    /// JUMP.
    Jump,
}

/// `[pipeline]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSection {
    /// Short name.
    pub name: String,
    /// What the pipeline is for.
    #[serde(default)]
    pub description: String,
}

/// `[cellpainting]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellPaintingSection {
    /// Metadata layout.
    pub layout: LayoutChoice,
}

/// `[chembl]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChemblSection {
    /// The match level used for labels.
    #[serde(rename = "match")]
    pub match_level: MatchLevel,
}

/// `[labels]`, as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelsSection {
    /// `data_validity_comment` values that do not exclude an activity.
    pub validity_comments_kept: Vec<String>,
    /// `standard_type`s of numeric tasks.
    pub numeric_standard_types: Vec<String>,
    /// Lowest pChEMBL used.
    pub pchembl_min: f64,
    /// Highest pChEMBL used.
    pub pchembl_max: f64,
    /// Thresholds: active when the median pChEMBL is at least the threshold.
    pub thresholds: Vec<f64>,
    /// Normalised comments meaning active.
    pub comments_active: Vec<String>,
    /// Normalised comments meaning inactive.
    pub comments_inactive: Vec<String>,
    /// A task needs at least this many actives...
    pub min_actives: u32,
    /// ...and this many inactives.
    pub min_inactives: u32,
}

/// `[split]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitSection {
    /// Seed of the fold hash.
    pub seed: u64,
    /// Fraction of compound groups in training.
    pub train: f64,
    /// Fraction in validation.
    pub valid: f64,
    /// Fraction in test.
    pub test: f64,
}

/// `[export]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportSection {
    /// Number of label shards.
    pub label_shards: u32,
    /// Also write the authors' MatrixMarket format.
    pub authors_format: bool,
}

/// A whole pipeline file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    /// `[pipeline]`.
    pub pipeline: PipelineSection,
    /// `[cellpainting]`.
    pub cellpainting: CellPaintingSection,
    /// `[chembl]`.
    pub chembl: ChemblSection,
    /// `[labels]`.
    pub labels: LabelsSection,
    /// `[split]`.
    pub split: SplitSection,
    /// `[export]`.
    pub export: ExportSection,
    /// `[images]` (defaults: the paper's Bray 2017 set-up).
    #[serde(default)]
    pub images: crate::images::settings::ImagesSection,
    /// `[train]` (defaults: the paper's hyper-parameters).
    #[serde(default)]
    pub train: crate::training_settings::TrainSection,
    /// The file's exact text (kept so an export can carry it and hash it).
    #[serde(skip)]
    pub text: String,
}

/// Errors loading a pipeline file.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Unreadable file.
    #[error("pipeline file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Not valid TOML for a pipeline.
    #[error("pipeline file {path}: {source}")]
    Parse {
        /// The file.
        path: String,
        /// The cause.
        source: Box<toml::de::Error>,
    },
    /// A value out of range or inconsistent.
    #[error("pipeline file {path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// The validated label rules, thresholds in hundredths of a pChEMBL unit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LabelRules {
    /// Validity comments that do not exclude.
    pub validity_comments_kept: Vec<String>,
    /// Numeric standard types.
    pub numeric_standard_types: Vec<String>,
    /// Lowest pChEMBL, hundredths.
    pub pchembl_min: i32,
    /// Highest pChEMBL, hundredths.
    pub pchembl_max: i32,
    /// Thresholds, hundredths, ascending.
    pub thresholds: Vec<i32>,
    /// Active comments (normalised).
    pub comments_active: Vec<String>,
    /// Inactive comments (normalised).
    pub comments_inactive: Vec<String>,
    /// Minimum actives per task.
    pub min_actives: u32,
    /// Minimum inactives per task.
    pub min_inactives: u32,
}

/// Converts a pChEMBL value to hundredths if it has at most two decimals.
pub fn hundredths(value: f64) -> Option<i32> {
    let scaled = (value * 100.0).round();
    ((scaled / 100.0 - value).abs() < 1e-9 && scaled.abs() < 1e6).then_some(scaled as i32)
}

/// A measured pChEMBL value in hundredths, rounded to the nearest hundredth (ChEMBL stores two
/// decimals; extracts carry float noise like 6.409999847). `None` for NaN or absurd values.
pub fn pchembl_hundredths(value: f64) -> Option<i32> {
    (value.is_finite() && value.abs() < 1e6).then(|| (value * 100.0).round() as i32)
}

/// Normalises an activity comment: trimmed, lower-cased, inner whitespace collapsed to one space.
pub fn normalize_comment(comment: &str) -> String {
    comment
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl Pipeline {
    /// Loads and validates a pipeline file.
    pub fn load(path: &Path) -> Result<Pipeline, PipelineError> {
        let text = std::fs::read_to_string(path).map_err(|source| PipelineError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Pipeline::parse(&text, &path.display().to_string())
    }

    /// Parses and validates pipeline text (`name` is used in messages).
    pub fn parse(text: &str, name: &str) -> Result<Pipeline, PipelineError> {
        let mut p: Pipeline = toml::from_str(text).map_err(|source| PipelineError::Parse {
            path: name.to_string(),
            source: Box::new(source),
        })?;
        p.text = text.to_string();
        p.validate(name)?;
        Ok(p)
    }

    fn validate(&self, name: &str) -> Result<(), PipelineError> {
        let invalid = |message: String| PipelineError::Invalid {
            path: name.to_string(),
            message,
        };
        let l = &self.labels;
        let min = hundredths(l.pchembl_min)
            .ok_or_else(|| invalid("labels.pchembl_min needs at most two decimals".into()))?;
        let max = hundredths(l.pchembl_max)
            .ok_or_else(|| invalid("labels.pchembl_max needs at most two decimals".into()))?;
        if min > max {
            return Err(invalid(
                "labels.pchembl_min is above labels.pchembl_max".into(),
            ));
        }
        if l.thresholds.is_empty() && l.comments_active.is_empty() {
            return Err(invalid(
                "no thresholds and no active comments: no task can exist".into(),
            ));
        }
        for &t in &l.thresholds {
            let h = hundredths(t)
                .ok_or_else(|| invalid(format!("threshold {t} needs at most two decimals")))?;
            if h <= min || h > max {
                return Err(invalid(format!(
                    "threshold {t} must lie in ({}, {}]",
                    l.pchembl_min, l.pchembl_max
                )));
            }
        }
        for c in l.comments_active.iter().chain(&l.comments_inactive) {
            if normalize_comment(c) != *c {
                return Err(invalid(format!(
                    "comment {c:?} must be given normalised (trimmed, lower case, single spaces)"
                )));
            }
        }
        if let Some(c) = l
            .comments_active
            .iter()
            .find(|c| l.comments_inactive.contains(c))
        {
            return Err(invalid(format!(
                "comment {c:?} is both active and inactive"
            )));
        }
        let s = &self.split;
        for (label, f) in [("train", s.train), ("valid", s.valid), ("test", s.test)] {
            if !(0.0..=1.0).contains(&f) {
                return Err(invalid(format!("split.{label} must lie in [0, 1]")));
            }
        }
        if ((s.train + s.valid + s.test) - 1.0).abs() > 1e-9 {
            return Err(invalid("split fractions must add up to 1".into()));
        }
        if self.export.label_shards == 0 || self.export.label_shards > 4096 {
            return Err(invalid("export.label_shards must be in 1..=4096".into()));
        }
        self.images.validate().map_err(invalid)?;
        self.train.validate().map_err(invalid)?;
        Ok(())
    }

    /// The label rules in fixed point.
    pub fn rules(&self) -> LabelRules {
        let l = &self.labels;
        let mut thresholds: Vec<i32> = l.thresholds.iter().filter_map(|&t| hundredths(t)).collect();
        thresholds.sort_unstable();
        thresholds.dedup();
        LabelRules {
            validity_comments_kept: l.validity_comments_kept.clone(),
            numeric_standard_types: l.numeric_standard_types.clone(),
            pchembl_min: hundredths(l.pchembl_min).unwrap_or(0),
            pchembl_max: hundredths(l.pchembl_max).unwrap_or(0),
            thresholds,
            comments_active: l.comments_active.clone(),
            comments_inactive: l.comments_inactive.clone(),
            min_actives: l.min_actives,
            min_inactives: l.min_inactives,
        }
    }

    /// blake3 of the file's text, hex.
    pub fn hash(&self) -> String {
        blake3::hash(self.text.as_bytes()).to_hex().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paper() -> String {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/pipelines/paper.toml"))
            .unwrap()
    }

    #[test]
    fn paper_pipeline_loads() {
        let p = Pipeline::parse(&paper(), "paper.toml").unwrap();
        let r = p.rules();
        assert_eq!((r.pchembl_min, r.pchembl_max), (400, 1000));
        assert_eq!(r.thresholds, vec![550, 650, 750]);
        assert_eq!(p.chembl.match_level, MatchLevel::Full);
        assert_eq!(p.export.label_shards, 16);
        assert_eq!(p.hash().len(), 64);
    }

    #[test]
    fn the_demo_training_pipeline_differs_from_the_paper_only_in_its_name_and_views() {
        let demo = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/pipelines/demo-training.toml"
        ))
        .unwrap();
        let (p, d) = (
            Pipeline::parse(&paper(), "paper.toml").unwrap(),
            Pipeline::parse(&demo, "demo-training.toml").unwrap(),
        );
        assert_eq!((d.images.height, d.images.width), (260, 348));
        assert_eq!(d.images.dtype, crate::images::settings::PixelType::Uint8);
        let mut same = d.clone();
        same.pipeline = p.pipeline.clone();
        same.images.height = p.images.height;
        same.images.width = p.images.width;
        same.images.dtype = p.images.dtype;
        same.text = p.text.clone();
        assert_eq!(same, p);
    }

    #[test]
    fn invalid_pipelines_name_the_problem() {
        let bad = paper().replace("thresholds = [5.5, 6.5, 7.5]", "thresholds = [5.555]");
        let e = Pipeline::parse(&bad, "x.toml").unwrap_err().to_string();
        assert!(e.contains("two decimals"), "{e}");
        let bad = paper().replace("test = 0.2", "test = 0.3");
        assert!(
            Pipeline::parse(&bad, "x.toml")
                .unwrap_err()
                .to_string()
                .contains("add up to 1")
        );
        let bad = paper().replace("[export]", "[export]\nunknown = 1");
        assert!(Pipeline::parse(&bad, "x.toml").is_err());
        let bad = paper().replace("\"inactive\",", "\"Inactive\",");
        assert!(
            Pipeline::parse(&bad, "x.toml")
                .unwrap_err()
                .to_string()
                .contains("normalised")
        );
    }

    #[test]
    fn fixed_point_and_comments() {
        assert_eq!(hundredths(5.5), Some(550));
        assert_eq!(hundredths(6.409999847412109), None);
        assert_eq!(normalize_comment("  Not   Active "), "not active");
    }
}
