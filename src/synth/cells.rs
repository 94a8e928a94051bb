//! Drawing one generated Cell Painting site: U2OS-like cells in five 16-bit channels (12-bit
//! data, as the Bray 2017 camera), with the changes a compound's hidden mechanisms make, and
//! the per-cell measurements CellProfiler would take of the drawn cells.
//!
//! Each cell is an ellipse (the cell) around a smaller ellipse (the nucleus). Channels, as
//! stained in Cell Painting: DNA (Hoechst) fills the nucleus with chromatin texture; ER
//! (concanavalin A) is a perinuclear reticulum fading outwards; RNA (SYTO 14) marks 2-4
//! nucleoli and a dim cytoplasm; AGP (phalloidin, WGA) draws the cell border and a Golgi blob
//! beside the nucleus; Mito (MitoTracker) is punctate in the cytoplasm. Then a per-channel
//! background, an illumination fall-off towards the corners, and shot plus read noise.
//!
//! An [`Effect`] changes one channel of the cells it reaches: brighter, dimmer, larger,
//! smaller, textured or elongated; a global phenotype reaches every cell, a sparse one a few;
//! cell loss removes cells. Everything is a function of the [`SiteSpec`]'s seed.

use crate::rng::SplitMix64;

/// Channel order of a drawn site: DNA, ER, RNA, AGP, Mito.
pub const STAIN_ORDER: [&str; 5] = ["DNA", "ER", "RNA", "AGP", "Mito"];

/// Largest pixel value (12-bit camera data in 16-bit files).
pub const MAX_VALUE: f32 = 4095.0;

/// Mean cells per 696 x 520 site without treatment.
pub const DEFAULT_CELLS_PER_SITE: f64 = 100.0;

/// The change one mechanism makes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Effect {
    /// Channel index in [`STAIN_ORDER`].
    pub channel: usize,
    /// What changes.
    pub kind: EffectKind,
    /// Size of the change (0..1, already scaled by the compound's effect level).
    pub strength: f32,
    /// Fraction of cells it reaches.
    pub cell_fraction: f64,
}

/// The kinds of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EffectKind {
    /// Stain intensity up.
    Brighter,
    /// Stain intensity down.
    Dimmer,
    /// The stained compartment grows.
    Larger,
    /// It shrinks.
    Smaller,
    /// Coarser texture.
    Textured,
    /// The cell (and nucleus) stretches.
    Elongated,
}

impl EffectKind {
    /// From the truth table's name.
    pub fn from_name(name: &str) -> Option<EffectKind> {
        Some(match name {
            "brighter" => EffectKind::Brighter,
            "dimmer" => EffectKind::Dimmer,
            "larger" => EffectKind::Larger,
            "smaller" => EffectKind::Smaller,
            "textured" => EffectKind::Textured,
            "elongated" => EffectKind::Elongated,
            _ => return None,
        })
    }
}

/// What to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteSpec {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Camera binning: each pixel covers `binning x binning` sensor pixels, so cells look
    /// `1/binning` as large and an image of the same size holds `binning²` times the field
    /// (1: none, as the Bray 2017 images).
    pub binning: u32,
    /// Seed of everything random in the site.
    pub seed: u64,
    /// Morphological changes.
    pub effects: Vec<Effect>,
    /// Fraction of cells lost (0..1).
    pub cell_loss: f64,
    /// The well's staining and cell-size variation (shared by its sites).
    pub well: WellVariation,
}

/// How one well differs from another before any compound acts: each channel's staining
/// strength and the cells' size vary from well to well (dye batches, pipetting, confluence),
/// as in real screens. A compound's change that reaches every cell stands out of this
/// variation; one that reaches a few cells is diluted into it when features are averaged over
/// the well, but stays visible cell by cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WellVariation {
    /// Multiplier of each channel's stain (1 = none).
    pub stain: [f32; 5],
    /// Multiplier of cell and nucleus axes (1 = none).
    pub size: f32,
}

