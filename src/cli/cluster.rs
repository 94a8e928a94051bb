//! How a command takes part in a run: alone, as process 0 of peers it starts on this machine
//! (`--processes N`), or as one process of a hostfile cluster (`--hostfile F --process I`).
//! Every command that runs a dataflow goes through [`run`].

use std::ffi::OsString;
use std::path::Path;

use anyhow::{Context, Result, bail};

use assayflow::dataflow::cluster::{ClusterConfig, LocalCluster, read_hostfile};

use super::args::ClusterArgs;

/// This process's part.
pub enum Role {
    /// A single process, possibly with worker threads.
    Alone(ClusterConfig),
    /// Process 0 of peers this command starts on this machine.
    LocalLeader {
        /// Processes in all.
        processes: usize,
        /// Threads per process.
        workers: usize,
    },
    /// One process of a hostfile cluster.
    Member(ClusterConfig),
}

/// Validates the cluster arguments.
pub fn role(cluster: &ClusterArgs) -> Result<Role> {
    if cluster.workers == 0 || cluster.processes == 0 {
        bail!("--workers and --processes must be at least 1");
    }
    if let Some(hostfile) = &cluster.hostfile {
        let addresses = read_hostfile(hostfile)?;
        if cluster.processes > 1 && cluster.processes != addresses.len() {
            bail!(
                "--processes {} disagrees with the {} address(es) in {}",
                cluster.processes,
                addresses.len(),
                hostfile.display()
            );
        }
        let config = ClusterConfig {
            workers: cluster.workers,
            process: cluster
                .process
                .context("--hostfile needs --process (this process's index)")?,
            addresses,
        };
        config.validate()?;
        return Ok(Role::Member(config));
    }
    if cluster.processes > 1 {
        return Ok(Role::LocalLeader {
            processes: cluster.processes,
            workers: cluster.workers,
        });
    }
    Ok(Role::Alone(ClusterConfig::single(cluster.workers)))
}

/// The arguments that make a started peer join: `command` (the subcommand and its own
/// arguments), then the hostfile, the process index and the worker count.
pub fn peer_args(
    command: &[OsString],
    process: usize,
    hostfile: &Path,
    workers: usize,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["--quiet".into()];
    args.extend(command.iter().cloned());
    args.extend([
        "--hostfile".into(),
        hostfile.as_os_str().to_owned(),
        "--process".into(),
        process.to_string().into(),
        "--workers".into(),
        workers.to_string().into(),
    ]);
    args
}

/// Runs `lead` on process 0 and `serve` on every other process; with `--processes N` starts the
/// peers as `<this binary> <peer_command> --hostfile ... --process i`.
pub fn run<T>(
    role: Role,
    peer_command: &[OsString],
    lead: impl FnOnce(&ClusterConfig) -> Result<T>,
    serve: impl FnOnce(&ClusterConfig) -> Result<T>,
) -> Result<T> {
    match role {
        Role::Member(cluster) if !cluster.is_leader() => serve(&cluster),
        Role::Member(cluster) | Role::Alone(cluster) => lead(&cluster),
        Role::LocalLeader { processes, workers } => {
            let local = LocalCluster::start(processes, workers, |process, hostfile| {
                peer_args(peer_command, process, hostfile, workers)
            })?;
            let outcome = lead(&local.config);
            if outcome.is_ok() {
                local.wait()?;
            }
            outcome
        }
    }
}
