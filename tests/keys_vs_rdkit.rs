//! SMILES -> InChIKey against the oracles: RDKit 2026.09's keys for 7,075 varied molecules, the
//! same molecules re-written by RDKit in random atom orders (aromatic and Kekulé), 4,000 variants
//! with partially specified stereo, the 16,978 compounds of the Bray 2017 Cell Painting screen,
//! and ChEMBL 36's own keys.

#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::path::{Path, PathBuf};

use assayflow::chem::smiles_to_inchikey;

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(rel)
}

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Keys every (smiles, expected) pair; returns the failures as readable lines.
fn mismatches<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> (usize, Vec<String>) {
    let mut n = 0;
    let mut bad = Vec::new();
    for (smiles, expected) in pairs {
        n += 1;
        match smiles_to_inchikey(smiles) {
            Ok(k) if k == expected => {}
            Ok(k) => bad.push(format!("{smiles}: got {k}, want {expected}")),
            Err(e) => bad.push(format!("{smiles}: error {e}, want {expected}")),
        }
    }
    (n, bad)
}

#[test]
fn all_7075_rdkit_keys() {
    let text = read(&shared("chem/smiles_inchikey_rdkit.tsv"));
    let (n, bad) = mismatches(text.lines().map(|l| {
        let mut f = l.split('\t');
        (f.next().unwrap_or(""), f.next().unwrap_or(""))
    }));
    assert_eq!(n, 7075);
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn rdkit_random_rewritings_give_the_same_keys() {
    let text = read(&fixture("rdkit_random_smiles.tsv"));
    let (n, bad) = mismatches(text.lines().map(|l| {
        let mut f = l.split('\t');
        (f.next().unwrap_or(""), f.next().unwrap_or(""))
    }));
    assert_eq!(n, 14_150);
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn partially_specified_stereo_is_cleaned_up_as_rdkit_does() {
    let text = read(&fixture("rdkit_stereo_edits.tsv"));
    let (n, bad) = mismatches(text.lines().map(|l| {
        let mut f = l.split('\t');
        (f.next().unwrap_or(""), f.next().unwrap_or(""))
    }));
    assert_eq!(n, 4000);
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn bray2017_cell_painting_compounds() {
    let smiles = read(&shared(
        "cellpainting/bray2017_compounds/moshkov2023_smiles.txt",
    ));
    let keys = read(&fixture("bray2017_rdkit_inchikeys.txt"));
    let (n, bad) = mismatches(smiles.lines().skip(1).zip(keys.lines().skip(1)));
    assert_eq!(n, 16_978);
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn chembl36_own_keys() {
    let text = read(&shared("chem/chembl36_adora3_smiles_inchikey.tsv"));
    let mut equal = 0;
    let mut differ = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        match smiles_to_inchikey(f[1]) {
            Ok(k) if k == f[2] => equal += 1,
            other => differ.push((f[0].to_string(), other)),
        }
    }
    assert!(
        equal >= 4137,
        "only {equal} of 4138 equal ChEMBL's keys: {differ:?}"
    );
    // The one difference is in ChEMBL's SMILES (shared by two stereoisomers), not in keying.
    for (id, result) in &differ {
        assert_eq!(id, "CHEMBL331291");
        assert_eq!(result.as_deref().ok(), Some("ZXPDGTGMZKIESV-LUZJUFSVSA-N"));
    }
}
