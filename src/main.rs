//! The `assayflow` binary: parse, dispatch, exit code. Everything else lives in the library and
//! in `cli/`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
