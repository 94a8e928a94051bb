//! `assayflow images convert` end to end: the real Bray 2017 and JUMP sites round-trip exactly
//! (uint16) or as the lab's scaling (uint8, against tifffile-derived histograms); bad files
//! become rejects naming plate, well, site, channel and reason; an added plate converts only
//! that plate; a run with its manifest removed (interrupted) resumes; worker counts do not
//! change a byte; written tables keep their contracts in data-schemas/.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use arrow_array::Array;
use assayflow::export::npy::read_header;
use assayflow::export::schema::TableSchema;
use assayflow::images::convert::{ViewManifest, read_label_compounds};
use assayflow::sources::cellpainting::read_metadata;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_assayflow"))
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("runs")
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("assayflow-images-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// A demo world and its label export, made once for every test here.
fn world() -> &'static (PathBuf, PathBuf) {
    static WORLD: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    WORLD.get_or_init(|| {
        let d = temp_dir("world");
        let w = d.join("world");
        let o = run(&[
            "-q",
            "synth",
            "world",
            "--scale",
            "demo",
            "--seed",
            "1",
            "--no-images",
            "--out",
            s(&w),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let labels = d.join("labels");
        let o = run(&[
            "-q",
            "labels",
            "build",
            "--chembl",
            s(&w.join("chembl/chembl_36.db")),
            "--cellpainting",
            s(&w.join("cellpainting")),
            "--out",
            s(&labels),
            "--processes",
            "1",
        ]);
        assert!(o.status.code() == Some(0) || o.status.code() == Some(1));
        (w, labels)
    })
}

/// Wells of plate `plate` whose compound has labels, in platemap order.
fn labelled_wells(plate: &str, n: usize) -> Vec<String> {
    let (w, labels) = world();
    let meta = read_metadata(&w.join("cellpainting"), None).expect("metadata");
    let compounds = read_label_compounds(labels).expect("compounds");
    let labelled: std::collections::BTreeSet<&str> = compounds
        .iter()
        .filter(|(_, (_, _, n))| *n > 0)
        .map(|(b, _)| b.as_str())
        .collect();
    meta.wells
        .iter()
        .filter(|x| x.plate == plate)
        .filter(|x| {
            x.broad_sample
                .as_deref()
                .is_some_and(|b| labelled.contains(b))
        })
        .map(|x| x.well.clone())
        .take(n)
        .collect()
}

const BRAY: [(&str, u32); 5] = [
    ("Hoechst", 1),
    ("ERSyto", 2),
    ("ERSytoBleed", 3),
    ("Ph_golgi", 4),
    ("Mito", 5),
];

fn bray_file(stain_folder: &str) -> PathBuf {
    root().join(format!(
        "../shared/data/cellpainting/bray2017_24279_A01_s1/{stain_folder}.tif"
    ))
}

/// Puts the real Bray site at `wells` x `sites` of `plate` in the CDRP layout.
fn place_bray(plates: &Path, plate: &str, wells: &[String], sites: u32) {
    for (folder, w) in BRAY {
        let dir = plates.join(format!("{plate}-{folder}"));
        std::fs::create_dir_all(&dir).expect("dir");
        for well in wells {
            for site in 1..=sites {
                let name = format!(
                    "cdp2bioactives_{}_s{site}_w{w}0c1d2e3f-0000-4000-8000-{:012}.tif",
                    well.to_lowercase(),
                    site
                );
                std::fs::copy(bray_file(folder), dir.join(name)).expect("copy");
            }
        }
    }
}

fn pipeline_with(dir: &Path, edits: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(root().join("pipelines/paper.toml")).expect("paper");
    for (from, to) in edits {
        assert!(text.contains(from), "{from}");
        text = text.replace(from, to);
    }
    let p = dir.join("pipeline.toml");
    std::fs::write(&p, text).expect("write");
    p
}

fn convert(plates: &Path, pipeline: &Path, out: &Path, workers: &str) -> Output {
    let (w, labels) = world();
    run(&[
        "-q",
        "images",
        "convert",
        "--plates",
        s(plates),
        "--cellpainting",
        s(&w.join("cellpainting")),
        "--labels",
        s(labels),
        "--pipeline",
        s(pipeline),
        "--out",
        s(out),
        "--workers",
        workers,
    ])
}

fn batches(path: &Path) -> Vec<arrow_array::RecordBatch> {
    assayflow::export::label_tables::read_table(path).expect("table")
}

fn column_strings(path: &Path, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches(path) {
        let c = b.column_by_name(name).expect("column");
        let c = c
            .as_any()
            .downcast_ref::<arrow_array::StringArray>()
            .expect("utf8");
        out.extend((0..c.len()).map(|i| c.value(i).to_string()));
    }
    out
}

fn shard_rows(out: &Path, shard: &str) -> (Vec<u64>, Vec<u8>) {
    let bytes = std::fs::read(out.join(shard)).expect("shard");
    let (_, shape, offset) = read_header(&bytes).expect("npy header");
    (shape, bytes[offset..].to_vec())
}

fn fixture() -> serde_json::Value {
    let text = std::fs::read_to_string(root().join("tests/fixtures/cellpainting_real_sites.json"))
        .expect("fixture");
    serde_json::from_str(&text).expect("json")
}

/// Sum and position-weighted checksum of a plane, as the fixture states them.
fn checksums(plane: &[u16]) -> (u64, u64) {
    let sum = plane.iter().map(|&p| u64::from(p)).sum();
    let weighted = plane
        .iter()
        .enumerate()
        .map(|(i, &p)| u64::from(p) * (i as u64 % 65521 + 1))
        .sum();
    (sum, weighted)
}

#[test]
fn the_real_bray_site_round_trips_raw_and_scaled() {
    let dir = temp_dir("bray");
    let plates = dir.join("plates");
    let wells = labelled_wells("24277", 2);
    assert_eq!(wells.len(), 2);
    place_bray(&plates, "24277", &wells, 2);
    let fx = fixture();
    let facts = fx["sites"]["bray2017_24279_A01_s1"]
        .as_array()
        .expect("site")
        .clone();
    let fact = |file: &str| {
        facts
            .iter()
            .find(|f| f["file"] == file)
            .cloned()
            .expect("fact")
    };
    // Output order Mito, ER, RNA, AGP, DNA.
    let order = [
        "Mito.tif",
        "ERSyto.tif",
        "ERSytoBleed.tif",
        "Ph_golgi.tif",
        "Hoechst.tif",
    ];

    for dtype in ["uint16", "uint8"] {
        let p = pipeline_with(
            &dir,
            &[("dtype = \"uint16\"", &format!("dtype = \"{dtype}\""))],
        );
        let out = dir.join(format!("views-{dtype}"));
        let o = convert(&plates, &p, &out, "2");
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let shards = column_strings(&out.join("views.parquet"), "shard");
        assert_eq!(shards.len(), 4, "2 wells x 2 sites");
        let (shape, data) = shard_rows(&out, &shards[0]);
        assert_eq!(shape, vec![4, 5, 520, 696]);
        let plane = 520 * 696;
        for view in 0..4 {
            for (c, file) in order.iter().enumerate() {
                let f = fact(file);
                if dtype == "uint16" {
                    let start = (view * 5 + c) * plane * 2;
                    let px: Vec<u16> = data[start..start + plane * 2]
                        .chunks_exact(2)
                        .map(|b| u16::from_le_bytes([b[0], b[1]]))
                        .collect();
                    assert_eq!(
                        checksums(&px),
                        (
                            f["sum"].as_u64().expect("sum"),
                            f["weighted_checksum"].as_u64().expect("checksum")
                        ),
                        "{file}"
                    );
                } else {
                    let start = (view * 5 + c) * plane;
                    let mut hist = vec![0u64; 256];
                    for &b in &data[start..start + plane] {
                        hist[usize::from(b)] += 1;
                    }
                    let expected: Vec<u64> = f["uint8_histogram"]
                        .as_array()
                        .expect("hist")
                        .iter()
                        .filter_map(|v| v.as_u64())
                        .collect();
                    assert_eq!(hist, expected, "{file} scaled");
                }
            }
        }
        let m = ViewManifest::load(&out).expect("manifest");
        for f in &m.files {
            let (hash, _) =
                assayflow::export::manifest::hash_file(&out.join(&f.path)).expect("hash");
            assert_eq!(hash, f.blake3, "{}", f.path);
        }
        for (table, schema) in [
            ("views.parquet", "views_views"),
            ("rejects.parquet", "views_rejects"),
            ("incomplete_wells.parquet", "views_incomplete_wells"),
        ] {
            let contract = TableSchema::load(&root().join(format!("data-schemas/{schema}.toml")))
                .expect("schema");
            let file = std::fs::File::open(out.join(table)).expect("open");
            let reader =
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                    .expect("parquet");
            contract
                .check_arrow(reader.schema().as_ref())
                .unwrap_or_else(|e| panic!("{table}: {e:?}"));
        }
    }
    std::fs::remove_dir_all(&dir).expect("clean");
}

#[test]
fn the_real_jump_site_round_trips_through_the_phenix_layout() {
    let dir = temp_dir("jump");
    let (w, _) = world();
    // JUMP-Target-1 metadata; its well A02 is a DMSO control.
    let meta = dir.join("meta");
    std::fs::create_dir_all(&meta).expect("dir");
    for f in ["compound_metadata", "compound_platemap"] {
        let name = format!("JUMP-Target-1_{f}.tsv");
        std::fs::copy(
            root()
                .join("../shared/data/cellpainting/jump_target")
                .join(&name),
            meta.join(&name),
        )
        .expect("copy");
    }
    let labels = dir.join("labels");
    let o = run(&[
        "-q",
        "labels",
        "build",
        "--chembl",
        s(&w.join("chembl/chembl_36.db")),
        "--cellpainting",
        s(&meta),
        "--out",
        s(&labels),
        "--processes",
        "1",
    ]);
    assert!(o.status.code() == Some(0) || o.status.code() == Some(1));
    let images = dir.join("plates/JUMP-Target-1__2020-11-05/Images");
    std::fs::create_dir_all(&images).expect("dir");
    let src = root().join("../shared/data/cellpainting/jump_cpg0000_BR00116991_A01_s1");
    for c in 1..=5 {
        std::fs::copy(
            src.join(format!("r01c01f01p01-ch{c}sk1fk1fl1.tiff")),
            images.join(format!("r01c02f01p01-ch{c}sk1fk1fl1.tiff")),
        )
        .expect("copy");
    }
    let p = pipeline_with(
        &dir,
        &[
            ("layout = \"detect\"", "layout = \"jump\""),
            ("layout = \"cdrp\"", "layout = \"phenix\""),
            ("height = 520", "height = 1080"),
            ("width = 696", "width = 1080"),
            ("include_controls = false", "include_controls = true"),
        ],
    );
    // The site's real CellProfiler nuclei, plus one planted centre outside the image.
    let cp = dir.join("cp/JUMP-Target-1-A02-1");
    std::fs::create_dir_all(&cp).expect("dir");
    let mut nuclei = std::fs::read_to_string(src.join("Nuclei.csv")).expect("nuclei");
    let header: Vec<String> = nuclei
        .lines()
        .next()
        .expect("header")
        .split(',')
        .map(String::from)
        .collect();
    let planted: Vec<&str> = header
        .iter()
        .map(|h| match h.as_str() {
            "ImageNumber" => "1",
            "ObjectNumber" => "999",
            "AreaShape_Center_X" | "Location_Center_X" => "1500.0",
            "AreaShape_Center_Y" | "Location_Center_Y" => "20.0",
            _ => "",
        })
        .collect();
    if !nuclei.ends_with('\n') {
        nuclei.push('\n');
    }
    nuclei.push_str(&planted.join(","));
    nuclei.push('\n');
    std::fs::write(cp.join("Nuclei.csv"), nuclei).expect("write");
    let out = dir.join("views");
    let o = run(&[
        "-q",
        "images",
        "convert",
        "--plates",
        s(&dir.join("plates")),
        "--cellpainting",
        s(&meta),
        "--labels",
        s(&labels),
        "--pipeline",
        s(&p),
        "--out",
        s(&out),
        "--cellprofiler",
        s(&dir.join("cp")),
    ]);
    assert_eq!(o.status.code(), Some(1), "the planted centre is a reject");
    let reasons = column_strings(&out.join("rejects.parquet"), "reason");
    assert_eq!(
        reasons,
        ["nucleus centre (1500.0, 20.0) outside the 1080x1080 image; the cell is skipped"]
    );
    // 109 real nuclei: those whose 96x96 crop fits are cut (border policy skip).
    let m = ViewManifest::load(&out).expect("manifest");
    assert_eq!(
        m.stats["crops_written"] + m.stats["crops_skipped_at_border"],
        109
    );
    assert!(m.stats["crops_written"] > 80, "{:?}", m.stats);
    assert_eq!(
        column_strings(&out.join("views.parquet"), "view"),
        ["JUMP-Target-1-A02-1"]
    );
    assert_eq!(
        column_strings(&out.join("views.parquet"), "kind"),
        ["control"]
    );
    let shard = &column_strings(&out.join("views.parquet"), "shard")[0];
    let (shape, data) = shard_rows(&out, shard);
    assert_eq!(shape, vec![1, 5, 1080, 1080]);
    let fx = fixture();
    let facts = fx["sites"]["jump_cpg0000_BR00116991_A01_s1"]
        .as_array()
        .expect("site")
        .clone();
    // Output Mito, ER, RNA, AGP, DNA = ch1, ch4, ch3, ch2, ch5 (cpg0000 source_4).
    let plane = 1080 * 1080;
    for (c, ch) in [1, 4, 3, 2, 5].iter().enumerate() {
        let f = facts
            .iter()
            .find(|f| f["file"] == format!("r01c01f01p01-ch{ch}sk1fk1fl1.tiff"))
            .expect("fact");
        let px: Vec<u16> = data[c * plane * 2..(c + 1) * plane * 2]
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(
            checksums(&px),
            (
                f["sum"].as_u64().expect("sum"),
                f["weighted_checksum"].as_u64().expect("w")
            ),
            "ch{ch}"
        );
    }
    std::fs::remove_dir_all(&dir).expect("clean");
}

#[test]
fn bad_files_become_rejects_and_nothing_else_is_lost() {
    let dir = temp_dir("bad");
    let plates = dir.join("plates");
    let wells = labelled_wells("24277", 6);
    assert_eq!(wells.len(), 6);
    place_bray(&plates, "24277", &wells, 1);
    let file = |well: &str, folder: &str, w: u32| {
        plates.join(format!("24277-{folder}")).join(format!(
            "cdp2bioactives_{}_s1_w{w}0c1d2e3f-0000-4000-8000-{:012}.tif",
            well.to_lowercase(),
            1
        ))
    };
    // wells[0]: truncated; [1]: corrupt bytes; [2]: wrong size; [3]: missing channel;
    // [4]: duplicated site; [5]: fine.
    let t = file(&wells[0], "ERSyto", 2);
    let bytes = std::fs::read(&t).expect("read");
    std::fs::write(&t, &bytes[..bytes.len() / 3]).expect("truncate");
    std::fs::write(file(&wells[1], "Mito", 5), b"this is not a TIFF at all").expect("corrupt");
    std::fs::copy(
        root().join("../shared/data/cellpainting/jump_cpg0000_BR00116991_A01_s1/r01c01f01p01-ch1sk1fk1fl1.tiff"),
        file(&wells[2], "Hoechst", 1),
    )
    .expect("wrong size");
    std::fs::remove_file(file(&wells[3], "Ph_golgi", 4)).expect("missing");
    let dup = plates.join("24277-Hoechst").join(format!(
        "cdp2bioactives_{}_s1_w1ffffffff-0000-4000-8000-000000000009.tif",
        wells[4].to_lowercase()
    ));
    std::fs::copy(bray_file("Hoechst"), dup).expect("dup");

    let p = pipeline_with(&dir, &[]);
    let out = dir.join("views");
    let o = convert(&plates, &p, &out, "2");
    assert_eq!(o.status.code(), Some(1), "rejects give exit 1");
    assert_eq!(
        column_strings(&out.join("views.parquet"), "well"),
        [wells[5].clone()]
    );
    let reasons = column_strings(&out.join("rejects.parquet"), "reason");
    let rwells = column_strings(&out.join("rejects.parquet"), "well");
    let reason_of = |w: &str| -> Vec<String> {
        rwells
            .iter()
            .zip(&reasons)
            .filter(|(x, _)| x.as_str() == w)
            .map(|(_, r)| r.clone())
            .collect()
    };
    assert!(
        reason_of(&wells[0])[0].contains("truncated"),
        "{:?}",
        reason_of(&wells[0])
    );
    assert!(
        reason_of(&wells[1])[0].contains("not a readable TIFF"),
        "{:?}",
        reason_of(&wells[1])
    );
    assert_eq!(
        reason_of(&wells[2]),
        ["expected 696x520 pixels, found 1080x1080"]
    );
    assert_eq!(
        reason_of(&wells[3]),
        ["missing channel(s) AGP; the site is skipped"]
    );
    assert_eq!(reason_of(&wells[4]).len(), 2);
    assert!(reason_of(&wells[4])[0].starts_with("duplicated site"));
    let m = ViewManifest::load(&out).expect("manifest");
    assert_eq!(m.stats["rejects"], 6);
    assert_eq!(m.stats["views_written"], 1);

    // A label export is never written over.
    let o = convert(&plates, &p, &world().1, "1");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("is not a view export's (assayflow-label-export/1)"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::remove_dir_all(&dir).expect("clean");
}

fn shard_hashes(out: &Path) -> Vec<(String, String)> {
    let m = ViewManifest::load(out).expect("manifest");
    m.files
        .into_iter()
        .filter(|f| f.path.ends_with(".npy"))
        .map(|f| (f.path, f.blake3))
        .collect()
}

#[test]
fn an_added_plate_converts_alone_and_an_interrupted_run_resumes() {
    let dir = temp_dir("incremental");
    let plates = dir.join("plates");
    place_bray(&plates, "24277", &labelled_wells("24277", 3), 2);
    let p = pipeline_with(&dir, &[("views_per_shard = 64", "views_per_shard = 4")]);
    let out = dir.join("views");
    assert_eq!(convert(&plates, &p, &out, "1").status.code(), Some(0));
    let before = shard_hashes(&out);
    assert_eq!(before.len(), 2, "6 views, 4 per shard");
    let mtimes = |paths: &[(String, String)]| -> Vec<std::time::SystemTime> {
        paths
            .iter()
            .map(|(p, _)| {
                std::fs::metadata(out.join(p))
                    .and_then(|m| m.modified())
                    .expect("mtime")
            })
            .collect()
    };
    let before_times = mtimes(&before);

    place_bray(&plates, "24278", &labelled_wells("24278", 2), 1);
    assert_eq!(convert(&plates, &p, &out, "2").status.code(), Some(0));
    let after = shard_hashes(&out);
    assert_eq!(after.len(), 3);
    assert_eq!(
        &after[..2],
        &before[..],
        "plate 24277's shards are untouched"
    );
    assert_eq!(mtimes(&after[..2]), before_times, "and not rewritten");
    assert!(after[2].0.starts_with("views/24278/"));

    // The same inputs into a fresh directory, with another worker count: the same bytes.
    let fresh = dir.join("fresh");
    assert_eq!(convert(&plates, &p, &fresh, "2").status.code(), Some(0));
    assert_eq!(
        std::fs::read(out.join("manifest.json")).expect("m"),
        std::fs::read(fresh.join("manifest.json")).expect("m")
    );
    assert_eq!(
        std::fs::read(out.join("views.parquet")).expect("v"),
        std::fs::read(fresh.join("views.parquet")).expect("v")
    );

    // An interrupted run: the manifest is gone (it is written last) but converted plates'
    // shards and states are there; the rerun reuses them and writes the same manifest.
    let manifest = std::fs::read(fresh.join("manifest.json")).expect("m");
    std::fs::remove_file(fresh.join("manifest.json")).expect("rm");
    std::fs::remove_file(fresh.join("views.parquet")).expect("rm");
    let o = bin()
        .args([
            "-v",
            "images",
            "convert",
            "--plates",
            s(&plates),
            "--cellpainting",
        ])
        .arg(world().0.join("cellpainting"))
        .args([
            "--labels",
            s(&world().1),
            "--pipeline",
            s(&p),
            "--out",
            s(&fresh),
        ])
        .output()
        .expect("runs");
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(log.contains("(0 plates converted, 2 reused)"), "{log}");
    assert_eq!(
        std::fs::read(fresh.join("manifest.json")).expect("m"),
        manifest
    );

    // A changed image: only its plate is converted again, and the old shard file is gone.
    let changed = std::fs::read_dir(plates.join("24278-Mito"))
        .expect("dir")
        .next()
        .expect("file")
        .expect("entry")
        .path();
    std::fs::copy(bray_file("ERSyto"), &changed).expect("change");
    assert_eq!(convert(&plates, &p, &out, "2").status.code(), Some(0));
    let last = shard_hashes(&out);
    assert_eq!(&last[..2], &before[..]);
    assert_ne!(last[2], after[2]);
    assert!(
        !out.join(&after[2].0).exists(),
        "the replaced shard was removed"
    );
    std::fs::remove_dir_all(&dir).expect("clean");
}

fn parquet_schema(path: &Path) -> arrow_schema::SchemaRef {
    let file = std::fs::File::open(path).expect("open");
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("parquet")
        .schema()
        .clone()
}

/// A generated plate through the whole chain: `synth plates` draws TIFFs and a CellProfiler
/// SQLite; conversion with --cellprofiler cuts a crop around every nucleus of every exported
/// view (each equal to its slice of the view) and averages the features of their wells.
#[test]
fn generated_plates_give_views_crops_and_features() {
    let (w, labels) = world();
    let dir = temp_dir("generated");
    let world = dir.join("world");
    // A private copy of the world's metadata and truth, so that drawing does not race.
    for sub in ["cellpainting", "truth"] {
        let to = world.join(sub);
        std::fs::create_dir_all(&to).expect("dir");
        let mut stack = vec![(w.join(sub), to)];
        while let Some((from, to)) = stack.pop() {
            for e in std::fs::read_dir(&from).expect("read").flatten() {
                let target = to.join(e.file_name());
                if e.path().is_dir() {
                    std::fs::create_dir_all(&target).expect("dir");
                    stack.push((e.path(), target));
                } else {
                    std::fs::copy(e.path(), &target).expect("copy");
                }
            }
        }
    }
    std::fs::copy(w.join("world.json"), world.join("world.json")).expect("record");
    let o = run(&[
        "-q",
        "synth",
        "plates",
        "--world",
        s(&world),
        "--plates",
        "1",
        "--wells-per-plate",
        "8",
        "--sites",
        "2",
        "--compression",
        "lzw",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let p = pipeline_with(&dir, &[("border = \"skip\"", "border = \"pad\"")]);
    let out = dir.join("views");
    let o = run(&[
        "-q",
        "images",
        "convert",
        "--plates",
        s(&world.join("images")),
        "--cellpainting",
        s(&world.join("cellpainting")),
        "--labels",
        s(labels),
        "--cellprofiler",
        s(&world.join("cellprofiler")),
        "--pipeline",
        s(&p),
        "--out",
        s(&out),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let views = column_strings(&out.join("views.parquet"), "view");
    assert!(!views.is_empty(), "labelled wells among the first 8");
    let cells_path = out.join("cells.parquet");
    let cell_views = column_strings(&cells_path, "view");
    assert!(
        cell_views.len() > views.len() * 30,
        "{} crops",
        cell_views.len()
    );
    assert!(cell_views.iter().all(|v| views.contains(v)));
    for (table, schema) in [
        ("cells.parquet", "views_cells"),
        ("views.parquet", "views_views"),
    ] {
        TableSchema::load(&root().join(format!("data-schemas/{schema}.toml")))
            .expect("schema")
            .check_arrow(parquet_schema(&out.join(table)).as_ref())
            .unwrap_or_else(|e| panic!("{table}: {e:?}"));
    }
    let features = parquet_schema(&out.join("features.parquet"));
    let fixed = arrow_schema::Schema::new(features.fields()[..7].to_vec());
    TableSchema::load(&root().join("data-schemas/views_features.toml"))
        .expect("schema")
        .check_arrow(&fixed)
        .unwrap_or_else(|e| panic!("features: {e:?}"));
    assert!(features.fields().len() > 20);
    assert!(features.field_with_name("Cells_AreaShape_Area").is_ok());

    // Every crop equals its slice of the view (zero outside the image).
    let batches = batches(&cells_path);
    let b = &batches[0];
    let col_f = |n: &str| {
        b.column_by_name(n)
            .expect("col")
            .as_any()
            .downcast_ref::<arrow_array::Float64Array>()
            .expect("f64")
            .clone()
    };
    let (xs, ys) = (col_f("x"), col_f("y"));
    let rows = b
        .column_by_name("row")
        .expect("row")
        .as_any()
        .downcast_ref::<arrow_array::UInt32Array>()
        .expect("u32")
        .clone();
    let crop_shards = column_strings(&cells_path, "shard");
    let view_rows = column_strings(&out.join("views.parquet"), "view");
    let view_shards = column_strings(&out.join("views.parquet"), "shard");
    let (_, crop_data) = shard_rows(&out, &crop_shards[0]);
    let (_, view_data) = shard_rows(&out, &view_shards[0]);
    let (w_px, h_px, size) = (696usize, 520usize, 96usize);
    for i in (0..cell_views.len()).step_by(37).take(20) {
        if crop_shards[i] != crop_shards[0] {
            continue;
        }
        let v = view_rows
            .iter()
            .position(|x| *x == cell_views[i])
            .expect("view");
        if view_shards[v] != view_shards[0] {
            continue;
        }
        let (cx, cy) = (xs.value(i).round() as i64, ys.value(i).round() as i64);
        let crop = &crop_data[rows.value(i) as usize * 5 * size * size * 2..];
        let view = &view_data[v * 5 * w_px * h_px * 2..];
        for c in 0..5 {
            for r in 0..size {
                for k in 0..size {
                    let (y, x) = (cy - 48 + r as i64, cx - 48 + k as i64);
                    let got = &crop[((c * size + r) * size + k) * 2..][..2];
                    if y < 0 || x < 0 || y >= h_px as i64 || x >= w_px as i64 {
                        assert_eq!(got, [0, 0], "padding");
                    } else {
                        let want = &view[((c * h_px + y as usize) * w_px + x as usize) * 2..][..2];
                        assert_eq!(got, want, "crop {i} channel {c} ({r}, {k})");
                    }
                }
            }
        }
    }
    std::fs::remove_dir_all(&dir).expect("clean");
}
