//! The generated world's hidden truth, as Parquet tables under `truth/` (contracts in
//! `data-schemas/synth_truth_*.toml`): the mechanisms and their phenotypes, every Cell
//! Painting compound with how it appears in the release, its samples, the mechanisms each
//! compound acts on, and the screening assays. Images (drawn later) and any check of what a
//! model learned read these; the label build never does.

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{Float64Builder, Int64Builder, ListBuilder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema};

use crate::export::parquet_file::{DEFAULT_ROW_GROUP_ROWS, ParquetFile, ParquetFileError};
use crate::synth::activities::ScreeningAssay;
use crate::synth::cp_set::{CpSet, Origin};
use crate::synth::mechanisms::Mechanism;

/// The truth files, relative to the world directory.
pub const TRUTH_FILES: [&str; 5] = [
    "truth/mechanisms.parquet",
    "truth/compounds.parquet",
    "truth/samples.parquet",
    "truth/actions.parquet",
    "truth/screening_assays.parquet",
];

/// Errors writing the truth.
#[derive(Debug, thiserror::Error)]
pub enum TruthError {
    /// Building a batch.
    #[error("building {table}: {source}")]
    Arrow {
        /// The table.
        table: String,
        /// The cause.
        source: ArrowError,
    },
    /// Writing a file.
    #[error(transparent)]
    Parquet(#[from] ParquetFileError),
}

/// How a Cell Painting compound appears in the release.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChemblPresence {
    /// `absent`, `parent`, `parent_and_salt` or `stereo_lost`.
    pub form: &'static str,
    /// Its molecules.
    pub molregnos: Vec<i64>,
}

fn field(name: &str, t: DataType, nullable: bool) -> Field {
    Field::new(name, t, nullable)
}

fn list_of(t: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", t, true)))
}

fn write(dir: &Path, rel: &str, schema: Schema, columns: Vec<ArrayRef>) -> Result<u64, TruthError> {
    let batch =
        RecordBatch::try_new(Arc::new(schema), columns).map_err(|source| TruthError::Arrow {
            table: rel.to_string(),
            source,
        })?;
    let path = dir.join(rel);
    let mut file = ParquetFile::create(&path, batch.schema(), DEFAULT_ROW_GROUP_ROWS)?;
    file.write(&batch)?;
    file.commit()?;
    Ok(batch.num_rows() as u64)
}

