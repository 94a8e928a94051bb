//! Host batch buffers ([`HostBuffer`]): a CPU tensor of raw bytes, page-locked (pinned) when CUDA
//! is present so the copy to the device can run asynchronously, that reader threads fill in place.
//!
//! One of the crate's two `unsafe` islands: tch offers no safe way to write into an existing
//! tensor's memory from Rust, so [`HostBuffer::bytes_mut`] builds a slice over the tensor's data.
//! The buffer owns its tensor; the loader hands a buffer to exactly one thread at a time (a reader
//! fills it, the trainer reads it, then returns it to the pool only after the step that used it
//! has synchronised with the device), so nothing reads the bytes while a reader writes them.
#![allow(unsafe_code)]

use tch::{Device, Kind, Tensor};

/// A reusable host buffer of `len` bytes.
#[derive(Debug)]
pub struct HostBuffer {
    tensor: Tensor,
    len: usize,
    pinned: bool,
}

impl HostBuffer {
    /// Allocates `len` bytes, pinned if asked and possible (CUDA present).
    pub fn new(len: usize, pinned: bool) -> Result<HostBuffer, tch::TchError> {
        let t = Tensor::f_zeros([len as i64], (Kind::Uint8, Device::Cpu))?;
        let (tensor, pinned) = if pinned && tch::Cuda::is_available() {
            (t.f_pin_memory(Device::Cuda(0))?, true)
        } else {
            (t, false)
        };
        Ok(HostBuffer {
            tensor,
            len,
            pinned,
        })
    }

    /// Whether the memory is page-locked.
    pub fn pinned(&self) -> bool {
        self.pinned
    }

    /// Capacity in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the buffer holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes, for a reader to fill.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        debug_assert!(self.tensor.is_contiguous() && self.tensor.kind() == Kind::Uint8);
        // SAFETY: `tensor` is a contiguous CPU uint8 tensor of exactly `len` bytes, allocated by
        // `new` and owned by this buffer; `&mut self` guarantees no other Rust borrow, and the
        // loader's protocol (module docs) guarantees no libtorch operation reads it meanwhile.
        unsafe { std::slice::from_raw_parts_mut(self.tensor.data_ptr().cast::<u8>(), self.len) }
    }

    /// The first `bytes` bytes as a uint8 tensor sharing the buffer's memory.
    pub fn head(&self, bytes: usize) -> Tensor {
        self.tensor.narrow(0, 0, bytes as i64)
    }
}
