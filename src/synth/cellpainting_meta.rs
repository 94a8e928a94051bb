//! Writing Cell Painting compound metadata (CDRP and JUMP layouts) for generated worlds.
//!
//! [`write_cdrp`] and [`write_jump`] write exactly the files [`crate::sources::cellpainting`]
//! reads (contracts: `data-schemas/cellpainting_*.toml`), byte for byte the same for the same
//! arguments, each file atomically. Compounds are written in the order given and plates in the
//! order given; a platemap shared by several plates is written once, in name order.
//!
//! Nothing here judges the content beyond what the file system needs: duplicate compound ids,
//! wells naming unknown compounds or odd well names are written as given (the reader reports
//! them), so a generator can plant bad rows on purpose. What is refused (`InvalidInput`):
//! platemap or metadata names that are not plain file names, and plates that share a platemap
//! but list different wells.
//!
//! Missing values: the CDRP files leave them empty, the JUMP files write `NA`, as the real
//! files do. The reader trims values and reads `""`/`NA` as missing, so a name or SMILES that
//! is empty, `NA` or padded with spaces does not come back as written.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use crate::atomic_file::AtomicFile;
use crate::sources::cellpainting::{
    BARCODE_PLATEMAP, BARCODE_PLATEMAP_COLUMNS, CDRP_ANNOTATION_COLUMNS, CDRP_ANNOTATIONS,
    CDRP_PLATEMAP_COLUMNS, CDRP_PLATEMAP_DIR, CDRP_PLATEMAP_EXT, JUMP_METADATA_COLUMNS,
    JUMP_METADATA_SUFFIX, JUMP_PLATEMAP_COLUMNS, JUMP_PLATEMAP_SUFFIX,
};

/// One plate: its barcode, the platemap it uses and that platemap's wells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlateLayout {
    /// Plate barcode (`Assay_Plate_Barcode`).
    pub plate: String,
    /// Platemap name (`Plate_Map_Name`; the JUMP `NAME` of `NAME_compound_platemap.tsv`).
    pub platemap: String,
    /// `(well, broad_sample)`: wells as `A01`, `None` for a DMSO well.
    pub wells: Vec<(String, Option<String>)>,
}

/// One compound of the metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompoundEntry {
    /// The sample id the platemaps use (`BRD-K12345678-001-01-1`).
    pub broad_sample: String,
    /// Compound name (`CPD_NAME` / `pert_iname`).
    pub name: Option<String>,
    /// SMILES.
    pub smiles: Option<String>,
}

/// Concentration written for every compound well of a CDRP platemap (mmol/l).
pub const CDRP_MMOLES_PER_LITER: &str = "10";
/// Solvent written for every well.
pub const SOLVENT: &str = "DMSO";

/// The metadata row the real JUMP-Target files carry for the DMSO negative control (it has no
/// `broad_sample`); written last in every JUMP compound metadata file.
const JUMP_DMSO_ROW: [&str; 9] = [
    "NA",
    "IAZDPXIOMUYVGZ-UHFFFAOYSA-N",
    "DMSO",
    "679",
    "NA",
    "control",
    "negcon",
    "C[S+](C)[O-]",
    "InChI=1S/C2H6OS/c1-4(2)3/h1-2H3",
];

/// Writes a CDRP metadata directory: `chemical_annotations.csv`, `barcode_platemap.csv` and
/// `platemap/<platemap>.txt` for every platemap used. Creates `dir` and `dir/platemap`.
pub fn write_cdrp(
    dir: &Path,
    compounds: &[CompoundEntry],
    plates: &[PlateLayout],
) -> io::Result<()> {
    let platemaps = distinct_platemaps(plates)?;
    std::fs::create_dir_all(dir.join(CDRP_PLATEMAP_DIR))?;
    write_table(
        &dir.join(CDRP_ANNOTATIONS),
        b',',
        &CDRP_ANNOTATION_COLUMNS,
        compounds.iter().map(|c| {
            let mut row = vec![""; CDRP_ANNOTATION_COLUMNS.len()];
            row[0] = c.broad_sample.as_str();
            row[1] = c.name.as_deref().unwrap_or("");
            row[8] = c.smiles.as_deref().unwrap_or("");
            row
        }),
    )?;
    write_barcodes(dir, plates)?;
    for (name, wells) in platemaps {
        let path = dir
            .join(CDRP_PLATEMAP_DIR)
            .join(format!("{name}{CDRP_PLATEMAP_EXT}"));
        write_table(
            &path,
            b'\t',
            &CDRP_PLATEMAP_COLUMNS,
            wells.iter().map(|(well, sample)| match sample {
                Some(id) => vec![well.as_str(), id.as_str(), CDRP_MMOLES_PER_LITER, SOLVENT],
                None => vec![well.as_str(), "", "", SOLVENT],
            }),
        )?;
    }
    Ok(())
}

