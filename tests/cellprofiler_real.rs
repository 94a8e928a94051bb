//! The CellProfiler readers on real outputs in ../shared (a cytominer-database per-plate SQLite
//! backend and one JUMP site's CSVs) against pandas (tests/fixtures/cellprofiler_real.json, made
//! by scripts/fixtures/gen_cellprofiler_fixture.py): the same feature columns in the same order,
//! the same per-well means, the same nucleus centres.

use std::path::PathBuf;

use assayflow::sources::cellprofiler::{
    CellProfilerSource, FeatureLevel, WellFeatures, find_source, nuclei, well_features,
};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shared() -> PathBuf {
    root().join("../shared/data/cellpainting/cellprofiler")
}

fn fixture() -> serde_json::Value {
    let text = std::fs::read_to_string(root().join("tests/fixtures/cellprofiler_real.json"))
        .expect("fixture");
    serde_json::from_str(&text).expect("json")
}

fn same(got: &WellFeatures, names: &serde_json::Value, wells: &serde_json::Value, what: &str) {
    let names: Vec<&str> = names
        .as_array()
        .expect("names")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(got.names, names, "{what}: feature columns");
    let wells = wells.as_object().expect("wells");
    assert_eq!(got.wells.len(), wells.len(), "{what}: wells");
    for (well, _, means) in &got.wells {
        let expected = wells[well].as_array().expect("means");
        assert_eq!(means.len(), expected.len(), "{what} {well}");
        for ((name, m), e) in got.names.iter().zip(means).zip(expected) {
            match e.as_f64() {
                None => assert!(m.is_nan(), "{what} {well} {name}: {m} vs no value"),
                Some(e) => assert!(
                    (m - e).abs() <= 1e-9 * e.abs().max(1.0),
                    "{what} {well} {name}: {m} vs {e}"
                ),
            }
        }
    }
}

#[test]
fn sqlite_backend_features_and_nuclei_equal_pandas() {
    let fx = fixture();
    let source = CellProfilerSource::Sqlite(shared().join("test_SQ00014613.sqlite"));
    let cells = well_features(&source, FeatureLevel::Cell).expect("features");
    // The paper's FNN used 1,783 features per image: the same count as this backend's.
    assert_eq!(cells.names.len(), 1783);
    same(
        &cells,
        &fx["sqlite"]["names"],
        &fx["sqlite"]["wells"],
        "cells",
    );
    let images = well_features(&source, FeatureLevel::Image).expect("image features");
    same(
        &images,
        &fx["sqlite"]["image_names"],
        &fx["sqlite"]["image_wells"],
        "images",
    );
    let read = nuclei(&source).expect("nuclei");
    assert!(read.problems.is_empty(), "{:?}", read.problems);
    let got = read.nuclei;
    let expected = fx["sqlite"]["nuclei"].as_array().expect("nuclei");
    assert_eq!(got.len(), expected.len());
    for (n, e) in got.iter().zip(expected) {
        assert_eq!(n.well, e[0].as_str().expect("well"));
        assert_eq!(u64::from(n.site), e[1].as_u64().expect("site"));
        assert_eq!(n.object, e[2].as_i64().expect("object"));
        assert_eq!(
            (n.x, n.y),
            (e[3].as_f64().expect("x"), e[4].as_f64().expect("y"))
        );
    }
}

#[test]
fn per_site_csv_features_and_nuclei_equal_pandas() {
    let fx = fixture();
    let source = find_source(&shared(), "BR00121431").expect("the site folder is found");
    assert!(matches!(source, CellProfilerSource::CsvSites(ref d) if d.len() == 1));
    let got = well_features(&source, FeatureLevel::Cell).expect("features");
    same(&got, &fx["csv"]["names"], &fx["csv"]["wells"], "csv");
    assert_eq!(got.wells[0].1, fx["csv"]["cells"].as_u64().expect("cells"));
    let n = nuclei(&source).expect("nuclei");
    assert!(n.problems.is_empty(), "{:?}", n.problems);
    for (got, e) in n
        .nuclei
        .iter()
        .zip(fx["csv"]["nuclei_first"].as_array().expect("first"))
    {
        assert_eq!(got.object, e[0].as_i64().expect("object"));
        assert_eq!(
            (got.x, got.y),
            (e[1].as_f64().expect("x"), e[2].as_f64().expect("y"))
        );
    }
}

