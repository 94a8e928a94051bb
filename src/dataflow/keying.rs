//! SMILES -> InChIKey as a timely dataflow, so keying spreads over every worker of every process
//! (the InChI library serialises calls within a process, so processes are what scale it).
//!
//! [`key_stage`] is the stage: `(id, smiles)` records are exchanged by id over all workers, keyed,
//! and gathered on worker 0. [`run_keying`] is the driver: it owns the workers, the input and the
//! probe, pulls batches from a [`KeyingDriver`] on worker 0 of process 0, keeps a bounded number
//! of batches in flight, and hands results back to the driver as they arrive.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use std::time::Duration;

use timely::container::CapacityContainerBuilder;
use timely::dataflow::operators::vec::Map;
use timely::dataflow::operators::{Exchange, Input, Inspect, Probe};
use timely::dataflow::{InputHandle, ProbeHandle, StreamVec};

use crate::chem::{KeyResult, key_smiles};
use crate::dataflow::cluster::{self, ClusterConfig};

/// Records per input batch (one timely epoch each).
pub const DEFAULT_BATCH_RECORDS: usize = 256;

/// Batches allowed in flight before the driver waits for results.
pub const DEFAULT_BATCHES_IN_FLIGHT: u64 = 16;

/// The keying stage: spread by id, key, gather on worker 0.
pub fn key_stage<'scope>(
    records: StreamVec<'scope, u64, (u64, String)>,
) -> StreamVec<'scope, u64, (u64, KeyResult)> {
    records
        .exchange(|(id, _)| *id)
        .map(|(id, smiles)| (id, key_smiles(&smiles)))
        .exchange(|_| 0)
}

/// What feeds the keying dataflow and receives its results (runs on worker 0 of process 0).
pub trait KeyingDriver: Send + 'static {
    /// The next records to key (at most `max`), or `None` when there are no more.
    fn next_batch(&mut self, max: usize) -> Result<Option<Vec<(u64, String)>>, DriverError>;
    /// Results, in any order; every id sent comes back exactly once.
    fn accept(&mut self, results: Vec<(u64, KeyResult)>) -> Result<(), DriverError>;
}

/// An error raised by a [`KeyingDriver`], passed through unchanged.
pub type DriverError = Box<dyn std::error::Error + Send + Sync>;

/// Errors of a keying run.
#[derive(Debug, thiserror::Error)]
pub enum KeyingError {
    /// Timely could not start or a worker panicked.
    #[error("dataflow: {0}")]
    Timely(String),
    /// The driver failed.
    #[error(transparent)]
    Driver(DriverError),
}

type RecordInput = InputHandle<u64, CapacityContainerBuilder<Vec<(u64, String)>>>;
type Arrived = Rc<RefCell<Vec<(u64, KeyResult)>>>;

/// Runs the keying dataflow on `cluster`. `driver` is used only by process 0 (pass `None` on the
/// other processes); it is handed back when the run is over.
pub fn run_keying<D: KeyingDriver>(
    cluster: &ClusterConfig,
    driver: Option<D>,
) -> Result<Option<D>, KeyingError> {
    let slot: Arc<Mutex<Option<D>>> = Arc::new(Mutex::new(driver));
    let shared = Arc::clone(&slot);
    let guards = cluster::execute(cluster, move |worker| {
        let leader = worker.index() == 0;
        let mut driver = if leader {
            shared.lock().ok().and_then(|mut d| d.take())
        } else {
            None
        };
        let arrived: Arrived = Rc::new(RefCell::new(Vec::new()));
        let sink = Rc::clone(&arrived);
        let mut input: RecordInput = InputHandle::new();
        let probe = ProbeHandle::new();
        worker.dataflow::<u64, _, _>(|scope| {
            let records = scope.input_from(&mut input);
            key_stage(records)
                .inspect(move |result: &(u64, KeyResult)| sink.borrow_mut().push(result.clone()))
                .probe_with(&probe);
        });
        let outcome = drive(worker, input, &probe, &arrived, driver.as_mut());
        if leader && let Ok(mut d) = shared.lock() {
            *d = driver;
        }
        outcome
    })
    .map_err(|e| KeyingError::Timely(e.to_string()))?;
    for result in guards.join() {
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(KeyingError::Driver(e)),
            Err(panic) => return Err(KeyingError::Timely(panic)),
        }
    }
    let driver = slot.lock().ok().and_then(|mut d| d.take());
    Ok(driver)
}

