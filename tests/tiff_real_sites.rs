//! The two real Cell Painting sites in ../shared (a Bray 2017 U2OS site of the paper's own
//! dataset, uncompressed 696x520, and a JUMP site, LZW 1080x1080) decode to exactly the pixels
//! an independent reader (Python tifffile) sees, and the 8-bit scaling gives the lab's result.
//! Facts in tests/fixtures/cellpainting_real_sites.json, made by
//! scripts/fixtures/gen_tiff_fixture.py.

use std::path::PathBuf;

use assayflow::images::scaling::{DEFAULT_SATURATED_PERCENT, saturation_threshold, scale_to_u8};
use assayflow::sources::tiff_image::read_gray16;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn real_sites_decode_exactly_as_tifffile_reads_them() {
    let text = std::fs::read_to_string(root().join("tests/fixtures/cellpainting_real_sites.json"))
        .expect("fixture");
    let fixture: serde_json::Value = serde_json::from_str(&text).expect("json");
    let sites = fixture["sites"].as_object().expect("sites");
    let mut checked = 0;
    for (site, files) in sites {
        for f in files.as_array().expect("files") {
            let name = f["file"].as_str().expect("file");
            let path = root()
                .join("../shared/data/cellpainting")
                .join(site)
                .join(name);
            let int = |k: &str| f[k].as_u64().unwrap_or_else(|| panic!("{k}"));
            let (w, h) = (int("width") as u32, int("height") as u32);
            let img = read_gray16(&path, Some((w, h)))
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let px: Vec<u64> = img.pixels.iter().map(|&p| u64::from(p)).collect();
            let what = format!("{site}/{name}");
            assert_eq!(px.iter().min().copied(), Some(int("min")), "{what} min");
            assert_eq!(px.iter().max().copied(), Some(int("max")), "{what} max");
            assert_eq!(px.iter().sum::<u64>(), int("sum"), "{what} sum");
            assert_eq!(
                px.iter().map(|p| p * p).sum::<u64>(),
                int("sum_squares"),
                "{what}"
            );
            let weighted: u64 = px
                .iter()
                .enumerate()
                .map(|(i, p)| p * (i as u64 % 65521 + 1))
                .sum();
            assert_eq!(weighted, int("weighted_checksum"), "{what} pixel positions");
            for s in f["samples"].as_array().expect("samples") {
                let s: Vec<u64> = s
                    .as_array()
                    .expect("sample")
                    .iter()
                    .filter_map(|v| v.as_u64())
                    .collect();
                let (y, x, v) = (s[0] as usize, s[1] as usize, s[2]);
                assert_eq!(px[y * w as usize + x], v, "{what} pixel ({y}, {x})");
            }

            let t = saturation_threshold(&img.pixels, DEFAULT_SATURATED_PERCENT);
            assert_eq!(u64::from(t), int("uint8_threshold"), "{what} threshold");
            let mut out = vec![0u8; img.pixels.len()];
            scale_to_u8(&img.pixels, t, &mut out);
            let mut histogram = vec![0u64; 256];
            for &o in &out {
                histogram[usize::from(o)] += 1;
            }
            let expected: Vec<u64> = f["uint8_histogram"]
                .as_array()
                .expect("histogram")
                .iter()
                .filter_map(|v| v.as_u64())
                .collect();
            assert_eq!(histogram, expected, "{what} 8-bit histogram");
            checked += 1;
        }
    }
    assert_eq!(checked, 10, "both sites, five channels each");
}
