//! The ChEMBL side of a build or refresh: compounds matched to molecules at every level (for the
//! match report), the activities of the molecules matched at the pipeline's level, classified
//! by the rules (only rows the rules can see are kept: [`Activity::matters`]), and, once the
//! kept tasks are known, their assays' attributes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::export::label_tables::{MatchReportRow, MatchRow};
use crate::labels::compounds::Compounds;
use crate::labels::records::{Activity, ActivityIds};
use crate::pipeline::{LabelRules, MatchLevel};
use crate::sources::chembl::{AssayInfo, ChemblError, ChemblReject, ChemblRelease, RowFilter};

/// What a run reads from a release.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChemblSide {
    /// Release number.
    pub release: String,
    /// (compound key, molregno) at the pipeline's level, sorted.
    pub matches: Vec<MatchRow>,
    /// Compounds and molecules found at each level.
    pub match_report: Vec<MatchReportRow>,
    /// `chembl_id` of every matched molecule.
    pub chembl_ids: BTreeMap<i64, String>,
    /// Activities the rules see, sorted by activity_id (shared: the snapshot writer, the
    /// dataflow's input and the export all read the same rows).
    pub activities: Arc<Vec<Activity>>,
    /// Activity rows read (all of them, seen or not).
    pub activities_read: u64,
    /// Rows that could not be used.
    pub rejects: Vec<ChemblReject>,
}

/// Reads the matches and activities of `compounds` from `release`.
pub fn read_chembl_side(
    release: &ChemblRelease,
    compounds: &Compounds,
    level: MatchLevel,
    rules: &LabelRules,
) -> Result<ChemblSide, ChemblError> {
    let started = std::time::Instant::now();
    let n = compounds.len();
    let first_block_of = |k: &str| k.split('-').next().unwrap_or(k).to_string();
    let mut blocks: Vec<String> = compounds.keys.iter().map(|k| first_block_of(k)).collect();
    blocks.sort();
    blocks.dedup();
    // One range lookup per first block gives both levels: the block's molecules, and among
    // them those whose whole key is a compound's.
    let mut by_block: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
    let mut full = vec![BTreeSet::new(); n];
    for (i, m, key) in release.molecules_by_first_block(&blocks)? {
        by_block.entry(blocks[i].as_str()).or_default().insert(m);
        if let Some(c) = compounds.id(&key) {
            full[c as usize].insert(m);
        }
    }
    let first_block: Vec<BTreeSet<i64>> = compounds
        .keys
        .iter()
        .map(|k| {
            by_block
                .get(first_block_of(k).as_str())
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    let all_full: Vec<i64> = full.iter().flatten().copied().collect();
    let mut family: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    for (m, related) in release.parent_family(&all_full)? {
        family.entry(m).or_default().insert(related);
    }
    let parent: Vec<BTreeSet<i64>> = full
        .iter()
        .map(|ms| {
            ms.iter()
                .flat_map(|m| family.get(m).cloned().unwrap_or_default())
                .collect()
        })
        .collect();
    let mut by_level: BTreeMap<MatchLevel, Vec<BTreeSet<i64>>> = BTreeMap::new();
    by_level.insert(MatchLevel::Full, full);
    by_level.insert(MatchLevel::FirstBlock, first_block);
    by_level.insert(MatchLevel::Parent, parent);
    let match_report = by_level
        .iter()
        .map(|(l, sets)| MatchReportRow {
            level: l.name().to_string(),
            compounds: n as u64,
            matched: sets.iter().filter(|s| !s.is_empty()).count() as u64,
            molecules: sets.iter().flatten().collect::<BTreeSet<_>>().len() as u64,
            used: *l == level,
        })
        .collect();
    let used = by_level.remove(&level).unwrap_or_default();
    let mut matches: Vec<MatchRow> = used
        .iter()
        .enumerate()
        .flat_map(|(i, ms)| {
            ms.iter().map(move |&m| MatchRow {
                inchikey: compounds.keys[i].clone(),
                molregno: m,
            })
        })
        .collect();
    matches.sort();
    let molregnos: Vec<i64> = used
        .iter()
        .flatten()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let chembl_ids = release.molecule_chembl_ids(&molregnos)?;
    tracing::debug!(
        "ChEMBL: matching {} compounds took {:.2} s",
        n,
        started.elapsed().as_secs_f64()
    );
    let started = std::time::Instant::now();
    let mut rejects = Vec::new();
    let (classified, activities_read) =
        release.activities_with(&molregnos, RowFilter::Annotated, &mut rejects, |f| {
            let ids = ActivityIds {
                activity_id: f.activity_id,
                assay_id: f.assay_id,
                molregno: f.molregno,
            };
            match Activity::classify(
                ids,
                f.standard_type.as_deref(),
                f.pchembl_value,
                f.activity_comment.as_deref(),
                f.data_validity_comment.as_deref(),
                rules,
            ) {
                Some(a) => a.matters().then_some(Ok(a)),
                None => Some(Err(f.activity_id)),
            }
        })?;
    tracing::debug!(
        "ChEMBL: reading {activities_read} activities took {:.2} s",
        started.elapsed().as_secs_f64()
    );
    // Filtered where they lie (the vector's memory is reused, not copied into a new one).
    let activities: Vec<Activity> = classified
        .into_iter()
        .filter_map(|c| match c {
            Ok(a) => Some(a),
            Err(id) => {
                rejects.push(ChemblReject {
                    source: "activities".into(),
                    record: format!("activity_id={id}"),
                    reason: "an id is negative or too large (assay_id above 2^32)".into(),
                });
                None
            }
        })
        .collect();
    Ok(ChemblSide {
        release: release.release().to_string(),
        matches,
        match_report,
        chembl_ids,
        activities: Arc::new(activities),
        activities_read,
        rejects,
    })
}

/// The attributes of `assay_ids`; an id without a row in `assays` becomes a reject (its tasks
/// are then named by `assay_id`).
pub fn read_assays(
    release: &ChemblRelease,
    assay_ids: &BTreeSet<u32>,
    rejects: &mut Vec<ChemblReject>,
) -> Result<BTreeMap<i64, AssayInfo>, ChemblError> {
    let ids: Vec<i64> = assay_ids.iter().map(|&a| i64::from(a)).collect();
    let assays = release.assays(&ids)?;
    for id in ids.iter().filter(|id| !assays.contains_key(id)) {
        rejects.push(ChemblReject {
            source: "activities.assay_id".into(),
            record: format!("assay_id={id}"),
            reason: "no such assay in the assays table; its tasks are named by assay_id".into(),
        });
    }
    Ok(assays)
}
