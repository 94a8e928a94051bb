//! The generated world's plates: for the wells of its Cell Painting platemaps, five-channel
//! 16-bit 696 x 520 TIFFs in the Bray 2017 / CDRP layout
//! (`images/<PLATE>-<CHANNEL>/cdp2bioactives_<well>_s<site>_w<n><UUID>.tif`), drawn by
//! [`crate::synth::cells`] from each compound's hidden mechanisms, and per plate a
//! CellProfiler-schema SQLite (`cellprofiler/<PLATE>/<PLATE>.sqlite`: Image, Nuclei, Cells,
//! Cytoplasm) with the nucleus centres and per-cell features measured from the drawn pixels.
//!
//! A compound's effect on a mechanism grows with its potency as a Hill curve at an effective
//! concentration of 10^-6.5 M (`level = 1 / (1 + 10^(6.5 - pXC50))`: 0.09 at pXC50 5.5, 0.5
//! at 6.5, 0.91 at 7.5), so the image phenotype tracks the pChEMBL thresholds of the labels.
//! Global phenotypes change every cell by `strength x level`; sparse ones change a
//! `cell_fraction x level` share of cells at full strength; cell-count ones remove
//! `strength x level` of the cells. Controls and compounds without actions are untreated.
//!
//! Every site is a function of (seed, plate, well, site): any subset, any thread count, same
//! bytes.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use tiff::encoder::{Compression, DeflateLevel, TiffEncoder, colortype};

use crate::atomic_file::AtomicFile;
use crate::export::label_tables::{Columns, ReadTableError, read_table};
use crate::sources::cellpainting::{CellPaintingError, MetadataLayout, read_metadata};
use crate::synth::cells::{
    CellMeasure, Effect, EffectKind, STAIN_ORDER, SiteSpec, WellVariation, draw_site,
};

/// Folder suffix and wavelength of each stain in the CDRP layout, in [`STAIN_ORDER`].
pub const CDRP_CHANNELS: [(&str, u32); 5] = [
    ("Hoechst", 1),
    ("ERSyto", 2),
    ("ERSytoBleed", 3),
    ("Ph_golgi", 4),
    ("Mito", 5),
];

/// log10 of the effective concentration (molar) at which phenotypes are drawn.
pub const EFFECTIVE_P_CONCENTRATION: f64 = 6.5;

/// TIFF compression of generated images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TiffCompression {
    /// Uncompressed, as the Bray 2017 files.
    None,
    /// Deflate with horizontal prediction (about half the size).
    Deflate,
    /// LZW, as many JUMP files.
    Lzw,
}

/// Which plates to draw.
#[derive(Debug, Clone)]
pub struct PlateOptions {
    /// The world directory (read: `cellpainting/`, `truth/`; written: `images/`,
    /// `cellprofiler/`).
    pub world: PathBuf,
    /// Plates (by barcode) to pass over before drawing.
    pub skip_plates: usize,
    /// This many plates (by barcode) after the skipped ones; all when `None`.
    pub plates: Option<usize>,
    /// The first this many wells of each plate (platemap order); all when `None`.
    pub wells_per_plate: Option<usize>,
    /// Sites per well.
    pub sites: u32,
    /// Image width.
    pub width: u32,
    /// Image height.
    pub height: u32,
    /// Camera binning ([`crate::synth::cells::SiteSpec::binning`]; 1: none).
    pub binning: u32,
    /// TIFF compression.
    pub compression: TiffCompression,
    /// Drawing threads.
    pub workers: usize,
    /// The world's seed (sites are seeded from it).
    pub seed: u64,
}

/// What was drawn.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlateReport {
    /// Plates.
    pub plates: u64,
    /// Wells.
    pub wells: u64,
    /// Sites.
    pub sites: u64,
    /// TIFF bytes written.
    pub bytes: u64,
    /// Cells drawn.
    pub cells: u64,
}

