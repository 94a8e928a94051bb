//! Finding the channel images of every site in plate folders as they are distributed:
//!
//! - **CDRP** (Bray 2017, cpg0012): `ROOT/<PLATE>-<CHANNEL>/cdp2bioactives_<well>_s<site>_w<n><UUID>.tif`,
//!   the channel given by the wavelength `w<n>`;
//! - **Phenix** (JUMP): `ROOT/<PLATE>[__<date>]/[Images/]r<row>c<col>f<field>p<plane>-ch<n>sk1fk1fl1.tiff`;
//! - **load_data**: a CellProfiler `load_data.csv` naming every site's files
//!   (`Metadata_Plate, Metadata_Well, Metadata_Site, FileName_Orig<X>, PathName_Orig<X>`), with the
//!   CDRP lists' known bug handled: their AGP and Mito columns name the same (`_w5`, Mito) file,
//!   and the AGP file is the site's `_w4` file in the AGP folder.
//!
//! [`scan_plates`] returns [`SiteImages`] (one per complete site, files in the pipeline's output
//! channel order, sorted by plate, well, site) and [`ImageReject`]s: file names that do not
//! follow the layout, channels missing from the map, sites with a missing channel, sites imaged
//! twice. Nothing is guessed: a site with a problem is rejected whole.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::images::settings::{ImageLayout, ImagesSection};
use crate::sources::cellpainting::canonical_well;

/// The channel files of one site, in output channel order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteImages {
    /// Plate barcode.
    pub plate: String,
    /// Canonical well (`A01`).
    pub well: String,
    /// Site (field) number, from 1.
    pub site: u32,
    /// One file per output channel.
    pub files: Vec<PathBuf>,
}

impl SiteImages {
    /// The view key, as the paper's sample index writes it: `24277-A01-1`.
    pub fn key(&self) -> String {
        format!("{}-{}-{}", self.plate, self.well, self.site)
    }
}

/// An image file or site that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ImageReject {
    /// Plate, when known.
    pub plate: Option<String>,
    /// Well, when known.
    pub well: Option<String>,
    /// Site, when known.
    pub site: Option<u32>,
    /// Output channel (stain), when known.
    pub channel: Option<String>,
    /// The file (or the load_data row, as `file:line`).
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

/// A fatal error: the image root or the load_data list cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum PlateScanError {
    /// A directory or file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The load_data list lacks a column.
    #[error("{path}: no column {column}")]
    MissingColumn {
        /// The list.
        path: String,
        /// The column.
        column: String,
    },
    /// The load_data list is not CSV.
    #[error("{path}: {source}")]
    Csv {
        /// The list.
        path: String,
        /// The cause.
        source: csv::Error,
    },
}

/// What a scan found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlateScan {
    /// Complete sites, sorted by (plate, well, site).
    pub sites: Vec<SiteImages>,
    /// Problems, sorted.
    pub rejects: Vec<ImageReject>,
    /// Files that are not TIFFs (ignored).
    pub other_files: u64,
}

/// One channel file found, before sites are assembled.
#[derive(Debug, Clone)]
struct Found {
    plate: String,
    well: String,
    site: u32,
    channel: usize,
    path: PathBuf,
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> PlateScanError + '_ {
    move |source| PlateScanError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, PlateScanError> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(io_err(dir))? {
        out.push(e.map_err(io_err(dir))?.path());
    }
    out.sort();
    Ok(out)
}

fn is_tiff(path: &Path) -> bool {
    matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("tif" | "tiff")
    )
}

/// Scans `source` (a folder of plates, or a load_data CSV for that layout) with the
/// section's layout and channel map.
pub fn scan_plates(source: &Path, images: &ImagesSection) -> Result<PlateScan, PlateScanError> {
    let index = images.output_index();
    let mut scan = PlateScan::default();
    let mut found = Vec::new();
    match images.layout {
        ImageLayout::Cdrp => scan_cdrp(source, &index, &mut found, &mut scan)?,
        ImageLayout::Phenix => scan_phenix(source, &index, &mut found, &mut scan)?,
        ImageLayout::LoadData => read_load_data(source, images, &index, &mut found, &mut scan)?,
    }
    assemble(found, &images.channels, &mut scan);
    scan.rejects.sort();
    Ok(scan)
}

