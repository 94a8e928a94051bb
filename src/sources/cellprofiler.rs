//! CellProfiler outputs as the Cell Painting Gallery ships them: a per-plate SQLite backend
//! (tables `Image`, `Cells`, `Cytoplasm`, `Nuclei`, keyed by `TableNumber`, `ImageNumber`,
//! `ObjectNumber`; cytominer-database column names such as `Nuclei_Location_Center_X`,
//! `Image_Metadata_Well`) or per-site CSV folders (`Image.csv`, `Nuclei.csv`, ... with
//! unprefixed columns such as `Location_Center_X`, `Metadata_Well`).
//!
//! Two readings: [`nuclei`] gives nucleus centres per (well, site) for single-cell crops, and
//! [`well_features`] gives per-well means of every numeric feature (per cell by default, or per
//! image) for the FNN baseline, with CellProfiler's feature names (`Cells_AreaShape_Area`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::sources::cellpainting::canonical_well;

/// Where a plate's CellProfiler outputs are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CellProfilerSource {
    /// A per-plate SQLite file.
    Sqlite(PathBuf),
    /// Per-site folders, each with `Image.csv` (optional for nuclei) and object CSVs.
    CsvSites(Vec<PathBuf>),
}

/// Errors reading CellProfiler outputs.
#[derive(Debug, thiserror::Error)]
pub enum CellProfilerError {
    /// SQLite failed.
    #[error("{path}: {source}")]
    Sqlite {
        /// The file.
        path: String,
        /// The cause.
        source: rusqlite::Error,
    },
    /// A CSV could not be read.
    #[error("{path}: {message}")]
    Csv {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A required column is missing.
    #[error("{path}: no column {column}")]
    MissingColumn {
        /// The file or table.
        path: String,
        /// The column.
        column: String,
    },
}

/// Finds the outputs of `plate` under `root`: `root/<plate>/<plate>.sqlite`,
/// `root/<plate>.sqlite`, or per-site folders `root/<plate>-<well>-<site>/` (and
/// `root/<plate>/<plate>-<well>-<site>/`).
pub fn find_source(root: &Path, plate: &str) -> Option<CellProfilerSource> {
    for candidate in [
        root.join(plate).join(format!("{plate}.sqlite")),
        root.join(format!("{plate}.sqlite")),
    ] {
        if candidate.is_file() {
            return Some(CellProfilerSource::Sqlite(candidate));
        }
    }
    let mut sites = Vec::new();
    for dir in [root.to_path_buf(), root.join(plate)] {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if e.path().is_dir() && site_of_folder(&name).is_some_and(|(p, _, _)| p == plate) {
                    sites.push(e.path());
                }
            }
        }
    }
    sites.sort();
    sites.dedup();
    (!sites.is_empty()).then_some(CellProfilerSource::CsvSites(sites))
}

/// `BR00121431-A01-1` -> (plate, well, site).
pub fn site_of_folder(name: &str) -> Option<(String, String, u32)> {
    let (rest, site) = name.rsplit_once('-')?;
    let (plate, well) = rest.rsplit_once('-')?;
    Some((plate.to_string(), canonical_well(well)?, site.parse().ok()?))
}

/// A row that could not be used (an unreadable well, site or object number): where and why.
/// Readers return these beside what they read; nothing is dropped silently.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Problem {
    /// The file and record (`file:line`, or `file (table ...)` for SQLite).
    pub record: String,
    /// What is wrong.
    pub reason: String,
}

/// Nucleus centres, and the rows that could not be used.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NucleiRead {
    /// Sorted by (well, site, object).
    pub nuclei: Vec<Nucleus>,
    /// Unusable rows.
    pub problems: Vec<Problem>,
}

/// A nucleus centre, in pixels (x: column, y: row); NaN when the table gives none.
#[derive(Debug, Clone, PartialEq)]
pub struct Nucleus {
    /// Well.
    pub well: String,
    /// Site.
    pub site: u32,
    /// ObjectNumber.
    pub object: i64,
    /// Centre x.
    pub x: f64,
    /// Centre y.
    pub y: f64,
}

fn sqlite_err(path: &Path) -> impl Fn(rusqlite::Error) -> CellProfilerError + '_ {
    move |source| CellProfilerError::Sqlite {
        path: path.display().to_string(),
        source,
    }
}

fn open(path: &Path) -> Result<rusqlite::Connection, CellProfilerError> {
    rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(sqlite_err(path))
}

fn columns_of(
    conn: &rusqlite::Connection,
    path: &Path,
    table: &str,
) -> Result<Vec<(String, String)>, CellProfilerError> {
    let mut stmt = conn
        .prepare(&format!("PRAGMA table_info(\"{table}\")"))
        .map_err(sqlite_err(path))?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
        .map_err(sqlite_err(path))?;
    rows.collect::<Result<_, _>>().map_err(sqlite_err(path))
}

