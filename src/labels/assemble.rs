//! From the dataflow's results to the rows of an export: [`State`] accumulates the dataflow's
//! output changes (labels in kept tasks, counts of every task, report counts) and [`assemble`]
//! turns it, with the compounds and the ChEMBL side, into a [`LabelExport`]. Builds and refreshes
//! both end here, so the same state gives the same bytes.

use std::collections::{BTreeMap, BTreeSet};

use crate::dataflow::labels::OutputChanges;
use crate::export::label_export::LabelExport;
use crate::export::label_tables::{CompoundRow, LabelEntry, LabelTable, RejectRow, TaskRow};
use crate::export::manifest::FileEntry;
use crate::fast_hash::{FastMap, FastSet};
use crate::labels::chembl_side::ChemblSide;
use crate::labels::compounds::Compounds;
use crate::labels::records::{Label, Stat, Task, TaskKind};
use crate::labels::split::fold_of;
use crate::pipeline::{LabelRules, Pipeline};
use crate::sources::chembl::{AssayInfo, ChemblReject};

/// The label state: labels in kept tasks, every task's counts, report counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// Labels in kept tasks: sorted, no two alike (a set kept as a vector: built, merged and
    /// walked in order, freed at once).
    pub labels: Vec<Label>,
    /// Every task with a label: (actives, inactives).
    pub task_counts: BTreeMap<Task, (u32, u32)>,
    /// Report counts.
    pub stats: BTreeMap<Stat, i64>,
}

