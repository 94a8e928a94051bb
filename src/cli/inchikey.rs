//! `assayflow inchikey`: validated config, then the keying dataflow with a driver that reads
//! rows, skips what the cache or an earlier row already keyed, and writes rows back in order.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use indicatif::ProgressBar;

use assayflow::chem::{KeyCache, KeyResult, Rejection};
use assayflow::dataflow::cluster::ClusterConfig;
use assayflow::dataflow::keying::{DriverError, KeyingDriver, run_keying};
use assayflow::export::key_table::{KeyTableWriter, RejectsWriter};
use assayflow::sources::smiles_table::{SmilesLayout, SmilesReader};

use super::Outcome;
use super::args::InchikeyArgs;
use super::cluster;
use super::progress::input_bar;

/// Rows buffered before ready ones are written out while reading a batch.
const FLUSH_EVERY_ROWS: usize = 4096;

/// Reason class of a row that could not be read at all.
const UNREADABLE_ROW: &str = "unreadable-row";

/// The validated configuration of one run.
struct Config {
    input: Option<PathBuf>,
    layout: SmilesLayout,
    output: Option<PathBuf>,
    rejects: Option<PathBuf>,
    cache: Option<PathBuf>,
}

fn parse_delimiter(text: &str) -> Result<u8> {
    Ok(match text {
        "tab" | "\\t" | "\t" => b'\t',
        "comma" | "," => b',',
        "semicolon" | ";" => b';',
        "space" | " " => b' ',
        t if t.len() == 1 && t.is_ascii() => t.as_bytes()[0],
        t => bail!("--delimiter {t:?}: give 'tab', 'comma' or a single ASCII character"),
    })
}

fn config(args: &InchikeyArgs) -> Result<Config> {
    let input = args.input.clone().filter(|p| p.as_os_str() != "-");
    let layout = match &args.column {
        None => SmilesLayout::Smi,
        Some(column) => SmilesLayout::Delimited {
            column: column.clone(),
            delimiter: match &args.delimiter {
                Some(d) => parse_delimiter(d)?,
                None => SmilesLayout::delimiter_for(input.as_deref()),
            },
        },
    };
    if let Some(out) = &args.output
        && let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        bail!("output directory {} does not exist", parent.display());
    }
    Ok(Config {
        input,
        layout,
        output: args.output.clone().filter(|p| p.as_os_str() != "-"),
        rejects: args.rejects.clone(),
        cache: args.cache.clone(),
    })
}

/// Runs `assayflow inchikey`.
pub fn run(args: &InchikeyArgs, quiet: bool) -> Result<Outcome> {
    let config = config(args)?;
    let role = cluster::role(&args.cluster)?;
    cluster::run(
        role,
        &["inchikey".into()],
        |c| lead(&config, c, quiet),
        |c| {
            // A peer: compute its share, touch no file.
            run_keying::<Session>(c, None)?;
            Ok(Outcome::Clean)
        },
    )
}

fn lead(config: &Config, cluster: &ClusterConfig, quiet: bool) -> Result<Outcome> {
    let started = Instant::now();
    let reader = SmilesReader::open(config.input.as_deref(), &config.layout)?;
    let cache = match &config.cache {
        Some(path) => KeyCache::load(path)?,
        None => KeyCache::new(),
    };
    let cached_before = cache.len();
    let output = KeyTableWriter::create(config.output.as_deref())?;
    let rejects = config
        .rejects
        .as_deref()
        .map(RejectsWriter::create)
        .transpose()?;
    let bar = input_bar(reader.total_bytes(), quiet);
    bar.set_message("keying");
    let session = Session {
        reader,
        output,
        rejects,
        cache,
        rows: VecDeque::new(),
        in_flight: HashMap::new(),
        in_flight_smiles: HashSet::new(),
        next_id: 0,
        computed: 0,
        reused: 0,
        bar,
        exhausted: false,
    };
    let session = run_keying(cluster, Some(session))?
        .context("the keying driver was lost by the dataflow")?;
    session.bar.finish_and_clear();
    if !session.rows.is_empty() {
        bail!(
            "{} row(s) never got a result from the dataflow",
            session.rows.len()
        );
    }
    let (rows, rejected) = session.output.counts();
    let (computed, reused) = (session.computed, session.reused);
    let input_name = session.reader.name().to_string();
    session.output.finish()?;
    if let Some(r) = session.rejects {
        r.finish()?;
    }
    if let Some(path) = &config.cache {
        session.cache.save(path)?;
        tracing::info!(
            "cache {}: {} key(s), {} new",
            path.display(),
            session.cache.len(),
            session.cache.len().saturating_sub(cached_before)
        );
    }
    let secs = started.elapsed().as_secs_f64();
    tracing::info!(
        "{input_name}: {rows} row(s), {} keyed, {rejected} rejected; {computed} computed, {reused} reused from cache or earlier rows; {:.2} s ({:.0} rows/s, {} process(es))",
        rows - rejected,
        secs,
        rows as f64 / secs.max(1e-9),
        cluster.processes()
    );
    Ok(if rejected > 0 {
        Outcome::Rejected(rejected)
    } else {
        Outcome::Clean
    })
}