impl Default for WellVariation {
    fn default() -> Self {
        WellVariation {
            stain: [1.0; 5],
            size: 1.0,
        }
    }
}

/// Log-normal spread of [`WellVariation::stain`] (sd of its logarithm).
pub const STAIN_SPREAD: f64 = 0.2;
/// Log-normal spread of [`WellVariation::size`].
pub const SIZE_SPREAD: f64 = 0.08;

impl WellVariation {
    /// The variation of the well seeded by `seed`.
    pub fn draw(seed: u64) -> WellVariation {
        let mut rng = SplitMix64::new(seed);
        WellVariation {
            stain: std::array::from_fn(|_| (STAIN_SPREAD * rng.normal()).exp() as f32),
            size: (SIZE_SPREAD * rng.normal()).exp() as f32,
        }
    }
}

/// CellProfiler-like measurements of one drawn cell (intensities of the final pixels).
#[derive(Debug, Clone, PartialEq)]
pub struct CellMeasure {
    /// Nucleus centre, x (column), pixels.
    pub x: f64,
    /// Nucleus centre, y (row).
    pub y: f64,
    /// Nucleus area, pixels.
    pub nucleus_area: u32,
    /// Cell area, pixels.
    pub cell_area: u32,
    /// Cell major and minor axis lengths.
    pub axes: (f64, f64),
    /// Mean intensity per channel within the nucleus.
    pub nucleus_mean: [f64; 5],
    /// Mean intensity per channel within the cell.
    pub cell_mean: [f64; 5],
    /// Mean intensity per channel within the cytoplasm (cell minus nucleus).
    pub cytoplasm_mean: [f64; 5],
    /// Whether a mechanism changed this cell (truth, not a CellProfiler measurement).
    pub affected: bool,
}

/// A drawn site.
#[derive(Debug, Clone)]
pub struct DrawnSite {
    /// One plane per channel of [`STAIN_ORDER`], row-major.
    pub planes: Vec<Vec<u16>>,
    /// The cells.
    pub cells: Vec<CellMeasure>,
}

#[derive(Debug, Clone)]
struct Cell {
    x: f32,
    y: f32,
    angle: f32,
    nucleus: (f32, f32),
    cell: (f32, f32),
    gain: [f32; 5],
    texture: [f32; 5],
    nucleoli: Vec<(f32, f32)>,
    golgi: (f32, f32),
    /// Boundary irregularity: amplitudes and phases of the 2nd and 3rd harmonics.
    shape: [f32; 4],
    id: u32,
    affected: bool,
}

/// Per-channel background level and in-cell brightness (12-bit counts), like the Bray site.
const BACKGROUND: [f32; 5] = [180.0, 420.0, 480.0, 700.0, 330.0];
const BRIGHTNESS: [f32; 5] = [2000.0, 1500.0, 1100.0, 1300.0, 1500.0];

fn hash3(a: u32, b: u32, c: u32) -> u32 {
    let mut h =
        a.wrapping_mul(0x9E37_79B1) ^ b.wrapping_mul(0x85EB_CA77) ^ c.wrapping_mul(0xC2B2_AE3D);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    h ^= h >> 12;
    h = h.wrapping_mul(0x297A_2D39);
    h ^ (h >> 15)
}

/// Smooth value noise in [-1, 1] with features about `scale` pixels wide.
fn value_noise(x: f32, y: f32, scale: f32, salt: u32) -> f32 {
    let (fx, fy) = (x / scale, y / scale);
    let (x0, y0) = (fx.floor(), fy.floor());
    let (tx, ty) = (fx - x0, fy - y0);
    let (sx, sy) = (tx * tx * (3.0 - 2.0 * tx), ty * ty * (3.0 - 2.0 * ty));
    let corner = |dx: i32, dy: i32| {
        let h = hash3((x0 as i32 + dx) as u32, (y0 as i32 + dy) as u32, salt);
        (h as f32 / u32::MAX as f32) * 2.0 - 1.0
    };
    let top = corner(0, 0) + (corner(1, 0) - corner(0, 0)) * sx;
    let bottom = corner(0, 1) + (corner(1, 1) - corner(0, 1)) * sx;
    top + (bottom - top) * sy
}