/// Writes every truth table under `dir/truth`; returns row counts in [`TRUTH_FILES`] order.
pub fn write_truth(
    dir: &Path,
    mechanisms: &[Mechanism],
    cp: &CpSet,
    presence: &[ChemblPresence],
    screening: &[ScreeningAssay],
) -> Result<Vec<u64>, TruthError> {
    let mut counts = Vec::new();

    let mut id = StringBuilder::new();
    let mut name = StringBuilder::new();
    let mut prevalence = Float64Builder::new();
    let mut kind = StringBuilder::new();
    let mut channel = StringBuilder::new();
    let mut effect = StringBuilder::new();
    let mut strength = Float64Builder::new();
    let mut fraction = Float64Builder::new();
    for m in mechanisms {
        id.append_value(&m.id);
        name.append_value(&m.name);
        prevalence.append_value(m.prevalence);
        kind.append_value(m.phenotype.kind.name());
        channel.append_option(m.phenotype.channel.as_deref());
        effect.append_option(m.phenotype.effect.as_deref());
        strength.append_value(m.phenotype.strength);
        fraction.append_value(m.phenotype.cell_fraction);
    }
    counts.push(write(
        dir,
        TRUTH_FILES[0],
        Schema::new(vec![
            field("mechanism", DataType::Utf8, false),
            field("name", DataType::Utf8, false),
            field("prevalence", DataType::Float64, false),
            field("phenotype", DataType::Utf8, false),
            field("channel", DataType::Utf8, true),
            field("effect", DataType::Utf8, true),
            field("strength", DataType::Float64, false),
            field("cell_fraction", DataType::Float64, false),
        ]),
        vec![
            Arc::new(id.finish()),
            Arc::new(name.finish()),
            Arc::new(prevalence.finish()),
            Arc::new(kind.finish()),
            Arc::new(channel.finish()),
            Arc::new(effect.finish()),
            Arc::new(strength.finish()),
            Arc::new(fraction.finish()),
        ],
    )?);

    let mut broad_id = StringBuilder::new();
    let mut key = StringBuilder::new();
    let mut smiles = StringBuilder::new();
    let mut origin = StringBuilder::new();
    let mut parent = StringBuilder::new();
    let mut form = StringBuilder::new();
    let mut molregnos = ListBuilder::new(Int64Builder::new());
    for (i, c) in cp.compounds.iter().enumerate() {
        broad_id.append_value(&c.broad_id);
        key.append_value(&c.inchikey);
        smiles.append_value(&c.smiles);
        match &c.origin {
            Origin::Bray2017 => {
                origin.append_value("bray2017");
                parent.append_null();
            }
            Origin::Analogue(p) => {
                origin.append_value("analogue");
                parent.append_value(p);
            }
        }
        let p = presence.get(i).cloned().unwrap_or_default();
        form.append_value(if p.form.is_empty() { "absent" } else { p.form });
        for m in &p.molregnos {
            molregnos.values().append_value(*m);
        }
        molregnos.append(true);
    }
    counts.push(write(
        dir,
        TRUTH_FILES[1],
        Schema::new(vec![
            field("broad_id", DataType::Utf8, false),
            field("inchikey", DataType::Utf8, false),
            field("smiles", DataType::Utf8, false),
            field("origin", DataType::Utf8, false),
            field("parent_broad_id", DataType::Utf8, true),
            field("chembl_form", DataType::Utf8, false),
            field("molregnos", list_of(DataType::Int64), false),
        ]),
        vec![
            Arc::new(broad_id.finish()),
            Arc::new(key.finish()),
            Arc::new(smiles.finish()),
            Arc::new(origin.finish()),
            Arc::new(parent.finish()),
            Arc::new(form.finish()),
            Arc::new(molregnos.finish()),
        ],
    )?);

    let mut sample = StringBuilder::new();
    let mut compound = StringBuilder::new();
    let mut planted = StringBuilder::new();
    for s in &cp.samples {
        sample.append_value(&s.broad_sample);
        compound.append_value(&cp.compounds[s.compound].broad_id);
        planted.append_value(s.planted.name());
    }
    counts.push(write(
        dir,
        TRUTH_FILES[2],
        Schema::new(vec![
            field("broad_sample", DataType::Utf8, false),
            field("broad_id", DataType::Utf8, false),
            field("planted", DataType::Utf8, false),
        ]),
        vec![
            Arc::new(sample.finish()),
            Arc::new(compound.finish()),
            Arc::new(planted.finish()),
        ],
    )?);

    let mut broad_id = StringBuilder::new();
    let mut mechanism = StringBuilder::new();
    let mut potency = Float64Builder::new();
    for c in &cp.compounds {
        for a in &c.actions {
            broad_id.append_value(&c.broad_id);
            mechanism.append_value(&mechanisms[usize::from(a.mechanism)].id);
            potency.append_value(a.potency);
        }
    }
    counts.push(write(
        dir,
        TRUTH_FILES[3],
        Schema::new(vec![
            field("broad_id", DataType::Utf8, false),
            field("mechanism", DataType::Utf8, false),
            field("potency", DataType::Float64, false),
        ]),
        vec![
            Arc::new(broad_id.finish()),
            Arc::new(mechanism.finish()),
            Arc::new(potency.finish()),
        ],
    )?);

    let mut assay_id = Int64Builder::new();
    let mut chembl_id = StringBuilder::new();
    let mut mechanism = StringBuilder::new();
    let mut kind = StringBuilder::new();
    let mut standard_type = StringBuilder::new();
    let mut tested = Int64Builder::new();
    let mut rows = Int64Builder::new();
    for a in screening {
        assay_id.append_value(a.assay_id);
        chembl_id.append_value(&a.chembl_id);
        mechanism.append_value(&mechanisms[usize::from(a.mechanism)].id);
        kind.append_value(a.kind.name());
        standard_type.append_value(a.standard_type);
        tested.append_value(a.cp_tested as i64);
        rows.append_value(a.rows as i64);
    }
    counts.push(write(
        dir,
        TRUTH_FILES[4],
        Schema::new(vec![
            field("assay_id", DataType::Int64, false),
            field("chembl_id", DataType::Utf8, false),
            field("mechanism", DataType::Utf8, false),
            field("kind", DataType::Utf8, false),
            field("standard_type", DataType::Utf8, false),
            field("cp_tested", DataType::Int64, false),
            field("rows", DataType::Int64, false),
        ]),
        vec![
            Arc::new(assay_id.finish()),
            Arc::new(chembl_id.finish()),
            Arc::new(mechanism.finish()),
            Arc::new(kind.finish()),
            Arc::new(standard_type.finish()),
            Arc::new(tested.finish()),
            Arc::new(rows.finish()),
        ],
    )?);
    Ok(counts)
}
