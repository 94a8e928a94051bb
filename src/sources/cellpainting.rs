//! Cell Painting compound metadata as distributed: the Bray/CDRP and JUMP layouts.
//!
//! [`read_metadata`] turns a metadata directory into [`CellPaintingMetadata`]: the compounds
//! (one per `broad_sample`, with SMILES and name), every well of every plate (canonical `A01`
//! well names, controls marked), and the rows that could not be used ([`MetadataReject`], each
//! naming its file and line). Fatal problems (a required file or column missing, an unreadable
//! directory, a layout that cannot be told) are [`CellPaintingError`]s naming the file and column.
//!
//! **CDRP** (Bray et al. 2017, cpg0012; contracts `data-schemas/cellpainting_cdrp_*.toml`):
//! - `chemical_annotations.csv`: comma-separated, quoted fields allowed; `BROAD_ID` and
//!   `CPD_SMILES` are required, `CPD_NAME` is used when present, the other columns are ignored;
//! - `barcode_platemap.csv`: `Plate_Map_Name,Assay_Plate_Barcode`, one row per plate;
//! - `platemap/<Plate_Map_Name>.txt`: tab-separated `well_position`, `broad_sample` (empty for
//!   DMSO), and usually `mmoles_per_liter`, `solvent` (ignored).
//!
//! A platemap `broad_sample` joins `BROAD_ID` exactly; failing that, on the 13-character
//! compound prefix (`BRD-K12345678`) when every `BROAD_ID` with that prefix gives the same SMILES.
//! Such a well gets a compound of its own id (an alias carrying the annotation's SMILES, name and
//! source), so every well's `broad_sample` names an entry of [`CellPaintingMetadata::compounds`].
//!
//! **JUMP** (JUMP-Target; contracts `data-schemas/cellpainting_jump_*.toml`): any number of
//! `<NAME>_compound_metadata.tsv` (`broad_sample` and `smiles` required; `pert_iname`,
//! `control_type` used when present; `NA` means missing) and `<NAME>_compound_platemap.tsv`
//! (`well_position`, `broad_sample`). Compounds of all metadata files form one catalogue, which
//! every platemap's wells join exactly. An optional `barcode_platemap.csv` maps plate barcodes
//! to platemaps (`Plate_Map_Name` is `NAME`, or `NAME_compound_platemap` as in the JUMP
//! releases); without it every platemap is one plate named `NAME`.
//!
//! Controls: a well whose `broad_sample` is empty, `NA` or `DMSO` is a control with no compound;
//! in JUMP a well whose compound has `control_type` `negcon` is a control too (it keeps its
//! `broad_sample`). Positive controls (`poscon_*`) are ordinary compounds. The JUMP metadata row
//! describing DMSO has `broad_sample` `NA` and a control type; it describes the control wells and
//! yields no compound. A metadata row that repeats an earlier `broad_sample` with the same SMILES
//! is listed in [`CellPaintingMetadata::duplicates`] (JUMP-Target-2 has eight); with a different
//! SMILES it is rejected and the first definition stands.
//!
//! Values are trimmed; rows with the wrong number of fields, non-UTF-8 fields, bad well names,
//! unknown compounds or repeated wells are rejected. Rows with every field empty carry nothing
//! and are skipped.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io;
use std::path::Path;

/// CDRP compound annotations file name.
pub const CDRP_ANNOTATIONS: &str = "chemical_annotations.csv";
/// Plate barcode -> platemap file name (CDRP, optional in JUMP).
pub const BARCODE_PLATEMAP: &str = "barcode_platemap.csv";
/// CDRP folder of platemaps (`<Plate_Map_Name>.txt`).
pub const CDRP_PLATEMAP_DIR: &str = "platemap";
/// Extension of a CDRP platemap file.
pub const CDRP_PLATEMAP_EXT: &str = ".txt";
/// Suffix of a JUMP compound metadata file (`<NAME>_compound_metadata.tsv`).
pub const JUMP_METADATA_SUFFIX: &str = "_compound_metadata.tsv";
/// Suffix of a JUMP platemap file (`<NAME>_compound_platemap.tsv`).
pub const JUMP_PLATEMAP_SUFFIX: &str = "_compound_platemap.tsv";

