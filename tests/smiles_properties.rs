//! Property tests of the SMILES reader and writer.
//!
//! - Equivalent SMILES give equal keys: molecules from the 7,075-molecule set re-written by our
//!   writer in random atom orders, random ring-closure numbers, aromatic or Kekulé form.
//! - Arbitrary strings never panic and are either keyed (a 27-character key) or rejected with a
//!   position inside the string; pathological long inputs finish (linear-time reader, capped
//!   atom count before any super-linear step).

#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::sync::OnceLock;

use assayflow::chem::perceive::perceive;
use assayflow::chem::smiles::{read, writer::random_smiles};
use assayflow::chem::smiles_to_inchikey;
use proptest::prelude::*;

fn molecules() -> &'static Vec<(String, String)> {
    static MOLS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    MOLS.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/data/chem/smiles_inchikey_rdkit.tsv"
        );
        std::fs::read_to_string(path)
            .expect("shared data")
            .lines()
            .map(|l| {
                let mut f = l.split('\t');
                (
                    f.next().unwrap_or("").to_string(),
                    f.next().unwrap_or("").to_string(),
                )
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn random_rewritings_keep_the_key(index in 0usize..7075, seed in any::<u64>(), kekule in any::<bool>()) {
        let (smiles, key) = &molecules()[index];
        let mut mol = read(smiles).expect("fixture SMILES parse");
        perceive(&mut mol).expect("fixture SMILES perceive");
        let rewritten = random_smiles(&mol, seed, kekule);
        let got = smiles_to_inchikey(&rewritten).ok();
        prop_assert_eq!(got.as_ref(), Some(key), "{} -> {}", smiles, rewritten);
    }
}

fn check_outcome(s: &str) -> Result<(), TestCaseError> {
    match smiles_to_inchikey(s) {
        Ok(key) => prop_assert_eq!(key.len(), 27),
        Err(e) => prop_assert!(
            e.position <= s.len(),
            "{:?}: position {} > {}",
            s,
            e.position,
            s.len()
        ),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(s in "\\PC{0,80}") {
        check_outcome(&s)?;
    }

    #[test]
    fn smiles_alphabet_soup_never_panics(s in "[CNOSPFIBrlcnospbeH0-9()\\[\\]=#$:/\\\\@+\\-%.*]{0,80}") {
        check_outcome(&s)?;
    }

    #[test]
    fn mutated_real_smiles_never_panic(index in 0usize..7075, edits in proptest::collection::vec((any::<u16>(), any::<u8>(), 0u8..3), 1..4)) {
        let mut bytes = molecules()[index].0.clone().into_bytes();
        const ALPHABET: &[u8] = b"CNOScnos()[]=#/\\\\@+-%.123456789H";
        for (pos, ch, op) in edits {
            let at = usize::from(pos) % (bytes.len() + 1);
            let c = ALPHABET[usize::from(ch) % ALPHABET.len()];
            match op {
                0 if at < bytes.len() => { bytes.remove(at); }
                1 => bytes.insert(at, c),
                _ if at < bytes.len() => bytes[at] = c,
                _ => bytes.push(c),
            }
        }
        let s = String::from_utf8(bytes).expect("ASCII");
        check_outcome(&s)?;
    }
}

#[test]
fn pathological_inputs_finish() {
    let long_chain = "C".repeat(200_000);
    let deep_branches = format!("{}C{}", "C(".repeat(50_000), ")".repeat(50_000));
    let unclosed = "(".repeat(100_000);
    let many_rings = format!(
        "C{}",
        (1..=99_999).map(|n| format!("%({n})")).collect::<String>()
    );
    let ring_pairs = format!("{}{}", "C%(1)".repeat(20_000), "C%(1)");
    let big_aromatic = format!("c1{}c1", "c".repeat(1_000));
    let odd_aromatic = format!("c1{}c1", "c".repeat(1_001));
    let brackets = "[".repeat(100_000);
    let charges = format!("[C{}]", "+".repeat(100_000));
    for s in [
        &long_chain,
        &deep_branches,
        &unclosed,
        &many_rings,
        &ring_pairs,
        &big_aromatic,
        &odd_aromatic,
        &brackets,
        &charges,
    ] {
        let r = smiles_to_inchikey(s);
        if let Err(e) = &r {
            assert!(e.position <= s.len());
        }
    }
    assert_eq!(
        smiles_to_inchikey(&long_chain).unwrap_err().class(),
        "no-inchi"
    );
    assert_eq!(
        smiles_to_inchikey(&odd_aromatic).unwrap_err().class(),
        "kekulize"
    );
    assert_eq!(smiles_to_inchikey(&big_aromatic).map(|k| k.len()), Ok(27));
}
