//! What the trainer reads: a view export (`views.parquet`, `cells.parquet` or
//! `features.parquet` and the `.npy` shards they point at) and the label export it was made
//! from (`tasks.parquet`, `labels/*.parquet`). [`Dataset::open`] joins them into items (a view,
//! a crop or a well), their wells ([`Group`]) and a dense compound x task label matrix
//! (+1 active, -1 inactive, 0 missing).
//!
//! The trainer never sees SMILES, ChEMBL or TIFFs: only these tables and shards. An export whose
//! `labels_manifest_blake3` does not match the label export given is refused.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::export::label_tables::{self, Columns, ReadTableError, opt_str_ref};
use crate::export::npy;
use crate::images::convert::ViewManifest;
use crate::images::settings::PixelType;

use super::models::InputKind;

/// A split of the label export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Split {
    /// Training.
    Train,
    /// Validation (model selection).
    Valid,
    /// Test.
    Test,
}

impl Split {
    /// As written in the exports.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Valid => "valid",
            Split::Test => "test",
        }
    }

    fn parse(s: &str) -> Option<Split> {
        match s {
            "train" => Some(Split::Train),
            "valid" => Some(Split::Valid),
            "test" => Some(Split::Test),
            _ => None,
        }
    }
}

/// A well: predictions are averaged over its items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Plate barcode.
    pub plate: String,
    /// Well (A01).
    pub well: String,
    /// The compound, if the well holds a keyed one.
    pub inchikey: Option<String>,
    /// Its row in the label matrix, if it has labels.
    pub compound: Option<u32>,
    /// Its split.
    pub split: Option<Split>,
}

/// One training or prediction input: a view, a crop or a well's features.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// `view` (or `cell`, or `<plate>-<well>`) as the export names it.
    pub key: String,
    /// Its well in [`Dataset::groups`].
    pub group: u32,
    /// Shard in [`Dataset::shards`] (0 for features).
    pub shard: u32,
    /// Row in the shard (or in the feature matrix).
    pub row: u32,
}

/// A memory-mappable `.npy` shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    /// The file.
    pub path: PathBuf,
    /// Rows it holds.
    pub rows: u64,
    /// Where the data start.
    pub data_offset: usize,
}

/// A task of the label export.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// `<assay>:pchembl>=<t>` or `<assay>:comment`.
    pub task_id: String,
    /// Actives among all compounds.
    pub n_active: u32,
    /// Inactives.
    pub n_inactive: u32,
}

/// Per-well features for the FNN, already standardised (see [`Dataset::open`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// Feature names, in column order.
    pub names: Vec<String>,
    /// items x names, row-major.
    pub values: Vec<f32>,
}

/// Errors opening a dataset.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// A table could not be read.
    #[error(transparent)]
    Table(#[from] ReadTableError),
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The inputs are inconsistent or incomplete.
    #[error("{path}: {message}")]
    Invalid {
        /// The file or directory.
        path: String,
        /// What is wrong.
        message: String,
    },
}

