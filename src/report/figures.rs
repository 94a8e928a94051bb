//! The report's figures, each drawn twice by plotters, as PNG (bitmap backend, encoded with
//! the `png` crate) and as SVG: [`BoxPlot`] (per-task AUC by model), [`Scatter`] (two models'
//! per-task AUCs coloured by Venkatraman significance) and [`AucVsCompounds`] (AUC against the
//! labelled compounds of each task). Text is set in the bundled DejaVu Sans
//! (`data/fonts/`, registered once), so no system font is needed.

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::ReportError;
use crate::atomic_file::AtomicFile;

/// DejaVu Sans (licence in `data/fonts/DejaVuSans.LICENSE`).
const FONT: &[u8] = include_bytes!("../../data/fonts/DejaVuSans.ttf");
/// Figure width in pixels (PNG) or user units (SVG).
pub const DEFAULT_WIDTH: u32 = 960;
/// Figure height.
pub const DEFAULT_HEIGHT: u32 = 600;

/// Colours of runs, in order.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bundled font is valid; a failure would only lose the text.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// A figure that can draw itself on any backend.
pub trait Figure {
    /// Draws on `root`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// Writes `stem.png` and `stem.svg` under `dir`; returns their paths.
pub fn render(
    figure: &impl Figure,
    dir: &Path,
    stem: &str,
) -> Result<(PathBuf, PathBuf), ReportError> {
    register_font();
    let (w, h) = (DEFAULT_WIDTH, DEFAULT_HEIGHT);
    let figure_err = |reason: String| ReportError::Figure {
        figure: stem.to_string(),
        reason,
    };
    let mut pixels = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        figure.draw(&root).map_err(figure_err)?;
        root.present().map_err(|e| figure_err(err(e)))?;
    }
    let png_path = dir.join(format!("{stem}.png"));
    let mut png_file = AtomicFile::create(&png_path).map_err(|source| ReportError::Io {
        path: png_path.display().to_string(),
        source,
    })?;
    {
        let mut encoder = png::Encoder::new(&mut png_file, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder
            .write_header()
            .map_err(|e| figure_err(e.to_string()))?;
        writer
            .write_image_data(&pixels)
            .map_err(|e| figure_err(e.to_string()))?;
        writer.finish().map_err(|e| figure_err(e.to_string()))?;
    }
    png_file.commit().map_err(|source| ReportError::Io {
        path: png_path.display().to_string(),
        source,
    })?;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        figure.draw(&root).map_err(figure_err)?;
        root.present().map_err(|e| figure_err(err(e)))?;
    }
    let svg_path = dir.join(format!("{stem}.svg"));
    super::write_file(&svg_path, svg.as_bytes())?;
    Ok((png_path, svg_path))
}

/// Quartiles by linear interpolation (numpy's default percentile).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Per-task AUC box plots, one box per run (median, quartiles, whiskers to the furthest
/// point within 1.5 IQR, points beyond them, the mean as a cross).
pub struct BoxPlot {
    /// Title.
    pub title: String,
    /// Runs, left to right.
    pub names: Vec<String>,
    /// Their colours.
    pub colours: Vec<RGBColor>,
    /// Their defined per-task AUCs.
    pub values: Vec<Vec<f64>>,
}

impl Figure for BoxPlot {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let n = self.names.len().max(1);
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(-0.5f64..n as f64 - 0.5, 0f64..1f64)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc("per-task ROC AUC")
            .light_line_style(WHITE)
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 16))
            .draw()
            .map_err(err)?;
        // The run names under their boxes, in pixels below the x axis.
        let style =
            TextStyle::from(("sans-serif", 15).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
        for (i, name) in self.names.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(i as f64, 0.0));
            root.draw_text(name, &style, (px, py + 8)).map_err(err)?;
        }
        for (i, values) in self.values.iter().enumerate() {
            if values.is_empty() {
                continue;
            }
            let mut v = values.clone();
            v.sort_by(f64::total_cmp);
            let (q1, q2, q3) = (quantile(&v, 0.25), quantile(&v, 0.5), quantile(&v, 0.75));
            let iqr = q3 - q1;
            let lo = v
                .iter()
                .copied()
                .find(|&x| x >= q1 - 1.5 * iqr)
                .unwrap_or(q1);
            let hi = v
                .iter()
                .rev()
                .copied()
                .find(|&x| x <= q3 + 1.5 * iqr)
                .unwrap_or(q3);
            let c = self.colours.get(i).copied().unwrap_or(BLACK);
            let x = i as f64;
            let half = 0.3;
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x - half, q1), (x + half, q3)],
                    c.mix(0.35).filled(),
                )))
                .map_err(err)?;
            let line = |a: (f64, f64), b: (f64, f64), width: u32| {
                PathElement::new(vec![a, b], c.stroke_width(width))
            };
            chart
                .draw_series([
                    Rectangle::new([(x - half, q1), (x + half, q3)], c.stroke_width(2)),
                    Rectangle::new([(x - half, q2), (x + half, q2)], c.stroke_width(3)),
                ])
                .map_err(err)?;
            chart
                .draw_series([
                    line((x, q3), (x, hi), 2),
                    line((x, q1), (x, lo), 2),
                    line((x - half / 2.0, hi), (x + half / 2.0, hi), 2),
                    line((x - half / 2.0, lo), (x + half / 2.0, lo), 2),
                ])
                .map_err(err)?;
            chart
                .draw_series(
                    v.iter()
                        .filter(|&&a| a < lo || a > hi)
                        .map(|&a| Circle::new((x, a), 3, c.stroke_width(1))),
                )
                .map_err(err)?;
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            chart
                .draw_series(std::iter::once(Cross::new(
                    (x, mean),
                    5,
                    BLACK.stroke_width(2),
                )))
                .map_err(err)?;
        }
        Ok(())
    }
}

