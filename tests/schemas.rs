//! Every contract in data-schemas/ is a valid schema file (known types, unique column names,
//! a description everywhere), so the writer tests can hold outputs to them.

#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use assayflow::export::schema::TableSchema;

#[test]
fn every_schema_file_is_valid() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data-schemas");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).expect("data-schemas/") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        count += 1;
        let schema = TableSchema::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            path.file_stem().and_then(|s| s.to_str()),
            Some(schema.name.as_str()),
            "{}: file name and table name differ",
            path.display()
        );
        assert!(!schema.description.trim().is_empty());
        assert!(
            schema.written_by.is_some() || schema.read_by.is_some(),
            "{}",
            path.display()
        );
        let mut names: Vec<&str> = schema.columns.iter().map(|c| c.name.as_str()).collect();
        assert!(!names.is_empty());
        assert!(
            schema
                .columns
                .iter()
                .all(|c| !c.description.trim().is_empty())
        );
        names.sort_unstable();
        names.dedup();
        assert_eq!(
            names.len(),
            schema.columns.len(),
            "{}: duplicate column",
            path.display()
        );
    }
    assert!(count >= 4);
}
