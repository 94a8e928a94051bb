//! `labels refresh`: continues from a previous export with a new ChEMBL release, recomputing
//! only what changed.
//!
//! The previous export holds what its build ended with: the compounds, the classified ChEMBL
//! rows the rules saw (`inputs/`), every task's counts (`state/task_counts`) and the labels of
//! kept tasks. A refresh reads the new release's rows for the same compounds, diffs them with
//! the snapshot by `activity_id`, and finds the (compound, assay) groups the difference touches.
//! The label dataflow gets those groups' old rows at time 0 and the difference at time 1; its
//! output at time 1 is exactly the change to every label. Task counts move by those changes;
//! tasks that become kept get all their labels from a second run over their assays' rows; tasks
//! that drop out lose theirs. The result is assembled and written like a build's (byte for byte
//! what a build on the new release writes), plus a changelog; label shards whose rows did not
//! change are copied from the previous export. InChIKeys are never computed again.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::atomic_file::AtomicFile;
use crate::dataflow::cluster::ClusterConfig;
use crate::dataflow::labels::{InputChanges, LabelCapture, run_label_epochs};
use crate::export::label_export::{
    ExportError, Reuse, join_input_activities, rows_by_shard, spawn_input_activities,
    write_label_files, write_manifest,
};
use crate::export::label_tables::{self, ChangeRow, LabelEntry, LabelTable, TaskRow};
use crate::export::manifest::{Manifest, hash_file};
use crate::fast_hash::{FastMap, FastSet, IdBits};
use crate::labels::assemble::{Parts, State, assemble, merge_labels};
use crate::labels::build::{BuildError, BuildReport, Phases, io_err, match_records};
use crate::labels::chembl_side::{read_assays, read_chembl_side};
use crate::labels::previous::{read_compounds, read_rest};
use crate::labels::records::{Activity, Label, Match, Stat, Task};
use crate::pipeline::Pipeline;
use crate::sources::chembl::ChemblRelease;

/// Label dataflow runs a refresh makes (peers run as many).
pub const LABEL_RUNS: usize = 2;

/// Name of the refresh record written beside the changelog.
pub const REFRESH_RECORD: &str = "refresh.json";

/// What a refresh needs.
#[derive(Debug, Clone)]
pub struct RefreshOptions {
    /// The previous export.
    pub previous: PathBuf,
    /// The new ChEMBL release file.
    pub chembl: PathBuf,
    /// Overrides its release number.
    pub chembl_release: Option<String>,
    /// The export directory to create.
    pub out: PathBuf,
}

/// Activity changes between two lists sorted by activity_id: (retracted or old versions,
/// added or new versions).
fn diff_activities(old: &[Activity], new: &[Activity]) -> (Vec<Activity>, Vec<Activity>) {
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) if a.activity_id == b.activity_id => {
                if a != b {
                    removed.push(a.clone());
                    added.push(b.clone());
                }
                i += 1;
                j += 1;
            }
            (Some(a), Some(b)) if a.activity_id < b.activity_id => {
                removed.push(a.clone());
                i += 1;
            }
            (Some(_), Some(b)) => {
                added.push(b.clone());
                j += 1;
            }
            (Some(a), None) => {
                removed.push(a.clone());
                i += 1;
            }
            (None, Some(b)) => {
                added.push(b.clone());
                j += 1;
            }
            (None, None) => break,
        }
    }
    (removed, added)
}

fn compounds_of(matches: &[Match]) -> FastMap<u64, Vec<u32>> {
    let mut out: FastMap<u64, Vec<u32>> = FastMap::default();
    for m in matches {
        out.entry(m.molregno).or_default().push(m.compound);
    }
    out
}

