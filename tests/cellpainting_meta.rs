//! Cell Painting compound metadata: the real JUMP-Target files, writer/reader round trips in both
//! layouts, bad input (rejects and fatal errors naming file, line and column), layout detection,
//! and the written headers against their contracts in data-schemas/.

#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::fs;
use std::path::{Path, PathBuf};

use assayflow::export::schema::TableSchema;
use assayflow::sources::cellpainting::{
    CellPaintingError, CellPaintingMetadata, MetadataLayout, canonical_well, detect_layout,
    read_metadata,
};
use assayflow::synth::cellpainting_meta::{CompoundEntry, PlateLayout, write_cdrp, write_jump};

const JUMP_TARGET: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/data/cellpainting/jump_target"
);

/// A fresh, empty temporary directory for one test (removed on drop).
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "assayflow-cellpainting-{}-{tag}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temporary directory");
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.0.join(rel);
        let parent = path.parent().expect("a parent directory");
        fs::create_dir_all(parent).expect("test file directory");
        fs::write(&path, text).expect("test file");
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn copy_jump_target(into: &TempDir, name: &str) {
    for kind in ["compound_metadata", "compound_platemap"] {
        let file = format!("{name}_{kind}.tsv");
        fs::copy(Path::new(JUMP_TARGET).join(&file), into.path().join(&file))
            .expect("JUMP-Target file in ../shared");
    }
}

fn compound<'a>(
    meta: &'a CellPaintingMetadata,
    id: &str,
) -> &'a assayflow::sources::cellpainting::CpCompound {
    meta.compounds
        .iter()
        .find(|c| c.broad_sample == id)
        .unwrap_or_else(|| panic!("no compound {id}"))
}

fn well<'a>(
    meta: &'a CellPaintingMetadata,
    plate: &str,
    well: &str,
) -> &'a assayflow::sources::cellpainting::CpWell {
    meta.wells
        .iter()
        .find(|w| w.plate == plate && w.well == well)
        .unwrap_or_else(|| panic!("no well {plate} {well}"))
}

