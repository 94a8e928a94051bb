//! The records label rules work on, small enough to keep in arrangements: ChEMBL activities
//! reduced to what the rules look at ([`Activity`]), compound matches ([`Match`]), tasks
//! ([`Task`]) and labels ([`Label`]).
//!
//! Compounds are interned to `u32` ids (the index of their InChIKey in the sorted key list), so
//! no 27-byte key travels through the dataflow; assays keep ChEMBL's integer `assay_id`.

use serde::{Deserialize, Serialize};

use crate::pipeline::{LabelRules, normalize_comment};

/// What an activity comment says, after normalisation and the configured sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Comment {
    /// No comment.
    None,
    /// In the active set.
    Active,
    /// In the inactive set.
    Inactive,
    /// Any other comment (ignored by the rules, counted).
    Other,
}

/// One ChEMBL activity as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Activity {
    /// `activities.molregno`.
    pub molregno: u64,
    /// `activities.activity_id`.
    pub activity_id: u64,
    /// `activities.assay_id`.
    pub assay_id: u32,
    /// `data_validity_comment` empty or in the kept list (rule 2).
    pub valid: bool,
    /// `standard_type` among the numeric types (rule 3).
    pub numeric_type: bool,
    /// `pchembl_value` in hundredths.
    pub pchembl: Option<i32>,
    /// The comment class (rule 4).
    pub comment: Comment,
}

/// The raw ChEMBL fields an [`Activity`] is made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawActivity {
    /// `activity_id`.
    pub activity_id: i64,
    /// `assay_id`.
    pub assay_id: i64,
    /// `molregno`.
    pub molregno: i64,
    /// `standard_type`.
    pub standard_type: Option<String>,
    /// `standard_relation`.
    pub standard_relation: Option<String>,
    /// `pchembl_value`.
    pub pchembl_value: Option<f64>,
    /// `activity_comment`.
    pub activity_comment: Option<String>,
    /// `data_validity_comment`.
    pub data_validity_comment: Option<String>,
}

impl RawActivity {
    /// Applies the rules' classifications (validity, numeric type, comment sets). Returns `None`
    /// when an id does not fit (negative or above `u32` for assays), which callers report.
    pub fn classify(&self, rules: &LabelRules) -> Option<Activity> {
        Activity::classify(
            ActivityIds {
                activity_id: self.activity_id,
                assay_id: self.assay_id,
                molregno: self.molregno,
            },
            self.standard_type.as_deref(),
            self.pchembl_value,
            self.activity_comment.as_deref(),
            self.data_validity_comment.as_deref(),
            rules,
        )
    }
}

/// The ids of an activity row as ChEMBL stores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityIds {
    /// `activity_id`.
    pub activity_id: i64,
    /// `assay_id`.
    pub assay_id: i64,
    /// `molregno`.
    pub molregno: i64,
}

impl Activity {
    /// Applies the rules' classifications (validity, numeric type, comment sets) to a row's
    /// fields. Fields the rules cannot see are normalised away: an excluded row keeps only its
    /// ids, and a pChEMBL value only counts for a numeric standard type. `None` when an id
    /// does not fit (negative, or an assay id above `u32`).
    pub fn classify(
        ids: ActivityIds,
        standard_type: Option<&str>,
        pchembl_value: Option<f64>,
        activity_comment: Option<&str>,
        data_validity_comment: Option<&str>,
        rules: &LabelRules,
    ) -> Option<Activity> {
        let valid = match data_validity_comment.map(str::trim) {
            None | Some("") => true,
            Some(c) => rules.validity_comments_kept.iter().any(|k| k == c),
        };
        let numeric_type = valid
            && standard_type
                .is_some_and(|t| rules.numeric_standard_types.iter().any(|n| n == t.trim()));
        let comment = match activity_comment {
            Some(c) if valid => {
                let n = normalize_comment(c);
                if n.is_empty() {
                    Comment::None
                } else if rules.comments_active.contains(&n) {
                    Comment::Active
                } else if rules.comments_inactive.contains(&n) {
                    Comment::Inactive
                } else {
                    Comment::Other
                }
            }
            _ => Comment::None,
        };
        Some(Activity {
            molregno: u64::try_from(ids.molregno).ok()?,
            activity_id: u64::try_from(ids.activity_id).ok()?,
            assay_id: u32::try_from(ids.assay_id).ok()?,
            valid,
            numeric_type,
            pchembl: if numeric_type {
                pchembl_value.and_then(crate::pipeline::pchembl_hundredths)
            } else {
                None
            },
            comment,
        })
    }

