//! The Parquet tables of a view export (contracts in `data-schemas/views_*.toml`):
//! `views.parquet` (one row per exported view: where it is, what it shows, its statistics),
//! `rejects.parquet` (sites and files that could not be used) and `incomplete_wells.parquet`.

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, ListBuilder, StringBuilder, UInt16Builder,
    UInt32Builder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema};

use crate::dataflow::view_index::IncompleteWell;
use crate::images::decode::ChannelStats;
use crate::sources::plate_images::ImageReject;

/// One row of `views.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewTableRow {
    /// `24277-A01-1`.
    pub view: String,
    /// Plate.
    pub plate: String,
    /// Well.
    pub well: String,
    /// Site.
    pub site: u32,
    /// labelled, unlabelled or control.
    pub kind: String,
    /// Sample.
    pub broad_sample: Option<String>,
    /// Compound.
    pub inchikey: Option<String>,
    /// Split.
    pub split: Option<String>,
    /// Labels in kept tasks.
    pub n_labels: u32,
    /// Shard path relative to the export.
    pub shard: String,
    /// Row in the shard.
    pub row: u32,
    /// Statistics, in output channel order.
    pub stats: ChannelStats,
    /// blake3 over the source files' digests (with `--checksum`).
    pub source_blake3: Option<String>,
}

fn list(t: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", t, true)))
}

/// Schema of `views.parquet`.
pub fn views_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("view", DataType::Utf8, false),
        Field::new("plate", DataType::Utf8, false),
        Field::new("well", DataType::Utf8, false),
        Field::new("site", DataType::UInt32, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("broad_sample", DataType::Utf8, true),
        Field::new("inchikey", DataType::Utf8, true),
        Field::new("split", DataType::Utf8, true),
        Field::new("n_labels", DataType::UInt32, false),
        Field::new("shard", DataType::Utf8, false),
        Field::new("row", DataType::UInt32, false),
        Field::new("channel_min", list(DataType::UInt16), false),
        Field::new("channel_max", list(DataType::UInt16), false),
        Field::new("channel_mean", list(DataType::Float64), false),
        Field::new("channel_threshold", list(DataType::UInt16), false),
        Field::new("source_blake3", DataType::Utf8, true),
    ]))
}

/// `views.parquet` rows as a batch.
pub fn views_batch(rows: &[ViewTableRow]) -> Result<RecordBatch, ArrowError> {
    let mut s: Vec<StringBuilder> = (0..8).map(|_| StringBuilder::new()).collect();
    let (mut site, mut n_labels, mut row) = (
        UInt32Builder::new(),
        UInt32Builder::new(),
        UInt32Builder::new(),
    );
    let mut mins = ListBuilder::new(UInt16Builder::new());
    let mut maxs = ListBuilder::new(UInt16Builder::new());
    let mut means = ListBuilder::new(Float64Builder::new());
    let mut thresholds = ListBuilder::new(UInt16Builder::new());
    for r in rows {
        s[0].append_value(&r.view);
        s[1].append_value(&r.plate);
        s[2].append_value(&r.well);
        site.append_value(r.site);
        s[3].append_value(&r.kind);
        s[4].append_option(r.broad_sample.as_deref());
        s[5].append_option(r.inchikey.as_deref());
        s[6].append_option(r.split.as_deref());
        n_labels.append_value(r.n_labels);
        s[7].append_value(&r.shard);
        row.append_value(r.row);
        mins.values().append_slice(&r.stats.min);
        mins.append(true);
        maxs.values().append_slice(&r.stats.max);
        maxs.append(true);
        means.values().append_slice(&r.stats.mean);
        means.append(true);
        thresholds.values().append_slice(&r.stats.threshold);
        thresholds.append(true);
    }
    let mut digest = StringBuilder::new();
    for r in rows {
        digest.append_option(r.source_blake3.as_deref());
    }
    let mut s = s.into_iter().map(|mut b| Arc::new(b.finish()) as ArrayRef);
    let mut next = || {
        s.next()
            .unwrap_or_else(|| Arc::new(StringBuilder::new().finish()))
    };
    let (view, plate, well, kind, broad, key, split, shard) = (
        next(),
        next(),
        next(),
        next(),
        next(),
        next(),
        next(),
        next(),
    );
    RecordBatch::try_new(
        views_schema(),
        vec![
            view,
            plate,
            well,
            Arc::new(site.finish()),
            kind,
            broad,
            key,
            split,
            Arc::new(n_labels.finish()),
            shard,
            Arc::new(row.finish()),
            Arc::new(mins.finish()),
            Arc::new(maxs.finish()),
            Arc::new(means.finish()),
            Arc::new(thresholds.finish()),
            Arc::new(digest.finish()),
        ],
    )
}