fn rejects_text(meta: &CellPaintingMetadata) -> Vec<String> {
    meta.rejects
        .iter()
        .map(|r| format!("{}:{}: {}", r.source.file, r.source.line, r.reason))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The real JUMP-Target files.

#[test]
fn real_jump_target_1() {
    let dir = TempDir::new("jt1");
    copy_jump_target(&dir, "JUMP-Target-1");
    let meta = read_metadata(dir.path(), None).unwrap();
    assert_eq!(meta.layout, MetadataLayout::Jump);
    assert!(meta.rejects.is_empty(), "{:?}", rejects_text(&meta));
    assert!(meta.duplicates.is_empty());
    // 307 metadata rows: 306 compounds and the DMSO row (broad_sample NA, negcon).
    assert_eq!(meta.compounds.len(), 306);
    let gabapentin = compound(&meta, "BRD-A86665761-001-01-1");
    assert_eq!(gabapentin.name.as_deref(), Some("gabapentin-enacarbil"));
    assert_eq!(
        gabapentin.smiles.as_deref(),
        Some("CC(OC(=O)NCC1(CC(=O)O)CCCCC1)OC(=O)C(C)C")
    );
    assert_eq!(
        gabapentin.source.file,
        "JUMP-Target-1_compound_metadata.tsv"
    );
    assert_eq!(gabapentin.source.line, 2);
    assert!(meta.compounds.iter().all(|c| c.smiles.is_some()));
    assert!(
        meta.compounds
            .windows(2)
            .all(|w| w[0].broad_sample < w[1].broad_sample)
    );

    // One plate named after the platemap, 384 wells, 64 of them DMSO.
    assert_eq!(meta.wells.len(), 384);
    assert!(meta.wells.iter().all(|w| w.plate == "JUMP-Target-1"));
    let a01 = well(&meta, "JUMP-Target-1", "A01");
    assert_eq!(a01.broad_sample.as_deref(), Some("BRD-A86665761-001-01-1"));
    assert!(!a01.control);
    assert_eq!(a01.source.file, "JUMP-Target-1_compound_platemap.tsv");
    assert_eq!(a01.source.line, 2);
    let a02 = well(&meta, "JUMP-Target-1", "A02");
    assert_eq!((a02.broad_sample.as_deref(), a02.control), (None, true));
    let controls: Vec<_> = meta.wells.iter().filter(|w| w.control).collect();
    assert_eq!(controls.len(), 64);
    assert!(controls.iter().all(|w| w.broad_sample.is_none()));
    assert!(meta.wells.windows(2).all(|w| w[0].well < w[1].well));
    let last = meta.wells.last().unwrap();
    assert_eq!(last.well, "P24");
    // Every compound of the metadata is on the plate (some twice).
    let on_plate: std::collections::BTreeSet<_> = meta
        .wells
        .iter()
        .filter_map(|w| w.broad_sample.as_deref())
        .collect();
    assert_eq!(on_plate.len(), 306);
}

#[test]
fn real_jump_target_2_has_repeated_rows() {
    let dir = TempDir::new("jt2");
    copy_jump_target(&dir, "JUMP-Target-2");
    let meta = read_metadata(dir.path(), Some(MetadataLayout::Jump)).unwrap();
    assert!(meta.rejects.is_empty(), "{:?}", rejects_text(&meta));
    // 315 rows: the DMSO row, 8 rows repeating the row before them exactly, 306 compounds.
    assert_eq!(meta.duplicates.len(), 8);
    assert_eq!(meta.compounds.len(), 306);
    assert_eq!(
        compound(&meta, "BRD-K09338665-001-07-1").smiles.as_deref(),
        Some("CCCCCCCCO")
    );
    assert_eq!(meta.wells.len(), 384);
    assert_eq!(meta.wells.iter().filter(|w| w.control).count(), 64);
    assert_eq!(
        well(&meta, "JUMP-Target-2", "A01").broad_sample.as_deref(),
        Some("BRD-K09338665-001-07-1")
    );
}

#[test]
fn real_jump_target_directory_as_shipped() {
    // Both sets in one directory (plus a LICENSE): one catalogue, two plates.
    let meta = read_metadata(Path::new(JUMP_TARGET), None).unwrap();
    assert_eq!(meta.layout, MetadataLayout::Jump);
    assert!(meta.rejects.is_empty(), "{:?}", rejects_text(&meta));
    // 177 sample ids are in both files, always with the same SMILES: 620 rows with an id, 435
    // compounds, 185 repeats.
    assert_eq!(meta.compounds.len(), 306 + 306 - 177);
    assert_eq!(meta.duplicates.len(), 185);
    assert_eq!(meta.wells.len(), 768);
    for plate in ["JUMP-Target-1", "JUMP-Target-2"] {
        assert_eq!(meta.wells.iter().filter(|w| w.plate == plate).count(), 384);
    }
    // Positive controls are ordinary compounds.
    let poscon = compound(&meta, "BRD-K23363278-001-02-1");
    assert_eq!(poscon.name.as_deref(), Some("CYT-997"));
    assert!(
        meta.wells
            .iter()
            .filter(|w| w.broad_sample.as_deref() == Some("BRD-K23363278-001-02-1"))
            .all(|w| !w.control)
    );
}

// ---------------------------------------------------------------------------------------------
// Round trips.

fn entry(id: &str, name: Option<&str>, smiles: Option<&str>) -> CompoundEntry {
    CompoundEntry {
        broad_sample: id.to_string(),
        name: name.map(str::to_string),
        smiles: smiles.map(str::to_string),
    }
}

fn sample_world() -> (Vec<CompoundEntry>, Vec<PlateLayout>) {
    let compounds = vec![
        entry(
            "BRD-K00000002-001-01-1",
            Some("beta, \"quoted\""),
            Some("CCO"),
        ),
        entry("BRD-K00000001-001-01-1", Some("alpha"), Some("c1ccccc1O")),
        entry("BRD-A00000003-001-01-1", None, Some("C[S+](C)[O-]")),
        entry("BRD-K00000004-001-01-1", Some("no smiles"), None),
        entry(
            "BRD-K00000005-001-01-1",
            Some("tab\tand,comma"),
            Some("F/C=C/F"),
        ),
    ];
    let map_a: Vec<(String, Option<String>)> = vec![
        ("A01".into(), Some("BRD-K00000001-001-01-1".into())),
        ("A02".into(), None),
        ("B01".into(), Some("BRD-K00000002-001-01-1".into())),
        ("P24".into(), Some("BRD-K00000004-001-01-1".into())),
    ];
    let map_b: Vec<(String, Option<String>)> = vec![
        ("A01".into(), Some("BRD-A00000003-001-01-1".into())),
        ("A02".into(), Some("BRD-K00000005-001-01-1".into())),
        ("C10".into(), None),
    ];
    let plates = vec![
        PlateLayout {
            plate: "24277".into(),
            platemap: "C-7161-01-LM6-001".into(),
            wells: map_a.clone(),
        },
        PlateLayout {
            plate: "24278".into(),
            platemap: "C-7161-01-LM6-001".into(),
            wells: map_a,
        },
        PlateLayout {
            plate: "25000".into(),
            platemap: "C-7161-01-LM6-002".into(),
            wells: map_b,
        },
    ];
    (compounds, plates)
}

type CompoundRow = (String, Option<String>, Option<String>);
type WellRow = (String, String, Option<String>, bool);

fn expected(
    compounds: &[CompoundEntry],
    plates: &[PlateLayout],
) -> (Vec<CompoundRow>, Vec<WellRow>) {
    let mut c: Vec<CompoundRow> = compounds
        .iter()
        .map(|c| (c.broad_sample.clone(), c.smiles.clone(), c.name.clone()))
        .collect();
    c.sort();
    let mut w: Vec<WellRow> = plates
        .iter()
        .flat_map(|p| {
            p.wells
                .iter()
                .map(|(well, s)| (p.plate.clone(), well.clone(), s.clone(), s.is_none()))
        })
        .collect();
    w.sort();
    (c, w)
}

fn observed(meta: &CellPaintingMetadata) -> (Vec<CompoundRow>, Vec<WellRow>) {
    let c = meta
        .compounds
        .iter()
        .map(|c| (c.broad_sample.clone(), c.smiles.clone(), c.name.clone()))
        .collect();
    let w = meta
        .wells
        .iter()
        .map(|w| {
            (
                w.plate.clone(),
                w.well.clone(),
                w.broad_sample.clone(),
                w.control,
            )
        })
        .collect();
    (c, w)
}

fn all_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("written directory") {
            let p = e.expect("directory entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("inside").display().to_string();
                out.push((rel, fs::read(&p).expect("written file")));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn cdrp_round_trip() {
    let (compounds, plates) = sample_world();
    let dir = TempDir::new("cdrp-rt");
    write_cdrp(dir.path(), &compounds, &plates).unwrap();
    let meta = read_metadata(dir.path(), None).unwrap();
    assert_eq!(meta.layout, MetadataLayout::Cdrp);
    assert!(meta.rejects.is_empty(), "{:?}", rejects_text(&meta));
    assert!(meta.duplicates.is_empty());
    assert_eq!(observed(&meta), expected(&compounds, &plates));
    assert_eq!(meta.wells.len(), 11);

    // One platemap file per platemap, shared by two plates.
    let files: Vec<String> = all_files(dir.path()).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        files,
        [
            "barcode_platemap.csv",
            "chemical_annotations.csv",
            "platemap/C-7161-01-LM6-001.txt",
            "platemap/C-7161-01-LM6-002.txt",
        ]
    );
    let pm = fs::read_to_string(dir.path().join("platemap/C-7161-01-LM6-001.txt")).unwrap();
    assert_eq!(
        pm,
        "well_position\tbroad_sample\tmmoles_per_liter\tsolvent\n\
         A01\tBRD-K00000001-001-01-1\t10\tDMSO\n\
         A02\t\t\tDMSO\n\
         B01\tBRD-K00000002-001-01-1\t10\tDMSO\n\
         P24\tBRD-K00000004-001-01-1\t10\tDMSO\n"
    );
    let ann = fs::read_to_string(dir.path().join("chemical_annotations.csv")).unwrap();
    assert!(ann.contains("BRD-K00000002-001-01-1,\"beta, \"\"quoted\"\"\",,,,,,,CCO,\n"));

    // Byte-deterministic.
    let again = TempDir::new("cdrp-rt-again");
    write_cdrp(again.path(), &compounds, &plates).unwrap();
    assert_eq!(all_files(dir.path()), all_files(again.path()));

    // The same files saved on Windows (CRLF, a byte-order mark) read the same.
    for (rel, bytes) in all_files(again.path()) {
        let text = String::from_utf8(bytes).unwrap().replace('\n', "\r\n");
        again.write(&rel, &format!("\u{feff}{text}"));
    }
    let crlf = read_metadata(again.path(), None).unwrap();
    assert!(crlf.rejects.is_empty(), "{:?}", rejects_text(&crlf));
    assert_eq!(observed(&crlf), observed(&meta));
    assert_eq!(crlf.wells, meta.wells);
}

#[test]
fn jump_round_trip_with_barcodes() {
    let (compounds, plates) = sample_world();
    let dir = TempDir::new("jump-rt");
    write_jump(dir.path(), "SYNTH-1", &compounds, &plates).unwrap();
    let meta = read_metadata(dir.path(), None).unwrap();
    assert_eq!(meta.layout, MetadataLayout::Jump);
    assert!(meta.rejects.is_empty(), "{:?}", rejects_text(&meta));
    assert_eq!(observed(&meta), expected(&compounds, &plates));
    let files: Vec<String> = all_files(dir.path()).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        files,
        [
            "C-7161-01-LM6-001_compound_platemap.tsv",
            "C-7161-01-LM6-002_compound_platemap.tsv",
            "SYNTH-1_compound_metadata.tsv",
            "barcode_platemap.csv",
        ]
    );
    let md = fs::read_to_string(dir.path().join("SYNTH-1_compound_metadata.tsv")).unwrap();
    assert!(md.contains("\nBRD-K00000004-001-01-1\tNA\tno smiles\tNA\tNA\ttrt\tNA\tNA\tNA\n"));
    assert!(md.ends_with("\tcontrol\tnegcon\tC[S+](C)[O-]\tInChI=1S/C2H6OS/c1-4(2)3/h1-2H3\n"));

    let again = TempDir::new("jump-rt-again");
    write_jump(again.path(), "SYNTH-1", &compounds, &plates).unwrap();
    assert_eq!(all_files(dir.path()), all_files(again.path()));
}

#[test]
fn jump_round_trip_plates_named_as_platemaps() {
    // Two calls into one directory, as JUMP-Target ships: no barcode map, one plate per NAME.
    let (compounds, plates) = sample_world();
    let first = vec![PlateLayout {
        plate: "SYNTH-1".into(),
        platemap: "SYNTH-1".into(),
        wells: plates[0].wells.clone(),
    }];
    let second = vec![PlateLayout {
        plate: "SYNTH-2".into(),
        platemap: "SYNTH-2".into(),
        wells: plates[2].wells.clone(),
    }];
    let dir = TempDir::new("jump-rt-names");
    write_jump(dir.path(), "SYNTH-1", &compounds[..4], &first).unwrap();
    write_jump(dir.path(), "SYNTH-2", &compounds[2..], &second).unwrap();
    assert!(!dir.path().join("barcode_platemap.csv").exists());
    let meta = read_metadata(dir.path(), None).unwrap();
    assert!(meta.rejects.is_empty(), "{:?}", rejects_text(&meta));
    // Compounds 2 and 3 are in both files: merged.
    assert_eq!(meta.duplicates.len(), 2);
    let plates: Vec<PlateLayout> = first.into_iter().chain(second).collect();
    assert_eq!(observed(&meta), expected(&compounds, &plates));
}

#[test]
fn writer_refuses_inconsistent_platemaps_and_bad_names() {
    let (compounds, mut plates) = sample_world();
    plates[1].wells.pop();
    let dir = TempDir::new("writer-refuses");
    let err = write_cdrp(dir.path(), &compounds, &plates).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("C-7161-01-LM6-001"), "{err}");
    let err = write_jump(dir.path(), "SYNTH", &compounds, &plates).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    let (compounds, mut plates) = sample_world();
    plates[2].platemap = "../escape".into();
    let err = write_cdrp(dir.path(), &compounds, &plates).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    let err = write_jump(dir.path(), "a/b", &compounds, &[]).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    // Nothing was written by the refused calls.
    assert!(all_files(dir.path()).is_empty());
}