/// The header of `chemical_annotations.csv`, in order.
pub const CDRP_ANNOTATION_COLUMNS: [&str; 10] = [
    "BROAD_ID",
    "CPD_NAME",
    "CPD_NAME_TYPE",
    "CPD_SAMPLE_ID",
    "DOS_LIBRARY",
    "SOURCE_NAME",
    "CHEMIST_NAME",
    "VENDOR_CATALOG_ID",
    "CPD_SMILES",
    "USERCOMMENT",
];
/// The header of `barcode_platemap.csv`, in order.
pub const BARCODE_PLATEMAP_COLUMNS: [&str; 2] = ["Plate_Map_Name", "Assay_Plate_Barcode"];
/// The header of a CDRP platemap, in order.
pub const CDRP_PLATEMAP_COLUMNS: [&str; 4] = [
    "well_position",
    "broad_sample",
    "mmoles_per_liter",
    "solvent",
];
/// The header of a JUMP compound metadata file, in order.
pub const JUMP_METADATA_COLUMNS: [&str; 9] = [
    "broad_sample",
    "InChIKey",
    "pert_iname",
    "pubchem_cid",
    "target_list",
    "pert_type",
    "control_type",
    "smiles",
    "InChI",
];
/// The header of a JUMP platemap, in order.
pub const JUMP_PLATEMAP_COLUMNS: [&str; 3] = ["well_position", "broad_sample", "solvent"];

/// The two metadata layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataLayout {
    /// Bray et al. 2017 / CDRP (cpg0012): `chemical_annotations.csv`, `barcode_platemap.csv`,
    /// `platemap/*.txt`.
    Cdrp,
    /// JUMP: `<NAME>_compound_metadata.tsv` + `<NAME>_compound_platemap.tsv`.
    Jump,
}

/// Where a record came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordRef {
    /// Path relative to the metadata directory, `/`-separated (`platemap/X.txt`).
    pub file: String,
    /// 1-based line where the record starts (the header is line 1).
    pub line: u64,
}

impl std::fmt::Display for RecordRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One compound of the metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpCompound {
    /// The sample id exactly as the platemaps use it, e.g. `BRD-K12345678-001-01-1`.
    pub broad_sample: String,
    /// The SMILES; `None` when the metadata gives none (empty field or `NA`).
    pub smiles: Option<String>,
    /// `CPD_NAME` (CDRP) or `pert_iname` (JUMP); `None` when empty or `NA`.
    pub name: Option<String>,
    /// The metadata row it came from.
    pub source: RecordRef,
}

/// One well of one plate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpWell {
    /// Plate barcode (CDRP: `Assay_Plate_Barcode`); JUMP without a barcode map: the platemap
    /// name.
    pub plate: String,
    /// Canonical well: upper-case row letter(s), two-digit column (`A01`).
    pub well: String,
    /// The compound in the well; `None` for DMSO / empty wells.
    pub broad_sample: Option<String>,
    /// A control well (no compound, DMSO, or a JUMP `negcon`): kept, never labelled.
    pub control: bool,
    /// The platemap row it came from.
    pub source: RecordRef,
}

/// A row that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataReject {
    /// The row.
    pub source: RecordRef,
    /// What is wrong with it.
    pub reason: String,
}

/// Everything read from one metadata directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellPaintingMetadata {
    /// The layout read.
    pub layout: MetadataLayout,
    /// One per `broad_sample`, sorted by `broad_sample`.
    pub compounds: Vec<CpCompound>,
    /// Sorted by `(plate, well)`.
    pub wells: Vec<CpWell>,
    /// Malformed rows, wells naming an unknown compound, ids defined twice with conflicting
    /// SMILES, ...; sorted by file, then line.
    pub rejects: Vec<MetadataReject>,
    /// Rows that repeat an earlier definition exactly enough to be merged into it (a compound
    /// row with the same id and SMILES, a barcode row naming the same platemap); sorted.
    pub duplicates: Vec<RecordRef>,
}