impl SiteSpec {
    /// Pixels per unbinned sensor pixel (`1/binning`).
    pub fn pixel_scale(&self) -> f32 {
        1.0 / self.binning.max(1) as f32
    }
}

fn place_cells(spec: &SiteSpec, rng: &mut SplitMix64) -> Vec<Cell> {
    let ps = spec.pixel_scale();
    // The field covered, in unbinned 696 x 520 sites.
    let area =
        f64::from(spec.width) * f64::from(spec.height) / (696.0 * 520.0) / f64::from(ps * ps);
    let mean = DEFAULT_CELLS_PER_SITE * area * (1.0 - spec.cell_loss.clamp(0.0, 0.95));
    let n = (mean + rng.normal() * mean.sqrt()).round().max(0.0) as usize;
    let mut cells: Vec<Cell> = Vec::with_capacity(n);
    let mut tries = 0;
    while cells.len() < n && tries < n * 30 {
        tries += 1;
        let x = rng.unit() as f32 * spec.width as f32;
        let y = rng.unit() as f32 * spec.height as f32;
        if cells
            .iter()
            .any(|c| (c.x - x).powi(2) + (c.y - y).powi(2) < (18.0 * ps).powi(2))
        {
            continue;
        }
        let r = (9.0 + rng.unit() as f32 * 4.0) * spec.well.size * ps;
        let nucleus = (
            r * (1.1 + rng.unit() as f32 * 0.4),
            r * (0.75 + rng.unit() as f32 * 0.15),
        );
        let (long, short) = (2.2 + rng.unit() as f32 * 1.2, 1.7 + rng.unit() as f32 * 0.6);
        let nucleoli = (0..2 + rng.index(3))
            .map(|_| {
                let a = rng.unit() as f32 * std::f32::consts::TAU;
                let d = rng.unit() as f32 * 0.55;
                (a.cos() * d, a.sin() * d)
            })
            .collect();
        let a = rng.unit() as f32 * std::f32::consts::TAU;
        cells.push(Cell {
            x,
            y,
            angle: rng.unit() as f32 * std::f32::consts::PI,
            nucleus,
            cell: (nucleus.0 * long, nucleus.1 * short),
            gain: std::array::from_fn(|ch| (0.8 + rng.unit() as f32 * 0.4) * spec.well.stain[ch]),
            texture: [0.35, 0.5, 0.3, 0.4, 0.6],
            nucleoli,
            golgi: (a.cos() * 1.3, a.sin() * 1.3),
            shape: [
                0.08 + rng.unit() as f32 * 0.12,
                rng.unit() as f32 * std::f32::consts::TAU,
                0.05 + rng.unit() as f32 * 0.1,
                rng.unit() as f32 * std::f32::consts::TAU,
            ],
            id: cells.len() as u32 + 1,
            affected: false,
        });
    }
    for c in &mut cells {
        for e in &spec.effects {
            if !rng.chance(e.cell_fraction) {
                continue;
            }
            c.affected = true;
            let s = e.strength.clamp(0.0, 1.0);
            let ch = e.channel.min(4);
            match e.kind {
                EffectKind::Brighter => c.gain[ch] *= 1.0 + 1.5 * s,
                EffectKind::Dimmer => c.gain[ch] *= 1.0 - 0.8 * s,
                EffectKind::Textured => c.texture[ch] = (c.texture[ch] + 1.2 * s).min(1.6),
                EffectKind::Larger | EffectKind::Smaller => {
                    let f = if e.kind == EffectKind::Larger {
                        1.0 + 0.6 * s
                    } else {
                        1.0 - 0.4 * s
                    };
                    if ch == 0 {
                        c.nucleus = (c.nucleus.0 * f, c.nucleus.1 * f);
                        c.cell = (
                            c.cell.0.max(c.nucleus.0 * 1.3),
                            c.cell.1.max(c.nucleus.1 * 1.3),
                        );
                    } else {
                        c.cell = (
                            (c.cell.0 * f).max(c.nucleus.0 * 1.2),
                            (c.cell.1 * f).max(c.nucleus.1 * 1.2),
                        );
                    }
                }
                EffectKind::Elongated => {
                    let f = 1.0 + 1.2 * s;
                    c.cell = (c.cell.0 * f, c.cell.1 / f.sqrt());
                    if ch == 0 {
                        c.nucleus = (c.nucleus.0 * f.sqrt(), c.nucleus.1 / f.sqrt());
                    }
                }
            }
        }
    }
    cells
}