#[test]
fn written_headers_follow_the_contracts() {
    let schemas = concat!(env!("CARGO_MANIFEST_DIR"), "/data-schemas");
    let header = |path: PathBuf| -> String {
        fs::read_to_string(path)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_string()
    };
    let columns = |name: &str| -> Vec<String> {
        let schema = TableSchema::load(&Path::new(schemas).join(format!("{name}.toml"))).unwrap();
        assert_eq!(schema.name, name);
        schema.columns.into_iter().map(|c| c.name).collect()
    };
    let (compounds, plates) = sample_world();
    let cdrp = TempDir::new("contracts-cdrp");
    write_cdrp(cdrp.path(), &compounds, &plates).unwrap();
    let jump = TempDir::new("contracts-jump");
    write_jump(jump.path(), "SYNTH", &compounds, &plates).unwrap();
    let split = |h: String, d: char| -> Vec<String> { h.split(d).map(str::to_string).collect() };
    assert_eq!(
        split(header(cdrp.path().join("chemical_annotations.csv")), ','),
        columns("cellpainting_cdrp_chemical_annotations")
    );
    for dir in [&cdrp, &jump] {
        assert_eq!(
            split(header(dir.path().join("barcode_platemap.csv")), ','),
            columns("cellpainting_cdrp_barcode_platemap")
        );
    }
    assert_eq!(
        split(
            header(cdrp.path().join("platemap/C-7161-01-LM6-002.txt")),
            '\t'
        ),
        columns("cellpainting_cdrp_platemap")
    );
    assert_eq!(
        split(
            header(jump.path().join("SYNTH_compound_metadata.tsv")),
            '\t'
        ),
        columns("cellpainting_jump_compound_metadata")
    );
    assert_eq!(
        split(
            header(jump.path().join("C-7161-01-LM6-002_compound_platemap.tsv")),
            '\t'
        ),
        columns("cellpainting_jump_platemap")
    );
    // The real JUMP-Target files have the contracted headers too.
    assert_eq!(
        split(
            header(Path::new(JUMP_TARGET).join("JUMP-Target-1_compound_metadata.tsv")),
            '\t'
        ),
        columns("cellpainting_jump_compound_metadata")
    );
    assert_eq!(
        split(
            header(Path::new(JUMP_TARGET).join("JUMP-Target-1_compound_platemap.tsv")),
            '\t'
        ),
        columns("cellpainting_jump_platemap")
    );
}