/// Refreshes an export against a new ChEMBL release (process 0).
pub fn refresh(opts: &RefreshOptions, cluster: &ClusterConfig) -> Result<BuildReport, BuildError> {
    let mut phases = Phases::new("refresh");
    let prev = &opts.previous;
    let manifest = Manifest::load(prev)?;
    let pipeline = Pipeline::load(&prev.join("pipeline.toml"))?;
    if pipeline.hash() != manifest.pipeline.blake3 {
        return Err(BuildError::Invalid(format!(
            "{}: pipeline.toml does not match the manifest",
            prev.display()
        )));
    }
    let rules = pipeline.rules();
    let release = ChemblRelease::open(&opts.chembl, opts.chembl_release.as_deref())?;
    // The previous export is checked against its manifest while it and the new release are
    // read; a mismatch is the error reported, whatever reading it gave.
    let (verified, read) = std::thread::scope(|scope| {
        let verified = scope.spawn(|| manifest.verify(prev));
        let read = (|| -> Result<_, BuildError> {
            // Its compounds first; then its other tables are read while the new release is
            // (the two are independent).
            let compounds = read_compounds(prev)?;
            let (rest, new) = std::thread::scope(|scope| {
                let rest = scope.spawn(|| read_rest(prev, &compounds));
                let new =
                    read_chembl_side(&release, &compounds, pipeline.chembl.match_level, &rules);
                let rest = rest.join().unwrap_or_else(|_| {
                    Err(crate::labels::previous::PreviousError::Invalid {
                        path: prev.display().to_string(),
                        reason: "the reading thread panicked".into(),
                    })
                });
                (rest, new)
            });
            Ok((compounds, rest, new))
        })();
        let verified = verified.join().unwrap_or_else(|_| {
            Err(crate::export::manifest::ManifestError::Mismatch {
                dir: prev.display().to_string(),
                path: crate::export::manifest::MANIFEST.into(),
                problem: "the checking thread panicked".into(),
            })
        });
        (verified, read)
    });
    verified?;
    let (compounds, rest, new) = read?;
    let (mut previous, new) = (rest?, new?);
    previous.compounds = compounds;
    std::fs::create_dir_all(&opts.out).map_err(io_err(&opts.out))?;
    if opts.out.join(crate::export::manifest::MANIFEST).exists() {
        return Err(BuildError::Export(ExportError::Exists(
            opts.out.display().to_string(),
        )));
    }
    let snapshot = spawn_input_activities(&opts.out, std::sync::Arc::clone(&new.activities));
    let compounds = &previous.compounds;
    phases.lap("reading the previous export and ChEMBL");

    // The difference, and the (compound, assay) groups it touches.
    let t0 = std::time::Instant::now();
    let (removed, added) = diff_activities(&previous.activities, &new.activities);
    tracing::trace!("diff: {:.3} s", t0.elapsed().as_secs_f64());
    let old_matches = match_records(&previous.matches, compounds);
    let new_matches = match_records(&new.matches, compounds);
    let old_set: BTreeSet<Match> = old_matches.iter().copied().collect();
    let new_set: BTreeSet<Match> = new_matches.iter().copied().collect();
    let match_changes: Vec<(Match, isize)> = old_set
        .difference(&new_set)
        .map(|m| (*m, -1))
        .chain(new_set.difference(&old_set).map(|m| (*m, 1)))
        .collect();
    let (old_of, new_of) = (compounds_of(&old_matches), compounds_of(&new_matches));
    let mut groups: FastSet<(u32, u32)> = FastSet::default();
    for (acts, of) in [(&removed, &old_of), (&added, &new_of)] {
        for a in acts {
            for &c in of.get(&a.molregno).into_iter().flatten() {
                groups.insert((c, a.assay_id));
            }
        }
    }
    let rematched: FastMap<u64, Vec<(u32, isize)>> =
        match_changes
            .iter()
            .fold(FastMap::default(), |mut acc, (m, r)| {
                acc.entry(m.molregno).or_default().push((m.compound, *r));
                acc
            });
    if !rematched.is_empty() {
        for (acts, sign) in [(&previous.activities, -1), (&new.activities, 1)] {
            for a in acts.iter() {
                for &(c, r) in rematched.get(&a.molregno).into_iter().flatten() {
                    if r == sign {
                        groups.insert((c, a.assay_id));
                    }
                }
            }
        }
    }
    tracing::trace!("groups: {:.3} s", t0.elapsed().as_secs_f64());
    let touched_assays = IdBits::new(groups.iter().map(|(_, assay)| *assay));
    let in_groups = |a: &Activity, of: &FastMap<u64, Vec<u32>>| {
        touched_assays.may_contain(a.assay_id)
            && of
                .get(&a.molregno)
                .is_some_and(|cs| cs.iter().any(|&c| groups.contains(&(c, a.assay_id))))
    };
    let before: Vec<(Activity, isize)> = previous
        .activities
        .iter()
        .filter(|a| in_groups(a, &old_of))
        .map(|a| (a.clone(), 1))
        .collect();
    let touched = before.len();
    tracing::trace!("rows to replay: {:.3} s", t0.elapsed().as_secs_f64());
    let change: Vec<(Activity, isize)> = removed
        .into_iter()
        .map(|a| (a, -1))
        .chain(added.into_iter().map(|a| (a, 1)))
        .collect();
    tracing::debug!(
        "refresh: {} activity changes, {} match changes, {} groups touched ({} rows replayed)",
        change.len(),
        match_changes.len(),
        groups.len(),
        touched
    );
    let out = run_label_epochs(
        cluster,
        &rules,
        LabelCapture::All,
        Some(vec![
            InputChanges {
                activities: before,
                matches: old_matches.iter().map(|m| (*m, 1)).collect(),
            },
            InputChanges {
                activities: change,
                matches: match_changes,
            },
        ]),
    )?;
    let delta = out.get(1).cloned().unwrap_or_default();
    phases.lap("label dataflow on the difference");

    // Task counts move by the label changes; the size rule decides which tasks are kept.
    let kept = |counts: &BTreeMap<Task, (u32, u32)>| -> BTreeSet<Task> {
        counts
            .iter()
            .filter(|(_, (a, i))| *a >= rules.min_actives && *i >= rules.min_inactives)
            .map(|(t, _)| *t)
            .collect()
    };
    let kept_old = kept(&previous.task_counts);
    // The previous counts, moved in place by the label changes (per task, the sum of a label's
    // changes is what moves its count).
    let mut moves: BTreeMap<Task, (i64, i64)> = BTreeMap::new();
    for (l, r) in &delta.labels {
        let e = moves.entry(l.task).or_default();
        if l.value.label > 0 {
            e.0 += *r as i64;
        } else {
            e.1 += *r as i64;
        }
    }
    let mut task_counts = std::mem::take(&mut previous.task_counts);
    for (t, (da, di)) in moves {
        let (a, i) = task_counts.get(&t).copied().unwrap_or_default();
        let (a, i) = (i64::from(a) + da, i64::from(i) + di);
        let fits = |n: i64| u32::try_from(n).ok();
        match (fits(a), fits(i)) {
            (Some(0), Some(0)) => {
                task_counts.remove(&t);
            }
            (Some(a), Some(i)) => {
                task_counts.insert(t, (a, i));
            }
            _ => {
                return Err(BuildError::Invalid(format!(
                    "{}: state/task_counts disagrees with the snapshot (task {t:?})",
                    prev.display()
                )));
            }
        }
    }
    let kept_new = kept(&task_counts);
    let newly_kept: FastSet<Task> = kept_new.difference(&kept_old).copied().collect();
    let kept_new_fast: FastSet<Task> = kept_new.iter().copied().collect();

    // Tasks that become kept: all their labels, from the new release's rows of their assays.
    let assays_on = IdBits::new(newly_kept.iter().map(|t| t.assay_id));
    let rows_on: Vec<(Activity, isize)> = new
        .activities
        .iter()
        .filter(|a| assays_on.may_contain(a.assay_id))
        .map(|a| (a.clone(), 1))
        .collect();
    let matches_on: Vec<(Match, isize)> = if rows_on.is_empty() {
        Vec::new()
    } else {
        new_matches.iter().map(|m| (*m, 1)).collect()
    };
    // The second run and the update of the kept labels are independent: side by side.
    let (out_on, (labels, removed, mut added)) = std::thread::scope(|scope| {
        let on = scope.spawn(|| {
            run_label_epochs(
                cluster,
                &rules,
                LabelCapture::All,
                Some(vec![InputChanges {
                    activities: rows_on,
                    matches: matches_on,
                }]),
            )
        });
        // The previous labels are not needed after this: filtered in place, not copied.
        let mut labels: Vec<Label> = std::mem::take(&mut previous.labels);
        labels.retain(|l| kept_new_fast.contains(&l.task));
        let stays = |l: &Label| kept_new_fast.contains(&l.task) && !newly_kept.contains(&l.task);
        let (mut removed, mut added) = (Vec::new(), Vec::new());
        for (l, r) in delta.labels.iter().filter(|(l, _)| stays(l)) {
            if *r < 0 {
                removed.push(*l);
            } else {
                added.push(*l);
            }
        }
        let on = on.join().unwrap_or_else(|_| {
            Err(crate::dataflow::labels::LabelDataflowError::Timely(
                "the label dataflow thread panicked".into(),
            ))
        });
        (on, (labels, removed, added))
    });
    let out_on = out_on?;
    phases.lap("label dataflow on newly kept tasks, beside updating the labels");

    added.extend(
        out_on
            .iter()
            .flat_map(|o| &o.labels)
            .filter(|(l, r)| *r > 0 && newly_kept.contains(&l.task))
            .map(|(l, _)| *l),
    );
    let labels = merge_labels(labels, removed, added);
    let mut stats: BTreeMap<Stat, i64> = BTreeMap::new();
    for s in [
        Stat::ExcludedByValidity,
        Stat::IgnoredComment,
        Stat::CommentConflict,
        Stat::PchemblOutOfRange,
    ] {
        let old = manifest
            .stats
            .get(&format!("labels.{}", s.name()))
            .copied()
            .unwrap_or(0);
        stats.insert(s, old as i64);
    }
    for (s, r) in &delta.stats {
        *stats.entry(*s).or_default() += *r as i64;
    }
    stats.retain(|_, v| *v != 0);
    let state = State {
        labels,
        task_counts,
        stats,
    };
    phases.lap("updating labels and counts");
    let mut assay_rejects = Vec::new();
    let kept_assays = kept_new.iter().map(|t| t.assay_id).collect();
    let assays = read_assays(&release, &kept_assays, &mut assay_rejects)?;
    let carried_stats: BTreeMap<String, u64> = manifest
        .stats
        .iter()
        .filter(|(k, _)| k.starts_with("cellpainting.") || k.starts_with("keys."))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    let export = assemble(Parts {
        pipeline: &pipeline,
        compounds,
        chembl: &new,
        assays: &assays,
        assay_rejects: &assay_rejects,
        state: &state,
        cellpainting_rejects: previous.cellpainting_rejects.clone(),
        cellpainting_stats: carried_stats,
        cellpainting_files: manifest.inputs.cellpainting.clone(),
    });
    phases.lap("assembling");

    let shards = pipeline.export.label_shards;
    let (old_shards, new_shards) = (
        rows_by_shard(&previous.label_table, shards),
        rows_by_shard(&export.labels, shards),
    );
    let (old_t, new_t) = (&previous.label_table, &export.labels);
    let unchanged: BTreeSet<u32> = (0..shards)
        .filter(|&s| {
            let (a, b) = (&old_shards[s as usize], &new_shards[s as usize]);
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(&i, &j)| old_t.same_row(&old_t.rows[i], new_t, &new_t.rows[j]))
        })
        .collect();
    phases.lap("comparing shards");

    // The changelog and the refresh record are written beside the export's files; the
    // manifest (last) waits for both and covers exactly what a from-scratch build on the new
    // release writes.
    let reuse = Reuse {
        dir: prev,
        manifest: &manifest,
        unchanged_shards: unchanged.clone(),
        rows_by_shard: &new_shards,
    };
    let written = vec![join_input_activities(snapshot)?];
    let record = ChangelogContext {
        out: &opts.out,
        previous: prev,
        previous_manifest: &manifest,
        chembl_release: &export.chembl_release,
        shards,
        reused: unchanged.len(),
    };
    let (files, counts) = std::thread::scope(|scope| {
        let changes =
            scope.spawn(|| write_changelog(&record, old_t, new_t, &previous.tasks, &export.tasks));
        let files = write_label_files(&opts.out, &export, Some(&reuse), written);
        let counts = changes.join().unwrap_or_else(|_| {
            Err(BuildError::Invalid(
                "the changelog thread panicked".to_string(),
            ))
        });
        (files, counts)
    });
    let (files, counts) = (files?, counts?);
    let new_manifest = write_manifest(&opts.out, &export, files)?;
    phases.lap("writing the export and the changelog");
    Ok(BuildReport {
        manifest: new_manifest,
        changes: Some(counts),
        shards_rewritten: Some(u64::from(shards) - unchanged.len() as u64),
    })
}

