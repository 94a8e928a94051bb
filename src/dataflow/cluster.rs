//! Where the dataflows run: worker threads in one process, several processes on one machine, or
//! a timely cluster across hosts. [`ClusterConfig`] becomes a [`timely::Config`]; there is no
//! distribution layer of our own.
//!
//! On one machine `--processes N` starts N-1 copies of the running binary as timely peers on
//! loopback ports ([`LocalCluster`]); across machines every host runs the same command with
//! `--hostfile` and its own `--process`, as timely's own examples do. Process 0 owns the input
//! and the output.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely::communication::allocator::{AllocatorBuilder, ProcessBuilder};
use timely::communication::{Hooks, WorkerGuards};
use timely::worker::Worker;
use timely::{CommunicationConfig, WorkerConfig};

/// How long a process waits for its peers to come up.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(120);

/// Pause between connection attempts to a peer that is not listening yet.
const CONNECT_RETRY: Duration = Duration::from_millis(10);

/// Sent first on every peer connection, before the sender's process index.
const HANDSHAKE_MAGIC: &[u8; 8] = b"aflow-1\0";

/// How many workers, where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// Worker threads per process.
    pub workers: usize,
    /// This process's index (0 reads input and writes output).
    pub process: usize,
    /// `host:port` of every process, one per process; empty for a single process.
    pub addresses: Vec<String>,
}

/// Errors setting up or running a cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The hostfile could not be read.
    #[error("hostfile {path}: {source}")]
    Hostfile {
        /// The hostfile.
        path: String,
        /// The cause.
        source: io::Error,
    },
    /// The configuration is inconsistent.
    #[error("{0}")]
    Invalid(String),
    /// Connecting to peers failed.
    #[error("connecting process {process} to its peers: {message}")]
    Connect {
        /// This process.
        process: usize,
        /// What happened.
        message: String,
    },
    /// Timely could not start, or a worker panicked.
    #[error("timely: {0}")]
    Timely(String),
    /// Starting or waiting for a peer process failed.
    #[error("peer process {process}: {message}")]
    Peer {
        /// Its index.
        process: usize,
        /// What happened.
        message: String,
    },
}

impl ClusterConfig {
    /// One process with `workers` threads.
    pub fn single(workers: usize) -> ClusterConfig {
        ClusterConfig {
            workers: workers.max(1),
            process: 0,
            addresses: Vec::new(),
        }
    }

    /// Number of processes.
    pub fn processes(&self) -> usize {
        self.addresses.len().max(1)
    }

    /// Total workers across processes.
    pub fn peers(&self) -> usize {
        self.processes() * self.workers
    }

    /// Process 0 reads the input and writes the output.
    pub fn is_leader(&self) -> bool {
        self.process == 0
    }

    /// Checks the process index against the addresses.
    pub fn validate(&self) -> Result<(), ClusterError> {
        if self.workers == 0 {
            return Err(ClusterError::Invalid("--workers must be at least 1".into()));
        }
        if self.process >= self.processes() {
            return Err(ClusterError::Invalid(format!(
                "--process {} is out of range for {} process(es)",
                self.process,
                self.processes()
            )));
        }
        Ok(())
    }

    /// The timely configuration.
    pub fn timely_config(&self) -> timely::Config {
        let communication = if self.addresses.len() > 1 {
            CommunicationConfig::Cluster {
                threads: self.workers,
                process: self.process,
                addresses: self.addresses.clone(),
                report: false,
                zerocopy: false,
            }
        } else if self.workers > 1 {
            CommunicationConfig::Process(self.workers)
        } else {
            CommunicationConfig::Thread
        };
        timely::Config {
            communication,
            worker: WorkerConfig::default(),
        }
    }
}