/// Significance class of a task in the scatter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Significance {
    /// The y-axis run's curve differs, with the higher AUC.
    YBetter,
    /// The x-axis run's curve differs, with the higher AUC.
    XBetter,
    /// Not significant.
    NotSignificant,
    /// No test (too few samples both scored, one class).
    Untested,
}

/// One task of the scatter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScatterPoint {
    /// The x-axis run's AUC.
    pub x: f64,
    /// The y-axis run's AUC.
    pub y: f64,
    /// Venkatraman's verdict.
    pub significance: Significance,
    /// Drawn as a triangle (a sparse-phenotype task of the planted truth).
    pub highlighted: bool,
}

/// Two runs' per-task AUCs.
pub struct Scatter {
    /// Title.
    pub title: String,
    /// The x-axis run.
    pub x_name: String,
    /// The y-axis run.
    pub y_name: String,
    /// Tasks.
    pub points: Vec<ScatterPoint>,
    /// The legend of highlighted points, if any are.
    pub highlight_label: Option<String>,
}

impl Figure for Scatter {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..1f64, 0f64..1f64)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(format!("{} per-task ROC AUC", self.x_name))
            .y_desc(format!("{} per-task ROC AUC", self.y_name))
            .light_line_style(WHITE)
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 16))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new(
                [(0.0, 0.0), (1.0, 1.0)],
                BLACK.mix(0.5).stroke_width(1),
            ))
            .map_err(err)?;
        let classes = [
            (
                Significance::YBetter,
                PALETTE[0],
                format!("{} better (p < 0.05)", self.y_name),
            ),
            (
                Significance::XBetter,
                PALETTE[3],
                format!("{} better (p < 0.05)", self.x_name),
            ),
            (
                Significance::NotSignificant,
                RGBColor(150, 150, 150),
                "not significant".to_string(),
            ),
            (
                Significance::Untested,
                RGBColor(210, 210, 210),
                "not testable".to_string(),
            ),
        ];
        for (class, colour, label) in classes {
            let points: Vec<&ScatterPoint> = self
                .points
                .iter()
                .filter(|p| p.significance == class)
                .collect();
            if points.is_empty() {
                continue;
            }
            chart
                .draw_series(points.iter().map(|p| {
                    EmptyElement::at((p.x, p.y))
                        + Circle::new((0, 0), if p.highlighted { 0 } else { 5 }, colour.filled())
                        + TriangleMarker::new(
                            (0, 0),
                            if p.highlighted { 7 } else { 0 },
                            colour.filled(),
                        )
                }))
                .map_err(err)?
                .label(label)
                .legend(move |(x, y)| Circle::new((x, y), 5, colour.filled()));
        }
        if let Some(label) = &self.highlight_label {
            chart
                .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
                .map_err(err)?
                .label(label.clone())
                .legend(|(x, y)| TriangleMarker::new((x, y), 7, BLACK.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.4))
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(err)?;
        Ok(())
    }
}

/// One run's points: name, colour, (labelled compounds, AUC) per defined task.
pub type Series = (String, RGBColor, Vec<(f64, f64)>);

/// AUC against labelled compounds per task, one colour per run.
pub struct AucVsCompounds {
    /// Title.
    pub title: String,
    /// Per run: name, colour, (labelled compounds, AUC) per defined task.
    pub series: Vec<Series>,
}

impl Figure for AucVsCompounds {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let max = self
            .series
            .iter()
            .flat_map(|s| s.2.iter().map(|p| p.0))
            .fold(10.0f64, f64::max)
            * 1.05;
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..max, 0f64..1f64)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("labelled compounds in the task")
            .y_desc("per-task ROC AUC")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .light_line_style(WHITE)
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 16))
            .draw()
            .map_err(err)?;
        for (name, colour, points) in &self.series {
            let c = *colour;
            chart
                .draw_series(
                    points
                        .iter()
                        .map(|&(x, y)| Circle::new((x, y), 4, c.mix(0.75).filled())),
                )
                .map_err(err)?
                .label(name.clone())
                .legend(move |(x, y)| Circle::new((x, y), 5, c.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.4))
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quartiles_interpolate_as_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.25), 1.75);
        assert_eq!(quantile(&v, 0.5), 2.5);
        assert_eq!(quantile(&[5.0], 0.75), 5.0);
    }
}
