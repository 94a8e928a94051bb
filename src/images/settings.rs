//! The `[images]` section of a pipeline file: which plate layout the image folders use, the
//! channel map of each layout (file channel -> stain), the output channel order, view size,
//! pixel type, shard size and which views are exported. Every value has a default (the paper's
//! Bray 2017 set-up), so a pipeline file without the section is still valid.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The five Cell Painting stains, as the pipeline names them.
pub const STAINS: [&str; 5] = ["DNA", "ER", "RNA", "AGP", "Mito"];

/// The lab's channel order of a view ([Mito, ER, RNA, AGP, DNA]).
pub const DEFAULT_CHANNEL_ORDER: [&str; 5] = ["Mito", "ER", "RNA", "AGP", "DNA"];

/// Views per `.npy` shard (uint16 at 520 x 696: 231 MB).
pub const DEFAULT_VIEWS_PER_SHARD: u32 = 64;

/// Bray 2017 view size.
pub const DEFAULT_HEIGHT: u32 = 520;
/// Bray 2017 view size.
pub const DEFAULT_WIDTH: u32 = 696;

/// How plate images are laid out on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageLayout {
    /// Bray 2017 / CDRP: `<PLATE>-<CHANNEL>/cdp2bioactives_<well>_s<site>_w<n><UUID>.tif`.
    Cdrp,
    /// A CellProfiler `load_data.csv` (one row per site, `FileName_Orig<STAIN>` columns).
    LoadData,
    /// JUMP / PerkinElmer Phenix: `<PLATE>[__<date>]/[Images/]r01c01f01p01-ch1sk1fk1fl1.tiff`.
    Phenix,
}

impl ImageLayout {
    /// The name used in the pipeline file.
    pub fn name(self) -> &'static str {
        match self {
            ImageLayout::Cdrp => "cdrp",
            ImageLayout::LoadData => "load_data",
            ImageLayout::Phenix => "phenix",
        }
    }
}

/// Pixel type of the view shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PixelType {
    /// The raw 16-bit pixels.
    Uint16,
    /// The lab's per-channel 8-bit scaling ([`crate::images::scaling`]).
    Uint8,
}

impl PixelType {
    /// numpy's `descr` of the type.
    pub fn npy_descr(self) -> &'static str {
        match self {
            PixelType::Uint16 => "<u2",
            PixelType::Uint8 => "|u1",
        }
    }

    /// Bytes per pixel.
    pub fn bytes(self) -> usize {
        match self {
            PixelType::Uint16 => 2,
            PixelType::Uint8 => 1,
        }
    }

    /// The name used in the pipeline file and the manifest.
    pub fn name(self) -> &'static str {
        match self {
            PixelType::Uint16 => "uint16",
            PixelType::Uint8 => "uint8",
        }
    }
}

/// A layout's channel map: file channel (`w1`, `ch3`, `OrigDNA`) -> stain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelMap {
    /// File channel -> stain.
    pub channel_map: BTreeMap<String, String>,
}

/// What to do with a nucleus whose crop would cross the image border.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BorderPolicy {
    /// Leave the cell out (counted in the manifest).
    Skip,
    /// Keep it, the outside filled with zeros.
    Pad,
}

/// `[images.crops]`: single-cell crops for SC-CNN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CropSettings {
    /// Cut crops when CellProfiler outputs are given.
    pub enabled: bool,
    /// Side of the square crop, pixels (even).
    pub size: u32,
    /// Cells near the border.
    pub border: BorderPolicy,
    /// Crops per shard file.
    pub crops_per_shard: u32,
}

impl Default for CropSettings {
    fn default() -> Self {
        CropSettings {
            enabled: true,
            size: 96,
            border: BorderPolicy::Skip,
            crops_per_shard: 1024,
        }
    }
}

/// `[images.features]`: CellProfiler features per well for the FNN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeatureSettings {
    /// Write `features.parquet` when CellProfiler outputs are given.
    pub enabled: bool,
    /// Average per-cell features (`cell`) or per-image ones (`image`).
    pub level: crate::sources::cellprofiler::FeatureLevel,
    /// The aggregate (only `mean`).
    pub aggregate: String,
}

impl Default for FeatureSettings {
    fn default() -> Self {
        FeatureSettings {
            enabled: true,
            level: crate::sources::cellprofiler::FeatureLevel::Cell,
            aggregate: "mean".into(),
        }
    }
}

/// `[images]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImagesSection {
    /// The layout of the image folders.
    pub layout: ImageLayout,
    /// Output channel order (stains).
    pub channels: Vec<String>,
    /// View height in pixels; every image must have it.
    pub height: u32,
    /// View width in pixels.
    pub width: u32,
    /// Pixel type of the shards.
    pub dtype: PixelType,
    /// Share of pixels that saturate in the 8-bit scaling, percent.
    pub saturated_percent: f64,
    /// Views per shard file.
    pub views_per_shard: u32,
    /// Also export views of control wells (DMSO, no compound).
    pub include_controls: bool,
    /// Also export views of compounds without any label (the ones a model can annotate).
    pub include_unlabelled: bool,
    /// `[images.cdrp]`: wavelength (`w1`..) -> stain.
    pub cdrp: ChannelMap,
    /// `[images.phenix]`: channel (`ch1`..) -> stain.
    pub phenix: ChannelMap,
    /// `[images.load_data]`: column suffix after `FileName_` (`OrigDNA`..) -> stain.
    pub load_data: ChannelMap,
    /// `[images.crops]`.
    pub crops: CropSettings,
    /// `[images.features]`.
    pub features: FeatureSettings,
}