/// Runs `func` on every worker of this process, as `timely::execute` does. For a cluster it
/// connects the peer sockets itself (retrying quietly every few milliseconds, with a magic
/// handshake) and hands them to timely's `initialize_networking_from_sockets`, instead of
/// timely's default connector, which prints to standard output and polls once a second.
pub fn execute<T, F>(cluster: &ClusterConfig, func: F) -> Result<WorkerGuards<T>, ClusterError>
where
    T: Send + 'static,
    F: Fn(&mut Worker) -> T + Send + Sync + 'static,
{
    cluster.validate()?;
    if cluster.addresses.len() <= 1 {
        return timely::execute(cluster.timely_config(), func).map_err(ClusterError::Timely);
    }
    let started = Instant::now();
    let sockets = connect_peers(&cluster.addresses, cluster.process, DEFAULT_CONNECT_TIMEOUT)?;
    tracing::trace!(
        "process {}: connected to {} peer(s) in {:.4} s",
        cluster.process,
        cluster.addresses.len() - 1,
        started.elapsed().as_secs_f64()
    );
    let hooks = Hooks::default();
    let process_allocators = ProcessBuilder::new_typed_vector(
        cluster.workers,
        hooks.refill.clone(),
        hooks.spill.clone(),
    );
    let (builders, guard) = initialize_networking_from_sockets(
        process_allocators,
        sockets,
        cluster.process,
        cluster.workers,
        hooks,
    )
    .map_err(|e| ClusterError::Connect {
        process: cluster.process,
        message: e.to_string(),
    })?;
    let builders = builders.into_iter().map(AllocatorBuilder::Tcp).collect();
    timely::execute::execute_from(builders, Box::new(guard), WorkerConfig::default(), func)
        .map_err(ClusterError::Timely)
}