impl State {
    /// Applies one epoch of the dataflow's output changes.
    pub fn apply(&mut self, changes: &OutputChanges) {
        let (mut removed, mut added) = (Vec::new(), Vec::new());
        for (l, r) in &changes.labels {
            if *r > 0 {
                added.push(*l);
            } else {
                removed.push(*l);
            }
        }
        self.labels = merge_labels(std::mem::take(&mut self.labels), removed, added);
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

    /// Tasks that pass the size rule.
    pub fn kept_tasks(&self, rules: &LabelRules) -> BTreeSet<Task> {
        self.task_counts
            .iter()
            .filter(|(_, (a, i))| *a >= rules.min_actives && *i >= rules.min_inactives)
            .map(|(t, _)| *t)
            .collect()
    }
}

/// The sorted set `labels`, less `removed`, plus `added` (in that order, as a set's removes and
/// inserts would leave it), in one merge: the runs between changes are copied whole. The two
/// lists need not be sorted.
pub fn merge_labels(
    labels: Vec<Label>,
    mut removed: Vec<Label>,
    mut added: Vec<Label>,
) -> Vec<Label> {
    if removed.is_empty() && added.is_empty() {
        return labels;
    }
    debug_assert!(labels.windows(2).all(|w| w[0] < w[1]));
    if labels.is_empty() {
        // A build's one epoch: nothing to merge with (and no second copy of a million rows).
        added.sort_unstable();
        added.dedup();
        return added;
    }
    removed.sort_unstable();
    removed.dedup();
    added.sort_unstable();
    added.dedup();
    // The changes in label order; at equal labels the removal first.
    let mut changes: Vec<(Label, bool)> = removed
        .into_iter()
        .map(|l| (l, false))
        .chain(added.into_iter().map(|l| (l, true)))
        .collect();
    changes.sort_unstable();
    let mut out = Vec::with_capacity(labels.len() + changes.len());
    let mut at = 0;
    for (l, add) in changes {
        let to = at + labels[at..].partition_point(|x| *x < l);
        out.extend_from_slice(&labels[at..to]);
        at = to;
        // A label already there is consumed by its removal or by its (single) addition.
        if labels.get(at) == Some(&l) {
            at += 1;
        }
        if add {
            out.push(l);
        }
    }
    out.extend_from_slice(&labels[at..]);
    out
}

/// A task's id, from its assay's CHEMBL id (or its integer id when the assay is unknown).
pub fn task_id(task: &Task, assays: &BTreeMap<i64, AssayInfo>) -> String {
    match assays.get(&i64::from(task.assay_id)) {
        Some(a) => task.id(&a.chembl_id),
        None => task.id(&format!("assay_id={}", task.assay_id)),
    }
}

/// The label table of `labels`: names once, rows sorted by (InChIKey, task id).
pub fn label_table(
    labels: &[Label],
    compounds: &Compounds,
    assays: &BTreeMap<i64, AssayInfo>,
) -> LabelTable {
    let tasks: FastSet<Task> = labels.iter().map(|l| l.task).collect();
    let mut named: Vec<(String, Task)> = tasks.iter().map(|t| (task_id(t, assays), *t)).collect();
    named.sort();
    let rank: FastMap<Task, u32> = named
        .iter()
        .enumerate()
        .map(|(i, (_, t))| (*t, i as u32))
        .collect();
    let mut rows: Vec<LabelEntry> = labels
        .iter()
        .map(|l| LabelEntry {
            compound: l.compound,
            task: rank[&l.task],
            label: l.value.label,
            n_measurements: l.value.measurements,
            median2: l.value.median2,
        })
        .collect();
    // Already in compound order (the set's first key): only each compound's run is sorted.
    for run in rows.chunk_by_mut(|a, b| a.compound == b.compound) {
        run.sort_unstable_by_key(|e| e.task);
    }
    LabelTable {
        inchikeys: compounds.keys.clone(),
        task_ids: named.into_iter().map(|(id, _)| id).collect(),
        rows,
    }
}

/// Rows of the kept tasks, sorted by task id.
pub fn task_rows(
    task_counts: &BTreeMap<Task, (u32, u32)>,
    rules: &LabelRules,
    assays: &BTreeMap<i64, AssayInfo>,
) -> Vec<TaskRow> {
    let mut rows: Vec<TaskRow> = task_counts
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

/// What [`assemble`] puts together.
pub struct Parts<'a> {
    /// The pipeline.
    pub pipeline: &'a Pipeline,
    /// The compounds.
    pub compounds: &'a Compounds,
    /// The ChEMBL side.
    pub chembl: &'a ChemblSide,
    /// Assays of the kept tasks.
    pub assays: &'a BTreeMap<i64, AssayInfo>,
    /// Rejects of reading those assays.
    pub assay_rejects: &'a [ChemblReject],
    /// The label state.
    pub state: &'a State,
    /// Rejects from the Cell Painting side (metadata rows, SMILES without a key).
    pub cellpainting_rejects: Vec<RejectRow>,
    /// Counts from the Cell Painting side (`cellpainting.*`, `keys.*`).
    pub cellpainting_stats: BTreeMap<String, u64>,
    /// Fingerprints of the metadata files.
    pub cellpainting_files: Vec<FileEntry>,
}

/// Everything the export says.
pub fn assemble(p: Parts<'_>) -> LabelExport {
    std::thread::scope(|scope| {
        // The label table (the largest part) is built beside everything else.
        let labels = scope.spawn(|| label_table(&p.state.labels, p.compounds, p.assays));
        let mut export = assemble_rest(&p);
        export.labels = labels
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        export
    })
}

/// Everything [`assemble`] returns but the label table (left empty).
fn assemble_rest(p: &Parts<'_>) -> LabelExport {
    let rules = p.pipeline.rules();
    let tasks = task_rows(&p.state.task_counts, &rules, p.assays);
    // One table row per label: a compound's rows are its labels.
    let mut per_compound: Vec<u32> = vec![0; p.compounds.len()];
    for l in &p.state.labels {
        if let Some(n) = per_compound.get_mut(l.compound as usize) {
            *n += 1;
        }
    }
    let mut molregnos_of: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for m in &p.chembl.matches {
        molregnos_of
            .entry(m.inchikey.as_str())
            .or_default()
            .push(m.molregno);
    }
    let level = p.pipeline.chembl.match_level.name().to_string();
    let compound_rows: Vec<CompoundRow> = p
        .compounds
        .keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let molregnos = molregnos_of.get(key.as_str()).cloned().unwrap_or_default();
            let mut chembl_ids: Vec<String> = molregnos
                .iter()
                .filter_map(|m| p.chembl.chembl_ids.get(m).cloned())
                .collect();
            chembl_ids.sort();
            CompoundRow {
                inchikey: key.clone(),
                smiles: p.compounds.smiles[i].clone(),
                broad_samples: p.compounds.broad_samples[i].clone(),
                split: fold_of(key, &p.pipeline.split).name().to_string(),
                match_level: (!molregnos.is_empty()).then(|| level.clone()),
                chembl_ids,
                molregnos,
                n_labels: per_compound[i],
            }
        })
        .collect();
    let mut rejects = p.cellpainting_rejects.clone();
    for r in p.chembl.rejects.iter().chain(p.assay_rejects) {
        rejects.push(RejectRow {
            source: format!("chembl:{}", r.source),
            record: r.record.clone(),
            reason: r.reason.clone(),
        });
    }
    rejects.sort();
    rejects.dedup();
    let chembl_rejects = rejects
        .iter()
        .filter(|r| r.source.starts_with("chembl:"))
        .count();
    let mut stats = p.cellpainting_stats.clone();
    let assays_seen = {
        let mut ids: Vec<u32> = p.chembl.activities.iter().map(|a| a.assay_id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    };
    stats.insert(
        "chembl.molecules_matched".into(),
        p.chembl.chembl_ids.len() as u64,
    );
    stats.insert("chembl.compounds_matched".into(), molregnos_of.len() as u64);
    stats.insert("chembl.activities".into(), p.chembl.activities_read);
    stats.insert(
        "chembl.activities_used".into(),
        p.chembl.activities.len() as u64,
    );
    stats.insert("chembl.assays".into(), assays_seen as u64);
    stats.insert("chembl.rejects".into(), chembl_rejects as u64);
    stats.insert("labels.labels".into(), p.state.labels.len() as u64);
    stats.insert("labels.tasks_kept".into(), tasks.len() as u64);
    stats.insert(
        "labels.tasks_with_labels".into(),
        p.state.task_counts.len() as u64,
    );
    stats.insert(
        "labels.compounds_labelled".into(),
        per_compound.iter().filter(|&&n| n > 0).count() as u64,
    );
    for s in [
        Stat::ExcludedByValidity,
        Stat::IgnoredComment,
        Stat::CommentConflict,
        Stat::PchemblOutOfRange,
    ] {
        let v = p.state.stats.get(&s).copied().unwrap_or(0).max(0) as u64;
        stats.insert(format!("labels.{}", s.name()), v);
    }
    stats.insert("rejects".into(), rejects.len() as u64);
    LabelExport {
        pipeline: p.pipeline.clone(),
        chembl_release: p.chembl.release.clone(),
        cellpainting_files: p.cellpainting_files.clone(),
        compounds: compound_rows,
        tasks,
        labels: LabelTable::default(),
        rejects,
        match_report: p.chembl.match_report.clone(),
        input_activities: std::sync::Arc::clone(&p.chembl.activities),
        input_matches: p.chembl.matches.clone(),
        input_assays: p.assays.values().cloned().collect(),
        task_counts: p.state.task_counts.iter().map(|(t, c)| (*t, *c)).collect(),
        stats,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::records::LabelValue;
    use crate::rng::SplitMix64;

    fn label(rng: &mut SplitMix64) -> Label {
        Label {
            compound: rng.below(20) as u32,
            task: Task {
                assay_id: rng.below(4) as u32,
                kind: if rng.chance(0.5) {
                    TaskKind::Comment
                } else {
                    TaskKind::Threshold(550)
                },
            },
            value: LabelValue {
                label: if rng.chance(0.5) { 1 } else { -1 },
                measurements: 1,
                median2: None,
            },
        }
    }

    /// The merge leaves what a set's removes and then inserts leave, on seeded random inputs.
    #[test]
    fn merging_labels_matches_a_set() {
        for seed in 0..200 {
            let mut rng = SplitMix64::new(seed);
            let n = rng.below(60) as usize;
            let set: BTreeSet<Label> = (0..n).map(|_| label(&mut rng)).collect();
            let removed: Vec<Label> = (0..rng.below(30)).map(|_| label(&mut rng)).collect();
            let added: Vec<Label> = (0..rng.below(30)).map(|_| label(&mut rng)).collect();
            let mut want = set.clone();
            for l in &removed {
                want.remove(l);
            }
            want.extend(added.iter().copied());
            let got = merge_labels(set.into_iter().collect(), removed, added);
            assert_eq!(got, want.into_iter().collect::<Vec<_>>(), "seed {seed}");
        }
    }
}