/// The cell's bounding box, clipped to the image: (x0, x1, y0, y1), exclusive ends.
fn bbox(c: &Cell, w: u32, h: u32) -> (usize, usize, usize, usize) {
    let r = c.cell.0.max(c.cell.1) * (1.0 + c.shape[0] + c.shape[2]) + 2.0;
    let clip = |v: f32, hi: u32| v.max(0.0).min(hi as f32) as usize;
    (
        clip(c.x - r, w),
        clip(c.x + r + 1.0, w),
        clip(c.y - r, h),
        clip(c.y + r + 1.0, h),
    )
}

/// Ellipse coordinates of pixel (x, y) in the cell's frame: (u, v) along its axes.
fn frame(c: &Cell, x: f32, y: f32) -> (f32, f32) {
    let (dx, dy) = (x - c.x, y - c.y);
    let (s, co) = c.angle.sin_cos();
    (dx * co + dy * s, -dx * s + dy * co)
}

fn radius2(u: f32, v: f32, axes: (f32, f32)) -> f32 {
    (u / axes.0).powi(2) + (v / axes.1).powi(2)
}

/// The cell's squared normalised radius at (u, v), its outline made irregular by two
/// harmonics of the polar angle.
fn cell_radius2(c: &Cell, u: f32, v: f32) -> f32 {
    let phi = v.atan2(u);
    let f = 1.0
        + c.shape[0] * (2.0 * phi + c.shape[1]).cos()
        + c.shape[2] * (3.0 * phi + c.shape[3]).cos();
    radius2(u, v, c.cell) / (f * f)
}