/// What the refresh record says besides the changes.
struct ChangelogContext<'a> {
    out: &'a Path,
    previous: &'a Path,
    previous_manifest: &'a Manifest,
    chembl_release: &'a str,
    shards: u32,
    reused: usize,
}

/// Writes `changelog.parquet` and [`REFRESH_RECORD`] into the new export and returns the
/// counts of label additions, removals and flips and of task additions and removals.
fn write_changelog(
    ctx: &ChangelogContext<'_>,
    old: &LabelTable,
    new: &LabelTable,
    old_tasks: &[TaskRow],
    new_tasks: &[TaskRow],
) -> Result<[u64; 5], BuildError> {
    let changes = changelog(old, new, old_tasks, new_tasks);
    let count = |c: &str| changes.iter().filter(|r| r.change == c).count() as u64;
    let counts = [
        count("label_added"),
        count("label_removed"),
        count("label_flipped"),
        count("task_added"),
        count("task_removed"),
    ];
    let changelog_path = ctx.out.join("changelog.parquet");
    let batch = label_tables::changelog_batch(&changes)
        .map_err(|e| BuildError::Invalid(format!("{}: {e}", changelog_path.display())))?;
    let mut file = crate::export::parquet_file::ParquetFile::create(
        &changelog_path,
        batch.schema(),
        crate::export::parquet_file::DEFAULT_ROW_GROUP_ROWS,
    )
    .map_err(|e| BuildError::Export(ExportError::Parquet(e)))?;
    file.write(&batch)
        .map_err(|e| BuildError::Export(ExportError::Parquet(e)))?;
    file.commit()
        .map_err(|e| BuildError::Export(ExportError::Parquet(e)))?;
    let (changelog_hash, _) = hash_file(&changelog_path).map_err(io_err(&changelog_path))?;
    let previous_manifest = ctx.previous.join(crate::export::manifest::MANIFEST);
    let record = serde_json::json!({
        "previous_export": {
            "chembl_release": ctx.previous_manifest.inputs.chembl_release,
            "manifest_blake3": hash_file(&previous_manifest).map_err(io_err(ctx.previous))?.0,
        },
        "chembl_release": ctx.chembl_release,
        "changes": {
            "label_added": counts[0], "label_removed": counts[1], "label_flipped": counts[2],
            "task_added": counts[3], "task_removed": counts[4],
        },
        "label_shards_reused": ctx.reused,
        "label_shards_rewritten": ctx.shards as usize - ctx.reused,
        "changelog_blake3": changelog_hash,
    });
    let record_path = ctx.out.join(REFRESH_RECORD);
    let mut f = AtomicFile::create(&record_path).map_err(io_err(&record_path))?;
    f.write_all(
        serde_json::to_string_pretty(&record)
            .map_err(|e| BuildError::Invalid(e.to_string()))?
            .as_bytes(),
    )
    .map_err(io_err(&record_path))?;
    f.write_all(b"\n").map_err(io_err(&record_path))?;
    f.commit().map_err(io_err(&record_path))?;
    Ok(counts)
}