/// A fatal error reading a metadata directory.
#[derive(Debug, thiserror::Error)]
pub enum CellPaintingError {
    /// A file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The cause.
        source: io::Error,
    },
    /// A required file is absent.
    #[error("{path}: not found ({what})")]
    MissingFile {
        /// The file expected (or the directory searched).
        path: String,
        /// What it should have held.
        what: String,
    },
    /// A required column is absent from a header.
    #[error("{path}: no column named {column:?} in the header (columns: {available})")]
    MissingColumn {
        /// The file.
        path: String,
        /// The required column.
        column: String,
        /// The header's columns, comma-separated.
        available: String,
    },
    /// A file is unreadable as a table (no header, broken CSV).
    #[error("{path}: {message}")]
    Malformed {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The directory holds neither layout.
    #[error("{dir}: no Cell Painting metadata found (looked for {looked_for})")]
    LayoutNotDetected {
        /// The directory.
        dir: String,
        /// The files looked for.
        looked_for: String,
    },
}

/// Which layout a directory holds: `chemical_annotations.csv` means CDRP, any
/// `*_compound_metadata.tsv` means JUMP.
pub fn detect_layout(dir: &Path) -> Result<MetadataLayout, CellPaintingError> {
    let names = list_dir(dir)?;
    if names.iter().any(|n| n == CDRP_ANNOTATIONS) {
        return Ok(MetadataLayout::Cdrp);
    }
    if names
        .iter()
        .any(|n| jump_name(n, JUMP_METADATA_SUFFIX).is_some())
    {
        return Ok(MetadataLayout::Jump);
    }
    Err(CellPaintingError::LayoutNotDetected {
        dir: dir.display().to_string(),
        looked_for: format!("{CDRP_ANNOTATIONS} (CDRP) or *{JUMP_METADATA_SUFFIX} (JUMP)"),
    })
}

/// Reads a metadata directory in the given layout (`None`: [`detect_layout`]).
pub fn read_metadata(
    dir: &Path,
    layout: Option<MetadataLayout>,
) -> Result<CellPaintingMetadata, CellPaintingError> {
    let layout = match layout {
        Some(l) => l,
        None => detect_layout(dir)?,
    };
    let mut acc = Accumulator::default();
    let (plates, platemaps) = match layout {
        MetadataLayout::Cdrp => read_cdrp(dir, &mut acc)?,
        MetadataLayout::Jump => read_jump(dir, &mut acc)?,
    };
    let mut wells = Vec::new();
    for plate in &plates {
        if let Some(Some(map)) = platemaps.get(&plate.platemap) {
            for w in map {
                wells.push(CpWell {
                    plate: plate.barcode.clone(),
                    well: w.well.clone(),
                    broad_sample: w.broad_sample.clone(),
                    control: w.control,
                    source: w.source.clone(),
                });
            }
        }
    }
    wells.sort_by(|a, b| (&a.plate, &a.well).cmp(&(&b.plate, &b.well)));
    let mut rejects = acc.rejects;
    rejects.sort_by(|a, b| a.source.cmp(&b.source));
    let mut duplicates = acc.duplicates;
    duplicates.sort();
    Ok(CellPaintingMetadata {
        layout,
        compounds: acc.book.map.into_values().collect(),
        wells,
        rejects,
        duplicates,
    })
}

/// The canonical form of a well name: upper-case row letter(s) (one or two), two-digit column
/// (1..=99): `a1`, `A1`, `a01` -> `A01`. `None` when it is not a well name.
pub fn canonical_well(text: &str) -> Option<String> {
    let text = text.trim();
    let letters = text.bytes().take_while(u8::is_ascii_alphabetic).count();
    if !(1..=2).contains(&letters) {
        return None;
    }
    let (row, col) = text.split_at(letters);
    if col.is_empty() || col.len() > 3 || !col.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u32 = col.parse().ok()?;
    if !(1..=99).contains(&n) {
        return None;
    }
    Some(format!("{}{n:02}", row.to_ascii_uppercase()))
}