/// Draws the site.
pub fn draw_site(spec: &SiteSpec) -> DrawnSite {
    let mut rng = SplitMix64::new(spec.seed);
    let (w, h) = (spec.width, spec.height);
    let n = w as usize * h as usize;
    let cells = place_cells(spec, &mut rng);
    let salt = (spec.seed ^ (spec.seed >> 32)) as u32;
    // Texture grains are a fixed size on the sensor, so smaller in binned pixels.
    let ps = spec.pixel_scale();
    let mut signal: Vec<Vec<f32>> = vec![vec![0.0; n]; 5];
    for c in &cells {
        let (x0, x1, y0, y1) = bbox(c, w, h);
        for y in y0..y1 {
            for x in x0..x1 {
                let (u, v) = frame(c, x as f32 + 0.5, y as f32 + 0.5);
                let rc = cell_radius2(c, u, v);
                if rc >= 1.0 {
                    continue;
                }
                let rn = radius2(u, v, c.nucleus);
                let i = y * w as usize + x;
                let tex = |ch: usize, scale: f32| {
                    1.0 + c.texture[ch]
                        * value_noise(
                            x as f32,
                            y as f32,
                            scale * ps,
                            salt ^ c.id.wrapping_mul(31) ^ ch as u32,
                        )
                };
                // DNA: the nucleus, soft-edged, with chromatin texture.
                if rn < 1.15 {
                    let edge = ((1.15 - rn) / 0.3).min(1.0);
                    signal[0][i] +=
                        BRIGHTNESS[0] * c.gain[0] * edge * (1.0 - 0.35 * rn) * tex(0, 2.5);
                }
                // ER: perinuclear, fading outwards.
                let er = (-2.2 * rc).exp() * if rn < 1.0 { 0.35 } else { 1.0 };
                signal[1][i] += BRIGHTNESS[1] * c.gain[1] * er * tex(1, 3.0).max(0.0);
                // RNA: nucleoli and a dim cytoplasm.
                let mut rna = 0.25 * (1.0 - rc);
                if rn < 1.0 {
                    for &(nu, nv) in &c.nucleoli {
                        let d = (u / c.nucleus.0 - nu).powi(2) + (v / c.nucleus.1 - nv).powi(2);
                        rna += (-d / 0.02).exp();
                    }
                }
                signal[2][i] += BRIGHTNESS[2] * c.gain[2] * rna * tex(2, 2.0).max(0.0);
                // AGP: the membrane ring and a Golgi blob beside the nucleus.
                let ring = (-((rc.sqrt() - 0.93) / 0.07).powi(2)).exp();
                let g =
                    (u / c.nucleus.0 - c.golgi.0).powi(2) + (v / c.nucleus.1 - c.golgi.1).powi(2);
                let agp = 0.2 + ring + 0.9 * (-g / 0.12).exp();
                signal[3][i] += BRIGHTNESS[3] * c.gain[3] * agp * tex(3, 2.0).max(0.0);
                // Mito: punctate in the cytoplasm, denser near the nucleus.
                if rn >= 0.9 {
                    let punct =
                        value_noise(x as f32, y as f32, 1.6 * ps, salt ^ 0xA5A5 ^ c.id).max(0.0);
                    let mito = (1.0 - rc) * (0.3 + 2.0 * punct * c.texture[4]);
                    signal[4][i] += BRIGHTNESS[4] * c.gain[4] * mito;
                }
            }
        }
    }
    // Background, illumination fall-off, shot and read noise; 12-bit.
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let r2max = cx * cx + cy * cy;
    let mut planes: Vec<Vec<u16>> = Vec::with_capacity(5);
    for (ch, sig) in signal.iter().enumerate() {
        let mut out = vec![0u16; n];
        for y in 0..h as usize {
            let dy = y as f32 - cy;
            for x in 0..w as usize {
                let dx = x as f32 - cx;
                let illum = 1.0 - 0.3 * (dx * dx + dy * dy) / r2max;
                let i = y * w as usize + x;
                let clean = (BACKGROUND[ch] + sig[i]) * illum;
                let noise = rng.normal() as f32 * (12.0 + 0.9 * clean.sqrt());
                out[i] = (clean + noise).round().clamp(0.0, MAX_VALUE) as u16;
            }
        }
        planes.push(out);
    }
    let measures = cells.iter().map(|c| measure(c, &planes, w, h)).collect();
    DrawnSite {
        planes,
        cells: measures,
    }
}

