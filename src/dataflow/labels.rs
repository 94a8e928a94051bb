//! The label rules as a differential dataflow: activities and compound matches in, labels in
//! kept tasks, per-task counts and report counts out. Every operator is named, so a dataflow
//! trace reads like the rules in `pipelines/*.toml`.
//!
//! Because it is differential, the same stage serves a full build (everything at time 0) and a
//! refresh (the old release at time 0, the difference to the new one at time 1): only the keys a
//! change touches are recomputed.

use differential_dataflow::VecCollection;
use differential_dataflow::lattice::Lattice;
use timely::progress::Timestamp;

use crate::dataflow::capture::{capture, drain_epoch};
use crate::labels::records::{Activity, Comment, Label, LabelValue, Match, Stat, Task, TaskKind};
use crate::pipeline::LabelRules;

/// The stage's outputs.
pub struct LabelStreams<'scope, T: Timestamp + Lattice + Ord> {
    /// Labels in kept tasks.
    pub labels: VecCollection<'scope, T, Label>,
    /// Every label, kept task or not.
    pub all_labels: VecCollection<'scope, T, Label>,
    /// Every task with a label: (actives, inactives).
    pub task_counts: VecCollection<'scope, T, (Task, (u32, u32))>,
    /// Report counts: each record's multiplicity is its count.
    pub stats: VecCollection<'scope, T, Stat>,
}

/// Applies the label rules (validity, numeric medians and thresholds, comment classes and
/// conflicts, task sizes) to activities of matched compounds.
pub fn label_stage<'scope, T: Timestamp + Lattice + Ord>(
    activities: VecCollection<'scope, T, Activity>,
    matches: VecCollection<'scope, T, Match>,
    rules: &LabelRules,
) -> LabelStreams<'scope, T> {
    let (pmin, pmax) = (rules.pchembl_min, rules.pchembl_max);
    let thresholds = rules.thresholds.clone();
    let (min_actives, min_inactives) = (rules.min_actives, rules.min_inactives);

    let matches = matches
        .map(|m| (m.molregno, m.compound))
        .distinct()
        .map(|(molregno, compound)| (molregno, compound));
    let of_compounds = activities
        .map(|a| (a.molregno, a))
        .join(matches)
        .map(|(_, (activity, compound))| (compound, activity));

    let excluded = of_compounds
        .clone()
        .filter(|(_, a)| !a.valid)
        .map(|_| Stat::ExcludedByValidity);
    let valid = of_compounds.filter(|(_, a)| a.valid);

    let numeric_all = valid.clone().flat_map(|(c, a)| {
        a.numeric_type
            .then_some(a.pchembl)
            .flatten()
            .map(|p| (c, a.assay_id, p))
    });
    let out_of_range = numeric_all
        .clone()
        .filter(move |&(_, _, p)| !(pmin..=pmax).contains(&p))
        .map(|_| Stat::PchemblOutOfRange);
    let medians = numeric_all
        .filter(move |&(_, _, p)| (pmin..=pmax).contains(&p))
        .map(|(c, assay, p)| ((c, assay), p))
        .reduce_named(
            "Median pChEMBL per compound and assay",
            |_key, values, output| {
                // `values` are sorted by value, with multiplicities.
                let n: isize = values.iter().map(|(_, r)| *r).sum();
                if n <= 0 {
                    return;
                }
                let at = |k: isize| -> i32 {
                    let mut seen = 0;
                    for (v, r) in values.iter() {
                        seen += *r;
                        if seen > k {
                            return **v;
                        }
                    }
                    values.last().map_or(0, |(v, _)| **v)
                };
                let m2 = if n % 2 == 1 {
                    2 * at(n / 2)
                } else {
                    at(n / 2 - 1) + at(n / 2)
                };
                output.push(((m2, n as u32), 1isize));
            },
        );
    let numeric_labels = medians.flat_map(move |((compound, assay_id), (m2, n))| {
        thresholds
            .iter()
            .map(|&t| Label {
                compound,
                task: Task {
                    assay_id,
                    kind: TaskKind::Threshold(t),
                },
                value: LabelValue {
                    label: if m2 >= 2 * t { 1 } else { -1 },
                    measurements: n,
                    median2: Some(m2),
                },
            })
            .collect::<Vec<_>>()
    });

    let ignored = valid
        .clone()
        .filter(|(_, a)| a.comment == Comment::Other)
        .map(|_| Stat::IgnoredComment);
    let comment_outcomes = valid
        .flat_map(|(c, a)| match a.comment {
            Comment::Active => Some(((c, a.assay_id), true)),
            Comment::Inactive => Some(((c, a.assay_id), false)),
            _ => None,
        })
        .reduce_named(
            "Comment label per compound and assay",
            |_key, values, output| {
                let count = |want: bool| -> isize {
                    values
                        .iter()
                        .filter(|(v, _)| **v == want)
                        .map(|(_, r)| *r)
                        .sum()
                };
                let (active, inactive) = (count(true), count(false));
                let outcome = if active > 0 && inactive > 0 {
                    None
                } else {
                    Some((
                        if active > 0 { 1i8 } else { -1i8 },
                        (active + inactive) as u32,
                    ))
                };
                output.push((outcome, 1isize));
            },
        );
    let conflicts = comment_outcomes
        .clone()
        .filter(|(_, o)| o.is_none())
        .map(|_| Stat::CommentConflict);
    let comment_labels = comment_outcomes.flat_map(|((compound, assay_id), outcome)| {
        outcome.map(|(label, measurements)| Label {
            compound,
            task: Task {
                assay_id,
                kind: TaskKind::Comment,
            },
            value: LabelValue {
                label,
                measurements,
                median2: None,
            },
        })
    });

    let all = numeric_labels.concat(comment_labels);
    let task_counts = all
        .clone()
        .map(|l| (l.task, l.value.label > 0))
        .reduce_named("Actives and inactives per task", |_task, values, output| {
            let count = |want: bool| -> u32 {
                values
                    .iter()
                    .filter(|(v, _)| **v == want)
                    .map(|(_, r)| *r as u32)
                    .sum()
            };
            output.push(((count(true), count(false)), 1isize));
        });
    let kept = task_counts
        .clone()
        .filter(move |(_, (a, i))| *a >= min_actives && *i >= min_inactives)
        .map(|(task, _)| task);
    let labels = all
        .clone()
        .map(|l| (l.task, l))
        .semijoin(kept)
        .map(|(_, l)| l);
    let stats = excluded
        .concat(out_of_range)
        .concat(ignored)
        .concat(conflicts);
    LabelStreams {
        labels,
        all_labels: all,
        task_counts,
        stats,
    }
}