/// Where a row's result comes from.
enum Pending {
    /// Known already.
    Ready(KeyResult),
    /// Wait for this SMILES to be keyed (by the dataflow), then read it from the cache.
    Smiles(String),
}

struct Row {
    line: u64,
    smiles: String,
    pending: Pending,
}

/// The driver of one run: input, output, cache, and rows waiting for their keys.
struct Session {
    reader: SmilesReader,
    output: KeyTableWriter,
    rejects: Option<RejectsWriter>,
    cache: KeyCache,
    rows: VecDeque<Row>,
    in_flight: HashMap<u64, String>,
    in_flight_smiles: HashSet<String>,
    next_id: u64,
    computed: u64,
    reused: u64,
    bar: ProgressBar,
    exhausted: bool,
}

impl Session {
    /// Writes every row at the front whose result is known.
    fn flush_ready(&mut self) -> Result<(), DriverError> {
        while let Some(row) = self.rows.front() {
            let result = match &row.pending {
                Pending::Ready(r) => r.clone(),
                Pending::Smiles(s) => match self.cache.get(s) {
                    Some(r) => r.clone(),
                    None => break,
                },
            };
            let Some(row) = self.rows.pop_front() else {
                break;
            };
            self.output.write(&row.smiles, &result)?;
            if let (Err(rejection), Some(rejects)) = (&result, self.rejects.as_mut()) {
                rejects.write(row.line, &row.smiles, &rejection.class, &rejection.message)?;
            }
        }
        self.output.flush()?;
        Ok(())
    }
}

impl KeyingDriver for Session {
    fn next_batch(&mut self, max: usize) -> Result<Option<Vec<(u64, String)>>, DriverError> {
        if self.exhausted {
            return Ok(None);
        }
        let mut batch = Vec::new();
        while batch.len() < max {
            let Some(record) = self.reader.next_record()? else {
                self.exhausted = true;
                break;
            };
            let pending = if let Some(problem) = record.problem {
                Pending::Ready(Err(Rejection {
                    class: UNREADABLE_ROW.to_string(),
                    message: format!("line {}: {problem}", record.line),
                }))
            } else if let Some(r) = self.cache.get(&record.smiles) {
                self.reused += 1;
                Pending::Ready(r.clone())
            } else if self.in_flight_smiles.contains(&record.smiles) {
                self.reused += 1;
                Pending::Smiles(record.smiles.clone())
            } else {
                self.computed += 1;
                let id = self.next_id;
                self.next_id += 1;
                batch.push((id, record.smiles.clone()));
                self.in_flight.insert(id, record.smiles.clone());
                self.in_flight_smiles.insert(record.smiles.clone());
                Pending::Smiles(record.smiles.clone())
            };
            self.rows.push_back(Row {
                line: record.line,
                smiles: record.smiles,
                pending,
            });
            if self.rows.len() >= FLUSH_EVERY_ROWS {
                self.flush_ready()?;
            }
        }
        self.bar.set_position(self.reader.bytes_read());
        self.flush_ready()?;
        if batch.is_empty() && self.exhausted {
            return Ok(None);
        }
        Ok(Some(batch))
    }

    fn accept(&mut self, results: Vec<(u64, KeyResult)>) -> Result<(), DriverError> {
        for (id, result) in results {
            if let Some(smiles) = self.in_flight.remove(&id) {
                self.in_flight_smiles.remove(&smiles);
                self.cache.insert(smiles, result);
            }
        }
        self.flush_ready()
    }
}