fn measure(c: &Cell, planes: &[Vec<u16>], w: u32, h: u32) -> CellMeasure {
    let (x0, x1, y0, y1) = bbox(c, w, h);
    let (mut na, mut ca) = (0u32, 0u32);
    let (mut ns, mut cs) = ([0f64; 5], [0f64; 5]);
    for y in y0..y1 {
        for x in x0..x1 {
            let (u, v) = frame(c, x as f32 + 0.5, y as f32 + 0.5);
            if cell_radius2(c, u, v) >= 1.0 {
                continue;
            }
            let i = y * w as usize + x;
            ca += 1;
            let nucleus = radius2(u, v, c.nucleus) < 1.0;
            if nucleus {
                na += 1;
            }
            for ch in 0..5 {
                let p = f64::from(planes[ch][i]);
                cs[ch] += p;
                if nucleus {
                    ns[ch] += p;
                }
            }
        }
    }
    let mean = |s: f64, n: u32| if n > 0 { s / f64::from(n) } else { 0.0 };
    let axes = (
        2.0 * f64::from(c.cell.0.max(c.cell.1)),
        2.0 * f64::from(c.cell.0.min(c.cell.1)),
    );
    CellMeasure {
        x: f64::from(c.x),
        y: f64::from(c.y),
        nucleus_area: na,
        cell_area: ca,
        axes,
        nucleus_mean: std::array::from_fn(|ch| mean(ns[ch], na)),
        cell_mean: std::array::from_fn(|ch| mean(cs[ch], ca)),
        cytoplasm_mean: std::array::from_fn(|ch| mean(cs[ch] - ns[ch], ca.saturating_sub(na))),
        affected: c.affected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(effects: Vec<Effect>, cell_loss: f64) -> SiteSpec {
        SiteSpec {
            width: 696,
            height: 520,
            binning: 1,
            seed: 7,
            effects,
            cell_loss,
            well: WellVariation::default(),
        }
    }

    #[test]
    fn wells_vary_in_stain_and_size() {
        let plain = draw_site(&spec(vec![], 0.0));
        let mut stained = spec(vec![], 0.0);
        stained.well = WellVariation {
            stain: [1.5, 1.0, 1.0, 1.0, 1.0],
            size: 1.0,
        };
        let stained = draw_site(&stained);
        let mut larger = spec(vec![], 0.0);
        larger.well = WellVariation {
            stain: [1.0; 5],
            size: 1.2,
        };
        let larger = draw_site(&larger);
        let mean = |s: &DrawnSite, f: &dyn Fn(&CellMeasure) -> f64| {
            s.cells.iter().map(f).sum::<f64>() / s.cells.len() as f64
        };
        let dna = |c: &CellMeasure| c.nucleus_mean[0];
        let er = |c: &CellMeasure| c.cell_mean[1];
        let area = |c: &CellMeasure| f64::from(c.cell_area);
        let ratio = mean(&stained, &dna) / mean(&plain, &dna);
        assert!(ratio > 1.2, "DNA {ratio}");
        assert!((mean(&stained, &er) / mean(&plain, &er) - 1.0).abs() < 0.02);
        let ratio = mean(&larger, &area) / mean(&plain, &area);
        assert!(ratio > 1.25, "area {ratio}");
        let a = WellVariation::draw(1);
        assert_eq!(a, WellVariation::draw(1));
        assert_ne!(a, WellVariation::draw(2));
        let stains: Vec<f32> = (0..200)
            .flat_map(|s| WellVariation::draw(s).stain)
            .collect();
        let logs: Vec<f64> = stains.iter().map(|&x| f64::from(x).ln()).collect();
        let sd = (logs.iter().map(|l| l * l).sum::<f64>() / logs.len() as f64).sqrt();
        assert!((sd - STAIN_SPREAD).abs() < 0.03, "{sd}");
    }

    #[test]
    fn sites_are_deterministic_and_look_like_the_bray_site() {
        let a = draw_site(&spec(vec![], 0.0));
        let b = draw_site(&spec(vec![], 0.0));
        assert_eq!(a.planes, b.planes);
        assert!((80..=140).contains(&a.cells.len()), "{}", a.cells.len());
        // The real site's DNA channel: min 128, mean 309, max 2740 (12-bit).
        let dna = &a.planes[0];
        let mean = dna.iter().map(|&p| f64::from(p)).sum::<f64>() / dna.len() as f64;
        let max = dna.iter().copied().max().unwrap_or(0);
        assert!((180.0..500.0).contains(&mean), "DNA mean {mean}");
        assert!((1500..=4095).contains(&max), "DNA max {max}");
        for c in &a.cells {
            assert!(
                c.nucleus_mean[0] > c.cytoplasm_mean[0] * 1.5,
                "nuclei are DNA-bright"
            );
        }
    }

    #[test]
    fn binning_shows_a_larger_field_of_smaller_cells() {
        let mut quarter = spec(vec![], 0.0);
        (quarter.width, quarter.height) = (348, 260);
        let mut binned = quarter.clone();
        binned.binning = 2;
        let (quarter, binned) = (draw_site(&quarter), draw_site(&binned));
        let mean_area = |s: &DrawnSite| {
            s.cells
                .iter()
                .map(|c| f64::from(c.nucleus_area))
                .sum::<f64>()
                / s.cells.len() as f64
        };
        // A quarter-area crop holds about 25 cells; the binned whole field about 100.
        assert!(
            (12..=40).contains(&quarter.cells.len()),
            "{}",
            quarter.cells.len()
        );
        assert!(
            (75..=140).contains(&binned.cells.len()),
            "{}",
            binned.cells.len()
        );
        let ratio = mean_area(&quarter) / mean_area(&binned);
        assert!((3.0..5.5).contains(&ratio), "nucleus area ratio {ratio}");
    }

    #[test]
    fn effects_change_the_cells_they_reach() {
        let brighter = Effect {
            channel: 4,
            kind: EffectKind::Brighter,
            strength: 1.0,
            cell_fraction: 1.0,
        };
        let base = draw_site(&spec(vec![], 0.0));
        let treated = draw_site(&spec(vec![brighter], 0.0));
        let mito = |s: &DrawnSite| {
            s.cells.iter().map(|c| c.cytoplasm_mean[4]).sum::<f64>() / s.cells.len() as f64
        };
        assert!(
            mito(&treated) > mito(&base) * 1.5,
            "{} vs {}",
            mito(&treated),
            mito(&base)
        );
        let sparse = Effect {
            cell_fraction: 0.1,
            ..brighter
        };
        let s = draw_site(&spec(vec![sparse], 0.0));
        let hit = s.cells.iter().filter(|c| c.affected).count();
        assert!(
            hit > 0 && hit < s.cells.len() / 3,
            "{hit} of {}",
            s.cells.len()
        );
        let fewer = draw_site(&spec(vec![], 0.7));
        assert!(fewer.cells.len() < base.cells.len() / 2);
    }

    /// What the paper's Figure 5 is about: a phenotype in a few cells hardly moves the well
    /// average a feature-based model sees, while the cells themselves stand far out.
    #[test]
    fn a_sparse_phenotype_hides_in_the_average_but_not_in_cells() {
        let sparse = Effect {
            channel: 4,
            kind: EffectKind::Brighter,
            strength: 1.0,
            cell_fraction: 0.08,
        };
        let mito = |c: &CellMeasure| c.cytoplasm_mean[4];
        let (mut base, mut treated) = (Vec::new(), Vec::new());
        for seed in 0..6 {
            let mut sp = spec(vec![], 0.0);
            sp.seed = seed;
            base.extend(draw_site(&sp).cells);
            sp.effects = vec![sparse];
            treated.extend(draw_site(&sp).cells);
        }
        let mean = |v: &[CellMeasure]| v.iter().map(mito).sum::<f64>() / v.len() as f64;
        let shift = mean(&treated) / mean(&base) - 1.0;
        let mut sorted: Vec<f64> = base.iter().map(mito).collect();
        sorted.sort_by(f64::total_cmp);
        let p99 = sorted[sorted.len() * 99 / 100];
        let outliers =
            |v: &[CellMeasure]| v.iter().filter(|c| mito(c) > p99).count() as f64 / v.len() as f64;
        assert!(shift < 0.15, "the well mean moves by {:.0}%", shift * 100.0);
        assert!(
            outliers(&treated) > 5.0 * outliers(&base).max(0.005),
            "{} vs {}",
            outliers(&treated),
            outliers(&base)
        );
    }
}
