//! The view index dataflow against a plain from-scratch computation of the same rules, on
//! seeded random plates, platemaps and compounds, with 1 and 2 workers.

use std::collections::{BTreeMap, BTreeSet};

use assayflow::dataflow::cluster::ClusterConfig;
use assayflow::dataflow::view_index::{
    IncompleteWell, ViewIndex, ViewIndexInputs, ViewKind, ViewRow, WellContent, run_view_index,
};
use assayflow::rng::SplitMix64;

fn random_inputs(seed: u64) -> ViewIndexInputs {
    let mut rng = SplitMix64::new(seed);
    let mut inputs = ViewIndexInputs::default();
    let samples: Vec<String> = (0..12).map(|i| format!("BRD-{i:03}")).collect();
    for (i, b) in samples.iter().enumerate() {
        // Samples 0..8 are keyed (some share a key), 8.. have no key.
        if i < 8 {
            let n_labels = if rng.chance(0.6) {
                rng.below(5) as u32 + 1
            } else {
                0
            };
            let split = ["train", "valid", "test"][rng.index(3)].to_string();
            inputs
                .compounds
                .push((b.clone(), (format!("KEY{}", i / 2), split, n_labels)));
        }
    }
    for plate in ["P1", "P2", "P3"] {
        for row in ["A", "B"] {
            for col in 1..=4 {
                let well = format!("{row}{col:02}");
                if rng.chance(0.85) {
                    let content = if rng.chance(0.2) {
                        WellContent::Control
                    } else {
                        WellContent::Sample(samples[rng.index(samples.len())].clone())
                    };
                    inputs.wells.push(((plate.into(), well.clone()), content));
                }
                // Plate P3 is not imaged; other wells have 0..=3 sites.
                if plate != "P3" {
                    for site in 1..=3 {
                        if rng.chance(0.8) {
                            inputs.sites.push((plate.into(), well.clone(), site));
                        }
                    }
                }
            }
        }
    }
    inputs
}

fn reference(inputs: &ViewIndexInputs) -> ViewIndex {
    let wells: BTreeMap<_, _> = inputs.wells.iter().cloned().collect();
    let compounds: BTreeMap<_, _> = inputs.compounds.iter().cloned().collect();
    let mut views = Vec::new();
    for (plate, well, site) in &inputs.sites {
        let mut row = ViewRow {
            plate: plate.clone(),
            well: well.clone(),
            site: *site,
            kind: ViewKind::NotInPlatemap,
            broad_sample: None,
            inchikey: None,
            split: None,
            n_labels: 0,
        };
        match wells.get(&(plate.clone(), well.clone())) {
            None => {}
            Some(WellContent::Control) => row.kind = ViewKind::Control,
            Some(WellContent::Sample(b)) => {
                row.broad_sample = Some(b.clone());
                match compounds.get(b) {
                    None => row.kind = ViewKind::Unkeyed,
                    Some((k, s, n)) => {
                        row.kind = if *n > 0 {
                            ViewKind::Labelled
                        } else {
                            ViewKind::Unlabelled
                        };
                        row.inchikey = Some(k.clone());
                        row.split = Some(s.clone());
                        row.n_labels = *n;
                    }
                }
            }
        }
        views.push(row);
    }
    views.sort_by(|a, b| (&a.plate, &a.well, a.site).cmp(&(&b.plate, &b.well, b.site)));
    let mut per_well: BTreeMap<(String, String), u32> = BTreeMap::new();
    for (p, w, _) in &inputs.sites {
        *per_well.entry((p.clone(), w.clone())).or_default() += 1;
    }
    let mut most: BTreeMap<String, u32> = BTreeMap::new();
    for ((p, _), n) in &per_well {
        let m = most.entry(p.clone()).or_default();
        *m = (*m).max(*n);
    }
    let mut incomplete = Vec::new();
    let listed: BTreeSet<_> = per_well.keys().chain(wells.keys()).cloned().collect();
    for (p, w) in listed {
        let Some(&m) = most.get(&p) else { continue };
        let n = per_well.get(&(p.clone(), w.clone())).copied().unwrap_or(0);
        if n < m {
            incomplete.push(IncompleteWell {
                plate: p,
                well: w,
                sites_found: n,
                sites_expected: m,
            });
        }
    }
    incomplete.sort();
    ViewIndex {
        views,
        incomplete_wells: incomplete,
    }
}

#[test]
fn index_equals_a_plain_recomputation_with_one_and_two_workers() {
    for seed in 0..12 {
        let inputs = random_inputs(seed);
        let expected = reference(&inputs);
        assert!(
            expected.views.iter().any(|v| v.kind == ViewKind::Labelled),
            "seed {seed}"
        );
        for workers in [1, 2] {
            let got =
                run_view_index(&ClusterConfig::single(workers), inputs.clone()).expect("runs");
            assert_eq!(got, expected, "seed {seed}, {workers} worker(s)");
        }
    }
}
