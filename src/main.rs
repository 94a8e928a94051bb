//! The `assayflow` binary: parse, dispatch, exit code. Everything else lives in the library and
//! in `cli/`.

mod cli;

/// mimalloc keeps freed memory for reuse instead of handing large blocks back to the kernel and
/// faulting them in again: the label build and refresh allocate and drop several arrays of a
/// million rows each, and page faults were a fifth of a refresh's time with the system allocator.
/// Built without transparent huge pages (`no_thp`): zeroing 2 MiB pages on first touch cost a
/// full build 0.8 s of system time on the development VM.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
