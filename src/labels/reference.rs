//! A plain, from-scratch implementation of the label rules: maps and sorts, no dataflow. It is
//! the oracle the dataflow is tested against (same inputs, same rules, same outputs), and it is
//! deliberately written the obvious way.

use std::collections::{BTreeMap, BTreeSet};

use crate::labels::records::{
    Activity, Comment, Label, LabelValue, Match, Stat, Task, TaskKind, median2,
};
use crate::pipeline::LabelRules;

/// Everything the rules produce.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelOutcome {
    /// Labels in kept tasks.
    pub labels: BTreeSet<Label>,
    /// Every task with at least one label: (actives, inactives), kept or not.
    pub task_counts: BTreeMap<Task, (u32, u32)>,
    /// Report counts.
    pub stats: BTreeMap<Stat, u64>,
}

impl LabelOutcome {
    /// Tasks that pass the size rule.
    pub fn kept_tasks(&self, rules: &LabelRules) -> BTreeSet<Task> {
        self.task_counts
            .iter()
            .filter(|(_, (a, i))| *a >= rules.min_actives && *i >= rules.min_inactives)
            .map(|(t, _)| *t)
            .collect()
    }
}

/// Applies the rules to activities of matched compounds.
pub fn compute(activities: &[Activity], matches: &[Match], rules: &LabelRules) -> LabelOutcome {
    let mut compounds_of: BTreeMap<u64, Vec<u32>> = BTreeMap::new();
    for m in matches {
        compounds_of.entry(m.molregno).or_default().push(m.compound);
    }
    for v in compounds_of.values_mut() {
        v.sort_unstable();
        v.dedup();
    }
    let mut stats: BTreeMap<Stat, u64> = BTreeMap::new();
    let mut numeric: BTreeMap<(u32, u32), Vec<i32>> = BTreeMap::new();
    let mut comments: BTreeMap<(u32, u32), (u32, u32)> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for a in activities {
        // The same activity listed twice counts once.
        if !seen.insert(a) {
            continue;
        }
        let Some(compounds) = compounds_of.get(&a.molregno) else {
            continue;
        };
        for &c in compounds {
            if !a.valid {
                *stats.entry(Stat::ExcludedByValidity).or_default() += 1;
                continue;
            }
            if a.numeric_type
                && let Some(p) = a.pchembl
            {
                if (rules.pchembl_min..=rules.pchembl_max).contains(&p) {
                    numeric.entry((c, a.assay_id)).or_default().push(p);
                } else {
                    *stats.entry(Stat::PchemblOutOfRange).or_default() += 1;
                }
            }
            match a.comment {
                Comment::Active => comments.entry((c, a.assay_id)).or_default().0 += 1,
                Comment::Inactive => comments.entry((c, a.assay_id)).or_default().1 += 1,
                Comment::Other => *stats.entry(Stat::IgnoredComment).or_default() += 1,
                Comment::None => {}
            }
        }
    }
    let mut all: Vec<Label> = Vec::new();
    for ((compound, assay_id), mut values) in numeric {
        values.sort_unstable();
        let Some(m2) = median2(&values) else { continue };
        for &t in &rules.thresholds {
            all.push(Label {
                compound,
                task: Task {
                    assay_id,
                    kind: TaskKind::Threshold(t),
                },
                value: LabelValue {
                    label: if m2 >= 2 * t { 1 } else { -1 },
                    measurements: values.len() as u32,
                    median2: Some(m2),
                },
            });
        }
    }
    for ((compound, assay_id), (active, inactive)) in comments {
        if active > 0 && inactive > 0 {
            *stats.entry(Stat::CommentConflict).or_default() += 1;
            continue;
        }
        all.push(Label {
            compound,
            task: Task {
                assay_id,
                kind: TaskKind::Comment,
            },
            value: LabelValue {
                label: if active > 0 { 1 } else { -1 },
                measurements: active + inactive,
                median2: None,
            },
        });
    }
    let mut task_counts: BTreeMap<Task, (u32, u32)> = BTreeMap::new();
    for l in &all {
        let e = task_counts.entry(l.task).or_default();
        if l.value.label > 0 {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }
    let mut outcome = LabelOutcome {
        labels: BTreeSet::new(),
        task_counts,
        stats,
    };
    let kept = outcome.kept_tasks(rules);
    outcome.labels = all.into_iter().filter(|l| kept.contains(&l.task)).collect();
    outcome
}
