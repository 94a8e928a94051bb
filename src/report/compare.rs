//! The comparison behind the report: every run's per-task metrics on one split, their summary
//! (Table 1), paired Wilcoxon tests of per-task AUCs between every two runs (Table A1) and,
//! for one pair of runs, Venkatraman's test per task (the scatter figure).
//!
//! Tasks are those every run predicts; samples are wells (the code's aggregation, the views or
//! crops of a well averaged by the trainer) or compounds (the wells of a compound averaged) of
//! the split with a label in the task. Two runs are compared on the samples both scored.

use std::collections::{BTreeMap, HashMap};

use super::labels::Labels;
use super::runs::Run;
use super::truth::Truth;
use crate::eval::metrics::{OneClassPolicy, Summary, TaskMetrics, ThresholdPolicy, task_metrics};
use crate::eval::venkatraman::{VenkatramanTest, paired_test};
use crate::eval::wilcoxon::{Wilcoxon, wilcoxon};

/// What samples are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Level {
    /// Wells (plate + well).
    #[default]
    Well,
    /// Compounds (InChIKey), their wells averaged.
    Compound,
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "well" => Ok(Level::Well),
            "compound" => Ok(Level::Compound),
            _ => Err(format!("{s:?}: expected well or compound")),
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Level::Well => "well",
            Level::Compound => "compound",
        })
    }
}

/// How to compare.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareOptions {
    /// The split scored (test by default).
    pub split: String,
    /// Samples.
    pub level: Level,
    /// Single-class tasks.
    pub one_class: OneClassPolicy,
    /// F1 threshold.
    pub threshold: ThresholdPolicy,
    /// Venkatraman permutations.
    pub permutations: usize,
    /// Seed of the permutations.
    pub seed: u64,
    /// The two runs of the scatter (names); by default GapNet and FNN when present, else the
    /// first two.
    pub pair: Option<(String, String)>,
}

/// Significance level of the figures and the text.
pub const ALPHA: f64 = 0.05;

/// One task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskInfo {
    /// Task id.
    pub id: String,
    /// Labelled compounds in the export (actives + inactives, every split).
    pub labelled_compounds: u32,
    /// The planted phenotype class, when a world's truth is given.
    pub phenotype: Option<String>,
    /// The planted mechanism (id and name).
    pub mechanism: Option<String>,
}

/// One task's evaluation samples of one run: key -> (probability, active).
pub type Samples = BTreeMap<String, (f64, bool)>;

/// One run's evaluation.
#[derive(Debug, Clone)]
pub struct ModelEval {
    /// The run's name.
    pub name: String,
    /// end-to-end or cell-centric.
    pub family: String,
    /// Per task (in [`Comparison::tasks`] order).
    pub per_task: Vec<TaskMetrics>,
    /// Over tasks.
    pub summary: Summary,
    /// Per task, the samples scored.
    pub samples: Vec<Samples>,
}

/// Venkatraman's test per task for two runs.
#[derive(Debug, Clone)]
pub struct PairTest {
    /// Index of the first run (y axis).
    pub a: usize,
    /// Index of the second run (x axis).
    pub b: usize,
    /// Per task: the test on the samples both scored (`None` when undefined).
    pub tests: Vec<Option<VenkatramanTest>>,
}

/// The whole comparison.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Options used.
    pub options: CompareOptions,
    /// Common tasks.
    pub tasks: Vec<TaskInfo>,
    /// Per run, in the order given.
    pub models: Vec<ModelEval>,
    /// Wilcoxon over per-task AUCs, `[i][j]` for runs i != j (tasks defined for both).
    pub wilcoxon: Vec<Vec<Option<Wilcoxon>>>,
    /// The scatter's pair.
    pub pair: Option<PairTest>,
}

/// Per task, the samples of `split` in `run` at `level`.
fn samples(
    run: &Run,
    labels: &Labels,
    split: &str,
    level: Level,
    tasks: &[String],
) -> Vec<Samples> {
    let position: HashMap<&str, usize> = run
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i))
        .collect();
    // key -> (inchikey, summed probabilities, count)
    let mut groups: BTreeMap<String, (String, Vec<f64>, u32)> = BTreeMap::new();
    for w in &run.wells {
        let (Some(key), Some(s)) = (&w.inchikey, &w.split) else {
            continue;
        };
        if s != split {
            continue;
        }
        let sample = match level {
            Level::Well => w.key.clone(),
            Level::Compound => key.clone(),
        };
        let g = groups
            .entry(sample)
            .or_insert_with(|| (key.clone(), vec![0.0; w.probabilities.len()], 0));
        for (acc, &p) in g.1.iter_mut().zip(&w.probabilities) {
            *acc += f64::from(p);
        }
        g.2 += 1;
    }
    tasks
        .iter()
        .map(|t| {
            let mut out = Samples::new();
            let Some(&pos) = position.get(t.as_str()) else {
                return out;
            };
            for (sample, (inchikey, sums, n)) in &groups {
                if let Some(active) = labels.label(inchikey, t) {
                    out.insert(sample.clone(), (sums[pos] / f64::from(*n), active));
                }
            }
            out
        })
        .collect()
}

