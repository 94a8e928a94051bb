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
    let got = nuclei(&source).expect("nuclei");
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
    for (got, e) in n
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
