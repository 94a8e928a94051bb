//! Making CUDA reachable from one binary: the linker drops `libtorch_cuda.so` (nothing refers
//! to it by symbol), so libtorch would never see a GPU. [`load_cuda`] `dlopen`s it once at
//! start-up with `RTLD_NOW | RTLD_GLOBAL` (its static initialisers register the CUDA backend),
//! and reports why not where it fails: on a CPU-only libtorch (scripts/libtorch) the library's
//! CUDA dependencies are absent and the trainer runs on the CPU.
//!
//! One of the crate's three `unsafe` islands: `dlopen` and `dlerror` are C calls.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::sync::OnceLock;

/// The library that holds libtorch's CUDA backend.
pub const LIBTORCH_CUDA: &CStr = c"libtorch_cuda.so";

static LOADED: OnceLock<Result<(), String>> = OnceLock::new();

/// Loads `libtorch_cuda.so` (searched on `LD_LIBRARY_PATH` and the binary's run path) once;
/// `Err` says why it is not there. The handle is never closed.
pub fn load_cuda() -> Result<(), String> {
    LOADED
        .get_or_init(|| {
            // SAFETY: `LIBTORCH_CUDA` is a NUL-terminated literal; dlopen has no other
            // preconditions. A null handle is handled, and `dlerror` returns either null or a
            // NUL-terminated string owned by the C library, copied before any other dl call.
            let handle =
                unsafe { libc::dlopen(LIBTORCH_CUDA.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
            if handle.is_null() {
                let message = unsafe {
                    let e = libc::dlerror();
                    if e.is_null() {
                        "unknown dlopen error".to_string()
                    } else {
                        CStr::from_ptr(e).to_string_lossy().into_owned()
                    }
                };
                Err(message)
            } else {
                Ok(())
            }
        })
        .clone()
}