fn invalid(path: &Path, message: impl Into<String>) -> DatasetError {
    DatasetError::Invalid {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// A view export joined with its labels.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// What the items are.
    pub input: InputKind,
    /// Tasks, in the label export's order (the model's output order).
    pub tasks: Vec<Task>,
    /// Compounds with labels (InChIKeys), rows of [`Dataset::labels`].
    pub compounds: Vec<String>,
    /// compounds x tasks labels, row-major: +1, -1 or 0 (missing).
    pub labels: Vec<i8>,
    /// Wells.
    pub groups: Vec<Group>,
    /// Items, in the export's order.
    pub items: Vec<Item>,
    /// Shards (views or crops).
    pub shards: Vec<Shard>,
    /// Shape of one item: (channels, height, width), or (features, 1, 1).
    pub item_shape: [i64; 3],
    /// Pixel type of the shards (features are float32).
    pub dtype: PixelType,
    /// Features, for the FNN.
    pub features: Option<Features>,
    /// blake3 of the view export's and the label export's manifests (a run's data identity).
    pub fingerprint: String,
}

impl Dataset {
    /// Opens `views` (a view export) with `labels` (its label export) for models reading
    /// `input`. Without `labels` (prediction), items carry no labels and `tasks` is empty.
    pub fn open(
        views: &Path,
        labels: Option<&Path>,
        input: InputKind,
    ) -> Result<Dataset, DatasetError> {
        let manifest_path = views.join("manifest.json");
        let manifest = ViewManifest::load(views).map_err(|e| invalid(views, e.to_string()))?;
        if manifest.format != "assayflow-view-export/1" {
            return Err(invalid(&manifest_path, "not a view export manifest"));
        }
        let mut hasher = blake3::Hasher::new();
        hasher.update(&read(&manifest_path)?);
        let (tasks, compounds, label_matrix) = match labels {
            Some(dir) => {
                let path = dir.join("manifest.json");
                let bytes = read(&path)?;
                let digest = blake3::hash(&bytes).to_hex().to_string();
                if digest != manifest.labels_manifest_blake3 {
                    return Err(invalid(
                        views,
                        format!(
                            "made from another label export (its labels_manifest_blake3 is {}, {} has {})",
                            manifest.labels_manifest_blake3,
                            path.display(),
                            digest
                        ),
                    ));
                }
                hasher.update(&bytes);
                read_labels(dir)?
            }
            None => (Vec::new(), Vec::new(), Vec::new()),
        };
        let compound_index: HashMap<&str, u32> = compounds
            .iter()
            .enumerate()
            .map(|(i, k)| (k.as_str(), i as u32))
            .collect();
        let mut ds = Dataset {
            input,
            tasks,
            compounds: compounds.clone(),
            labels: label_matrix,
            groups: Vec::new(),
            items: Vec::new(),
            shards: Vec::new(),
            item_shape: [0; 3],
            dtype: manifest.images.dtype,
            features: None,
            fingerprint: hasher.finalize().to_hex().to_string(),
        };
        let mut groups = GroupIndex::default();
        match input {
            InputKind::Views | InputKind::Crops => {
                let table = if input == InputKind::Views {
                    "views.parquet"
                } else {
                    "cells.parquet"
                };
                let key_column = if input == InputKind::Views {
                    "view"
                } else {
                    "cell"
                };
                let path = views.join(table);
                if !path.is_file() {
                    return Err(invalid(
                        views,
                        format!("no {table} (crops need `images convert --cellprofiler`)"),
                    ));
                }
                let name = path.display().to_string();
                let mut shard_index: BTreeMap<String, u32> = BTreeMap::new();
                for batch in label_tables::read_table(&path)? {
                    let c = Columns::new(&name, &batch);
                    let (key, plate, well) =
                        (c.utf8(key_column)?, c.utf8("plate")?, c.utf8("well")?);
                    let (inchikey, split) = (c.utf8("inchikey")?, c.utf8("split")?);
                    let (shard, row) = (c.utf8("shard")?, c.uint32("row")?);
                    for i in 0..batch.num_rows() {
                        let next = shard_index.len() as u32;
                        let s = *shard_index
                            .entry(shard.value(i).to_string())
                            .or_insert(next);
                        let g = groups.get(
                            plate.value(i),
                            well.value(i),
                            opt_str_ref(inchikey, i),
                            opt_str_ref(split, i).and_then(Split::parse),
                            &compound_index,
                        );
                        ds.items.push(Item {
                            key: key.value(i).to_string(),
                            group: g,
                            shard: s,
                            row: row.value(i),
                        });
                    }
                }
                let mut shards: Vec<(u32, String)> =
                    shard_index.into_iter().map(|(k, v)| (v, k)).collect();
                shards.sort();
                for (_, rel) in shards {
                    let (shard, shape) = open_shard(&views.join(&rel), ds.dtype)?;
                    if ds.item_shape == [0; 3] {
                        ds.item_shape = shape;
                    } else if ds.item_shape != shape {
                        return Err(invalid(
                            &shard.path,
                            format!("rows of {shape:?}, other shards hold {:?}", ds.item_shape),
                        ));
                    }
                    ds.shards.push(shard);
                }
                for item in &ds.items {
                    let shard = &ds.shards[item.shard as usize];
                    if u64::from(item.row) >= shard.rows {
                        return Err(invalid(
                            &path,
                            format!(
                                "{} points at row {} of {}, which has {} rows",
                                item.key,
                                item.row,
                                shard.path.display(),
                                shard.rows
                            ),
                        ));
                    }
                }
            }
            InputKind::Features => {
                let path = views.join("features.parquet");
                if !path.is_file() {
                    return Err(invalid(
                        views,
                        "no features.parquet (features need `images convert --cellprofiler`)",
                    ));
                }
                let (features, rows) = read_features(&path)?;
                for (r, (plate, well, inchikey, split)) in rows.into_iter().enumerate() {
                    let g = groups.get(
                        &plate,
                        &well,
                        inchikey.as_deref(),
                        split.as_deref().and_then(Split::parse),
                        &compound_index,
                    );
                    ds.items.push(Item {
                        key: format!("{plate}-{well}"),
                        group: g,
                        shard: 0,
                        row: r as u32,
                    });
                }
                ds.item_shape = [features.names.len() as i64, 1, 1];
                ds.features = Some(features);
            }
        }
        ds.groups = groups.groups;
        if let Some(f) = ds.features.as_mut() {
            let train: Vec<usize> = ds
                .items
                .iter()
                .filter(|it| ds.groups[it.group as usize].split == Some(Split::Train))
                .map(|it| it.row as usize)
                .collect();
            standardise(f, &train);
        }
        Ok(ds)
    }

    /// Items of `split` whose compound has at least one label, in export order.
    pub fn labelled(&self, split: Split) -> Vec<u32> {
        (0..self.items.len() as u32)
            .filter(|&i| {
                let g = &self.groups[self.items[i as usize].group as usize];
                g.split == Some(split) && g.compound.is_some()
            })
            .collect()
    }

    /// The label row (tasks long) of an item; all zeros without a compound.
    pub fn label_row(&self, item: u32) -> Option<&[i8]> {
        let g = &self.groups[self.items[item as usize].group as usize];
        let t = self.tasks.len();
        g.compound
            .map(|c| &self.labels[c as usize * t..(c as usize + 1) * t])
    }

    /// Bytes of one item in a host batch.
    pub fn item_bytes(&self) -> usize {
        let n: i64 = self.item_shape.iter().product();
        n as usize
            * match self.input {
                InputKind::Features => 4,
                _ => self.dtype.bytes(),
            }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, DatasetError> {
    std::fs::read(path).map_err(|source| DatasetError::Io {
        path: path.display().to_string(),
        source,
    })
}

#[derive(Default)]
struct GroupIndex {
    index: HashMap<(String, String), u32>,
    groups: Vec<Group>,
}

impl GroupIndex {
    fn get(
        &mut self,
        plate: &str,
        well: &str,
        inchikey: Option<&str>,
        split: Option<Split>,
        compounds: &HashMap<&str, u32>,
    ) -> u32 {
        let key = (plate.to_string(), well.to_string());
        if let Some(&g) = self.index.get(&key) {
            return g;
        }
        let g = self.groups.len() as u32;
        self.groups.push(Group {
            plate: key.0.clone(),
            well: key.1.clone(),
            inchikey: inchikey.map(str::to_string),
            compound: inchikey.and_then(|k| compounds.get(k).copied()),
            split,
        });
        self.index.insert(key, g);
        g
    }
}

/// tasks.parquet and labels/*.parquet: (tasks, compounds, compounds x tasks labels).
#[allow(clippy::type_complexity)]
fn read_labels(dir: &Path) -> Result<(Vec<Task>, Vec<String>, Vec<i8>), DatasetError> {
    let (read_tasks, mut rows) = label_tables::read_export_labels(dir)?;
    let tasks: Vec<Task> = read_tasks
        .into_iter()
        .map(|t| Task {
            task_id: t.task_id,
            n_active: t.n_active,
            n_inactive: t.n_inactive,
        })
        .collect();
    rows.sort();
    let mut compounds: Vec<String> = rows.iter().map(|r| r.inchikey.clone()).collect();
    compounds.dedup();
    let index: HashMap<&str, usize> = compounds
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let mut labels = vec![0i8; compounds.len() * tasks.len()];
    for r in &rows {
        labels[index[r.inchikey.as_str()] * tasks.len() + r.task] = r.label;
    }
    Ok((tasks, compounds, labels))
}

/// Checks a shard's header: (shard, row shape).
fn open_shard(path: &Path, dtype: PixelType) -> Result<(Shard, [i64; 3]), DatasetError> {
    use std::io::Read;
    let mut head = vec![0u8; 4096];
    let mut f = std::fs::File::open(path).map_err(|source| DatasetError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let n = f.read(&mut head).map_err(|source| DatasetError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let (descr, shape, offset) =
        npy::read_header(&head[..n]).ok_or_else(|| invalid(path, "not a .npy file"))?;
    if descr != dtype.npy_descr() {
        return Err(invalid(
            path,
            format!("dtype {descr}, the manifest says {}", dtype.npy_descr()),
        ));
    }
    let [rows, c, h, w] = shape[..] else {
        return Err(invalid(
            path,
            format!("shape {shape:?} is not (N, C, H, W)"),
        ));
    };
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let need = offset as u64 + rows * c * h * w * dtype.bytes() as u64;
    if len < need {
        return Err(invalid(
            path,
            format!("{len} bytes, its header needs {need}: truncated"),
        ));
    }
    Ok((
        Shard {
            path: path.to_path_buf(),
            rows,
            data_offset: offset,
        },
        [c as i64, h as i64, w as i64],
    ))
}

type WellRow = (String, String, Option<String>, Option<String>);

/// features.parquet: the feature matrix (float64 columns after the leading ones) and per row
/// (plate, well, inchikey, split).
fn read_features(path: &Path) -> Result<(Features, Vec<WellRow>), DatasetError> {
    use arrow_array::Array;
    const LEADING: [&str; 7] = [
        "plate",
        "well",
        "n_objects",
        "kind",
        "broad_sample",
        "inchikey",
        "split",
    ];
    let name = path.display().to_string();
    let mut names: Vec<String> = Vec::new();
    let mut values = Vec::new();
    let mut rows = Vec::new();
    for batch in label_tables::read_table(path)? {
        let c = Columns::new(&name, &batch);
        if names.is_empty() {
            names = batch
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .filter(|n| !LEADING.contains(&n.as_str()))
                .collect();
        }
        let cols = names
            .iter()
            .map(|n| c.float64(n))
            .collect::<Result<Vec<_>, _>>()?;
        let (plate, well, key, split) = (
            c.utf8("plate")?,
            c.utf8("well")?,
            c.utf8("inchikey")?,
            c.utf8("split")?,
        );
        for i in 0..batch.num_rows() {
            rows.push((
                plate.value(i).to_string(),
                well.value(i).to_string(),
                opt_str_ref(key, i).map(str::to_string),
                opt_str_ref(split, i).map(str::to_string),
            ));
            for col in &cols {
                let v = if col.is_null(i) {
                    f64::NAN
                } else {
                    col.value(i)
                };
                values.push(v as f32);
            }
        }
    }
    if names.is_empty() {
        return Err(invalid(path, "no feature columns"));
    }
    Ok((Features { names, values }, rows))
}

/// Standardises each feature column by the mean and standard deviation of the training rows
/// (missing and non-finite values become 0, the mean; constant columns become 0), then each row
/// to mean 0 and standard deviation 1 over its features, as the paper's code does per sample.
pub fn standardise(f: &mut Features, train_rows: &[usize]) {
    let n = f.names.len();
    if n == 0 {
        return;
    }
    let rows = f.values.len() / n;
    for j in 0..n {
        let vals: Vec<f64> = train_rows
            .iter()
            .map(|&r| f64::from(f.values[r * n + j]))
            .filter(|v| v.is_finite())
            .collect();
        let mean = if vals.is_empty() {
            0.0
        } else {
            vals.iter().sum::<f64>() / vals.len() as f64
        };
        let var = if vals.is_empty() {
            0.0
        } else {
            vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / vals.len() as f64
        };
        let sd = var.sqrt();
        for r in 0..rows {
            let v = &mut f.values[r * n + j];
            *v = if v.is_finite() && sd > 0.0 {
                ((f64::from(*v) - mean) / sd) as f32
            } else {
                0.0
            };
        }
    }
    for r in 0..rows {
        let row = &mut f.values[r * n..(r + 1) * n];
        let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
        let sd = (row
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n as f64)
            .sqrt();
        for v in row {
            *v = ((f64::from(*v) - mean) / (sd + 1e-7)) as f32;
        }
    }
}