fn pick<'a>(cols: &'a [(String, String)], names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| cols.iter().find(|(c, _)| c == n).map(|(c, _)| c.as_str()))
}

/// Nucleus centres of every site of the source, sorted by (well, site, object); rows whose
/// well, site or object number cannot be read are returned as problems.
pub fn nuclei(source: &CellProfilerSource) -> Result<NucleiRead, CellProfilerError> {
    let mut out = NucleiRead::default();
    match source {
        CellProfilerSource::Sqlite(path) => nuclei_sqlite(path, &mut out)?,
        CellProfilerSource::CsvSites(dirs) => {
            for d in dirs {
                nuclei_csv(d, &mut out)?;
            }
        }
    }
    out.nuclei
        .sort_by(|a, b| (&a.well, a.site, a.object).cmp(&(&b.well, b.site, b.object)));
    Ok(out)
}

/// A SQLite value as text, for messages and well names.
fn value_text(v: &rusqlite::types::Value) -> Option<String> {
    match v {
        rusqlite::types::Value::Text(t) => Some(t.clone()),
        rusqlite::types::Value::Integer(i) => Some(i.to_string()),
        rusqlite::types::Value::Real(f) => Some(f.to_string()),
        _ => None,
    }
}

fn nuclei_sqlite(path: &Path, out: &mut NucleiRead) -> Result<(), CellProfilerError> {
    let conn = open(path)?;
    let cols = columns_of(&conn, path, "Nuclei")?;
    let missing = |column: &str| CellProfilerError::MissingColumn {
        path: format!("{} (Nuclei)", path.display()),
        column: column.to_string(),
    };
    let x = pick(
        &cols,
        &["Nuclei_Location_Center_X", "Nuclei_AreaShape_Center_X"],
    )
    .ok_or_else(|| missing("Nuclei_Location_Center_X"))?;
    let y = pick(
        &cols,
        &["Nuclei_Location_Center_Y", "Nuclei_AreaShape_Center_Y"],
    )
    .ok_or_else(|| missing("Nuclei_Location_Center_Y"))?;
    let sql = format!(
        "SELECT i.Image_Metadata_Well, i.Image_Metadata_Site, n.ObjectNumber, n.\"{x}\", n.\"{y}\", \
                n.ImageNumber \
         FROM Nuclei n JOIN Image i ON i.TableNumber = n.TableNumber AND i.ImageNumber = n.ImageNumber"
    );
    let mut stmt = conn.prepare(&sql).map_err(sqlite_err(path))?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, rusqlite::types::Value>(0)?,
                r.get::<_, rusqlite::types::Value>(1)?,
                r.get::<_, rusqlite::types::Value>(2)?,
                r.get::<_, Option<f64>>(3)?,
                r.get::<_, Option<f64>>(4)?,
                r.get::<_, rusqlite::types::Value>(5)?,
            ))
        })
        .map_err(sqlite_err(path))?;
    for row in rows {
        let (well_v, site, object_v, x, y, image) = row.map_err(sqlite_err(path))?;
        let well = value_text(&well_v).and_then(|w| canonical_well(&w));
        let object = match object_v {
            rusqlite::types::Value::Integer(i) => Some(i),
            _ => None,
        };
        let site_n = match &site {
            rusqlite::types::Value::Integer(i) => u32::try_from(*i).ok(),
            rusqlite::types::Value::Real(f) => Some(*f as u32),
            rusqlite::types::Value::Text(t) => t.trim().parse().ok(),
            _ => None,
        };
        match (well, site_n, object) {
            (Some(well), Some(site), Some(object)) => out.nuclei.push(Nucleus {
                well,
                site,
                object,
                x: x.unwrap_or(f64::NAN),
                y: y.unwrap_or(f64::NAN),
            }),
            _ => out.problems.push(Problem {
                record: format!(
                    "{} (Nuclei ImageNumber {}, ObjectNumber {})",
                    path.display(),
                    value_text(&image).unwrap_or_else(|| "NULL".into()),
                    value_text(&object_v).unwrap_or_else(|| "NULL".into())
                ),
                reason: format!(
                    "the nucleus has no usable well ({:?}), site ({:?}) or object number",
                    value_text(&well_v),
                    value_text(&site)
                ),
            }),
        }
    }
    Ok(())
}

struct CsvTable {
    headers: Vec<String>,
    rows: Vec<csv::StringRecord>,
}