/// Rows whose image has no usable well, or whose object number is unreadable, are returned as
/// problems naming the record (they become reject rows), never dropped silently.
#[test]
fn unusable_rows_are_named_problems() {
    let dir = std::env::temp_dir().join(format!("assayflow-cp-problems-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let db = dir.join("P1.sqlite");
    let conn = rusqlite::Connection::open(&db).expect("db");
    conn.execute_batch(
        "CREATE TABLE Image (TableNumber TEXT, ImageNumber INTEGER, Image_Metadata_Well TEXT, \
             Image_Metadata_Site INTEGER, Image_Count_Cells FLOAT);
         CREATE TABLE Nuclei (TableNumber TEXT, ImageNumber INTEGER, ObjectNumber INTEGER, \
             Nuclei_Location_Center_X FLOAT, Nuclei_Location_Center_Y FLOAT, Nuclei_AreaShape_Area FLOAT);
         CREATE TABLE Cells (TableNumber TEXT, ImageNumber INTEGER, ObjectNumber INTEGER, Cells_AreaShape_Area FLOAT);
         CREATE TABLE Cytoplasm (TableNumber TEXT, ImageNumber INTEGER, ObjectNumber INTEGER, Cytoplasm_AreaShape_Area FLOAT);
         INSERT INTO Image VALUES ('t', 1, 'A01', 1, 2), ('t', 2, NULL, 1, 1);
         INSERT INTO Nuclei VALUES ('t', 1, 1, 10.5, 20.5, 100), ('t', 1, 2, 30, 40, 120), ('t', 2, 1, 5, 5, 90);
         INSERT INTO Cells VALUES ('t', 1, 1, 300), ('t', 1, 2, 500), ('t', 2, 1, 700);
         INSERT INTO Cytoplasm VALUES ('t', 1, 1, 200), ('t', 1, 2, 380), ('t', 2, 1, 610);",
    )
    .expect("tables");
    drop(conn);
    let source = CellProfilerSource::Sqlite(db);
    let read = nuclei(&source).expect("nuclei");
    assert_eq!(read.nuclei.len(), 2);
    assert_eq!(read.problems.len(), 1);
    assert!(
        read.problems[0]
            .record
            .ends_with("(Nuclei ImageNumber 2, ObjectNumber 1)")
    );
    assert!(read.problems[0].reason.contains("no usable well (None)"));
    let f = well_features(&source, FeatureLevel::Cell).expect("features");
    assert_eq!(f.wells.len(), 1);
    assert_eq!(f.wells[0].0, "A01");
    let area = f
        .names
        .iter()
        .position(|n| n == "Cells_AreaShape_Area")
        .expect("column");
    assert_eq!(f.wells[0].2[area], 400.0);
    assert_eq!(
        f.problems.len(),
        3,
        "one per object table: {:?}",
        f.problems
    );
    assert!(
        f.problems[0]
            .reason
            .starts_with("1 object(s) whose Image_Metadata_Well None")
    );

    let site = dir.join("P2-B03-2");
    std::fs::create_dir_all(&site).expect("dir");
    std::fs::write(
        site.join("Nuclei.csv"),
        "ImageNumber,ObjectNumber,Location_Center_X,Location_Center_Y\n1,1,3.5,4.5\n1,x,1,1\n",
    )
    .expect("csv");
    let read = nuclei(&CellProfilerSource::CsvSites(vec![site.clone()])).expect("nuclei");
    assert_eq!(read.nuclei.len(), 1);
    assert_eq!(read.nuclei[0].well, "B03");
    assert_eq!(
        read.problems[0].record,
        format!("{}:3", site.join("Nuclei.csv").display())
    );
    assert_eq!(
        read.problems[0].reason,
        "ObjectNumber \"x\" is not a number"
    );
    std::fs::remove_dir_all(&dir).expect("clean");
}
