//! Plate layouts on real files: a CellProfiler `load_data.csv` in the CDRP form, whose AGP and
//! Mito columns name the same `_w5` file (the known bug of those lists), resolves AGP to the
//! site's `_w4` file; names that do not follow a layout, channels missing from the map and an
//! 8-bit image are named; the Phenix layout maps channels through the pipeline's map.

use std::path::{Path, PathBuf};

use assayflow::images::settings::{ImageLayout, ImagesSection};
use assayflow::sources::plate_images::scan_plates;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("assayflow-layouts-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

const BRAY: [(&str, u32); 5] = [
    ("Hoechst", 1),
    ("ERSyto", 2),
    ("ERSytoBleed", 3),
    ("Ph_golgi", 4),
    ("Mito", 5),
];

fn bray(folder: &str) -> PathBuf {
    root().join(format!(
        "../shared/data/cellpainting/bray2017_24279_A01_s1/{folder}.tif"
    ))
}

fn name(well: &str, site: u32, w: u32) -> String {
    format!("cdp2bioactives_{well}_s{site}_w{w}5a1b2c3d-0000-4000-8000-00000000000{w}.tif")
}

fn place(dir: &Path, plate: &str, well: &str, site: u32) {
    for (folder, w) in BRAY {
        let d = dir.join(format!("{plate}-{folder}"));
        std::fs::create_dir_all(&d).expect("dir");
        std::fs::copy(bray(folder), d.join(name(well, site, w))).expect("copy");
    }
}

#[test]
fn load_data_with_the_agp_mito_bug_resolves_the_agp_file() {
    let dir = temp_dir("load-data");
    place(&dir, "24279", "a01", 1);
    place(&dir, "24279", "a02", 1);
    // The CDRP list: PathName_Orig* are the plate-channel folders; AGP names the w5 (Mito) file.
    let mut csv = String::from(
        "Metadata_Plate,Metadata_Well,Metadata_Site,FileName_OrigDNA,PathName_OrigDNA,\
         FileName_OrigER,PathName_OrigER,FileName_OrigRNA,PathName_OrigRNA,\
         FileName_OrigAGP,PathName_OrigAGP,FileName_OrigMito,PathName_OrigMito\n",
    );
    for well in ["a01", "a02"] {
        let cols: Vec<String> = [
            (1, "Hoechst"),
            (2, "ERSyto"),
            (3, "ERSytoBleed"),
            (5, "Ph_golgi"), // the bug: the w5 file listed for AGP
            (5, "Mito"),
        ]
        .iter()
        .map(|(w, folder)| format!("{},24279-{folder}", name(well, 1, *w)))
        .collect();
        csv.push_str(&format!(
            "24279,{},1,{}\n",
            well.to_uppercase(),
            cols.join(",")
        ));
    }
    csv.push_str("24279,zz,1,,,,,,,,,,\n");
    let list = dir.join("load_data.csv");
    std::fs::write(&list, csv).expect("csv");
    let images = ImagesSection {
        layout: ImageLayout::LoadData,
        ..ImagesSection::default()
    };
    let scan = scan_plates(&list, &images).expect("scan");
    assert_eq!(scan.sites.len(), 2, "{:?}", scan.rejects);
    // Output order Mito, ER, RNA, AGP, DNA: AGP is the w4 file in the Ph_golgi folder.
    for s in &scan.sites {
        let agp = s.files[3]
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name");
        assert!(agp.contains("_w4"), "{agp}");
        assert!(s.files[3].starts_with(dir.join("24279-Ph_golgi")));
        assert!(s.files[0].to_string_lossy().contains("24279-Mito"));
    }
    assert_eq!(scan.rejects.len(), 1);
    assert!(
        scan.rejects[0]
            .reason
            .contains("is not a well and a site number"),
        "{:?}",
        scan.rejects
    );
    assert!(scan.rejects[0].path.ends_with("load_data.csv:4"));
    std::fs::remove_dir_all(&dir).expect("clean");
}

#[test]
fn odd_names_and_unmapped_channels_are_named() {
    let dir = temp_dir("odd");
    place(&dir, "24279", "a01", 1);
    let d = dir.join("24279-Extra");
    std::fs::create_dir_all(&d).expect("dir");
    std::fs::copy(bray("Mito"), d.join(name("a01", 1, 6))).expect("w6");
    std::fs::copy(bray("Mito"), d.join("thumbnail_a01.tif")).expect("odd");
    std::fs::write(d.join("notes.txt"), "not an image").expect("txt");
    let scan = scan_plates(&dir, &ImagesSection::default()).expect("scan");
    assert_eq!(scan.sites.len(), 1);
    assert_eq!(scan.other_files, 1);
    let reasons: Vec<&str> = scan.rejects.iter().map(|r| r.reason.as_str()).collect();
    assert!(
        reasons.contains(&"channel w6 is not in the pipeline's channel map"),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&"file name is not <prefix>_<well>_s<site>_w<n><UUID>.tif"),
        "{reasons:?}"
    );
    std::fs::remove_dir_all(&dir).expect("clean");
}

#[test]
fn an_eight_bit_image_is_a_named_decode_failure() {
    use assayflow::images::decode::decode_view;
    let dir = temp_dir("eight-bit");
    let mut files = Vec::new();
    for (folder, _) in BRAY {
        files.push(bray(folder));
    }
    // Replace the Mito file (output channel 0) by an 8-bit image of the right size.
    let eight = dir.join("mito8.tif");
    let mut out = std::io::Cursor::new(Vec::new());
    tiff::encoder::TiffEncoder::new(&mut out)
        .expect("encoder")
        .write_image::<tiff::encoder::colortype::Gray8>(696, 520, &vec![7u8; 696 * 520])
        .expect("write");
    std::fs::write(&eight, out.into_inner()).expect("write");
    let order = [4, 1, 2, 3, 0]; // Mito, ER, RNA, AGP, DNA from BRAY's order
    let mut view: Vec<PathBuf> = order.iter().map(|&i| files[i].clone()).collect();
    view[0] = eight.clone();
    let err = decode_view(&view, &ImagesSection::default()).expect_err("8-bit");
    assert_eq!(err.channel, "Mito");
    assert_eq!(err.path, eight);
    assert_eq!(
        err.reason,
        "expected 16-bit greyscale, found 8-bit greyscale"
    );
    std::fs::remove_dir_all(&dir).expect("clean");
}