// ---------------------------------------------------------------------------------------------
// Bad input.

const ANNOTATIONS_HEADER: &str = "BROAD_ID,CPD_NAME,CPD_NAME_TYPE,CPD_SAMPLE_ID,DOS_LIBRARY,SOURCE_NAME,CHEMIST_NAME,VENDOR_CATALOG_ID,CPD_SMILES,USERCOMMENT\n";

fn bad_cdrp(dir: &TempDir) {
    dir.write(
        "chemical_annotations.csv",
        &format!(
            "{ANNOTATIONS_HEADER}\
             BRD-K00000001-001-01-1,alpha,,,,,,,CCO,\n\
             BRD-K00000002-001-01-1,\"beta, two\",,,,,,,,\n\
             BRD-K00000003-001-01-1,gamma,,,,,,,CCN,\n\
             BRD-K00000003-001-02-9,gamma HCl,,,,,,,CCN.Cl,\n\
             BRD-K00000001-001-01-1,alpha again,,,,,,,CCO,\n\
             BRD-K00000002-001-01-1,beta conflicting,,,,,,,CCC,\n\
             ,no id,,,,,,,C,\n\
             BRD-K00000009-001-01-1,too many,,,,,,,C,,extra\n"
        ),
    );
    dir.write(
        "barcode_platemap.csv",
        "Plate_Map_Name,Assay_Plate_Barcode\n\
         MAP1,P1\n\
         MAP1,P2\n\
         MISSING,P3\n\
         MAP1,P1\n\
         ../evil,P4\n",
    );
    dir.write(
        "platemap/MAP1.txt",
        "well_position\tbroad_sample\tmmoles_per_liter\tsolvent\n\
         a1\tBRD-K00000001-001-01-1\t10\tDMSO\n\
         A02\t\t\tDMSO\n\
         A03\n\
         A04\tBRD-K99999999-001-01-1\t10\tDMSO\n\
         A05\tBRD-K00000001-001-07-3\t10\tDMSO\n\
         A06\tBRD-K00000003-001-05-5\t10\tDMSO\n\
         Z\tBRD-K00000001-001-01-1\t10\tDMSO\n\
         A01\tBRD-K00000002-001-01-1\t10\tDMSO\n\
         B7\tBRD-K00000002-001-01-1\t10\tDMSO\n",
    );
}

