//! The image index as a differential dataflow: sites found in plate folders, joined with the
//! platemaps (plate, well -> sample or control) and with a label export's compounds (sample ->
//! InChIKey, split, labels), decide what every view is; sites per well are counted so that
//! wells with missing sites are reported.
//!
//! [`view_index_stage`] is the stage (collections in, collections out); [`run_view_index`] is
//! its driver. Being differential, the stage serves incremental updates (plates added, a new
//! label export) as the label stage does.

use differential_dataflow::VecCollection;
use differential_dataflow::lattice::Lattice;
use serde::{Deserialize, Serialize};
use timely::progress::Timestamp;

use crate::dataflow::capture::{capture, drain_epoch};
use crate::dataflow::cluster::ClusterConfig;

/// A site found on disk: (plate, well, site).
pub type Site = (String, String, u32);

/// What a platemap puts in a well.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum WellContent {
    /// DMSO, empty or a negative control.
    Control,
    /// A compound sample (`broad_sample`).
    Sample(String),
}

/// A platemap well: ((plate, well), content).
pub type Well = ((String, String), WellContent);

/// A label export's compound, by sample: (broad_sample, (inchikey, split, labels)).
pub type Compound = (String, (String, String, u32));

/// What a view is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ViewKind {
    /// A compound with labels in kept tasks.
    Labelled,
    /// A compound with an InChIKey but no label (a model can annotate it).
    Unlabelled,
    /// A control well.
    Control,
    /// A sample the label export has no key for (no or an unreadable SMILES).
    Unkeyed,
    /// A well the platemaps do not list.
    NotInPlatemap,
}

impl ViewKind {
    /// The name written in the views index.
    pub fn name(self) -> &'static str {
        match self {
            ViewKind::Labelled => "labelled",
            ViewKind::Unlabelled => "unlabelled",
            ViewKind::Control => "control",
            ViewKind::Unkeyed => "unkeyed",
            ViewKind::NotInPlatemap => "not_in_platemap",
        }
    }
}

/// One view of the index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ViewRow {
    /// Plate.
    pub plate: String,
    /// Well (`A01`).
    pub well: String,
    /// Site.
    pub site: u32,
    /// What it is.
    pub kind: ViewKind,
    /// The sample, when the platemap names one.
    pub broad_sample: Option<String>,
    /// The compound's InChIKey, when keyed.
    pub inchikey: Option<String>,
    /// The compound's split, when keyed.
    pub split: Option<String>,
    /// The compound's labels in kept tasks.
    pub n_labels: u32,
}

/// A well with fewer sites than the most any well of its plate has.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IncompleteWell {
    /// Plate.
    pub plate: String,
    /// Well.
    pub well: String,
    /// Complete sites found.
    pub sites_found: u32,
    /// The most sites of any well on the plate.
    pub sites_expected: u32,
}

/// The stage's outputs.
pub struct ViewIndexStreams<'scope, T: Timestamp + Lattice + Ord> {
    /// Every site, classified.
    pub views: VecCollection<'scope, T, ViewRow>,
    /// Wells (of imaged plates) with missing sites.
    pub incomplete_wells: VecCollection<'scope, T, IncompleteWell>,
}

/// Classifies every site and counts sites per well.
pub fn view_index_stage<'scope, T: Timestamp + Lattice + Ord>(
    sites: VecCollection<'scope, T, Site>,
    wells: VecCollection<'scope, T, Well>,
    compounds: VecCollection<'scope, T, Compound>,
) -> ViewIndexStreams<'scope, T> {
    let by_well = sites.map(|(p, w, s)| ((p, w), s));
    let mapped_wells = wells.clone().map(|(k, _)| k).distinct();
    let in_map = by_well.clone().join(wells.clone());
    let not_in_map = by_well
        .clone()
        .antijoin(mapped_wells)
        .map(|((plate, well), site)| ViewRow {
            plate,
            well,
            site,
            kind: ViewKind::NotInPlatemap,
            broad_sample: None,
            inchikey: None,
            split: None,
            n_labels: 0,
        });
    let controls = in_map
        .clone()
        .filter(|(_, (_, c))| *c == WellContent::Control)
        .map(|((plate, well), (site, _))| ViewRow {
            plate,
            well,
            site,
            kind: ViewKind::Control,
            broad_sample: None,
            inchikey: None,
            split: None,
            n_labels: 0,
        });
    let samples = in_map.flat_map(|((plate, well), (site, content))| match content {
        WellContent::Sample(b) => Some((b, (plate, well, site))),
        WellContent::Control => None,
    });
    let keyed = samples.clone().join(compounds.clone()).map(
        |(b, ((plate, well, site), (inchikey, split, n_labels)))| ViewRow {
            plate,
            well,
            site,
            kind: if n_labels > 0 {
                ViewKind::Labelled
            } else {
                ViewKind::Unlabelled
            },
            broad_sample: Some(b),
            inchikey: Some(inchikey),
            split: Some(split),
            n_labels,
        },
    );
    let unkeyed =
        samples
            .antijoin(compounds.map(|(b, _)| b).distinct())
            .map(|(b, (plate, well, site))| ViewRow {
                plate,
                well,
                site,
                kind: ViewKind::Unkeyed,
                broad_sample: Some(b),
                inchikey: None,
                split: None,
                n_labels: 0,
            });
    let views = keyed.concat(unkeyed).concat(controls).concat(not_in_map);

    // Sites per well; wells of imaged plates with fewer than the plate's most.
    let counted = by_well.map(|(k, _)| k).count();
    let per_plate = counted
        .clone()
        .map(|((plate, well), n)| (plate, (well, n as u32)));
    let most = per_plate.clone().reduce(|_plate, input, output| {
        let m = input.iter().map(|((_, n), _)| *n).max().unwrap_or(0);
        output.push((m, 1));
    });
    let short = per_plate
        .join(most.clone())
        .filter(|(_, ((_, n), m))| n < m)
        .map(|(plate, ((well, n), m))| IncompleteWell {
            plate,
            well,
            sites_found: n,
            sites_expected: m,
        });
    let imaged_wells = counted.map(|(k, _)| k);
    let unimaged = wells
        .map(|((plate, well), _)| (plate, well))
        .distinct()
        .map(|(p, w)| ((p.clone(), w.clone()), ()))
        .antijoin(imaged_wells)
        .map(|((plate, well), ())| (plate, well))
        .join(most)
        .map(|(plate, (well, m))| IncompleteWell {
            plate,
            well,
            sites_found: 0,
            sites_expected: m,
        });
    ViewIndexStreams {
        views,
        incomplete_wells: short.concat(unimaged),
    }
}