/// Hands what has arrived to the driver.
fn deliver<D: KeyingDriver>(
    arrived: &Arrived,
    driver: &mut Option<&mut D>,
) -> Result<(), DriverError> {
    let results: Vec<(u64, KeyResult)> = std::mem::take(&mut *arrived.borrow_mut());
    match driver.as_deref_mut() {
        Some(d) if !results.is_empty() => d.accept(results),
        _ => Ok(()),
    }
}

fn drive<D: KeyingDriver>(
    worker: &mut timely::worker::Worker,
    mut input: RecordInput,
    probe: &ProbeHandle<u64>,
    arrived: &Arrived,
    mut driver: Option<&mut D>,
) -> Result<(), DriverError> {
    let idle = Some(Duration::from_millis(1));
    let mut epoch = 0u64;
    loop {
        let batch = match driver.as_deref_mut() {
            Some(d) => d.next_batch(DEFAULT_BATCH_RECORDS)?,
            None => None,
        };
        let Some(batch) = batch else { break };
        for record in batch {
            input.send(record);
        }
        epoch += 1;
        input.advance_to(epoch);
        let horizon = epoch.saturating_sub(DEFAULT_BATCHES_IN_FLIGHT);
        while probe.less_than(&horizon) {
            worker.step_or_park(idle);
            deliver(arrived, &mut driver)?;
        }
        deliver(arrived, &mut driver)?;
    }
    input.close();
    while worker.step_or_park(idle) {
        deliver(arrived, &mut driver)?;
    }
    deliver(arrived, &mut driver)
}

/// Feeds a list of SMILES in batches and collects their results by position.
struct ListDriver {
    smiles: Vec<String>,
    next: usize,
    results: Vec<Option<KeyResult>>,
}

impl KeyingDriver for ListDriver {
    fn next_batch(&mut self, max: usize) -> Result<Option<Vec<(u64, String)>>, DriverError> {
        if self.next >= self.smiles.len() {
            return Ok(None);
        }
        let end = (self.next + max).min(self.smiles.len());
        let batch = (self.next..end)
            .map(|i| (i as u64, self.smiles[i].clone()))
            .collect();
        self.next = end;
        Ok(Some(batch))
    }

    fn accept(&mut self, results: Vec<(u64, KeyResult)>) -> Result<(), DriverError> {
        for (id, result) in results {
            if let Some(slot) = self.results.get_mut(id as usize) {
                *slot = Some(result);
            }
        }
        Ok(())
    }
}

/// Keys `smiles` on `cluster`, computing only the distinct SMILES that `cache` does not hold
/// (and adding them to it); returns one result per input, in order. On processes other than 0,
/// pass `None` (they only lend their workers) and get an empty vector back.
pub fn key_all(
    cluster: &ClusterConfig,
    smiles: Option<&[String]>,
    cache: &mut crate::chem::KeyCache,
) -> Result<Vec<KeyResult>, KeyingError> {
    let Some(smiles) = smiles else {
        run_keying::<ListDriver>(cluster, None)?;
        return Ok(Vec::new());
    };
    let mut missing: Vec<String> = smiles
        .iter()
        .filter(|s| cache.get(s).is_none())
        .cloned()
        .collect();
    missing.sort_unstable();
    missing.dedup();
    let driver = ListDriver {
        results: vec![None; missing.len()],
        smiles: missing,
        next: 0,
    };
    let driver = run_keying(cluster, Some(driver))?
        .ok_or_else(|| KeyingError::Timely("the keying driver was lost".into()))?;
    for (s, r) in driver.smiles.into_iter().zip(driver.results) {
        let r = r.ok_or_else(|| KeyingError::Timely(format!("no result for {s:?}")))?;
        cache.insert(s, r);
    }
    smiles
        .iter()
        .map(|s| {
            cache
                .get(s)
                .cloned()
                .ok_or_else(|| KeyingError::Timely(format!("no result for {s:?}")))
        })
        .collect()
}