/// Schema of a view export's `rejects.parquet`.
pub fn image_rejects_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("plate", DataType::Utf8, true),
        Field::new("well", DataType::Utf8, true),
        Field::new("site", DataType::UInt32, true),
        Field::new("channel", DataType::Utf8, true),
        Field::new("path", DataType::Utf8, false),
        Field::new("reason", DataType::Utf8, false),
    ]))
}

/// Rejects as a batch.
pub fn image_rejects_batch(rows: &[ImageReject]) -> Result<RecordBatch, ArrowError> {
    let (mut plate, mut well, mut channel, mut path, mut reason) = (
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
    );
    let mut site = UInt32Builder::new();
    for r in rows {
        plate.append_option(r.plate.as_deref());
        well.append_option(r.well.as_deref());
        site.append_option(r.site);
        channel.append_option(r.channel.as_deref());
        path.append_value(&r.path);
        reason.append_value(&r.reason);
    }
    RecordBatch::try_new(
        image_rejects_schema(),
        vec![
            Arc::new(plate.finish()),
            Arc::new(well.finish()),
            Arc::new(site.finish()),
            Arc::new(channel.finish()),
            Arc::new(path.finish()),
            Arc::new(reason.finish()),
        ],
    )
}

/// Schema of `incomplete_wells.parquet`.
pub fn incomplete_wells_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("plate", DataType::Utf8, false),
        Field::new("well", DataType::Utf8, false),
        Field::new("sites_found", DataType::UInt32, false),
        Field::new("sites_expected", DataType::UInt32, false),
    ]))
}

/// Incomplete wells as a batch.
pub fn incomplete_wells_batch(rows: &[IncompleteWell]) -> Result<RecordBatch, ArrowError> {
    let (mut plate, mut well) = (StringBuilder::new(), StringBuilder::new());
    let (mut found, mut expected) = (UInt32Builder::new(), UInt32Builder::new());
    for r in rows {
        plate.append_value(&r.plate);
        well.append_value(&r.well);
        found.append_value(r.sites_found);
        expected.append_value(r.sites_expected);
    }
    RecordBatch::try_new(
        incomplete_wells_schema(),
        vec![
            Arc::new(plate.finish()),
            Arc::new(well.finish()),
            Arc::new(found.finish()),
            Arc::new(expected.finish()),
        ],
    )
}

/// One row of `cells.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct CellTableRow {
    /// `<plate>-<well>-<site>-<object>`.
    pub cell: String,
    /// Its view.
    pub view: String,
    /// Plate.
    pub plate: String,
    /// Well.
    pub well: String,
    /// Site.
    pub site: u32,
    /// ObjectNumber of the nucleus.
    pub object: i64,
    /// Nucleus centre x.
    pub x: f64,
    /// Nucleus centre y.
    pub y: f64,
    /// Part of the crop is padding.
    pub padded: bool,
    /// The view's kind.
    pub kind: String,
    /// Compound.
    pub inchikey: Option<String>,
    /// Split.
    pub split: Option<String>,
    /// Crop shard.
    pub shard: String,
    /// Row in it.
    pub row: u32,
}

/// Schema of `cells.parquet`.
pub fn cells_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("cell", DataType::Utf8, false),
        Field::new("view", DataType::Utf8, false),
        Field::new("plate", DataType::Utf8, false),
        Field::new("well", DataType::Utf8, false),
        Field::new("site", DataType::UInt32, false),
        Field::new("object", DataType::Int64, false),
        Field::new("x", DataType::Float64, false),
        Field::new("y", DataType::Float64, false),
        Field::new("padded", DataType::Boolean, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("inchikey", DataType::Utf8, true),
        Field::new("split", DataType::Utf8, true),
        Field::new("shard", DataType::Utf8, false),
        Field::new("row", DataType::UInt32, false),
    ]))
}

