//! `assayflow demo`: the main job, end to end, on bundled and generated data. First the keying
//! check on real data: 4,138 real ChEMBL 36 molecules (embedded in the binary, see
//! `data/README.md`) keyed by the keying dataflow, counting how many keys equal ChEMBL's own
//! standard InChIKeys. Then the labels ([`super::demo_labels`]): a generated demo world, its
//! label export, the next release and an incremental refresh checked against a fresh build.

use std::io::Write;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use assayflow::atomic_file::AtomicFile;
use assayflow::chem::KeyCache;
use assayflow::dataflow::cluster::{ClusterConfig, LocalCluster};
use assayflow::dataflow::keying::key_all;
use assayflow::export::key_table::{KeyTableWriter, tsv_field};

use super::Outcome;
use super::args::DemoArgs;

/// The bundled molecules: `molecule_chembl_id`, `canonical_smiles`, `standard_inchi_key`.
const CHEMBL36_ADORA3: &str = include_str!("../../data/demo/chembl36_adora3_smiles_inchikey.tsv");

struct Molecule<'a> {
    chembl_id: &'a str,
    smiles: &'a str,
    chembl_key: &'a str,
}

fn molecules() -> Result<Vec<Molecule<'static>>> {
    let mut lines = CHEMBL36_ADORA3.lines();
    let header = lines.next().unwrap_or_default();
    if header != "molecule_chembl_id\tcanonical_smiles\tstandard_inchi_key" {
        bail!("bundled demo data has an unexpected header: {header:?}");
    }
    lines
        .enumerate()
        .map(|(i, line)| {
            let mut f = line.split('\t');
            match (f.next(), f.next(), f.next()) {
                (Some(chembl_id), Some(smiles), Some(chembl_key)) => Ok(Molecule {
                    chembl_id,
                    smiles,
                    chembl_key,
                }),
                _ => bail!("bundled demo data, line {}: expected three fields", i + 2),
            }
        })
        .collect()
}

/// Runs the demo.
pub fn run(args: &DemoArgs, _quiet: bool) -> Result<Outcome> {
    let processes = args
        .processes
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let molecules = molecules()?;
    let smiles: Vec<String> = molecules.iter().map(|m| m.smiles.to_string()).collect();
    let started = Instant::now();
    let results = if processes > 1 {
        let local = LocalCluster::start(processes, 1, |process, hostfile| {
            vec![
                "--quiet".into(),
                "inchikey".into(),
                "--hostfile".into(),
                hostfile.as_os_str().to_owned(),
                "--process".into(),
                process.to_string().into(),
            ]
        })?;
        let results = key_all(&local.config, Some(&smiles), &mut KeyCache::new())?;
        local.wait()?;
        results
    } else {
        key_all(
            &ClusterConfig::single(1),
            Some(&smiles),
            &mut KeyCache::new(),
        )?
    };
    let seconds = started.elapsed().as_secs_f64();

    let keys_path = args.out.join("inchikeys.tsv");
    let mismatch_path = args.out.join("mismatches.tsv");
    let mut keys = KeyTableWriter::create(Some(&keys_path))?;
    let mut mismatches = AtomicFile::create(&mismatch_path)
        .with_context(|| format!("cannot write {}", mismatch_path.display()))?;
    writeln!(
        mismatches,
        "molecule_chembl_id\tsmiles\tchembl_inchikey\tassayflow_inchikey_or_error"
    )?;
    let (mut equal, mut rejected) = (0usize, 0usize);
    let mut shown = Vec::new();
    for (m, key) in molecules.iter().zip(results) {
        keys.write(m.smiles, &key)?;
        match &key {
            Ok(k) if k == m.chembl_key => equal += 1,
            other => {
                if other.is_err() {
                    rejected += 1;
                }
                let ours = match other {
                    Ok(k) => k.clone(),
                    Err(e) => format!("error: {}", e.message),
                };
                writeln!(
                    mismatches,
                    "{}\t{}\t{}\t{}",
                    m.chembl_id,
                    tsv_field(m.smiles),
                    m.chembl_key,
                    tsv_field(&ours)
                )?;
                shown.push(format!(
                    "  {}  ChEMBL {}  assayflow {}",
                    m.chembl_id, m.chembl_key, ours
                ));
            }
        }
    }
    keys.finish()?;
    mismatches.commit()?;

    let total = molecules.len();
    writeln!(
        std::io::stdout(),
        "assayflow demo: SMILES -> standard InChIKey on {total} real ChEMBL 36 molecules (adenosine A3 receptor set)"
    )?;
    writeln!(
        std::io::stdout(),
        "  keyed {} of {total} ({rejected} rejected) in {seconds:.2} s with {processes} process(es)",
        total - rejected
    )?;
    writeln!(
        std::io::stdout(),
        "  {equal} of {total} keys equal ChEMBL 36's own standard InChIKey ({:.2}%)",
        100.0 * equal as f64 / total.max(1) as f64
    )?;
    for line in shown.iter().take(10) {
        writeln!(std::io::stdout(), "{line}")?;
    }
    writeln!(std::io::stdout(), "  keys:       {}", keys_path.display())?;
    writeln!(
        std::io::stdout(),
        "  mismatches: {}",
        mismatch_path.display()
    )?;
    super::demo_labels::run(&args.out, processes)?;
    super::demo_images::run(&args.out, &args.out.join("paper.toml"))?;
    if args.no_train {
        writeln!(std::io::stdout(), "training skipped (--no-train)")?;
    } else {
        #[cfg(feature = "torch")]
        super::demo_train::run(&args.out, args.all_models, args.gapnet_epochs, args.fp32)?;
        #[cfg(not(feature = "torch"))]
        writeln!(
            std::io::stdout(),
            "training skipped: this binary was built without the torch feature (scripts/demo builds it)"
        )?;
    }
    Ok(Outcome::Clean)
}