#[test]
fn cdrp_bad_rows_become_rejects() {
    let dir = TempDir::new("cdrp-bad");
    bad_cdrp(&dir);
    let meta = read_metadata(dir.path(), None).unwrap();
    let rejects = rejects_text(&meta);
    let expect = [
        "barcode_platemap.csv:4: plate P3: platemap file platemap/MISSING.txt not found",
        "barcode_platemap.csv:6: Plate_Map_Name \"../evil\" is not a usable file name",
        "chemical_annotations.csv:7: broad_sample BRD-K00000002-001-01-1 is already defined at chemical_annotations.csv:3",
        "chemical_annotations.csv:8: empty BROAD_ID",
        "chemical_annotations.csv:9: expected 10 fields as in the header, found 11",
        "platemap/MAP1.txt:4: expected 4 fields as in the header, found 1",
        "platemap/MAP1.txt:5: well A04: broad_sample BRD-K99999999-001-01-1 is not in chemical_annotations.csv, nor is any BROAD_ID starting with BRD-K99999999",
        "platemap/MAP1.txt:7: well A06: broad_sample BRD-K00000003-001-05-5 is not in chemical_annotations.csv, and the BROAD_IDs starting with BRD-K00000003",
        "platemap/MAP1.txt:8: bad well_position \"Z\"",
        "platemap/MAP1.txt:9: well A01 is already listed at platemap/MAP1.txt:2",
    ];
    assert_eq!(rejects.len(), expect.len(), "{rejects:#?}");
    for (got, want) in rejects.iter().zip(expect) {
        assert!(
            got.starts_with(want),
            "{got}\n  does not start with\n{want}"
        );
    }
    // The repeated identical rows are merged, not rejected.
    let dups: Vec<String> = meta.duplicates.iter().map(|d| d.to_string()).collect();
    assert_eq!(
        dups,
        ["barcode_platemap.csv:5", "chemical_annotations.csv:6"]
    );

    // Valid rows survive: the quoted name with a comma, an empty SMILES, the first definition of
    // a conflicting id, and a prefix match (A05 -> the only BRD-K00000001 annotation).
    let beta = compound(&meta, "BRD-K00000002-001-01-1");
    assert_eq!(beta.name.as_deref(), Some("beta, two"));
    assert_eq!(beta.smiles, None);
    let alias = compound(&meta, "BRD-K00000001-001-07-3");
    assert_eq!(alias.smiles.as_deref(), Some("CCO"));
    assert_eq!(alias.source.line, 2);
    assert_eq!(meta.compounds.len(), 5);

    // Two plates of MAP1, four usable wells each (A01 from "a1", A02 control, A05, B07).
    let wells: Vec<(String, String, Option<String>, bool)> = meta
        .wells
        .iter()
        .map(|w| {
            (
                w.plate.clone(),
                w.well.clone(),
                w.broad_sample.clone(),
                w.control,
            )
        })
        .collect();
    let per_plate = |p: &str| {
        vec![
            (
                p.to_string(),
                "A01".to_string(),
                Some("BRD-K00000001-001-01-1".to_string()),
                false,
            ),
            (p.to_string(), "A02".to_string(), None, true),
            (
                p.to_string(),
                "A05".to_string(),
                Some("BRD-K00000001-001-07-3".to_string()),
                false,
            ),
            (
                p.to_string(),
                "B07".to_string(),
                Some("BRD-K00000002-001-01-1".to_string()),
                false,
            ),
        ]
    };
    let mut want = per_plate("P1");
    want.extend(per_plate("P2"));
    assert_eq!(wells, want);
    assert_eq!(well(&meta, "P2", "B07").source.line, 10);
}

