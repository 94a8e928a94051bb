//! Logging (tracing to standard error) and progress bars (indicatif, drawn only when standard
//! error is a terminal and --quiet is off).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing::Level;

/// Sets up tracing: warnings with -q, info by default, debug with -v, trace with -vv.
pub fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => Level::WARN,
        (false, 0) => Level::INFO,
        (false, 1) => Level::DEBUG,
        (false, _) => Level::TRACE,
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_max_level(level)
        .with_target(false)
        .without_time()
        .try_init();
}

/// A progress bar over bytes of input when the size is known, else a row-counting spinner.
pub fn input_bar(total_bytes: Option<u64>, quiet: bool) -> ProgressBar {
    let bar = match total_bytes {
        Some(total) => ProgressBar::new(total).with_style(
            ProgressStyle::with_template(
                "{spinner} {msg:>12} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {msg:>12} {pos} rows ({per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    if quiet {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    } else {
        // stderr(): indicatif draws nothing when standard error is not a terminal.
        bar.set_draw_target(ProgressDrawTarget::stderr());
    }
    bar
}

/// A spinner with elapsed time for a long multi-phase command.
pub fn phase_spinner(message: &str, quiet: bool) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(message.to_string());
    if quiet {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    } else {
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
    }
    bar
}
