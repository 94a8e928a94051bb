//! The `assayflow` binary as users run it: help and version, `inchikey` on the shared fixtures,
//! formats (TSV, Parquet against its schema file), exit codes, rejects, the key cache, several
//! processes giving identical output, standard input and closed pipes.

#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use assayflow::export::schema::TableSchema;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_assayflow"))
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn shared(rel: &str) -> PathBuf {
    root().join("../shared/data").join(rel)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("assayflow-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run assayflow")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn help_and_version() {
    for args in [
        vec!["--help"],
        vec!["inchikey", "--help"],
        vec!["demo", "--help"],
    ] {
        let o = run(bin().args(&args));
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert!(stdout(&o).contains("Usage:"), "{args:?}");
    }
    let o = run(bin().arg("--version"));
    assert_eq!(
        stdout(&o).trim(),
        format!("assayflow {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn keys_the_rdkit_set_exactly() {
    let input = shared("chem/smiles_inchikey_rdkit.tsv");
    let o = run(bin().arg("--quiet").arg("inchikey").arg(&input));
    assert!(o.status.success(), "{}", stderr(&o));
    let expected = std::fs::read_to_string(&input).expect("input");
    let out = stdout(&o);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("smiles\tinchikey\terror"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 7075);
    for (row, want) in rows.iter().zip(expected.lines()) {
        let got: Vec<&str> = row.split('\t').collect();
        let want: Vec<&str> = want.split('\t').collect();
        assert_eq!(got[0], want[0]);
        assert_eq!(got[1], want[1], "{}", got[0]);
        assert_eq!(got[2], "");
    }
}

#[test]
fn csv_column_parquet_output_and_schema() {
    let dir = temp_dir("parquet");
    let out = dir.join("keys.parquet");
    let o = run(bin()
        .args(["-q", "inchikey", "--column", "canonical_smiles", "-o"])
        .arg(&out)
        .arg(shared("chem/chembl36_adora3_smiles_inchikey.tsv")));
    assert!(o.status.success(), "{}", stderr(&o));
    let file = std::fs::File::open(&out).expect("parquet written");
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("parquet")
        .build()
        .expect("reader");
    let contract = TableSchema::load(&root().join("data-schemas/inchikeys.toml")).expect("schema");
    let mut rows = 0;
    let mut equal = 0;
    let chembl =
        std::fs::read_to_string(shared("chem/chembl36_adora3_smiles_inchikey.tsv")).expect("input");
    let mut want = chembl.lines().skip(1);
    for batch in reader {
        let batch = batch.expect("batch");
        contract
            .check_arrow(&batch.schema())
            .expect("Parquet output keeps data-schemas/inchikeys.toml");
        let keys = batch
            .column(1)
            .as_any()
            .downcast_ref::<arrow_array::StringArray>()
            .expect("utf8");
        for i in 0..batch.num_rows() {
            rows += 1;
            let chembl_key = want.next().and_then(|l| l.split('\t').nth(2)).unwrap_or("");
            if keys.value(i) == chembl_key {
                equal += 1;
            }
        }
    }
    assert_eq!(rows, 4138);
    assert!(equal >= 4137, "{equal}");
    assert_eq!(
        std::fs::read_dir(&dir).expect("dir").count(),
        1,
        "no temporary files left"
    );
}

#[test]
fn tsv_header_keeps_its_schema_and_rejects_give_exit_1() {
    let dir = temp_dir("rejects");
    let input = dir.join("in.smi");
    std::fs::write(&input, "CCO ethanol\nC1CC broken\n\nc1ccccc1\nCu\n").expect("write");
    let rejects = dir.join("rejects.tsv");
    let out = dir.join("keys.tsv");
    let o = run(bin()
        .args(["-q", "inchikey"])
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .arg("--rejects")
        .arg(&rejects));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let keys = std::fs::read_to_string(&out).expect("output");
    let contract = TableSchema::load(&root().join("data-schemas/inchikeys.toml")).expect("schema");
    contract
        .check_tsv_header(keys.lines().next().unwrap_or(""))
        .expect("header");
    assert_eq!(keys.lines().count(), 6, "one row per input row");
    let rej = std::fs::read_to_string(&rejects).expect("rejects");
    let contract =
        TableSchema::load(&root().join("data-schemas/inchikey_rejects.toml")).expect("schema");
    contract
        .check_tsv_header(rej.lines().next().unwrap_or(""))
        .expect("rejects header");
    let classes: Vec<&str> = rej
        .lines()
        .skip(1)
        .map(|l| l.split('\t').nth(2).unwrap_or(""))
        .collect();
    assert_eq!(classes, vec!["unclosed-ring", "empty", "unknown-element"]);
    let lines: Vec<&str> = rej
        .lines()
        .skip(1)
        .map(|l| l.split('\t').next().unwrap_or(""))
        .collect();
    assert_eq!(lines, vec!["2", "3", "5"]);
}

#[test]
fn fatal_errors_exit_2_and_name_the_file() {
    let o = run(bin().args(["inchikey", "/no/such/file.smi"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/no/such/file.smi"), "{}", stderr(&o));
    let o = run(bin()
        .args(["inchikey", "--column", "SMILES"])
        .arg(shared("chem/chembl36_adora3_smiles_inchikey.tsv")));
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("no column named \"SMILES\"") && err.contains("canonical_smiles"),
        "{err}"
    );
}

#[test]
fn processes_give_identical_output() {
    let dir = temp_dir("processes");
    let input = shared("chem/smiles_inchikey_rdkit.tsv");
    let one = dir.join("one.tsv");
    let two = dir.join("two.tsv");
    let o = run(bin()
        .args(["-q", "inchikey"])
        .arg(&input)
        .arg("-o")
        .arg(&one));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(bin()
        .args(["-q", "inchikey", "--processes", "2", "--workers", "2"])
        .arg(&input)
        .arg("-o")
        .arg(&two));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(&one).expect("one"),
        std::fs::read(&two).expect("two")
    );
}

#[test]
fn cache_is_reused() {
    let dir = temp_dir("cache");
    let cache = dir.join("keys.cache.tsv");
    let input = shared("chem/chembl36_adora3_smiles_inchikey.tsv");
    let args = |out: &Path| {
        let mut c = bin();
        c.args(["inchikey", "--column", "canonical_smiles", "--cache"])
            .arg(&cache)
            .arg("-o")
            .arg(out)
            .arg(&input);
        c
    };
    let first = run(&mut args(&dir.join("a.tsv")));
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("4137 computed"),
        "{}",
        stderr(&first)
    );
    let second = run(&mut args(&dir.join("b.tsv")));
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        stderr(&second).contains("0 computed, 4138 reused"),
        "{}",
        stderr(&second)
    );
    assert_eq!(
        std::fs::read(dir.join("a.tsv")).expect("a"),
        std::fs::read(dir.join("b.tsv")).expect("b")
    );
    let stamp = std::fs::read_to_string(&cache).expect("cache");
    assert!(stamp.starts_with("# assayflow inchikey cache v1"));
}

#[test]
fn reads_standard_input_and_survives_a_closed_pipe() {
    let mut child = bin()
        .args(["-q", "inchikey", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"CCO\nOCC\n")
        .expect("write");
    let mut out = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("read");
    assert!(child.wait().expect("wait").success());
    assert_eq!(
        out.lines()
            .filter(|l| l.contains("LFQSCWFLJHTTHZ-UHFFFAOYSA-N"))
            .count(),
        2
    );

    // Read one line and close the pipe: the tool must exit quietly with status 0.
    let mut child = bin()
        .args(["-q", "inchikey"])
        .arg(shared("chem/smiles_inchikey_rdkit.tsv"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("read");
    assert_eq!(first.trim_end(), "smiles\tinchikey\terror");
    let status = child.wait().expect("wait");
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("stderr");
    assert!(status.success(), "status {status:?}: {err}");
}