/// Writes a JUMP metadata directory: `<name>_compound_metadata.tsv` (the compounds, then the
/// DMSO control row), `<platemap>_compound_platemap.tsv` for every platemap used, and
/// `barcode_platemap.csv` when some plate is not named as its platemap (otherwise the reader
/// reports each platemap as one plate of that name, and several calls with different `name`s
/// can share a directory). Creates `dir`.
pub fn write_jump(
    dir: &Path,
    name: &str,
    compounds: &[CompoundEntry],
    plates: &[PlateLayout],
) -> io::Result<()> {
    check_file_name(name)?;
    let platemaps = distinct_platemaps(plates)?;
    std::fs::create_dir_all(dir)?;
    let na = |v: &Option<String>| -> String {
        match v.as_deref() {
            Some(s) if !s.is_empty() => s.to_string(),
            _ => "NA".to_string(),
        }
    };
    let rows: Vec<[String; 9]> = compounds
        .iter()
        .map(|c| {
            [
                c.broad_sample.clone(),
                "NA".to_string(),
                na(&c.name),
                "NA".to_string(),
                "NA".to_string(),
                "trt".to_string(),
                "NA".to_string(),
                na(&c.smiles),
                "NA".to_string(),
            ]
        })
        .collect();
    write_table(
        &dir.join(format!("{name}{JUMP_METADATA_SUFFIX}")),
        b'\t',
        &JUMP_METADATA_COLUMNS,
        rows.iter()
            .map(|r| r.iter().map(String::as_str).collect::<Vec<_>>())
            .chain(std::iter::once(JUMP_DMSO_ROW.to_vec())),
    )?;
    for (map, wells) in platemaps {
        write_table(
            &dir.join(format!("{map}{JUMP_PLATEMAP_SUFFIX}")),
            b'\t',
            &JUMP_PLATEMAP_COLUMNS,
            wells.iter().map(|(well, sample)| {
                vec![well.as_str(), sample.as_deref().unwrap_or(""), SOLVENT]
            }),
        )?;
    }
    if plates.iter().any(|p| p.plate != p.platemap) {
        write_barcodes(dir, plates)?;
    }
    Ok(())
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

fn check_file_name(name: &str) -> io::Result<()> {
    if name.is_empty()
        || name == "."
        || name == ".."
        || name.contains(['/', '\\', '\0'])
        || name.trim() != name
    {
        return Err(invalid(format!(
            "{name:?} cannot be used as a metadata file name"
        )));
    }
    Ok(())
}

/// A platemap's wells, as in [`PlateLayout::wells`].
type Wells = [(String, Option<String>)];

/// The platemaps the plates use, by name, each once; plates sharing one must agree on its wells.
fn distinct_platemaps(plates: &[PlateLayout]) -> io::Result<BTreeMap<&str, &Wells>> {
    let mut maps: BTreeMap<&str, (&str, &Wells)> = BTreeMap::new();
    for plate in plates {
        check_file_name(&plate.platemap)?;
        match maps.get(plate.platemap.as_str()) {
            Some((first, wells)) if *wells != plate.wells.as_slice() => {
                return Err(invalid(format!(
                    "plates {first:?} and {:?} share platemap {:?} but list different wells",
                    plate.plate, plate.platemap
                )));
            }
            Some(_) => {}
            None => {
                maps.insert(&plate.platemap, (&plate.plate, &plate.wells));
            }
        }
    }
    Ok(maps.into_iter().map(|(k, (_, w))| (k, w)).collect())
}

fn write_barcodes(dir: &Path, plates: &[PlateLayout]) -> io::Result<()> {
    write_table(
        &dir.join(BARCODE_PLATEMAP),
        b',',
        &BARCODE_PLATEMAP_COLUMNS,
        plates
            .iter()
            .map(|p| vec![p.platemap.as_str(), p.plate.as_str()]),
    )
}

/// Writes one delimited table atomically (`\n` line ends, fields quoted only where needed).
fn write_table<'a>(
    path: &Path,
    delimiter: u8,
    header: &[&str],
    rows: impl IntoIterator<Item = Vec<&'a str>>,
) -> io::Result<()> {
    let file = AtomicFile::create(path)?;
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(file);
    writer.write_record(header)?;
    for row in rows {
        writer.write_record(&row)?;
    }
    writer.into_inner().map_err(|e| e.into_error())?.commit()
}