/// Whether a metadata value means "missing" (`""`, `NA`, `NaN`).
pub fn is_missing(value: &str) -> bool {
    matches!(value, "" | "NA" | "NaN" | "nan")
}

fn optional(value: &str) -> Option<String> {
    (!is_missing(value)).then(|| value.to_string())
}

/// A platemap `broad_sample` that names no compound: empty, `NA` or `DMSO`.
fn is_control_sample(value: &str) -> bool {
    is_missing(value) || value.eq_ignore_ascii_case("DMSO")
}

// ---------------------------------------------------------------------------------------------
// Reading tables.

struct Column {
    name: &'static str,
    required: bool,
}

const fn req(name: &'static str) -> Column {
    Column {
        name,
        required: true,
    }
}

const fn opt(name: &'static str) -> Column {
    Column {
        name,
        required: false,
    }
}

/// One data row: the requested columns' trimmed values (`""` for an absent optional column).
struct Row {
    source: RecordRef,
    values: Vec<String>,
}

fn io_error(path: &Path, source: io::Error) -> CellPaintingError {
    CellPaintingError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn list_dir(dir: &Path) -> Result<Vec<String>, CellPaintingError> {
    let entries = std::fs::read_dir(dir).map_err(|e| io_error(dir, e))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_error(dir, e))?;
        if let Some(name) = entry.file_name().to_str() {
            names.push(name.to_string());
        }
    }
    names.sort();
    Ok(names)
}

fn clean_header(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw)
        .trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
        .to_string()
}

/// Reads `dir/rel` as a delimited table with a header, keeping the requested columns.
/// Malformed rows go to `rejects`.
fn read_table(
    dir: &Path,
    rel: &str,
    delimiter: u8,
    columns: &[Column],
    rejects: &mut Vec<MetadataReject>,
) -> Result<Vec<Row>, CellPaintingError> {
    let path = dir.join(rel);
    let shown = || path.display().to_string();
    let bytes = std::fs::read(&path).map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound {
            CellPaintingError::MissingFile {
                path: shown(),
                what: "a required metadata file".to_string(),
            }
        } else {
            io_error(&path, source)
        }
    })?;
    let mut builder = csv::ReaderBuilder::new();
    builder
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true);
    let mut reader = builder.from_reader(bytes.as_slice());
    let lines = LineIndex::new(&bytes);
    let mut record = csv::ByteRecord::new();
    let read_error = |e: csv::Error| match e.into_kind() {
        csv::ErrorKind::Io(source) => io_error(&path, source),
        other => CellPaintingError::Malformed {
            path: shown(),
            message: format!("{other:?}"),
        },
    };
    if !reader.read_byte_record(&mut record).map_err(read_error)? {
        return Err(CellPaintingError::Malformed {
            path: shown(),
            message: "empty file: no header".to_string(),
        });
    }
    let header: Vec<String> = record.iter().map(clean_header).collect();
    let mut indices = Vec::with_capacity(columns.len());
    for column in columns {
        let index = header.iter().position(|h| h == column.name).or_else(|| {
            header
                .iter()
                .position(|h| h.eq_ignore_ascii_case(column.name))
        });
        if index.is_none() && column.required {
            return Err(CellPaintingError::MissingColumn {
                path: shown(),
                column: column.name.to_string(),
                available: header.join(", "),
            });
        }
        indices.push(index);
    }
    let width = header.len();
    let mut rows = Vec::new();
    // Records are read from `base`; a malformed record that swallowed several lines (an
    // unterminated quote) is rejected as its first line only, and reading starts again on the
    // line after it, so one bad quote loses nothing else.
    let mut base = usize::try_from(reader.position().byte()).unwrap_or(bytes.len());
    'restart: while base < bytes.len() {
        let mut reader = builder.from_reader(&bytes[base..]);
        while reader.read_byte_record(&mut record).map_err(read_error)? {
            let start = base + record.position().map_or(0, |p| p.byte() as usize);
            let end = base + reader.position().byte() as usize;
            let source = RecordRef {
                file: rel.to_string(),
                line: lines.line_of(start as u64),
            };
            let blank = |f: &[u8]| f.iter().all(u8::is_ascii_whitespace);
            if record.iter().all(blank) {
                continue;
            }
            if record.len() < width || record.iter().skip(width).any(|f| !blank(f)) {
                rejects.push(MetadataReject {
                    source: source.clone(),
                    reason: format!(
                        "expected {width} fields as in the header, found {}",
                        record.len()
                    ),
                });
                if let Some(next) = lines.after_line_of(start)
                    && next < end
                {
                    base = next;
                    continue 'restart;
                }
                continue;
            }
            let mut values = Vec::with_capacity(columns.len());
            let mut bad = None;
            for (column, index) in columns.iter().zip(&indices) {
                let raw = index.and_then(|i| record.get(i)).unwrap_or_default();
                match std::str::from_utf8(raw) {
                    Ok(text) => values.push(text.trim().to_string()),
                    Err(_) => {
                        bad = Some(column.name);
                        break;
                    }
                }
            }
            match bad {
                Some(name) => rejects.push(MetadataReject {
                    source,
                    reason: format!("column {name} is not valid UTF-8"),
                }),
                None => rows.push(Row { source, values }),
            }
        }
        break;
    }
    Ok(rows)
}