    /// Whether the rules see this row at all: an excluded row is counted, a numeric value or a
    /// comment may make a label; any other row changes nothing and need not be kept.
    pub fn matters(&self) -> bool {
        !self.valid || self.pchembl.is_some() || self.comment != Comment::None
    }
}

/// A ChEMBL molecule found for a Cell Painting compound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Match {
    /// `molregno`.
    pub molregno: u64,
    /// Interned compound id.
    pub compound: u32,
}

/// What a task measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TaskKind {
    /// Median pChEMBL at or above this many hundredths is active.
    Threshold(i32),
    /// Activity comments.
    Comment,
}

/// A label task: an assay and how it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Task {
    /// ChEMBL's integer `assay_id`.
    pub assay_id: u32,
    /// Threshold or comment.
    pub kind: TaskKind,
}

impl Task {
    /// The task id: `<assay chembl_id>:pchembl>=<t>` or `<assay chembl_id>:comment`.
    pub fn id(&self, assay_chembl_id: &str) -> String {
        match self.kind {
            TaskKind::Threshold(t) => {
                format!("{assay_chembl_id}:pchembl>={}", format_hundredths(t))
            }
            TaskKind::Comment => format!("{assay_chembl_id}:comment"),
        }
    }
}

/// `550` -> `"5.5"`, `625` -> `"6.25"`, `700` -> `"7"`.
pub fn format_hundredths(h: i32) -> String {
    let sign = if h < 0 { "-" } else { "" };
    let h = h.unsigned_abs();
    let (units, frac) = (h / 100, h % 100);
    match frac {
        0 => format!("{sign}{units}"),
        f if f % 10 == 0 => format!("{sign}{units}.{}", f / 10),
        f => format!("{sign}{units}.{f:02}"),
    }
}

/// What a compound gets in a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LabelValue {
    /// +1 active, -1 inactive.
    pub label: i8,
    /// Measurements behind it (numeric: pChEMBL values; comment: active/inactive comments).
    pub measurements: u32,
    /// Twice the median pChEMBL in hundredths (numeric tasks), exact for even counts.
    pub median2: Option<i32>,
}

/// A compound's label in a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Label {
    /// Interned compound id.
    pub compound: u32,
    /// The task.
    pub task: Task,
    /// The value.
    pub value: LabelValue,
}

/// Counts the rules keep for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Stat {
    /// Activities of matched compounds excluded by their data_validity_comment.
    ExcludedByValidity,
    /// Comments that are neither active nor inactive.
    IgnoredComment,
    /// (compound, assay) pairs with both active and inactive comments, dropped.
    CommentConflict,
    /// Numeric activities outside the pChEMBL range.
    PchemblOutOfRange,
}

impl Stat {
    /// Name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Stat::ExcludedByValidity => "excluded_by_validity_comment",
            Stat::IgnoredComment => "ignored_activity_comments",
            Stat::CommentConflict => "comment_conflicts_dropped",
            Stat::PchemblOutOfRange => "pchembl_out_of_range",
        }
    }
}

/// The median of a sorted multiset of hundredths, doubled (so even counts stay exact).
pub fn median2(sorted: &[i32]) -> Option<i32> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    Some(if n % 2 == 1 {
        2 * sorted[n / 2]
    } else {
        sorted[n / 2 - 1] + sorted[n / 2]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ids_and_fixed_point() {
        let t = Task {
            assay_id: 7,
            kind: TaskKind::Threshold(550),
        };
        assert_eq!(t.id("CHEMBL123"), "CHEMBL123:pchembl>=5.5");
        assert_eq!(format_hundredths(625), "6.25");
        assert_eq!(format_hundredths(700), "7");
        assert_eq!(median2(&[549, 550]), Some(1099));
        assert_eq!(median2(&[500, 550, 700]), Some(1100));
    }
}