/// Cells as a batch.
pub fn cells_batch(rows: &[CellTableRow]) -> Result<RecordBatch, ArrowError> {
    let mut t: Vec<StringBuilder> = (0..8).map(|_| StringBuilder::new()).collect();
    let (mut site, mut row) = (UInt32Builder::new(), UInt32Builder::new());
    let mut object = Int64Builder::new();
    let (mut x, mut y) = (Float64Builder::new(), Float64Builder::new());
    let mut padded = BooleanBuilder::new();
    for r in rows {
        t[0].append_value(&r.cell);
        t[1].append_value(&r.view);
        t[2].append_value(&r.plate);
        t[3].append_value(&r.well);
        site.append_value(r.site);
        object.append_value(r.object);
        x.append_value(r.x);
        y.append_value(r.y);
        padded.append_value(r.padded);
        t[4].append_value(&r.kind);
        t[5].append_option(r.inchikey.as_deref());
        t[6].append_option(r.split.as_deref());
        t[7].append_value(&r.shard);
        row.append_value(r.row);
    }
    let mut t: Vec<ArrayRef> = t
        .into_iter()
        .map(|mut b| Arc::new(b.finish()) as ArrayRef)
        .collect();
    let shard = t.remove(7);
    let split = t.remove(6);
    let key = t.remove(5);
    let kind = t.remove(4);
    let well = t.remove(3);
    let plate = t.remove(2);
    let view = t.remove(1);
    let cell = t.remove(0);
    RecordBatch::try_new(
        cells_schema(),
        vec![
            cell,
            view,
            plate,
            well,
            Arc::new(site.finish()),
            Arc::new(object.finish()),
            Arc::new(x.finish()),
            Arc::new(y.finish()),
            Arc::new(padded.finish()),
            kind,
            key,
            split,
            shard,
            Arc::new(row.finish()),
        ],
    )
}

/// One row of `features.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureTableRow {
    /// Plate.
    pub plate: String,
    /// Well.
    pub well: String,
    /// Objects (cells, or images at image level) averaged.
    pub n_objects: u64,
    /// The well's kind.
    pub kind: String,
    /// Sample.
    pub broad_sample: Option<String>,
    /// Compound.
    pub inchikey: Option<String>,
    /// Split.
    pub split: Option<String>,
    /// Feature means, in the table's feature order (`None`: no value).
    pub values: Vec<Option<f64>>,
}

/// The fixed leading columns of `features.parquet`; one float64 column per feature follows.
pub const FEATURE_KEY_COLUMNS: [&str; 7] = [
    "plate",
    "well",
    "n_objects",
    "kind",
    "broad_sample",
    "inchikey",
    "split",
];

/// Features as a batch: the key columns, then one nullable float64 column per name.
pub fn features_batch(
    names: &[String],
    rows: &[FeatureTableRow],
) -> Result<RecordBatch, ArrowError> {
    let mut fields = vec![
        Field::new("plate", DataType::Utf8, false),
        Field::new("well", DataType::Utf8, false),
        Field::new("n_objects", DataType::UInt64, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("broad_sample", DataType::Utf8, true),
        Field::new("inchikey", DataType::Utf8, true),
        Field::new("split", DataType::Utf8, true),
    ];
    let mut t: Vec<StringBuilder> = (0..6).map(|_| StringBuilder::new()).collect();
    let mut n = UInt64Builder::new();
    for r in rows {
        t[0].append_value(&r.plate);
        t[1].append_value(&r.well);
        n.append_value(r.n_objects);
        t[2].append_value(&r.kind);
        t[3].append_option(r.broad_sample.as_deref());
        t[4].append_option(r.inchikey.as_deref());
        t[5].append_option(r.split.as_deref());
    }
    let mut t: Vec<ArrayRef> = t
        .into_iter()
        .map(|mut b| Arc::new(b.finish()) as ArrayRef)
        .collect();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(7 + names.len());
    let rest = t.split_off(2);
    columns.extend(t);
    columns.push(Arc::new(n.finish()));
    columns.extend(rest);
    for (k, name) in names.iter().enumerate() {
        fields.push(Field::new(name, DataType::Float64, true));
        let mut b = Float64Builder::with_capacity(rows.len());
        for r in rows {
            b.append_option(r.values.get(k).copied().flatten());
        }
        columns.push(Arc::new(b.finish()));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}