/// Line numbers from byte offsets. The csv reader's own line count is off after blank lines and
/// with CRLF line ends, and its record offsets may point at the previous line's terminator.
struct LineIndex<'a> {
    bytes: &'a [u8],
    newlines: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(bytes: &'a [u8]) -> LineIndex<'a> {
        let newlines = bytes
            .iter()
            .enumerate()
            .filter_map(|(i, b)| (*b == b'\n').then_some(i))
            .collect();
        LineIndex { bytes, newlines }
    }

    /// The offset where the line after the one holding the record at `offset` starts.
    fn after_line_of(&self, offset: usize) -> Option<usize> {
        let mut at = offset;
        while matches!(self.bytes.get(at), Some(b'\r' | b'\n')) {
            at += 1;
        }
        let i = self.newlines.partition_point(|&p| p < at);
        self.newlines.get(i).map(|p| p + 1)
    }

    /// The 1-based line of the first byte of the record found at `offset`.
    fn line_of(&self, offset: u64) -> u64 {
        let mut at = usize::try_from(offset).unwrap_or(usize::MAX);
        while matches!(self.bytes.get(at), Some(b'\r' | b'\n')) {
            at += 1;
        }
        1 + self.newlines.partition_point(|&p| p < at) as u64
    }
}

fn jump_name<'a>(file: &'a str, suffix: &str) -> Option<&'a str> {
    file.strip_suffix(suffix).filter(|n| !n.is_empty())
}

// ---------------------------------------------------------------------------------------------
// Assembling.

#[derive(Default)]
struct CompoundBook {
    map: BTreeMap<String, CpCompound>,
    /// Compound prefix (first 13 characters) -> ids defined by the metadata (not aliases).
    by_prefix: HashMap<String, Vec<String>>,
    /// Ids whose JUMP `control_type` is `negcon`.
    negcon: HashSet<String>,
}

#[derive(Default)]
struct Accumulator {
    book: CompoundBook,
    rejects: Vec<MetadataReject>,
    duplicates: Vec<RecordRef>,
}

impl Accumulator {
    fn reject(&mut self, source: RecordRef, reason: String) {
        self.rejects.push(MetadataReject { source, reason });
    }

