//! Memory-mapped `.npy` shards ([`ShardMap`]): the loader's readers copy rows straight from the
//! page cache into host batches, with no intermediate buffer and no float conversion on the host.
//!
//! One of the crate's two `unsafe` islands: `memmap2::Mmap::map` is unsafe because another
//! process could change the file while it is mapped. Shards are written once, under a temporary
//! name, and renamed into place (`export::npy`); a later conversion replaces a shard by a new
//! file, never in place, so a mapped shard's bytes do not change under the reader.
#![allow(unsafe_code)]

use std::fs::File;

use memmap2::Mmap;

use super::dataset::{DatasetError, Shard};

/// The shards of a dataset, mapped read-only.
#[derive(Debug)]
pub struct ShardMap {
    maps: Vec<(Mmap, usize)>,
}

impl ShardMap {
    /// Maps every shard.
    pub fn open(shards: &[Shard]) -> Result<ShardMap, DatasetError> {
        let mut maps = Vec::with_capacity(shards.len());
        for s in shards {
            let io = |source| DatasetError::Io {
                path: s.path.display().to_string(),
                source,
            };
            let file = File::open(&s.path).map_err(io)?;
            // SAFETY: shards are immutable once renamed into place (see the module docs); the
            // map is read-only and its length was checked against the header by `Dataset::open`.
            let map = unsafe { Mmap::map(&file) }.map_err(io)?;
            maps.push((map, s.data_offset));
        }
        Ok(ShardMap { maps })
    }

    /// The bytes of row `row` (each `row_bytes` long) of shard `shard`, if it is there.
    pub fn row(&self, shard: u32, row: u32, row_bytes: usize) -> Option<&[u8]> {
        let (map, offset) = self.maps.get(shard as usize)?;
        let start = offset + row as usize * row_bytes;
        map.get(start..start + row_bytes)
    }
}