fn read_csv(path: &Path) -> Result<CsvTable, CellProfilerError> {
    let err = |e: csv::Error| CellProfilerError::Csv {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let mut r = csv::Reader::from_path(path).map_err(err)?;
    let headers = r.headers().map_err(err)?.iter().map(String::from).collect();
    let rows = r.records().collect::<Result<Vec<_>, _>>().map_err(err)?;
    Ok(CsvTable { headers, rows })
}

impl CsvTable {
    fn col(&self, names: &[&str]) -> Option<usize> {
        names
            .iter()
            .find_map(|n| self.headers.iter().position(|h| h == n))
    }
}

fn nuclei_csv(dir: &Path, out: &mut NucleiRead) -> Result<(), CellProfilerError> {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let (_, well, site) = site_of_folder(name).ok_or_else(|| CellProfilerError::Csv {
        path: dir.display().to_string(),
        message: "folder name is not <plate>-<well>-<site>".into(),
    })?;
    let path = dir.join("Nuclei.csv");
    let t = read_csv(&path)?;
    let missing = |column: &str| CellProfilerError::MissingColumn {
        path: path.display().to_string(),
        column: column.to_string(),
    };
    let cx = t
        .col(&["Location_Center_X", "AreaShape_Center_X"])
        .ok_or_else(|| missing("Location_Center_X"))?;
    let cy = t
        .col(&["Location_Center_Y", "AreaShape_Center_Y"])
        .ok_or_else(|| missing("Location_Center_Y"))?;
    let co = t
        .col(&["ObjectNumber"])
        .ok_or_else(|| missing("ObjectNumber"))?;
    for (n, r) in t.rows.iter().enumerate() {
        let num = |i: usize| r.get(i).and_then(|v| v.trim().parse::<f64>().ok());
        // A nucleus without a centre is kept (NaN) so that it becomes a reject, not a loss.
        match num(co) {
            Some(object) => out.nuclei.push(Nucleus {
                well: well.clone(),
                site,
                object: object as i64,
                x: num(cx).unwrap_or(f64::NAN),
                y: num(cy).unwrap_or(f64::NAN),
            }),
            None => out.problems.push(Problem {
                record: format!("{}:{}", path.display(), n + 2),
                reason: format!(
                    "ObjectNumber {:?} is not a number",
                    r.get(co).unwrap_or_default()
                ),
            }),
        }
    }
    Ok(())
}

/// Which rows the features are averaged over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureLevel {
    /// Every cell's Cells, Cytoplasm and Nuclei features.
    Cell,
    /// Every image's Image features.
    Image,
}

/// Per-well means of numeric features.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WellFeatures {
    /// Feature names (CellProfiler's, table-prefixed), in source order.
    pub names: Vec<String>,
    /// (well, objects averaged, means in `names` order; NaN when no value).
    pub wells: Vec<(String, u64, Vec<f64>)>,
    /// Objects left out (their image's well is not a well name).
    pub problems: Vec<Problem>,
}

/// Columns that are keys or bookkeeping, not features.
fn is_feature(name: &str) -> bool {
    !matches!(name, "TableNumber" | "ImageNumber" | "ObjectNumber")
        && !name.contains("Metadata_")
        && !name.contains("FileName_")
        && !name.contains("PathName_")
        && !name.contains("URL_")
        && !name.contains("MD5Digest_")
        && !name.contains("ExecutionTime_")
}

fn numeric_type(decl: &str) -> bool {
    let d = decl.to_ascii_uppercase();
    ["INT", "REAL", "FLOA", "DOUB", "NUMERIC", "DECIMAL"]
        .iter()
        .any(|t| d.contains(t))
}

/// Per-well means of every numeric feature of the source at `level`.
pub fn well_features(
    source: &CellProfilerSource,
    level: FeatureLevel,
) -> Result<WellFeatures, CellProfilerError> {
    match source {
        CellProfilerSource::Sqlite(path) => features_sqlite(path, level),
        CellProfilerSource::CsvSites(dirs) => features_csv(dirs, level),
    }
}

fn tables(level: FeatureLevel) -> &'static [&'static str] {
    match level {
        FeatureLevel::Cell => &["Cells", "Cytoplasm", "Nuclei"],
        FeatureLevel::Image => &["Image"],
    }
}