    /// Adds a compound row; a repeat is merged (same SMILES) or rejected. Returns whether the
    /// row now defines (or repeats) the compound.
    fn add_compound(&mut self, compound: CpCompound) -> bool {
        match self.book.map.get(&compound.broad_sample) {
            Some(prev) if prev.smiles == compound.smiles => {
                self.duplicates.push(compound.source);
                true
            }
            Some(prev) => {
                let reason = format!(
                    "broad_sample {} is already defined at {} with SMILES {}; this row gives {}",
                    compound.broad_sample,
                    prev.source,
                    prev.smiles.as_deref().unwrap_or("(none)"),
                    compound.smiles.as_deref().unwrap_or("(none)"),
                );
                self.reject(compound.source, reason);
                false
            }
            None => {
                if let Some(prefix) = compound.broad_sample.get(..PREFIX_LEN) {
                    self.book
                        .by_prefix
                        .entry(prefix.to_string())
                        .or_default()
                        .push(compound.broad_sample.clone());
                }
                self.book
                    .map
                    .insert(compound.broad_sample.clone(), compound);
                true
            }
        }
    }

    /// The compound key of a CDRP platemap `broad_sample`: exact, else by compound prefix
    /// when unambiguous (adding an alias compound under the platemap's id).
    fn resolve_cdrp(&mut self, id: &str) -> Result<String, String> {
        if self.book.map.contains_key(id) {
            return Ok(id.to_string());
        }
        let not_found = || format!("broad_sample {id} is not in {CDRP_ANNOTATIONS}");
        let Some(prefix) = id.get(..PREFIX_LEN) else {
            return Err(not_found());
        };
        let Some(candidates) = self.book.by_prefix.get(prefix) else {
            return Err(format!(
                "{}, nor is any BROAD_ID starting with {prefix}",
                not_found()
            ));
        };
        let found: Vec<&CpCompound> = candidates
            .iter()
            .filter_map(|c| self.book.map.get(c))
            .collect();
        let smiles: BTreeSet<Option<&str>> = found.iter().map(|c| c.smiles.as_deref()).collect();
        match (found.first(), smiles.len()) {
            (Some(first), 1) => {
                let alias = CpCompound {
                    broad_sample: id.to_string(),
                    ..(*first).clone()
                };
                self.book.map.insert(id.to_string(), alias);
                Ok(id.to_string())
            }
            _ => Err(format!(
                "{}, and the BROAD_IDs starting with {prefix} ({}) give different SMILES",
                not_found(),
                candidates.join(", ")
            )),
        }
    }
}

/// Length of the compound part of a Broad id: `BRD-K12345678`.
const PREFIX_LEN: usize = 13;

/// One plate: its barcode and the platemap it uses.
struct PlateRow {
    barcode: String,
    platemap: String,
    source: RecordRef,
}

/// A platemap row, resolved.
struct MapWell {
    well: String,
    broad_sample: Option<String>,
    control: bool,
    source: RecordRef,
}

/// Platemap name -> its wells (`None`: the file is missing, its plates were rejected).
type Platemaps = BTreeMap<String, Option<Vec<MapWell>>>;

/// Reads `barcode_platemap.csv`; `to_platemap` maps `Plate_Map_Name` to a known platemap or
/// says why not.
fn read_barcodes(
    dir: &Path,
    acc: &mut Accumulator,
    to_platemap: impl Fn(&str) -> Result<String, String>,
) -> Result<Vec<PlateRow>, CellPaintingError> {
    let rows = read_table(
        dir,
        BARCODE_PLATEMAP,
        b',',
        &[req("Plate_Map_Name"), req("Assay_Plate_Barcode")],
        &mut acc.rejects,
    )?;
    let mut plates: Vec<PlateRow> = Vec::new();
    let mut seen: HashMap<String, (usize, RecordRef)> = HashMap::new();
    for row in rows {
        let (map_name, barcode) = (&row.values[0], &row.values[1]);
        if is_missing(barcode) {
            acc.reject(row.source, "empty Assay_Plate_Barcode".to_string());
            continue;
        }
        let platemap = match to_platemap(map_name) {
            Ok(p) => p,
            Err(reason) => {
                acc.reject(row.source, reason);
                continue;
            }
        };
        if let Some((index, first)) = seen.get(barcode) {
            if plates[*index].platemap == platemap {
                acc.duplicates.push(row.source);
            } else {
                let reason = format!(
                    "plate {barcode} is already mapped to {} at {first}",
                    plates[*index].platemap
                );
                acc.reject(row.source, reason);
            }
            continue;
        }
        seen.insert(barcode.clone(), (plates.len(), row.source.clone()));
        plates.push(PlateRow {
            barcode: barcode.clone(),
            platemap,
            source: row.source,
        });
    }
    Ok(plates)
}