/// Connects this process to every other: it accepts from higher indices and connects to lower
/// ones. Returns one stream per process, `None` at its own index.
pub fn connect_peers(
    addresses: &[String],
    me: usize,
    timeout: Duration,
) -> Result<Vec<Option<TcpStream>>, ClusterError> {
    let fail = |message: String| ClusterError::Connect {
        process: me,
        message,
    };
    let n = addresses.len();
    let deadline = Instant::now() + timeout;
    let own = addresses[me].split_whitespace().next().unwrap_or_default();
    let listener = if me + 1 < n {
        let l = TcpListener::bind(own).map_err(|e| fail(format!("cannot listen on {own}: {e}")))?;
        l.set_nonblocking(true)
            .map_err(|e| fail(format!("cannot listen on {own}: {e}")))?;
        Some(l)
    } else {
        None
    };
    let mut sockets: Vec<Option<TcpStream>> = (0..n).map(|_| None).collect();
    for (j, address) in addresses.iter().enumerate().take(me) {
        let address = address.split_whitespace().next().unwrap_or_default();
        let mut stream = loop {
            match TcpStream::connect(address) {
                Ok(s) => break s,
                Err(e) if Instant::now() < deadline => {
                    tracing::trace!("process {me}: waiting for process {j} at {address}: {e}");
                    std::thread::sleep(CONNECT_RETRY);
                }
                Err(e) => return Err(fail(format!("process {j} at {address}: {e}"))),
            }
        };
        stream
            .set_nodelay(true)
            .and_then(|_| stream.write_all(HANDSHAKE_MAGIC))
            .and_then(|_| stream.write_all(&(me as u64).to_le_bytes()))
            .map_err(|e| fail(format!("handshake with process {j}: {e}")))?;
        sockets[j] = Some(stream);
    }
    if let Some(listener) = listener {
        let mut missing = n - me - 1;
        while missing > 0 {
            match listener.accept() {
                Ok((mut stream, from)) => {
                    stream
                        .set_nonblocking(false)
                        .and_then(|_| stream.set_nodelay(true))
                        .map_err(|e| fail(e.to_string()))?;
                    let mut hello = [0u8; 16];
                    stream
                        .read_exact(&mut hello)
                        .map_err(|e| fail(format!("handshake from {from}: {e}")))?;
                    let mut index = [0u8; 8];
                    index.copy_from_slice(&hello[8..]);
                    let index = u64::from_le_bytes(index) as usize;
                    if &hello[..8] != HANDSHAKE_MAGIC || index <= me || index >= n {
                        return Err(fail(format!("unexpected connection from {from}")));
                    }
                    if sockets[index].replace(stream).is_none() {
                        missing -= 1;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return Err(fail(format!("{missing} peer(s) never connected")));
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => return Err(fail(e.to_string())),
            }
        }
    }
    Ok(sockets)
}

/// Reads a timely hostfile: one `host:port` per line; blank lines and `#` comments ignored.
pub fn read_hostfile(path: &Path) -> Result<Vec<String>, ClusterError> {
    let text = std::fs::read_to_string(path).map_err(|source| ClusterError::Hostfile {
        path: path.display().to_string(),
        source,
    })?;
    let addresses: Vec<String> = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    if addresses.is_empty() {
        return Err(ClusterError::Invalid(format!(
            "hostfile {} lists no addresses",
            path.display()
        )));
    }
    Ok(addresses)
}

/// Peer processes started on this machine for `--processes N`, and the hostfile they share.
pub struct LocalCluster {
    children: Vec<Child>,
    hostfile: PathBuf,
    /// The leader's configuration (process 0).
    pub config: ClusterConfig,
}

impl LocalCluster {
    /// Picks `processes` free loopback ports, writes a hostfile and starts processes 1..N as
    /// `<this binary> <args(process, hostfile)>`.
    pub fn start(
        processes: usize,
        workers: usize,
        args: impl Fn(usize, &Path) -> Vec<OsString>,
    ) -> Result<LocalCluster, ClusterError> {
        let peer_err = |process, message: String| ClusterError::Peer { process, message };
        // Bind all first so the ports are distinct, then release them for timely.
        let listeners: Vec<TcpListener> = (0..processes)
            .map(|i| TcpListener::bind("127.0.0.1:0").map_err(|e| peer_err(i, e.to_string())))
            .collect::<Result<_, _>>()?;
        let addresses: Vec<String> = listeners
            .iter()
            .enumerate()
            .map(|(i, l)| {
                l.local_addr()
                    .map(|a| a.to_string())
                    .map_err(|e| peer_err(i, e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        drop(listeners);
        let hostfile = std::env::temp_dir().join(format!(
            "assayflow-hosts-{}-{}.txt",
            std::process::id(),
            addresses
                .first()
                .map_or("0", |a| a.rsplit(':').next().unwrap_or("0"))
        ));
        let mut file =
            std::fs::File::create(&hostfile).map_err(|source| ClusterError::Hostfile {
                path: hostfile.display().to_string(),
                source,
            })?;
        for a in &addresses {
            writeln!(file, "{a}").map_err(|source| ClusterError::Hostfile {
                path: hostfile.display().to_string(),
                source,
            })?;
        }
        drop(file);
        let exe = std::env::current_exe().map_err(|e| peer_err(1, e.to_string()))?;
        let mut children = Vec::new();
        for process in 1..processes {
            let child = Command::new(&exe)
                .args(args(process, &hostfile))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .map_err(|e| peer_err(process, format!("cannot start {}: {e}", exe.display())))?;
            children.push(child);
        }
        Ok(LocalCluster {
            children,
            hostfile,
            config: ClusterConfig {
                workers,
                process: 0,
                addresses,
            },
        })
    }

    /// Waits for the peers; fails if any exited unsuccessfully.
    pub fn wait(mut self) -> Result<(), ClusterError> {
        let mut failure = None;
        for (i, child) in self.children.iter_mut().enumerate() {
            let problem = match child.wait() {
                Ok(status) if status.success() => None,
                Ok(status) => Some(format!("exited with {status}")),
                Err(e) => Some(e.to_string()),
            };
            if let Some(message) = problem
                && failure.is_none()
            {
                failure = Some(ClusterError::Peer {
                    process: i + 1,
                    message,
                });
            }
        }
        self.children.clear();
        failure.map_or(Ok(()), Err)
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(&self.hostfile);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs() {
        assert!(matches!(
            ClusterConfig::single(1).timely_config().communication,
            CommunicationConfig::Thread
        ));
        assert!(matches!(
            ClusterConfig::single(3).timely_config().communication,
            CommunicationConfig::Process(3)
        ));
        let c = ClusterConfig {
            workers: 2,
            process: 1,
            addresses: vec!["a:1".into(), "b:2".into()],
        };
        assert_eq!(c.peers(), 4);
        assert!(c.validate().is_ok());
        let bad = ClusterConfig { process: 2, ..c };
        assert!(bad.validate().is_err());
    }
}