#[test]
fn line_numbers_survive_blank_lines_and_quoted_line_breaks() {
    for eol in ["\n", "\r\n"] {
        let dir = TempDir::new(&format!("lines-{}", eol.len()));
        let text = format!(
            "{ANNOTATIONS_HEADER}\
             BRD-K00000001-001-01-1,\"two{eol}lines\",,,,,,,CCO,{eol}\
             {eol}\
             ,no id,,,,,,,C,{eol}\
             BRD-K00000002-001-01-1,b,,,,,,,CC,{eol}"
        )
        .replace("USERCOMMENT\n", &format!("USERCOMMENT{eol}"));
        dir.write("chemical_annotations.csv", &text);
        dir.write(
            "barcode_platemap.csv",
            &format!("Plate_Map_Name,Assay_Plate_Barcode{eol}M,P{eol}"),
        );
        dir.write(
            "platemap/M.txt",
            &format!("well_position\tbroad_sample{eol}{eol}{eol}A01\tBRD-K00000002-001-01-1{eol}"),
        );
        let meta = read_metadata(dir.path(), None).unwrap();
        assert_eq!(
            rejects_text(&meta),
            ["chemical_annotations.csv:5: empty BROAD_ID"]
        );
        let c = compound(&meta, "BRD-K00000001-001-01-1");
        assert_eq!(c.name.as_deref(), Some(format!("two{eol}lines").as_str()));
        assert_eq!(compound(&meta, "BRD-K00000002-001-01-1").source.line, 6);
        assert_eq!(well(&meta, "P", "A01").source.line, 4);
    }
}