/// Reads one platemap file into resolved wells; `resolve` maps a non-control `broad_sample` to
/// its compound key and control flag, or says why not.
fn read_platemap(
    dir: &Path,
    rel: &str,
    acc: &mut Accumulator,
    mut resolve: impl FnMut(&mut Accumulator, &str) -> Result<(String, bool), String>,
) -> Result<Vec<MapWell>, CellPaintingError> {
    let rows = read_table(
        dir,
        rel,
        b'\t',
        &[req("well_position"), req("broad_sample")],
        &mut acc.rejects,
    )?;
    let mut wells = Vec::with_capacity(rows.len());
    let mut seen: HashMap<String, RecordRef> = HashMap::new();
    for row in rows {
        let (position, sample) = (&row.values[0], &row.values[1]);
        let Some(well) = canonical_well(position) else {
            acc.reject(row.source, format!("bad well_position {position:?}"));
            continue;
        };
        if let Some(first) = seen.get(&well) {
            let reason = format!("well {well} is already listed at {first}");
            acc.reject(row.source, reason);
            continue;
        }
        let (broad_sample, control) = if is_control_sample(sample) {
            (None, true)
        } else {
            match resolve(acc, sample) {
                Ok((key, control)) => (Some(key), control),
                Err(reason) => {
                    acc.reject(row.source, format!("well {well}: {reason}"));
                    continue;
                }
            }
        };
        seen.insert(well.clone(), row.source.clone());
        wells.push(MapWell {
            well,
            broad_sample,
            control,
            source: row.source,
        });
    }
    Ok(wells)
}

/// A platemap name that is safe as a file name.
fn safe_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

fn read_cdrp(
    dir: &Path,
    acc: &mut Accumulator,
) -> Result<(Vec<PlateRow>, Platemaps), CellPaintingError> {
    let rows = read_table(
        dir,
        CDRP_ANNOTATIONS,
        b',',
        &[req("BROAD_ID"), req("CPD_SMILES"), opt("CPD_NAME")],
        &mut acc.rejects,
    )?;
    for row in rows {
        let (id, smiles, name) = (&row.values[0], &row.values[1], &row.values[2]);
        if is_missing(id) {
            acc.reject(row.source, "empty BROAD_ID".to_string());
            continue;
        }
        acc.add_compound(CpCompound {
            broad_sample: id.clone(),
            smiles: optional(smiles),
            name: optional(name),
            source: row.source,
        });
    }
    let plates = read_barcodes(dir, acc, |name| {
        if safe_name(name) {
            Ok(name.to_string())
        } else {
            Err(format!("Plate_Map_Name {name:?} is not a usable file name"))
        }
    })?;
    let mut platemaps = Platemaps::new();
    for plate in &plates {
        if platemaps.contains_key(&plate.platemap) {
            continue;
        }
        let rel = format!("{CDRP_PLATEMAP_DIR}/{}{CDRP_PLATEMAP_EXT}", plate.platemap);
        let wells = match read_platemap(dir, &rel, acc, |acc, id| {
            acc.resolve_cdrp(id).map(|key| (key, false))
        }) {
            Ok(w) => Some(w),
            Err(CellPaintingError::MissingFile { .. }) => None,
            Err(e) => return Err(e),
        };
        platemaps.insert(plate.platemap.clone(), wells);
    }
    for plate in &plates {
        if let Some(None) = platemaps.get(&plate.platemap) {
            let reason = format!(
                "plate {}: platemap file {CDRP_PLATEMAP_DIR}/{}{CDRP_PLATEMAP_EXT} not found",
                plate.barcode, plate.platemap
            );
            acc.reject(plate.source.clone(), reason);
        }
    }
    Ok((plates, platemaps))
}