fn split_vectors(s: &Samples) -> (Vec<f64>, Vec<bool>) {
    s.values().copied().unzip()
}

/// Compares `runs` (all trained on `labels`).
pub fn compare(
    runs: &[Run],
    labels: &Labels,
    truth: Option<&Truth>,
    options: &CompareOptions,
) -> Comparison {
    // Tasks every run predicts, in the first run's order.
    let task_ids: Vec<String> = runs
        .first()
        .map(|r| {
            r.tasks
                .iter()
                .filter(|t| runs.iter().all(|o| o.tasks.contains(t)))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let tasks: Vec<TaskInfo> = task_ids
        .iter()
        .map(|t| TaskInfo {
            id: t.clone(),
            labelled_compounds: labels.task_counts.get(t).map_or(0, |(a, i)| a + i),
            phenotype: truth.map(|tr| tr.phenotype(t).to_string()),
            mechanism: truth
                .and_then(|tr| tr.mechanism(t))
                .map(|m| format!("{} {}", m.id, m.name)),
        })
        .collect();
    let models: Vec<ModelEval> = runs
        .iter()
        .map(|run| {
            let eval = samples(run, labels, &options.split, options.level, &task_ids);
            let valid = match options.threshold {
                ThresholdPolicy::ChosenOnValidation => {
                    Some(samples(run, labels, "valid", options.level, &task_ids))
                }
                ThresholdPolicy::Fixed(_) => None,
            };
            let per_task: Vec<TaskMetrics> = eval
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let (scores, positive) = split_vectors(s);
                    let v = valid.as_ref().map(|v| split_vectors(&v[i]));
                    task_metrics(
                        &scores,
                        &positive,
                        v.as_ref().map(|(s, p)| (s.as_slice(), p.as_slice())),
                        options.threshold,
                        options.one_class,
                    )
                })
                .collect();
            ModelEval {
                name: run.name.clone(),
                family: run.family.clone(),
                summary: Summary::of(&per_task),
                per_task,
                samples: eval,
            }
        })
        .collect();
    let n = models.len();
    let mut matrix = vec![vec![None; n]; n];
    for i in 0..n {
        for j in 0..n {
            if i == j {
                continue;
            }
            let (x, y): (Vec<f64>, Vec<f64>) = models[i]
                .per_task
                .iter()
                .zip(&models[j].per_task)
                .filter_map(|(a, b)| a.auc.zip(b.auc))
                .unzip();
            matrix[i][j] = wilcoxon(&x, &y);
        }
    }
    let pair = pick_pair(&models, options.pair.as_ref()).map(|(a, b)| PairTest {
        a,
        b,
        tests: (0..tasks.len())
            .map(|t| {
                let (sa, sb) = (&models[a].samples[t], &models[b].samples[t]);
                let (mut xa, mut xb, mut y) = (Vec::new(), Vec::new(), Vec::new());
                for (k, &(pa, active)) in sa {
                    if let Some(&(pb, _)) = sb.get(k) {
                        xa.push(pa);
                        xb.push(pb);
                        y.push(active);
                    }
                }
                // One seed per task, derived from the report's seed.
                let seed = options.seed ^ (t as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                paired_test(&xa, &xb, &y, options.permutations, seed)
            })
            .collect(),
    });
    Comparison {
        options: options.clone(),
        tasks,
        models,
        wilcoxon: matrix,
        pair,
    }
}

/// The scatter's pair: named, else GapNet and FNN, else the first two runs.
fn pick_pair(models: &[ModelEval], named: Option<&(String, String)>) -> Option<(usize, usize)> {
    let find = |name: &str| models.iter().position(|m| m.name == name);
    if let Some((a, b)) = named {
        return find(a).zip(find(b));
    }
    if let Some(p) = find("GapNet").zip(find("FNN")) {
        return Some(p);
    }
    (models.len() >= 2).then_some((0, 1))
}

impl Comparison {
    /// Runs in Table 1 order: by mean AUC, best first (NaN last), then name.
    pub fn ranked(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.models.len()).collect();
        order.sort_by(|&a, &b| {
            let (x, y) = (
                self.models[a].summary.auc_mean,
                self.models[b].summary.auc_mean,
            );
            y.partial_cmp(&x)
                .unwrap_or_else(|| x.is_nan().cmp(&y.is_nan()))
                .then_with(|| self.models[a].name.cmp(&self.models[b].name))
        });
        order
    }

    /// The phenotype classes present, in a fixed order.
    pub fn phenotypes(&self) -> Vec<String> {
        let order = ["sparse", "global", "cell_count", "invisible", "none"];
        let mut present: Vec<String> = self
            .tasks
            .iter()
            .filter_map(|t| t.phenotype.clone())
            .collect();
        present.sort_by_key(|p| order.iter().position(|o| o == p).unwrap_or(order.len()));
        present.dedup();
        present
    }

    /// Mean AUC of run `m` over the tasks of phenotype `p` (defined tasks), with their count.
    pub fn phenotype_auc(&self, m: usize, p: &str) -> (f64, usize) {
        let v: Vec<f64> = self
            .tasks
            .iter()
            .zip(&self.models[m].per_task)
            .filter(|(t, _)| t.phenotype.as_deref() == Some(p))
            .filter_map(|(_, x)| x.auc)
            .collect();
        (crate::eval::metrics::mean_sd(&v).0, v.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::prediction_tables::PredictionRow;

    fn run(name: &str, rows: &[(&str, &str, &str, [f32; 2])]) -> Run {
        Run {
            dir: name.into(),
            name: name.into(),
            model: name.into(),
            family: "end-to-end".into(),
            parameters: 1,
            device: "cpu".into(),
            labels: "labels".into(),
            epochs_configured: 1,
            max_items_per_epoch: None,
            item_shape: vec![],
            epochs: vec![],
            tasks: vec!["A:comment".into(), "B:comment".into()],
            wells: rows
                .iter()
                .map(|(well, key, split, p)| PredictionRow {
                    key: format!("P-{well}"),
                    plate: Some("P".into()),
                    well: Some(well.to_string()),
                    inchikey: Some(key.to_string()),
                    split: Some(split.to_string()),
                    n_items: 1,
                    probabilities: p.to_vec(),
                })
                .collect(),
        }
    }

    fn labels() -> Labels {
        let mut l = Labels::default();
        for (k, t, a) in [
            ("K1", "A:comment", true),
            ("K2", "A:comment", false),
            ("K3", "A:comment", true),
            ("K1", "B:comment", true),
            ("K2", "B:comment", true),
        ] {
            l.labels.insert((k.into(), t.into()), a);
        }
        l.task_counts.insert("A:comment".into(), (12, 10));
        l.task_counts.insert("B:comment".into(), (10, 10));
        l
    }

    #[test]
    fn wells_and_compounds_are_scored_per_task() {
        let rows = [
            ("A01", "K1", "test", [0.9, 0.5]),
            ("A02", "K1", "test", [0.1, 0.5]),
            ("A03", "K2", "test", [0.4, 0.5]),
            ("A04", "K3", "valid", [0.0, 0.5]),
        ];
        let runs = [run("GapNet", &rows), run("FNN", &rows)];
        let mut options = CompareOptions {
            split: "test".into(),
            level: Level::Well,
            one_class: OneClassPolicy::Exclude,
            threshold: ThresholdPolicy::Fixed(0.5),
            permutations: 10,
            seed: 1,
            pair: None,
        };
        let c = compare(&runs, &labels(), None, &options);
        assert_eq!(c.tasks[0].labelled_compounds, 22);
        // Wells: K1 twice (0.9, 0.1) against K2 (0.4): AUC 0.5; task B has one class.
        assert_eq!(c.models[0].per_task[0].auc, Some(0.5));
        assert_eq!(c.models[0].per_task[1].auc, None);
        assert_eq!(c.models[0].summary.undefined, 1);
        options.level = Level::Compound;
        let c = compare(&runs, &labels(), None, &options);
        // Compounds: K1 averages to 0.5 > K2's 0.4.
        assert_eq!(c.models[0].per_task[0].auc, Some(1.0));
        assert_eq!(c.models[0].samples[0].len(), 2);
        let pair = c.pair.expect("GapNet and FNN");
        assert_eq!((pair.a, pair.b), (0, 1));
    }
}