fn reject(path: &Path, reason: impl Into<String>) -> ImageReject {
    ImageReject {
        plate: None,
        well: None,
        site: None,
        channel: None,
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// Parses `cdp2bioactives_a01_s1_w2<UUID>.tif` into (well, site, wavelength `w2`).
pub fn parse_cdrp_name(name: &str) -> Option<(String, u32, String)> {
    let stem = name.rsplit_once('.')?.0;
    let mut parts = stem.splitn(4, '_');
    let _prefix = parts.next()?;
    let well = canonical_well(parts.next()?)?;
    let site: u32 = parts.next()?.strip_prefix('s')?.parse().ok()?;
    let rest = parts.next()?.strip_prefix('w')?;
    // The wavelength is followed by a 36-character UUID (8-4-4-4-12), which may start with a
    // digit; without a UUID the wavelength is the whole rest.
    let wavelength = if rest.len() > 36 && is_uuid(&rest[rest.len() - 36..]) {
        &rest[..rest.len() - 36]
    } else {
        rest
    };
    if wavelength.is_empty() || !wavelength.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((well, site, format!("w{wavelength}")))
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        })
}

fn scan_cdrp(
    root: &Path,
    index: &BTreeMap<String, usize>,
    found: &mut Vec<Found>,
    scan: &mut PlateScan,
) -> Result<(), PlateScanError> {
    for dir in sorted_entries(root)? {
        if !dir.is_dir() {
            continue;
        }
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let Some((plate, _channel_folder)) = name.rsplit_once('-') else {
            scan.rejects
                .push(reject(&dir, "folder name is not <PLATE>-<CHANNEL>"));
            continue;
        };
        for path in sorted_entries(&dir)? {
            if !is_tiff(&path) {
                scan.other_files += 1;
                continue;
            }
            let file = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let Some((well, site, wavelength)) = parse_cdrp_name(file) else {
                let mut r = reject(
                    &path,
                    "file name is not <prefix>_<well>_s<site>_w<n><UUID>.tif",
                );
                r.plate = Some(plate.to_string());
                scan.rejects.push(r);
                continue;
            };
            push_found(found, scan, plate, well, site, &wavelength, index, path);
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn push_found(
    found: &mut Vec<Found>,
    scan: &mut PlateScan,
    plate: &str,
    well: String,
    site: u32,
    file_channel: &str,
    index: &BTreeMap<String, usize>,
    path: PathBuf,
) {
    match index.get(file_channel) {
        Some(&channel) => found.push(Found {
            plate: plate.to_string(),
            well,
            site,
            channel,
            path,
        }),
        None => scan.rejects.push(ImageReject {
            plate: Some(plate.to_string()),
            well: Some(well),
            site: Some(site),
            channel: None,
            path: path.display().to_string(),
            reason: format!("channel {file_channel} is not in the pipeline's channel map"),
        }),
    }
}

/// Parses `r01c01f01p01-ch1sk1fk1fl1.tiff` into (well, field, plane, channel `ch1`).
pub fn parse_phenix_name(name: &str) -> Option<(String, u32, u32, String)> {
    let stem = name.rsplit_once('.')?.0;
    let (position, rest) = stem.split_once('-')?;
    let num = |s: &str, tag: char| -> Option<(u32, usize)> {
        let s = s.strip_prefix(tag)?;
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        Some((s[..digits].parse().ok()?, digits + 1))
    };
    let (row, a) = num(position, 'r')?;
    let (col, b) = num(&position[a..], 'c')?;
    let (field, c) = num(&position[a + b..], 'f')?;
    let (plane, d) = num(&position[a + b + c..], 'p')?;
    if a + b + c + d != position.len() || !(1..=26).contains(&row) {
        return None;
    }
    let channel = rest.strip_prefix("ch")?;
    let digits = channel.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let well = canonical_well(&format!("{}{col}", char::from(b'A' + (row - 1) as u8)))?;
    Some((well, field, plane, format!("ch{}", &channel[..digits])))
}

fn scan_phenix(
    root: &Path,
    index: &BTreeMap<String, usize>,
    found: &mut Vec<Found>,
    scan: &mut PlateScan,
) -> Result<(), PlateScanError> {
    for dir in sorted_entries(root)? {
        if !dir.is_dir() {
            continue;
        }
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let plate = name.split_once("__").map_or(name, |(p, _)| p).to_string();
        let images = dir.join("Images");
        let folder = if images.is_dir() { images } else { dir.clone() };
        for path in sorted_entries(&folder)? {
            if !is_tiff(&path) {
                scan.other_files += 1;
                continue;
            }
            let file = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let Some((well, site, plane, channel)) = parse_phenix_name(file) else {
                let mut r = reject(
                    &path,
                    "file name is not r<row>c<col>f<field>p<plane>-ch<n>....tiff",
                );
                r.plate = Some(plate.clone());
                scan.rejects.push(r);
                continue;
            };
            if plane != 1 {
                let mut r = reject(
                    &path,
                    format!("plane {plane}: only single-plane sites (p01) are converted"),
                );
                r.plate = Some(plate.clone());
                r.well = Some(well);
                r.site = Some(site);
                scan.rejects.push(r);
                continue;
            }
            push_found(found, scan, &plate, well, site, &channel, index, path);
        }
    }
    Ok(())
}

fn read_load_data(
    csv_path: &Path,
    images: &ImagesSection,
    index: &BTreeMap<String, usize>,
    found: &mut Vec<Found>,
    scan: &mut PlateScan,
) -> Result<(), PlateScanError> {
    let base = csv_path.parent().unwrap_or(Path::new("."));
    let csv_err = |source| PlateScanError::Csv {
        path: csv_path.display().to_string(),
        source,
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(csv_path)
        .map_err(csv_err)?;
    let headers = reader.headers().map_err(csv_err)?.clone();
    let col = |name: &str| -> Result<usize, PlateScanError> {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| PlateScanError::MissingColumn {
                path: csv_path.display().to_string(),
                column: name.to_string(),
            })
    };
    let (c_plate, c_well, c_site) = (
        col("Metadata_Plate")?,
        col("Metadata_Well")?,
        col("Metadata_Site")?,
    );
    // (file channel, output index, FileName column, PathName column)
    let mut channels = Vec::new();
    for (file_channel, &out) in index {
        channels.push((
            file_channel.clone(),
            out,
            col(&format!("FileName_{file_channel}"))?,
            col(&format!("PathName_{file_channel}"))?,
        ));
    }
    let stain_of = |file_channel: &str| images.load_data.channel_map.get(file_channel).cloned();
    let agp = channels
        .iter()
        .find(|c| stain_of(&c.0).as_deref() == Some("AGP"))
        .map(|c| c.0.clone());
    let mito = channels
        .iter()
        .find(|c| stain_of(&c.0).as_deref() == Some("Mito"))
        .map(|c| c.0.clone());
    let agp_wavelength = images
        .cdrp
        .channel_map
        .iter()
        .find(|(_, s)| s.as_str() == "AGP")
        .map(|(w, _)| w.clone());
    let mut listings: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
    for (n, record) in reader.records().enumerate() {
        let line = n as u64 + 2;
        let at = format!("{}:{line}", csv_path.display());
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                scan.rejects.push(ImageReject {
                    plate: None,
                    well: None,
                    site: None,
                    channel: None,
                    path: at,
                    reason: format!("malformed row: {e}"),
                });
                continue;
            }
        };
        let field = |i: usize| record.get(i).unwrap_or("").trim();
        let plate = field(c_plate).to_string();
        let (Some(well), Ok(site)) = (canonical_well(field(c_well)), field(c_site).parse::<u32>())
        else {
            scan.rejects.push(ImageReject {
                plate: Some(plate),
                well: None,
                site: None,
                channel: None,
                path: at,
                reason: format!(
                    "Metadata_Well {:?} / Metadata_Site {:?} is not a well and a site number",
                    field(c_well),
                    field(c_site)
                ),
            });
            continue;
        };
        let name_of = |fc: &Option<String>| {
            fc.as_ref()
                .and_then(|fc| channels.iter().find(|c| &c.0 == fc))
                .map(|c| field(c.2).to_string())
        };
        let agp_mito_bug = agp.is_some() && name_of(&agp) == name_of(&mito);
        for (file_channel, out, c_name, c_path) in &channels {
            let dir = {
                let p = Path::new(field(*c_path));
                if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    base.join(p)
                }
            };
            let mut name = field(*c_name).to_string();
            if agp_mito_bug && Some(file_channel) == agp.as_ref() {
                // The list names the Mito (_w5) file for AGP too: find the site's AGP file.
                let listing = match listings.get(&dir) {
                    Some(l) => l,
                    None => {
                        let names = std::fs::read_dir(&dir)
                            .map(|rd| {
                                let mut v: Vec<String> = rd
                                    .filter_map(|e| e.ok())
                                    .filter_map(|e| e.file_name().to_str().map(String::from))
                                    .collect();
                                v.sort();
                                v
                            })
                            .unwrap_or_default();
                        listings.entry(dir.clone()).or_insert(names)
                    }
                };
                let want = parse_cdrp_name(&name).map(|(w, s, _)| (w, s));
                let hit = listing.iter().find(|f| {
                    parse_cdrp_name(f).is_some_and(|(w, s, wl)| {
                        Some((w, s)) == want && Some(&wl) == agp_wavelength.as_ref()
                    })
                });
                match hit {
                    Some(f) => name = f.clone(),
                    None => {
                        scan.rejects.push(ImageReject {
                            plate: Some(plate.clone()),
                            well: Some(well.clone()),
                            site: Some(site),
                            channel: Some(images.channels[*out].clone()),
                            path: at.clone(),
                            reason: format!(
                                "AGP and Mito name the same file {name:?} (the CDRP list bug) and \
                                 no {} file of this site is in {}",
                                agp_wavelength.as_deref().unwrap_or("AGP"),
                                dir.display()
                            ),
                        });
                        continue;
                    }
                }
            }
            if name.is_empty() {
                continue; // assembled as a missing channel
            }
            found.push(Found {
                plate: plate.clone(),
                well: well.clone(),
                site,
                channel: *out,
                path: dir.join(name),
            });
        }
    }
    Ok(())
}