#[test]
fn cdrp_missing_column_is_fatal_and_named() {
    let dir = TempDir::new("cdrp-no-smiles");
    bad_cdrp(&dir);
    dir.write(
        "chemical_annotations.csv",
        "BROAD_ID,CPD_NAME\nBRD-K00000001-001-01-1,alpha\n",
    );
    let err = read_metadata(dir.path(), None).unwrap_err();
    assert!(
        matches!(err, CellPaintingError::MissingColumn { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("chemical_annotations.csv"), "{text}");
    assert!(text.contains("CPD_SMILES"), "{text}");

    // A platemap without broad_sample.
    let dir = TempDir::new("cdrp-no-sample");
    bad_cdrp(&dir);
    dir.write("platemap/MAP1.txt", "well_position\tsolvent\nA01\tDMSO\n");
    let text = read_metadata(dir.path(), None).unwrap_err().to_string();
    assert!(
        text.contains("platemap/MAP1.txt") && text.contains("broad_sample"),
        "{text}"
    );
}

#[test]
fn missing_files_are_fatal_and_named() {
    let dir = TempDir::new("cdrp-no-barcodes");
    bad_cdrp(&dir);
    fs::remove_file(dir.path().join("barcode_platemap.csv")).unwrap();
    let err = read_metadata(dir.path(), None).unwrap_err();
    assert!(
        matches!(err, CellPaintingError::MissingFile { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("barcode_platemap.csv"), "{err}");

    let empty = TempDir::new("cdrp-forced-empty");
    let err = read_metadata(empty.path(), Some(MetadataLayout::Cdrp)).unwrap_err();
    assert!(
        err.to_string().contains("chemical_annotations.csv"),
        "{err}"
    );
    let err = read_metadata(empty.path(), Some(MetadataLayout::Jump)).unwrap_err();
    assert!(err.to_string().contains("_compound_metadata.tsv"), "{err}");
}

#[test]
fn jump_bad_rows_become_rejects() {
    let dir = TempDir::new("jump-bad");
    dir.write(
        "X_compound_metadata.tsv",
        "broad_sample\tInChIKey\tpert_iname\tpubchem_cid\ttarget_list\tpert_type\tcontrol_type\tsmiles\tInChI\n\
         BRD-K1\tNA\tone\tNA\tNA\ttrt\tNA\tCCO\tNA\n\
         BRD-NEG\tNA\tneg\tNA\tNA\tcontrol\tnegcon\tCS(C)=O\tNA\n\
         NA\tNA\torphan\tNA\tNA\ttrt\tNA\tCC\tNA\n\
         BRD-K1\tNA\tone\tNA\tNA\ttrt\tNA\tCCN\tNA\n\
         NA\tNA\tDMSO\tNA\tNA\tcontrol\tnegcon\tC[S+](C)[O-]\tNA\n",
    );
    dir.write(
        "X_compound_platemap.tsv",
        "well_position\tbroad_sample\tsolvent\n\
         A01\tBRD-K1\tDMSO\n\
         A02\tBRD-NEG\tDMSO\n\
         A03\tNA\tDMSO\n\
         A04\tBRD-K2\tDMSO\n\
         A5\tBRD-K1\n",
    );
    dir.write(
        "barcode_platemap.csv",
        "Assay_Plate_Barcode,Plate_Map_Name\n\
         BR1,X_compound_platemap\n\
         BR2,X\n\
         BR3,Y\n",
    );
    let meta = read_metadata(dir.path(), None).unwrap();
    let rejects = rejects_text(&meta);
    // Sorted by file, then line.
    let expect = [
        "X_compound_metadata.tsv:4: no broad_sample",
        "X_compound_metadata.tsv:5: broad_sample BRD-K1 is already defined at X_compound_metadata.tsv:2 with SMILES CCO; this row gives CCN",
        "X_compound_platemap.tsv:5: well A04: broad_sample BRD-K2 is in no *_compound_metadata.tsv",
        "X_compound_platemap.tsv:6: expected 3 fields as in the header, found 2",
        "barcode_platemap.csv:4: Plate_Map_Name \"Y\": no Y_compound_platemap.tsv",
    ];
    assert_eq!(rejects.len(), expect.len(), "{rejects:#?}");
    for (got, want) in rejects.iter().zip(expect) {
        assert!(
            got.starts_with(want),
            "{got}\n  does not start with\n{want}"
        );
    }
    assert_eq!(meta.compounds.len(), 2);
    let got: Vec<(&str, &str, Option<&str>, bool)> = meta
        .wells
        .iter()
        .map(|w| {
            (
                w.plate.as_str(),
                w.well.as_str(),
                w.broad_sample.as_deref(),
                w.control,
            )
        })
        .collect();
    let mut want = Vec::new();
    for plate in ["BR1", "BR2"] {
        want.push((plate, "A01", Some("BRD-K1"), false));
        want.push((plate, "A02", Some("BRD-NEG"), true));
        want.push((plate, "A03", None, true));
    }
    assert_eq!(got, want);
}

// ---------------------------------------------------------------------------------------------
// Detection and small helpers.

#[test]
fn detection() {
    let cdrp = TempDir::new("detect-cdrp");
    bad_cdrp(&cdrp);
    assert_eq!(detect_layout(cdrp.path()).unwrap(), MetadataLayout::Cdrp);
    assert_eq!(
        detect_layout(Path::new(JUMP_TARGET)).unwrap(),
        MetadataLayout::Jump
    );

    let empty = TempDir::new("detect-empty");
    empty.write("platemap/x.txt", "well_position\tbroad_sample\n");
    let err = detect_layout(empty.path()).unwrap_err();
    assert!(matches!(err, CellPaintingError::LayoutNotDetected { .. }));
    let text = err.to_string();
    assert!(
        text.contains("chemical_annotations.csv") && text.contains("_compound_metadata.tsv"),
        "{text}"
    );
    let err = read_metadata(empty.path(), None).unwrap_err();
    assert!(matches!(err, CellPaintingError::LayoutNotDetected { .. }));

    let gone = empty.path().join("does-not-exist");
    let err = detect_layout(&gone).unwrap_err();
    assert!(matches!(err, CellPaintingError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("does-not-exist"));
}

#[test]
fn well_names() {
    for (raw, want) in [
        ("a1", Some("A01")),
        ("A1", Some("A01")),
        ("a01", Some("A01")),
        (" P24 ", Some("P24")),
        ("af48", Some("AF48")),
        ("A001", Some("A01")),
        ("A0", None),
        ("A", None),
        ("1A", None),
        ("A1B", None),
        ("ABC1", None),
        ("A100", None),
        ("", None),
    ] {
        assert_eq!(canonical_well(raw).as_deref(), want, "{raw:?}");
    }
}
