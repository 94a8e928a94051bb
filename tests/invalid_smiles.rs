//! Table-driven rejection tests: every SMILES in tests/fixtures/invalid_smiles.tsv must be
//! rejected with its expected reason class and a message naming the position. RDKit's verdict is
//! recorded beside each one (scripts/rdkit/gen_invalid_smiles.py); where RDKit accepts (`@TH1`,
//! conflicting ring-bond orders, stray characters) the table says so.

#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use assayflow::chem::smiles_to_inchikey;

#[test]
fn every_invalid_smiles_is_rejected_with_its_class() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/invalid_smiles.tsv"
    );
    let text = std::fs::read_to_string(path).expect("fixture");
    let mut cases = 0;
    let mut failures = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 4, "malformed fixture line {line:?}");
        let (smiles, expected, rdkit) = (f[0], f[1], f[2]);
        cases += 1;
        match smiles_to_inchikey(smiles) {
            Ok(key) => failures.push(format!(
                "{smiles:?}: keyed {key}, want {expected} (RDKit: {rdkit})"
            )),
            Err(e) => {
                if e.class() != expected {
                    failures.push(format!(
                        "{smiles:?}: class {} ({e}), want {expected}",
                        e.class()
                    ));
                }
                let msg = e.to_string();
                if !msg.contains("(at column ") {
                    failures.push(format!("{smiles:?}: message {msg:?} names no position"));
                }
                if e.position > smiles.len() {
                    failures.push(format!(
                        "{smiles:?}: position {} beyond the string",
                        e.position
                    ));
                }
            }
        }
    }
    assert!(cases >= 40, "only {cases} cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
