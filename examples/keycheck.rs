//! Developer tool: compares our keys with an oracle TSV (smiles, key|NONE|NOKEY).
use std::collections::BTreeMap;
use std::io::BufRead;
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let col: usize = std::env::args()
        .nth(2)
        .map(|s| s.parse().unwrap())
        .unwrap_or(0);
    let keycol: usize = std::env::args()
        .nth(3)
        .map(|s| s.parse().unwrap())
        .unwrap_or(1);
    let skip: usize = std::env::args()
        .nth(4)
        .map(|s| s.parse().unwrap())
        .unwrap_or(0);
    let f = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for line in f.lines().skip(skip) {
        let line = line.unwrap();
        let cols: Vec<&str> = line.split('\t').collect();
        let s = cols[col];
        let want = cols[keycol];
        let got = assayflow::chem::smiles_to_inchikey(s);
        let cat = match (want, &got) {
            ("NONE", Err(_)) | ("NOKEY", Err(_)) => "ok-rejected",
            ("NONE", Ok(_)) => "BAD-accepted-invalid",
            ("NOKEY", Ok(_)) => "BAD-keyed-nokey",
            (_, Ok(k)) if k == want => "ok-key",
            (_, Ok(_)) => "BAD-mismatch",
            (_, Err(_)) => "BAD-rejected-valid",
        };
        if cat.starts_with("BAD") {
            println!(
                "{cat}\t{s}\t{want}\t{}",
                match &got {
                    Ok(k) => k.clone(),
                    Err(e) => e.to_string(),
                }
            );
        }
        *counts.entry(cat).or_default() += 1;
    }
    println!("{counts:?}");
}