fn features_sqlite(path: &Path, level: FeatureLevel) -> Result<WellFeatures, CellProfilerError> {
    let conn = open(path)?;
    let mut names = Vec::new();
    let mut problems = Vec::new();
    let mut per_well: BTreeMap<String, (u64, Vec<f64>)> = BTreeMap::new();
    for table in tables(level) {
        let cols: Vec<String> = columns_of(&conn, path, table)?
            .into_iter()
            .filter(|(c, t)| is_feature(c) && numeric_type(t))
            .map(|(c, _)| c)
            .collect();
        if cols.is_empty() {
            continue;
        }
        let from = if *table == "Image" {
            "Image i".to_string()
        } else {
            format!(
                "\"{table}\" o JOIN Image i ON i.TableNumber = o.TableNumber AND i.ImageNumber = o.ImageNumber"
            )
        };
        let alias = if *table == "Image" { "i" } else { "o" };
        let avgs: Vec<String> = cols
            .iter()
            .map(|c| format!("AVG({alias}.\"{c}\")"))
            .collect();
        let sql = format!(
            "SELECT i.Image_Metadata_Well, COUNT(*), {} FROM {from} GROUP BY i.Image_Metadata_Well",
            avgs.join(", ")
        );
        let mut stmt = conn.prepare(&sql).map_err(sqlite_err(path))?;
        let mut rows = stmt.query([]).map_err(sqlite_err(path))?;
        let offset = names.len();
        while let Some(r) = rows.next().map_err(sqlite_err(path))? {
            let well_v: rusqlite::types::Value = r.get(0).map_err(sqlite_err(path))?;
            let n: i64 = r.get(1).map_err(sqlite_err(path))?;
            let Some(well) = value_text(&well_v).and_then(|w| canonical_well(&w)) else {
                problems.push(Problem {
                    record: format!("{} ({table})", path.display()),
                    reason: format!(
                        "{n} object(s) whose Image_Metadata_Well {:?} is not a well: left out of the features",
                        value_text(&well_v)
                    ),
                });
                continue;
            };
            let entry = per_well.entry(well).or_insert((0, Vec::new()));
            entry.0 = entry.0.max(n as u64);
            entry.1.resize(offset, f64::NAN);
            for i in 0..cols.len() {
                let v: Option<f64> = r.get(i + 2).map_err(sqlite_err(path))?;
                entry.1.push(v.unwrap_or(f64::NAN));
            }
        }
        names.extend(cols);
    }
    let wells = per_well
        .into_iter()
        .map(|(w, (n, mut v))| {
            v.resize(names.len(), f64::NAN);
            (w, n, v)
        })
        .collect();
    Ok(WellFeatures {
        names,
        wells,
        problems,
    })
}

fn features_csv(dirs: &[PathBuf], level: FeatureLevel) -> Result<WellFeatures, CellProfilerError> {
    // (well) -> per feature (sum, count); names in first-seen order.
    let mut names: Vec<String> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut sums: BTreeMap<String, (u64, Vec<(f64, u64)>)> = BTreeMap::new();
    for dir in dirs {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let Some((_, well, _)) = site_of_folder(name) else {
            continue;
        };
        for table in tables(level) {
            let path = dir.join(format!("{table}.csv"));
            if !path.is_file() {
                continue;
            }
            let t = read_csv(&path)?;
            let feature_cols: Vec<(usize, usize)> = t
                .headers
                .iter()
                .enumerate()
                .filter(|(_, h)| is_feature(h))
                .filter(|(i, _)| {
                    // Numeric: every non-empty value parses.
                    t.rows.iter().all(|r| {
                        r.get(*i).is_none_or(|v| {
                            let v = v.trim();
                            v.is_empty()
                                || v.eq_ignore_ascii_case("nan")
                                || v.parse::<f64>().is_ok()
                        })
                    })
                })
                .map(|(i, h)| {
                    let full = format!("{table}_{h}");
                    let next = names.len();
                    let k = *index.entry(full.clone()).or_insert(next);
                    if k == next {
                        names.push(full);
                    }
                    (i, k)
                })
                .collect();
            let entry = sums.entry(well.clone()).or_insert((0, Vec::new()));
            if *table != "Cytoplasm" && *table != "Nuclei" {
                entry.0 += t.rows.len() as u64;
            }
            for r in &t.rows {
                for &(i, k) in &feature_cols {
                    if entry.1.len() <= k {
                        entry.1.resize(k + 1, (0.0, 0));
                    }
                    if let Some(v) = r.get(i).and_then(|v| v.trim().parse::<f64>().ok())
                        && v.is_finite()
                    {
                        entry.1[k].0 += v;
                        entry.1[k].1 += 1;
                    }
                }
            }
        }
    }
    let wells = sums
        .into_iter()
        .map(|(w, (n, s))| {
            let mut means: Vec<f64> = s
                .iter()
                .map(|(sum, c)| if *c > 0 { sum / *c as f64 } else { f64::NAN })
                .collect();
            means.resize(names.len(), f64::NAN);
            (w, n, means)
        })
        .collect();
    Ok(WellFeatures {
        names,
        wells,
        problems: Vec::new(),
    })
}
