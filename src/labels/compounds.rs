//! [`Compounds`]: the Cell Painting compounds of an export, one per standard InChIKey, sorted
//! by key. A compound's id in the dataflow is its index here, so ids order like keys.

/// Compounds by InChIKey.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Compounds {
    /// Standard InChIKeys, sorted, distinct.
    pub keys: Vec<String>,
    /// The SMILES each was keyed from (its first sample's).
    pub smiles: Vec<String>,
    /// Every sample with the key, sorted.
    pub broad_samples: Vec<Vec<String>>,
}

impl Compounds {
    /// The id of `key`.
    pub fn id(&self, key: &str) -> Option<u32> {
        self.keys
            .binary_search_by(|k| k.as_str().cmp(key))
            .ok()
            .map(|i| i as u32)
    }

    /// The key of `id`.
    pub fn key(&self, id: u32) -> Option<&str> {
        self.keys.get(id as usize).map(String::as_str)
    }

    /// Number of compounds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True without compounds.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}