/// Errors running the dataflow.
#[derive(Debug, thiserror::Error)]
pub enum ViewIndexError {
    /// Timely failed or a worker panicked.
    #[error("view index dataflow: {0}")]
    Timely(String),
}

/// The inputs of one run.
#[derive(Debug, Clone, Default)]
pub struct ViewIndexInputs {
    /// Sites found on disk.
    pub sites: Vec<Site>,
    /// Platemap wells.
    pub wells: Vec<Well>,
    /// Label export compounds by sample.
    pub compounds: Vec<Compound>,
}

/// The index: views sorted by (plate, well, site), incomplete wells sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ViewIndex {
    /// Every site, classified.
    pub views: Vec<ViewRow>,
    /// Wells with missing sites.
    pub incomplete_wells: Vec<IncompleteWell>,
}

/// Runs [`view_index_stage`] on `cluster` over `inputs` (given to worker 0).
pub fn run_view_index(
    cluster: &ClusterConfig,
    inputs: ViewIndexInputs,
) -> Result<ViewIndex, ViewIndexError> {
    use differential_dataflow::input::Input;
    use std::sync::{Arc, Mutex};
    use timely::dataflow::operators::Probe;

    let slot = Arc::new(Mutex::new(Some(inputs)));
    let result: Arc<Mutex<ViewIndex>> = Arc::default();
    let result_in = Arc::clone(&result);
    let guards = crate::dataflow::cluster::execute(cluster, move |worker| {
        let leader = worker.index() == 0;
        let inputs = if leader {
            slot.lock().ok().and_then(|mut s| s.take())
        } else {
            None
        };
        let probe = timely::dataflow::ProbeHandle::new();
        let (mut sites_in, mut wells_in, mut compounds_in, views, incomplete) = worker
            .dataflow::<u64, _, _>(|scope| {
                let (sites_in, sites) = scope.new_collection::<Site, isize>();
                let (wells_in, wells) = scope.new_collection::<Well, isize>();
                let (compounds_in, compounds) = scope.new_collection::<Compound, isize>();
                let out = view_index_stage(sites, wells, compounds);
                let (views, v) = capture(out.views);
                let (incomplete, i) = capture(out.incomplete_wells);
                v.inner.probe_with(&probe);
                i.inner.probe_with(&probe);
                (sites_in, wells_in, compounds_in, views, incomplete)
            });
        if let Some(inputs) = inputs {
            inputs.sites.into_iter().for_each(|s| sites_in.insert(s));
            inputs.wells.into_iter().for_each(|w| wells_in.insert(w));
            inputs
                .compounds
                .into_iter()
                .for_each(|c| compounds_in.insert(c));
        }
        sites_in.advance_to(1);
        wells_in.advance_to(1);
        compounds_in.advance_to(1);
        sites_in.flush();
        wells_in.flush();
        compounds_in.flush();
        worker.step_while(|| probe.less_than(&1));
        let mut out = ViewIndex::default();
        for (v, r) in drain_epoch(&views, 0) {
            out.views.extend(std::iter::repeat_n(v, r.max(0) as usize));
        }
        for (w, r) in drain_epoch(&incomplete, 0) {
            out.incomplete_wells
                .extend(std::iter::repeat_n(w, r.max(0) as usize));
        }
        sites_in.close();
        wells_in.close();
        compounds_in.close();
        while worker.step_or_park(None) {}
        if leader && let Ok(mut r) = result_in.lock() {
            *r = out;
        }
    })
    .map_err(|e| ViewIndexError::Timely(e.to_string()))?;
    for r in guards.join() {
        r.map_err(ViewIndexError::Timely)?;
    }
    let mut out = result
        .lock()
        .map(|mut r| std::mem::take(&mut *r))
        .map_err(|_| ViewIndexError::Timely("a worker panicked".into()))?;
    out.views
        .sort_by(|a, b| (&a.plate, &a.well, a.site).cmp(&(&b.plate, &b.well, b.site)));
    out.incomplete_wells.sort();
    Ok(out)
}