fn read_jump(
    dir: &Path,
    acc: &mut Accumulator,
) -> Result<(Vec<PlateRow>, Platemaps), CellPaintingError> {
    let names = list_dir(dir)?;
    let metadata: Vec<&str> = names
        .iter()
        .filter(|n| jump_name(n, JUMP_METADATA_SUFFIX).is_some())
        .map(String::as_str)
        .collect();
    let maps: Vec<String> = names
        .iter()
        .filter_map(|n| jump_name(n, JUMP_PLATEMAP_SUFFIX))
        .map(str::to_string)
        .collect();
    if metadata.is_empty() {
        return Err(CellPaintingError::MissingFile {
            path: dir
                .join(format!("*{JUMP_METADATA_SUFFIX}"))
                .display()
                .to_string(),
            what: "JUMP compound metadata".to_string(),
        });
    }
    for file in metadata {
        let rows = read_table(
            dir,
            file,
            b'\t',
            &[
                req("broad_sample"),
                req("smiles"),
                opt("pert_iname"),
                opt("control_type"),
            ],
            &mut acc.rejects,
        )?;
        for row in rows {
            let (id, smiles, name, control_type) = (
                &row.values[0],
                &row.values[1],
                &row.values[2],
                &row.values[3],
            );
            if is_missing(id) {
                if is_missing(control_type) {
                    acc.reject(
                        row.source,
                        "no broad_sample (and no control_type)".to_string(),
                    );
                }
                // Otherwise the row describes the control wells (DMSO), which have no id.
                continue;
            }
            let defined = acc.add_compound(CpCompound {
                broad_sample: id.clone(),
                smiles: optional(smiles),
                name: optional(name),
                source: row.source,
            });
            if defined && control_type == "negcon" {
                acc.book.negcon.insert(id.clone());
            }
        }
    }
    let plates = if dir.join(BARCODE_PLATEMAP).exists() {
        read_barcodes(dir, acc, |name| {
            let base = name
                .strip_suffix(".tsv")
                .or_else(|| name.strip_suffix(".txt"))
                .unwrap_or(name);
            let base = base.strip_suffix("_compound_platemap").unwrap_or(base);
            if maps.iter().any(|m| m == base) {
                Ok(base.to_string())
            } else {
                Err(format!(
                    "Plate_Map_Name {name:?}: no {base}{JUMP_PLATEMAP_SUFFIX} in the directory"
                ))
            }
        })?
    } else {
        maps.iter()
            .map(|m| PlateRow {
                barcode: m.clone(),
                platemap: m.clone(),
                source: RecordRef {
                    file: format!("{m}{JUMP_PLATEMAP_SUFFIX}"),
                    line: 1,
                },
            })
            .collect()
    };
    let mut platemaps = Platemaps::new();
    for plate in &plates {
        if platemaps.contains_key(&plate.platemap) {
            continue;
        }
        let rel = format!("{}{JUMP_PLATEMAP_SUFFIX}", plate.platemap);
        let wells = read_platemap(dir, &rel, acc, |acc, id| {
            if acc.book.map.contains_key(id) {
                Ok((id.to_string(), acc.book.negcon.contains(id)))
            } else {
                Err(format!(
                    "broad_sample {id} is in no *{JUMP_METADATA_SUFFIX}"
                ))
            }
        })?;
        platemaps.insert(plate.platemap.clone(), Some(wells));
    }
    Ok((plates, platemaps))
}