fn map(pairs: &[(&str, &str)]) -> ChannelMap {
    ChannelMap {
        channel_map: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

impl Default for ImagesSection {
    fn default() -> Self {
        ImagesSection {
            layout: ImageLayout::Cdrp,
            channels: DEFAULT_CHANNEL_ORDER
                .iter()
                .map(|s| s.to_string())
                .collect(),
            height: DEFAULT_HEIGHT,
            width: DEFAULT_WIDTH,
            dtype: PixelType::Uint16,
            saturated_percent: crate::images::scaling::DEFAULT_SATURATED_PERCENT,
            views_per_shard: DEFAULT_VIEWS_PER_SHARD,
            include_controls: false,
            include_unlabelled: false,
            cdrp: map(&[
                ("w1", "DNA"),
                ("w2", "ER"),
                ("w3", "RNA"),
                ("w4", "AGP"),
                ("w5", "Mito"),
            ]),
            // cpg0000 source_4 (../shared/docs/formats.md).
            phenix: map(&[
                ("ch1", "Mito"),
                ("ch2", "AGP"),
                ("ch3", "RNA"),
                ("ch4", "ER"),
                ("ch5", "DNA"),
            ]),
            load_data: map(&[
                ("OrigDNA", "DNA"),
                ("OrigER", "ER"),
                ("OrigRNA", "RNA"),
                ("OrigAGP", "AGP"),
                ("OrigMito", "Mito"),
            ]),
            crops: CropSettings::default(),
            features: FeatureSettings::default(),
        }
    }
}

impl ImagesSection {
    /// The channel map of the layout in use.
    pub fn channel_map(&self) -> &ChannelMap {
        match self.layout {
            ImageLayout::Cdrp => &self.cdrp,
            ImageLayout::Phenix => &self.phenix,
            ImageLayout::LoadData => &self.load_data,
        }
    }

    /// File channel -> output channel index, for the layout in use.
    pub fn output_index(&self) -> BTreeMap<String, usize> {
        self.channel_map()
            .channel_map
            .iter()
            .filter_map(|(file, stain)| {
                self.channels
                    .iter()
                    .position(|c| c == stain)
                    .map(|i| (file.clone(), i))
            })
            .collect()
    }

    /// Checks the section; the message names the offending key.
    pub fn validate(&self) -> Result<(), String> {
        if self.channels.is_empty() {
            return Err("images.channels is empty".into());
        }
        for (i, c) in self.channels.iter().enumerate() {
            if !STAINS.contains(&c.as_str()) {
                return Err(format!(
                    "images.channels: {c:?} is not a stain ({})",
                    STAINS.join(", ")
                ));
            }
            if self.channels[..i].contains(c) {
                return Err(format!("images.channels names {c:?} twice"));
            }
        }
        for (name, m) in [
            ("cdrp", &self.cdrp),
            ("phenix", &self.phenix),
            ("load_data", &self.load_data),
        ] {
            let mut seen = Vec::new();
            for (file, stain) in &m.channel_map {
                if !STAINS.contains(&stain.as_str()) {
                    return Err(format!(
                        "images.{name}.channel_map.{file}: {stain:?} is not a stain"
                    ));
                }
                if seen.contains(&stain) {
                    return Err(format!(
                        "images.{name}.channel_map maps two file channels to {stain:?}"
                    ));
                }
                seen.push(stain);
            }
            if self.layout.name() == name {
                for c in &self.channels {
                    if !m.channel_map.values().any(|s| s == c) {
                        return Err(format!(
                            "images.{name}.channel_map has no file channel for {c:?}"
                        ));
                    }
                }
            }
        }
        if !(1..=16_384).contains(&self.height) || !(1..=16_384).contains(&self.width) {
            return Err("images.height and images.width must be in 1..=16384".into());
        }
        if !(0.0..100.0).contains(&self.saturated_percent) {
            return Err("images.saturated_percent must be in [0, 100)".into());
        }
        let c = &self.crops;
        if c.size == 0 || !c.size.is_multiple_of(2) || c.size > self.height.min(self.width) {
            return Err(
                "images.crops.size must be even, at least 2 and at most the view size".into(),
            );
        }
        if c.crops_per_shard == 0 {
            return Err("images.crops.crops_per_shard must be at least 1".into());
        }
        if self.features.aggregate != "mean" {
            return Err(format!(
                "images.features.aggregate {:?}: only \"mean\" is supported",
                self.features.aggregate
            ));
        }
        if self.views_per_shard == 0 {
            return Err("images.views_per_shard must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_map_bray_wavelengths() {
        let s = ImagesSection::default();
        s.validate().expect("valid");
        let idx = s.output_index();
        // Output order Mito, ER, RNA, AGP, DNA.
        assert_eq!(idx["w5"], 0);
        assert_eq!(idx["w1"], 4);
    }

    #[test]
    fn a_stain_without_a_file_channel_is_named() {
        let mut s = ImagesSection::default();
        s.cdrp.channel_map.remove("w4");
        assert_eq!(
            s.validate().unwrap_err(),
            "images.cdrp.channel_map has no file channel for \"AGP\""
        );
    }
}
