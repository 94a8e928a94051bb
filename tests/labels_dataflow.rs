//! The label dataflow against the plain from-scratch implementation of the same rules, on seeded
//! random inputs: a full build (epoch 0) and an incremental refresh (epoch 1, random additions,
//! retractions and corrections) must both equal a from-scratch recomputation, with one worker or
//! several. A small hand-made case checks the exact (data, time, diff) outputs.

#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::collections::BTreeMap;

use assayflow::dataflow::cluster::ClusterConfig;
use assayflow::dataflow::labels::{InputChanges, LabelCapture, OutputChanges, run_label_epochs};
use assayflow::labels::records::{
    Activity, Comment, Label, LabelValue, Match, Stat, Task, TaskKind,
};
use assayflow::labels::reference::{LabelOutcome, compute};
use assayflow::pipeline::LabelRules;
use assayflow::rng::SplitMix64;

fn rules(min: u32) -> LabelRules {
    LabelRules {
        validity_comments_kept: vec!["Manually validated".into()],
        numeric_standard_types: vec!["IC50".into(), "EC50".into()],
        pchembl_min: 400,
        pchembl_max: 1000,
        thresholds: vec![550, 650, 750],
        comments_active: vec!["active".into()],
        comments_inactive: vec!["inactive".into(), "not active".into()],
        min_actives: min,
        min_inactives: min,
    }
}

fn random_activity(rng: &mut SplitMix64, id: u64, molregnos: u64, assays: u32) -> Activity {
    let comment = match rng.below(10) {
        0..=5 => Comment::None,
        6 | 7 => Comment::Active,
        8 => Comment::Inactive,
        _ => Comment::Other,
    };
    Activity {
        molregno: rng.below(molregnos),
        activity_id: id,
        assay_id: rng.below(u64::from(assays)) as u32,
        valid: rng.chance(0.9),
        numeric_type: rng.chance(0.7),
        pchembl: rng.chance(0.85).then(|| 300 + rng.below(800) as i32),
        comment,
    }
}

struct World {
    activities: Vec<Activity>,
    matches: Vec<Match>,
}

fn random_world(seed: u64) -> World {
    let mut rng = SplitMix64::new(seed);
    let molregnos = 80;
    let mut matches = Vec::new();
    for m in 0..molregnos {
        if rng.chance(0.8) {
            matches.push(Match {
                molregno: m,
                compound: rng.below(50) as u32,
            });
        }
    }
    let activities = (0..1500)
        .map(|id| random_activity(&mut rng, id, molregnos, 6))
        .collect();
    World {
        activities,
        matches,
    }
}

/// A plausible next release: some activities retracted, some corrected, some added, some
/// matches changed.
fn next_release(world: &World, seed: u64) -> World {
    let mut rng = SplitMix64::new(seed ^ 0xDEAD_BEEF);
    let mut activities: Vec<Activity> = Vec::new();
    for a in &world.activities {
        match rng.below(20) {
            0 => {} // retracted
            1 => {
                let mut corrected = a.clone();
                corrected.pchembl = corrected.pchembl.map(|p| p + 80);
                corrected.valid = !corrected.valid || rng.chance(0.5);
                activities.push(corrected);
            }
            _ => activities.push(a.clone()),
        }
    }
    for id in 0..100 {
        activities.push(random_activity(&mut rng, 10_000 + id, 80, 6));
    }
    let mut matches: Vec<Match> = world
        .matches
        .iter()
        .filter(|_| !rng.chance(0.05))
        .copied()
        .collect();
    matches.push(Match {
        molregno: 79,
        compound: 3,
    });
    matches.sort();
    matches.dedup();
    World {
        activities,
        matches,
    }
}

fn diff<T: Ord + Clone>(old: &[T], new: &[T]) -> Vec<(T, isize)> {
    let mut changes: BTreeMap<T, isize> = BTreeMap::new();
    for x in old {
        *changes.entry(x.clone()).or_default() -= 1;
    }
    for x in new {
        *changes.entry(x.clone()).or_default() += 1;
    }
    changes.into_iter().filter(|(_, r)| *r != 0).collect()
}

#[derive(Default, Debug, PartialEq)]
struct State {
    labels: BTreeMap<Label, isize>,
    tasks: BTreeMap<(Task, (u32, u32)), isize>,
    stats: BTreeMap<Stat, isize>,
}

impl State {
    fn apply(&mut self, changes: &OutputChanges) {
        fn add<K: Ord + Clone>(map: &mut BTreeMap<K, isize>, updates: &[(K, isize)]) {
            for (k, r) in updates {
                let e = map.entry(k.clone()).or_default();
                *e += r;
                if *e == 0 {
                    map.remove(k);
                }
            }
        }
        add(&mut self.labels, &changes.labels);
        add(&mut self.tasks, &changes.task_counts);
        add(&mut self.stats, &changes.stats);
    }

    fn of(reference: &LabelOutcome) -> State {
        State {
            labels: reference.labels.iter().map(|l| (*l, 1)).collect(),
            tasks: reference
                .task_counts
                .iter()
                .map(|(t, c)| ((*t, *c), 1))
                .collect(),
            stats: reference
                .stats
                .iter()
                .map(|(s, n)| (*s, *n as isize))
                .collect(),
        }
    }
}