/// Errors drawing plates.
#[derive(Debug, thiserror::Error)]
pub enum PlatesError {
    /// The world's metadata cannot be read.
    #[error(transparent)]
    Metadata(#[from] CellPaintingError),
    /// A truth table cannot be read.
    #[error(transparent)]
    Truth(#[from] ReadTableError),
    /// Writing failed.
    #[error("{path}: {message}")]
    Write {
        /// The file.
        path: String,
        /// What happened.
        message: String,
    },
}

fn write_err(path: &Path, e: impl std::fmt::Display) -> PlatesError {
    PlatesError::Write {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// A mechanism's phenotype, as the truth table states it.
#[derive(Debug, Clone)]
struct Phenotype {
    kind: String,
    channel: Option<usize>,
    effect: Option<EffectKind>,
    strength: f64,
    cell_fraction: f64,
}

/// Per sample: the effects and cell loss its compound causes.
type Treatments = BTreeMap<String, (Vec<Effect>, f64)>;

fn read_treatments(world: &Path) -> Result<Treatments, PlatesError> {
    let truth = world.join("truth");
    let mut phenotypes: BTreeMap<String, Phenotype> = BTreeMap::new();
    let path = truth.join("mechanisms.parquet");
    let name = path.display().to_string();
    for b in read_table(&path)? {
        let c = Columns::new(&name, &b);
        let (id, kind, channel, effect) = (
            c.utf8("mechanism")?,
            c.utf8("phenotype")?,
            c.utf8("channel")?,
            c.utf8("effect")?,
        );
        let (strength, fraction) = (c.float64("strength")?, c.float64("cell_fraction")?);
        for i in 0..b.num_rows() {
            let opt = |a: &arrow_array::StringArray| crate::export::label_tables::opt_str(a, i);
            phenotypes.insert(
                id.value(i).to_string(),
                Phenotype {
                    kind: kind.value(i).to_string(),
                    channel: opt(channel).and_then(|s| STAIN_ORDER.iter().position(|x| *x == s)),
                    effect: opt(effect).and_then(|s| EffectKind::from_name(&s)),
                    strength: strength.value(i),
                    cell_fraction: fraction.value(i),
                },
            );
        }
    }
    let mut by_compound: BTreeMap<String, (Vec<Effect>, f64)> = BTreeMap::new();
    let path = truth.join("actions.parquet");
    let name = path.display().to_string();
    for b in read_table(&path)? {
        let c = Columns::new(&name, &b);
        let (compound, mechanism, potency) = (
            c.utf8("broad_id")?,
            c.utf8("mechanism")?,
            c.float64("potency")?,
        );
        for i in 0..b.num_rows() {
            let Some(p) = phenotypes.get(mechanism.value(i)) else {
                continue;
            };
            let level = 1.0 / (1.0 + 10f64.powf(EFFECTIVE_P_CONCENTRATION - potency.value(i)));
            let entry = by_compound
                .entry(compound.value(i).to_string())
                .or_default();
            match (p.kind.as_str(), p.channel, p.effect) {
                ("global", Some(channel), Some(kind)) => entry.0.push(Effect {
                    channel,
                    kind,
                    strength: (p.strength * level) as f32,
                    cell_fraction: 1.0,
                }),
                ("sparse", Some(channel), Some(kind)) => entry.0.push(Effect {
                    channel,
                    kind,
                    strength: p.strength as f32,
                    cell_fraction: p.cell_fraction * level,
                }),
                ("cell_count", _, _) => {
                    entry.1 = 1.0 - (1.0 - entry.1) * (1.0 - p.strength * level);
                }
                _ => {}
            }
        }
    }
    let mut out = Treatments::new();
    let path = truth.join("samples.parquet");
    let name = path.display().to_string();
    for b in read_table(&path)? {
        let c = Columns::new(&name, &b);
        let (sample, compound) = (c.utf8("broad_sample")?, c.utf8("broad_id")?);
        for i in 0..b.num_rows() {
            if let Some(t) = by_compound.get(compound.value(i)) {
                out.insert(sample.value(i).to_string(), t.clone());
            }
        }
    }
    Ok(out)
}

fn site_seed(seed: u64, plate: &str, well: &str, site: u32) -> u64 {
    let h = blake3::hash(format!("{seed}/{plate}/{well}/{site}").as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&h.as_bytes()[..8]);
    u64::from_le_bytes(b)
}

/// A deterministic UUID-shaped name part (version 4 layout) for a site's channel file.
fn file_uuid(seed: u64, plate: &str, well: &str, site: u32, channel: u32) -> String {
    let h = blake3::hash(format!("uuid/{seed}/{plate}/{well}/{site}/{channel}").as_bytes());
    let x = h.to_hex();
    let x = x.as_str();
    format!(
        "{}-{}-4{}-{}{}-{}",
        &x[0..8],
        &x[8..12],
        &x[13..16],
        ["8", "9", "a", "b"][usize::from(h.as_bytes()[20] & 3)],
        &x[17..20],
        &x[20..32]
    )
}

fn write_tiff(
    path: &Path,
    plane: &[u16],
    w: u32,
    h: u32,
    c: TiffCompression,
) -> Result<u64, PlatesError> {
    let mut buf = std::io::Cursor::new(Vec::with_capacity(plane.len() * 2 + 512));
    let enc = TiffEncoder::new(&mut buf).map_err(|e| write_err(path, e))?;
    let mut enc = match c {
        TiffCompression::None => enc,
        TiffCompression::Deflate => enc
            .with_compression(Compression::Deflate(DeflateLevel::Fast))
            .with_predictor(tiff::tags::Predictor::Horizontal),
        TiffCompression::Lzw => enc.with_compression(Compression::Lzw),
    };
    enc.write_image::<colortype::Gray16>(w, h, plane)
        .map_err(|e| write_err(path, e))?;
    let bytes = buf.into_inner();
    let mut f = AtomicFile::create(path).map_err(|e| write_err(path, e))?;
    f.write_all(&bytes)
        .and_then(|()| f.commit())
        .map_err(|e| write_err(path, e))?;
    Ok(bytes.len() as u64)
}

/// A drawn site: (job index, TIFF bytes, cells).
type DrawnJob = (usize, u64, Vec<CellMeasure>);

struct SiteJob<'a> {
    plate: &'a str,
    well: &'a str,
    site: u32,
    treatment: Option<&'a (Vec<Effect>, f64)>,
}

/// Draws the selected plates into `world/images` and `world/cellprofiler`; `progress` is told
/// of every site drawn.
pub fn write_plates(
    opts: &PlateOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<PlateReport, PlatesError> {
    let meta = read_metadata(&opts.world.join("cellpainting"), Some(MetadataLayout::Cdrp))?;
    let treatments = read_treatments(&opts.world)?;
    let mut by_plate: BTreeMap<&str, Vec<&crate::sources::cellpainting::CpWell>> = BTreeMap::new();
    for w in &meta.wells {
        by_plate.entry(w.plate.as_str()).or_default().push(w);
    }
    let mut report = PlateReport::default();
    let images = opts.world.join("images");
    for (plate, wells) in by_plate
        .into_iter()
        .skip(opts.skip_plates)
        .take(opts.plates.unwrap_or(usize::MAX))
    {
        let wells = &wells[..wells.len().min(opts.wells_per_plate.unwrap_or(usize::MAX))];
        for (folder, _) in CDRP_CHANNELS {
            let dir = images.join(format!("{plate}-{folder}"));
            std::fs::create_dir_all(&dir).map_err(|e| write_err(&dir, e))?;
        }
        let jobs: Vec<SiteJob> = wells
            .iter()
            .flat_map(|w| {
                let treatment = w
                    .broad_sample
                    .as_ref()
                    .filter(|_| !w.control)
                    .and_then(|b| treatments.get(b));
                (1..=opts.sites).map(move |site| SiteJob {
                    plate,
                    well: &w.well,
                    site,
                    treatment,
                })
            })
            .collect();
        let next = AtomicUsize::new(0);
        let results: Vec<Result<DrawnJob, PlatesError>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..opts.workers.max(1))
                .map(|_| {
                    s.spawn(|| {
                        let mut done = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(job) = jobs.get(i) else { break };
                            done.push(draw_job(opts, &images, job).map(|(b, c)| (i, b, c)));
                            progress(1);
                        }
                        done
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        });
        let mut measured: Vec<(usize, Vec<CellMeasure>)> = Vec::with_capacity(jobs.len());
        for r in results {
            let (i, bytes, cells) = r?;
            report.bytes += bytes;
            report.cells += cells.len() as u64;
            measured.push((i, cells));
        }
        measured.sort_by_key(|(i, _)| *i);
        let sqlite_dir = opts.world.join("cellprofiler").join(plate);
        std::fs::create_dir_all(&sqlite_dir).map_err(|e| write_err(&sqlite_dir, e))?;
        write_cellprofiler(
            &sqlite_dir.join(format!("{plate}.sqlite")),
            opts,
            &jobs,
            &measured,
        )?;
        report.plates += 1;
        report.wells += wells.len() as u64;
        report.sites += jobs.len() as u64;
    }
    Ok(report)
}

fn file_name(opts: &PlateOptions, job: &SiteJob, wavelength: u32) -> String {
    format!(
        "cdp2bioactives_{}_s{}_w{wavelength}{}.tif",
        job.well.to_lowercase(),
        job.site,
        file_uuid(opts.seed, job.plate, job.well, job.site, wavelength)
    )
}

fn draw_job(
    opts: &PlateOptions,
    images: &Path,
    job: &SiteJob,
) -> Result<(u64, Vec<CellMeasure>), PlatesError> {
    let (effects, cell_loss) = job.treatment.cloned().unwrap_or_default();
    let drawn = draw_site(&SiteSpec {
        width: opts.width,
        height: opts.height,
        binning: opts.binning,
        seed: site_seed(opts.seed, job.plate, job.well, job.site),
        effects,
        cell_loss,
        well: WellVariation::draw(site_seed(opts.seed, job.plate, job.well, u32::MAX)),
    });
    let mut bytes = 0;
    for (plane, (folder, wavelength)) in drawn.planes.iter().zip(CDRP_CHANNELS) {
        let path = images
            .join(format!("{}-{folder}", job.plate))
            .join(file_name(opts, job, wavelength));
        bytes += write_tiff(&path, plane, opts.width, opts.height, opts.compression)?;
    }
    Ok((bytes, drawn.cells))
}

fn write_cellprofiler(
    path: &Path,
    opts: &PlateOptions,
    jobs: &[SiteJob],
    measured: &[(usize, Vec<CellMeasure>)],
) -> Result<(), PlatesError> {
    let temp = path.with_extension("sqlite.tmp");
    let _ = std::fs::remove_file(&temp);
    let err = |e: rusqlite::Error| write_err(path, e);
    let mut conn = rusqlite::Connection::open(&temp).map_err(err)?;
    let stains = STAIN_ORDER;
    let per_stain = |prefix: &str| -> String {
        stains
            .iter()
            .map(|s| format!(", \"{prefix}_{s}\" FLOAT"))
            .collect()
    };
    let mut ddl = String::from(
        "CREATE TABLE Image (TableNumber TEXT, ImageNumber INTEGER, Image_Metadata_Plate TEXT, \
         Image_Metadata_Well TEXT, Image_Metadata_Site INTEGER, Image_Count_Cells FLOAT, \
         Image_Count_Nuclei FLOAT",
    );
    for s in stains {
        ddl.push_str(&format!(", \"Image_FileName_Orig{s}\" TEXT"));
    }
    ddl.push_str(&per_stain("Image_Intensity_MeanIntensity_Orig"));
    ddl.push_str(");\n");
    for (table, extra) in [
        (
            "Nuclei",
            "Nuclei_Location_Center_X FLOAT, Nuclei_Location_Center_Y FLOAT, Nuclei_AreaShape_Area FLOAT",
        ),
        (
            "Cells",
            "Cells_Location_Center_X FLOAT, Cells_Location_Center_Y FLOAT, Cells_AreaShape_Area FLOAT, \
             Cells_AreaShape_MajorAxisLength FLOAT, Cells_AreaShape_MinorAxisLength FLOAT",
        ),
        ("Cytoplasm", "Cytoplasm_AreaShape_Area FLOAT"),
    ] {
        ddl.push_str(&format!(
            "CREATE TABLE {table} (TableNumber TEXT, ImageNumber INTEGER, ObjectNumber INTEGER, {extra}{});\n",
            per_stain(&format!("{table}_Intensity_MeanIntensity"))
        ));
    }
    conn.execute_batch(&ddl).map_err(err)?;
    let tx = conn.transaction().map_err(err)?;
    for (image_number, (i, cells)) in measured.iter().enumerate() {
        let job = &jobs[*i];
        let table = blake3::hash(format!("{}/{}/{}", job.plate, job.well, job.site).as_bytes())
            .to_hex()[..32]
            .to_string();
        let image_number = image_number as i64 + 1;
        let names: Vec<String> = CDRP_CHANNELS
            .iter()
            .map(|(_, wl)| file_name(opts, job, *wl))
            .collect();
        let mut means = [0f64; 5];
        for c in cells {
            for (m, v) in means.iter_mut().zip(c.cell_mean) {
                *m += v / cells.len().max(1) as f64;
            }
        }
        tx.execute(
            "INSERT INTO Image VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            rusqlite::params![
                table, image_number, job.plate, job.well, job.site, cells.len() as f64,
                names[0], names[1], names[2], names[3], names[4],
                means[0], means[1], means[2], means[3], means[4]
            ],
        )
        .map_err(err)?;
        for (o, c) in cells.iter().enumerate() {
            let o = o as i64 + 1;
            let nm = c.nucleus_mean;
            tx.execute(
                "INSERT INTO Nuclei VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                rusqlite::params![
                    table,
                    image_number,
                    o,
                    c.x,
                    c.y,
                    f64::from(c.nucleus_area),
                    nm[0],
                    nm[1],
                    nm[2],
                    nm[3],
                    nm[4]
                ],
            )
            .map_err(err)?;
            let cm = c.cell_mean;
            tx.execute(
                "INSERT INTO Cells VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                rusqlite::params![
                    table,
                    image_number,
                    o,
                    c.x,
                    c.y,
                    f64::from(c.cell_area),
                    c.axes.0,
                    c.axes.1,
                    cm[0],
                    cm[1],
                    cm[2],
                    cm[3],
                    cm[4]
                ],
            )
            .map_err(err)?;
            let ym = c.cytoplasm_mean;
            tx.execute(
                "INSERT INTO Cytoplasm VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                rusqlite::params![
                    table,
                    image_number,
                    o,
                    f64::from(c.cell_area.saturating_sub(c.nucleus_area)),
                    ym[0],
                    ym[1],
                    ym[2],
                    ym[3],
                    ym[4]
                ],
            )
            .map_err(err)?;
        }
    }
    tx.commit().map_err(err)?;
    drop(conn);
    std::fs::rename(&temp, path).map_err(|e| write_err(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_parse_as_cdrp_names() {
        let u = file_uuid(1, "24277", "A01", 1, 2);
        let name = format!("cdp2bioactives_a01_s1_w2{u}.tif");
        assert_eq!(
            crate::sources::plate_images::parse_cdrp_name(&name),
            Some(("A01".into(), 1, "w2".into()))
        );
    }
}