/// Groups files into sites; a site missing a channel or with two files for one is rejected.
fn assemble(mut found: Vec<Found>, channels: &[String], scan: &mut PlateScan) {
    found.sort_by(|a, b| {
        (&a.plate, &a.well, a.site, a.channel, &a.path)
            .cmp(&(&b.plate, &b.well, b.site, b.channel, &b.path))
    });
    let mut i = 0;
    while i < found.len() {
        let j = i + found[i..]
            .iter()
            .take_while(|f| {
                (&f.plate, &f.well, f.site) == (&found[i].plate, &found[i].well, found[i].site)
            })
            .count();
        let group = &found[i..j];
        let first = &group[0];
        let site_reject = |channel: Option<usize>, path: &Path, reason: String| ImageReject {
            plate: Some(first.plate.clone()),
            well: Some(first.well.clone()),
            site: Some(first.site),
            channel: channel.map(|c| channels[c].clone()),
            path: path.display().to_string(),
            reason,
        };
        let mut files: Vec<Vec<&PathBuf>> = vec![Vec::new(); channels.len()];
        for f in group {
            files[f.channel].push(&f.path);
        }
        let twice: Vec<usize> = (0..channels.len())
            .filter(|&c| files[c].len() > 1)
            .collect();
        let missing: Vec<&str> = (0..channels.len())
            .filter(|&c| files[c].is_empty())
            .map(|c| channels[c].as_str())
            .collect();
        if !twice.is_empty() {
            for &c in &twice {
                for p in &files[c] {
                    scan.rejects.push(site_reject(
                        Some(c),
                        p,
                        format!(
                            "duplicated site: {} files for channel {} of this site; the site is skipped",
                            files[c].len(),
                            channels[c]
                        ),
                    ));
                }
            }
        } else if !missing.is_empty() {
            scan.rejects.push(site_reject(
                None,
                &group[0].path,
                format!(
                    "missing channel(s) {}; the site is skipped",
                    missing.join(", ")
                ),
            ));
        } else {
            scan.sites.push(SiteImages {
                plate: first.plate.clone(),
                well: first.well.clone(),
                site: first.site,
                files: files.into_iter().map(|v| v[0].clone()).collect(),
            });
        }
        i = j;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdrp_names_parse_even_when_the_uuid_starts_with_a_digit() {
        assert_eq!(
            parse_cdrp_name("cdp2bioactives_a01_s1_w2edcec6dc-b1e3-4ffc-80da-9b049a89447b.tif"),
            Some(("A01".into(), 1, "w2".into()))
        );
        assert_eq!(
            parse_cdrp_name("cdp2bioactives_p24_s6_w53dcec6dc-b1e3-4ffc-80da-9b049a89447b.tif"),
            Some(("P24".into(), 6, "w5".into()))
        );
        assert_eq!(
            parse_cdrp_name("cdp2bioactives_b03_s2_w4.tif"),
            Some(("B03".into(), 2, "w4".into()))
        );
        assert_eq!(parse_cdrp_name("thumbnail.tif"), None);
        assert_eq!(parse_cdrp_name("cdp2bioactives_zz_s1_w1.tif"), None);
    }

    #[test]
    fn phenix_names_parse() {
        assert_eq!(
            parse_phenix_name("r01c01f01p01-ch1sk1fk1fl1.tiff"),
            Some(("A01".into(), 1, 1, "ch1".into()))
        );
        assert_eq!(
            parse_phenix_name("r16c24f09p02-ch5sk1fk1fl1.tiff"),
            Some(("P24".into(), 9, 2, "ch5".into()))
        );
        assert_eq!(parse_phenix_name("r01c01-ch1.tiff"), None);
    }
}