fn check(seed: u64, cluster: &ClusterConfig) {
    let rules = rules(3);
    let old = random_world(seed);
    let new = next_release(&old, seed);
    let epochs = vec![
        InputChanges {
            activities: old.activities.iter().map(|a| (a.clone(), 1)).collect(),
            matches: old.matches.iter().map(|m| (*m, 1)).collect(),
        },
        InputChanges {
            activities: diff(&old.activities, &new.activities),
            matches: diff(&old.matches, &new.matches),
        },
    ];
    let out = run_label_epochs(cluster, &rules, LabelCapture::Kept, Some(epochs)).unwrap();
    assert_eq!(out.len(), 2);
    let mut state = State::default();
    state.apply(&out[0]);
    let want_old = compute(&old.activities, &old.matches, &rules);
    assert!(
        !want_old.labels.is_empty(),
        "seed {seed}: the random world should produce labels"
    );
    assert_eq!(state, State::of(&want_old), "seed {seed}: full build");
    state.apply(&out[1]);
    let want_new = compute(&new.activities, &new.matches, &rules);
    assert_eq!(state, State::of(&want_new), "seed {seed}: refresh");
    // A refresh touches only what changed: far fewer label updates than labels.
    assert!(out[1].labels.len() < want_new.labels.len(), "seed {seed}");
}

#[test]
fn dataflow_equals_from_scratch_on_random_inputs() {
    for seed in 0..12 {
        check(seed, &ClusterConfig::single(1));
    }
}

#[test]
fn several_workers_give_the_same_result() {
    for seed in 100..104 {
        check(seed, &ClusterConfig::single(3));
    }
}

#[test]
fn exact_updates_of_a_small_case() {
    let rules = rules(1);
    let act = |activity_id, assay_id, pchembl: Option<i32>, comment| Activity {
        molregno: 1,
        activity_id,
        assay_id,
        valid: true,
        numeric_type: true,
        pchembl,
        comment,
    };
    let other = |activity_id, pchembl| Activity {
        molregno: 2,
        activity_id,
        assay_id: 7,
        valid: true,
        numeric_type: true,
        pchembl: Some(pchembl),
        comment: Comment::None,
    };
    // Compound 0 (molregno 1): two IC50s in assay 7 with median 5.5 exactly (549 and 551).
    // Compound 1 (molregno 2): one IC50 of 7.0 in assay 7.
    let epoch0 = InputChanges {
        activities: vec![
            (act(1, 7, Some(549), Comment::None), 1),
            (act(2, 7, Some(551), Comment::None), 1),
            (other(3, 700), 1),
        ],
        matches: vec![
            (
                Match {
                    molregno: 1,
                    compound: 0,
                },
                1,
            ),
            (
                Match {
                    molregno: 2,
                    compound: 1,
                },
                1,
            ),
        ],
    };
    // Epoch 1: the 5.51 measurement is retracted; compound 0's median becomes 5.49.
    let epoch1 = InputChanges {
        activities: vec![(act(2, 7, Some(551), Comment::None), -1)],
        matches: vec![],
    };
    let out = run_label_epochs(
        &ClusterConfig::single(1),
        &rules,
        LabelCapture::Kept,
        Some(vec![epoch0, epoch1]),
    )
    .unwrap();
    let label = |compound, t, label, measurements, median2| Label {
        compound,
        task: Task {
            assay_id: 7,
            kind: TaskKind::Threshold(t),
        },
        value: LabelValue {
            label,
            measurements,
            median2: Some(median2),
        },
    };
    // Epoch 0: compound 0's median is 5.50, exactly at the threshold (active at 5.5, inactive
    // above); compound 1 is at 7.0. With one active and one inactive needed, only 6.5 is kept.
    assert_eq!(
        out[0].labels,
        vec![
            (label(0, 650, -1, 2, 1100), 1),
            (label(1, 650, 1, 1, 1400), 1)
        ]
    );
    assert_eq!(
        out[0].task_counts,
        vec![
            (
                (
                    Task {
                        assay_id: 7,
                        kind: TaskKind::Threshold(550)
                    },
                    (2, 0)
                ),
                1
            ),
            (
                (
                    Task {
                        assay_id: 7,
                        kind: TaskKind::Threshold(650)
                    },
                    (1, 1)
                ),
                1
            ),
            (
                (
                    Task {
                        assay_id: 7,
                        kind: TaskKind::Threshold(750)
                    },
                    (0, 2)
                ),
                1
            ),
        ]
    );
    // Epoch 1: compound 0 drops to 5.49: the 5.5 task becomes (1, 1) and appears with both
    // labels; compound 0's 6.5 label keeps its sign but changes its measurement count and median.
    assert_eq!(
        out[1].labels,
        vec![
            (label(0, 550, -1, 1, 1098), 1),
            (label(0, 650, -1, 1, 1098), 1),
            (label(0, 650, -1, 2, 1100), -1),
            (label(1, 550, 1, 1, 1400), 1),
        ]
    );
    assert_eq!(
        out[1].task_counts,
        vec![
            (
                (
                    Task {
                        assay_id: 7,
                        kind: TaskKind::Threshold(550)
                    },
                    (1, 1)
                ),
                1
            ),
            (
                (
                    Task {
                        assay_id: 7,
                        kind: TaskKind::Threshold(550)
                    },
                    (2, 0)
                ),
                -1
            ),
        ]
    );
    assert!(out[1].stats.is_empty());
}