/// The changes between two label tables and their kept tasks: a merge of the two sorted row
/// lists by (InChIKey, task id).
fn changelog(
    old: &LabelTable,
    new: &LabelTable,
    old_tasks: &[TaskRow],
    new_tasks: &[TaskRow],
) -> Vec<ChangeRow> {
    let mut out = Vec::new();
    let key = |t: &LabelTable, e: &LabelEntry| -> (String, String) {
        (t.inchikey(e).to_string(), t.task_id(e).to_string())
    };
    // Both tables name compounds by the same sorted keys (a refresh keeps the compounds) and
    // tasks by sorted ids: rows then compare as (compound, rank of the task id among both
    // tables' ids), integers instead of strings.
    let ranks = (old.inchikeys == new.inchikeys
        && old.inchikeys.is_sorted()
        && old.task_ids.is_sorted()
        && new.task_ids.is_sorted())
    .then(|| shared_ranks(&old.task_ids, &new.task_ids));
    let (mut i, mut j) = (0, 0);
    while i < old.rows.len() || j < new.rows.len() {
        let order = match (old.rows.get(i), new.rows.get(j)) {
            (Some(a), Some(b)) => match &ranks {
                Some((ro, rn)) => {
                    (a.compound, ro[a.task as usize]).cmp(&(b.compound, rn[b.task as usize]))
                }
                None => (old.inchikey(a), old.task_id(a)).cmp(&(new.inchikey(b), new.task_id(b))),
            },
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, _) => std::cmp::Ordering::Greater,
        };
        match order {
            std::cmp::Ordering::Less => {
                let a = &old.rows[i];
                let (k, t) = key(old, a);
                out.push(ChangeRow {
                    change: "label_removed".into(),
                    inchikey: Some(k),
                    task_id: t,
                    old_label: Some(a.label),
                    new_label: None,
                });
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                let b = &new.rows[j];
                let (k, t) = key(new, b);
                out.push(ChangeRow {
                    change: "label_added".into(),
                    inchikey: Some(k),
                    task_id: t,
                    old_label: None,
                    new_label: Some(b.label),
                });
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                let (a, b) = (&old.rows[i], &new.rows[j]);
                if a.label != b.label {
                    let (k, t) = key(new, b);
                    out.push(ChangeRow {
                        change: "label_flipped".into(),
                        inchikey: Some(k),
                        task_id: t,
                        old_label: Some(a.label),
                        new_label: Some(b.label),
                    });
                }
                i += 1;
                j += 1;
            }
        }
    }
    let old_ids: BTreeSet<&str> = old_tasks.iter().map(|t| t.task_id.as_str()).collect();
    let new_ids: BTreeSet<&str> = new_tasks.iter().map(|t| t.task_id.as_str()).collect();
    for t in old_ids.difference(&new_ids) {
        out.push(ChangeRow {
            change: "task_removed".into(),
            inchikey: None,
            task_id: t.to_string(),
            old_label: None,
            new_label: None,
        });
    }
    for t in new_ids.difference(&old_ids) {
        out.push(ChangeRow {
            change: "task_added".into(),
            inchikey: None,
            task_id: t.to_string(),
            old_label: None,
            new_label: None,
        });
    }
    out.sort();
    out
}

/// Ranks of two sorted lists' items in their sorted union (equal items share a rank).
fn shared_ranks(a: &[String], b: &[String]) -> (Vec<u32>, Vec<u32>) {
    let (mut ra, mut rb) = (Vec::with_capacity(a.len()), Vec::with_capacity(b.len()));
    let (mut i, mut j, mut rank) = (0, 0, 0u32);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                ra.push(rank);
                rb.push(rank);
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x < y => {
                ra.push(rank);
                i += 1;
            }
            (Some(_), None) => {
                ra.push(rank);
                i += 1;
            }
            _ => {
                rb.push(rank);
                j += 1;
            }
        }
        rank += 1;
    }
    (ra, rb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_ranks_order_like_the_strings() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let (a, b) = (s(&["a", "c", "d", "f"]), s(&["b", "c", "e", "f", "g"]));
        let (ra, rb) = shared_ranks(&a, &b);
        for (i, x) in a.iter().enumerate() {
            for (j, y) in b.iter().enumerate() {
                assert_eq!(ra[i].cmp(&rb[j]), x.cmp(y), "{x} vs {y}");
            }
        }
        assert_eq!(shared_ranks(&[], &s(&["x"])), (vec![], vec![0]));
    }
}
