//! The contracts in `data-schemas/*.toml` ([`TableSchema`]) and checks that a written file keeps
//! them: [`TableSchema::check_arrow`] for Parquet, [`TableSchema::check_tsv_header`] for TSV.
//!
//! A schema file names the table, who writes or reads it, its formats, and each column's name,
//! type (`utf8`, `bool`, `int8`..`int64`, `uint8`..`uint64`, `float32`, `float64`,
//! `list<utf8>`, `list<int64>`, `list<uint16>`, `list<float32>`, `list<float64>`), nullability
//! and meaning.

use std::path::Path;

use arrow_schema::{DataType, Schema};
use serde::Deserialize;

/// One column of a table contract.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ColumnSchema {
    /// Column name.
    pub name: String,
    /// Type name (see the module docs).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Whether nulls are allowed.
    pub nullable: bool,
    /// What the column means.
    pub description: String,
}

/// A table contract from `data-schemas/`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct TableSchema {
    /// Table name.
    pub name: String,
    /// The command that writes it, if the tool writes it.
    #[serde(default)]
    pub written_by: Option<String>,
    /// The command that reads it, if the tool reads it.
    #[serde(default)]
    pub read_by: Option<String>,
    /// File formats it comes in.
    pub formats: Vec<String>,
    /// What the table holds.
    pub description: String,
    /// Its columns, in order.
    pub columns: Vec<ColumnSchema>,
}

/// Errors loading a schema file.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The schema file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a valid contract.
    #[error("{path}: {source}")]
    Parse {
        /// The schema file.
        path: String,
        /// The cause.
        source: toml::de::Error,
    },
    /// A column names an unknown type.
    #[error("{path}: column {column:?} has unknown type {type_name:?}")]
    UnknownType {
        /// The schema file.
        path: String,
        /// The column.
        column: String,
        /// The type given.
        type_name: String,
    },
}

/// The Arrow type of a schema type name.
pub fn arrow_type(type_name: &str) -> Option<DataType> {
    Some(match type_name {
        "utf8" => DataType::Utf8,
        "bool" => DataType::Boolean,
        "int8" => DataType::Int8,
        "int16" => DataType::Int16,
        "int32" => DataType::Int32,
        "int64" => DataType::Int64,
        "uint8" => DataType::UInt8,
        "uint16" => DataType::UInt16,
        "uint32" => DataType::UInt32,
        "uint64" => DataType::UInt64,
        "float32" => DataType::Float32,
        "float64" => DataType::Float64,
        "list<utf8>" => DataType::List(std::sync::Arc::new(arrow_schema::Field::new(
            "item",
            DataType::Utf8,
            true,
        ))),
        "list<int64>" => DataType::List(std::sync::Arc::new(arrow_schema::Field::new(
            "item",
            DataType::Int64,
            true,
        ))),
        "list<uint16>" => DataType::List(std::sync::Arc::new(arrow_schema::Field::new(
            "item",
            DataType::UInt16,
            true,
        ))),
        "list<float64>" => DataType::List(std::sync::Arc::new(arrow_schema::Field::new(
            "item",
            DataType::Float64,
            true,
        ))),
        "list<float32>" => DataType::List(std::sync::Arc::new(arrow_schema::Field::new(
            "item",
            DataType::Float32,
            true,
        ))),
        _ => return None,
    })
}

impl TableSchema {
    /// Loads and validates a schema file.
    pub fn load(path: &Path) -> Result<TableSchema, SchemaError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SchemaError::Io {
            path: name.clone(),
            source,
        })?;
        let schema: TableSchema = toml::from_str(&text).map_err(|source| SchemaError::Parse {
            path: name.clone(),
            source,
        })?;
        for c in &schema.columns {
            if arrow_type(&c.type_name).is_none() {
                return Err(SchemaError::UnknownType {
                    path: name,
                    column: c.name.clone(),
                    type_name: c.type_name.clone(),
                });
            }
        }
        Ok(schema)
    }

    /// Checks an Arrow schema (of a written Parquet file) column by column: names, order,
    /// types and nullability. Returns every difference found.
    pub fn check_arrow(&self, schema: &Schema) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if schema.fields().len() != self.columns.len() {
            problems.push(format!(
                "{} columns written, {} in the contract",
                schema.fields().len(),
                self.columns.len()
            ));
        }
        for (field, column) in schema.fields().iter().zip(&self.columns) {
            if field.name() != &column.name {
                problems.push(format!(
                    "column {:?} written where {:?} is due",
                    field.name(),
                    column.name
                ));
                continue;
            }
            if Some(field.data_type()) != arrow_type(&column.type_name).as_ref() {
                problems.push(format!(
                    "column {:?} has type {}, the contract says {}",
                    column.name,
                    field.data_type(),
                    column.type_name
                ));
            }
            if field.is_nullable() && !column.nullable {
                problems.push(format!(
                    "column {:?} is nullable, the contract says not",
                    column.name
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Checks a TSV header line against the column names.
    pub fn check_tsv_header(&self, header: &str) -> Result<(), Vec<String>> {
        let written: Vec<&str> = header.split('\t').collect();
        let due: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        if written == due {
            Ok(())
        } else {
            Err(vec![format!(
                "TSV header {written:?}, the contract says {due:?}"
            )])
        }
    }
}
