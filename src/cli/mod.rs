//! The command line: clap arguments, validated into configs before any work, then dispatched.
//!
//! Exit codes: 0 success, 1 some records were rejected (the output says which and why),
//! 2 a fatal error (its cause chain is printed). A closed standard output (`| head`) is not an
//! error.

mod args;
mod cluster;
mod demo;
mod demo_images;
mod demo_labels;
#[cfg(feature = "torch")]
mod demo_train;
mod images;
mod inchikey;
mod labels;
mod progress;
mod report;
mod synth;
mod train;

use std::process::ExitCode;

use clap::Parser;

pub use args::{Cli, Command};

/// What a command reports back to `main`.
pub enum Outcome {
    /// Everything was processed.
    Clean,
    /// The run finished but some records were rejected.
    Rejected(u64),
}

/// Parses the arguments, runs the command and maps the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    progress::init_logging(cli.verbose, cli.quiet);
    let result = match &cli.command {
        Command::Inchikey(a) => inchikey::run(a, cli.quiet),
        Command::Demo(a) => demo::run(a, cli.quiet),
        Command::Labels(c) => labels::run(c, cli.quiet),
        Command::Synth(c) => synth::run(c, cli.quiet),
        Command::Images(c) => images::run(c, cli.quiet),
        Command::Models(a) => train::models(a),
        Command::Train(a) => train::train(a, cli.quiet),
        Command::Predict(a) => train::predict(a, cli.quiet),
        Command::Report(a) => report::run(a),
    };
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Rejected(n)) => {
            tracing::warn!("{n} record(s) rejected");
            ExitCode::from(1)
        }
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<assayflow::export::key_table::KeyTableError>()
                .is_some_and(|k| k.is_broken_pipe())
    })
}