/// Which labels a run reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelCapture {
    /// Labels in kept tasks, with every task's counts (a build).
    Kept,
    /// Every label, kept task or not, without task counts: for a driver that keeps task counts
    /// itself and feeds only part of the state (a refresh).
    All,
}

/// Changes to the stage's inputs at one epoch (+1 insert, -1 retract).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputChanges {
    /// Activity changes.
    pub activities: Vec<(Activity, isize)>,
    /// Match changes.
    pub matches: Vec<(Match, isize)>,
}

/// A task with its (actives, inactives).
pub type TaskCount = (Task, (u32, u32));

/// Consolidated changes to the stage's outputs at one epoch, sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputChanges {
    /// Label changes.
    pub labels: Vec<(Label, isize)>,
    /// Task count changes.
    pub task_counts: Vec<(TaskCount, isize)>,
    /// Report count changes.
    pub stats: Vec<(Stat, isize)>,
}

/// Errors running the label dataflow.
#[derive(Debug, thiserror::Error)]
pub enum LabelDataflowError {
    /// Timely could not start or a worker failed.
    #[error("label dataflow: {0}")]
    Timely(String),
}

/// Runs the label stage over `epochs` of input changes on `cluster`; `epochs` is `Some` on
/// process 0 (the only one that feeds and reads the dataflow) and `None` elsewhere. Returns the
/// consolidated output changes of each epoch (empty on the other processes).
pub fn run_label_epochs(
    cluster: &crate::dataflow::cluster::ClusterConfig,
    rules: &LabelRules,
    capture_what: LabelCapture,
    epochs: Option<Vec<InputChanges>>,
) -> Result<Vec<OutputChanges>, LabelDataflowError> {
    use differential_dataflow::input::Input;
    use std::sync::{Arc, Mutex};
    use timely::dataflow::operators::Probe;

    let rules = rules.clone();
    let slot = Arc::new(Mutex::new(epochs));
    let results: Arc<Mutex<Vec<OutputChanges>>> = Arc::new(Mutex::new(Vec::new()));
    let results_in = Arc::clone(&results);
    let guards = crate::dataflow::cluster::execute(cluster, move |worker| {
        let leader = worker.index() == 0;
        let t0 = std::time::Instant::now();
        let epochs = if leader {
            slot.lock().ok().and_then(|mut e| e.take())
        } else {
            None
        };
        let probe = timely::dataflow::ProbeHandle::new();
        let (mut activities_in, mut matches_in, labels, tasks, stats) = worker
            .dataflow::<u64, _, _>(|scope| {
                let (activities_in, activities) = scope.new_collection::<Activity, isize>();
                let (matches_in, matches) = scope.new_collection::<Match, isize>();
                let out = label_stage(activities, matches, &rules);
                let (labels, l) = capture(match capture_what {
                    LabelCapture::Kept => out.labels,
                    LabelCapture::All => out.all_labels,
                });
                let (tasks, t) = capture(match capture_what {
                    LabelCapture::Kept => out.task_counts,
                    LabelCapture::All => out.task_counts.filter(|_| false),
                });
                let (stats, s) = capture(out.stats);
                l.inner.probe_with(&probe);
                t.inner.probe_with(&probe);
                s.inner.probe_with(&probe);
                (activities_in, matches_in, labels, tasks, stats)
            });
        let mut outputs = Vec::new();
        for (epoch, changes) in epochs.into_iter().flatten().enumerate() {
            let epoch = epoch as u64;
            for (a, r) in changes.activities {
                activities_in.update(a, r);
            }
            for (m, r) in changes.matches {
                matches_in.update(m, r);
            }
            activities_in.advance_to(epoch + 1);
            matches_in.advance_to(epoch + 1);
            activities_in.flush();
            matches_in.flush();
            worker.step_while(|| probe.less_than(&(epoch + 1)));
            tracing::trace!("label epoch {epoch}: {:.3} s", t0.elapsed().as_secs_f64());
            outputs.push(OutputChanges {
                labels: drain_epoch(&labels, epoch),
                task_counts: drain_epoch(&tasks, epoch),
                stats: drain_epoch(&stats, epoch),
            });
        }
        activities_in.close();
        matches_in.close();
        while worker.step_or_park(None) {}
        tracing::trace!("label dataflow closed: {:.3} s", t0.elapsed().as_secs_f64());
        if leader && let Ok(mut r) = results_in.lock() {
            *r = outputs;
        }
    })
    .map_err(|e| LabelDataflowError::Timely(e.to_string()))?;
    for result in guards.join() {
        result.map_err(LabelDataflowError::Timely)?;
    }
    let out = results
        .lock()
        .map(|mut r| std::mem::take(&mut *r))
        .map_err(|_| LabelDataflowError::Timely("a worker panicked".into()))?;
    Ok(out)
}
