//! The generated release's molecules beyond the Cell Painting compounds: salt forms and
//! stereo-less records of some Cell Painting compounds, real molecules, and families of
//! analogues around every parent, keyed as a stream on the keying dataflow.
//!
//! [`MoleculeStream`] is a [`KeyingDriver`]: it hands out candidate SMILES in a fixed order
//! (the special forms, the real molecules, then passes over the families, each family getting
//! a share of analogues by its weight) and accepts results strictly in candidate order, so the
//! molecules written (and their molregnos) do not depend on timing or on the number of workers
//! or processes. A candidate is accepted when it has a key that no molecule and no Cell
//! Painting compound has yet (`compound_structures.standard_inchi_key` is unique, and Cell
//! Painting compounds not meant to be in ChEMBL must stay out of it).

use std::collections::{BTreeMap, HashSet};

use crate::chem::KeyResult;
use crate::dataflow::keying::{DriverError, KeyingDriver};
use crate::rng::SplitMix64;
use crate::synth::chembl_db::{ChemblWriter, MoleculeRow};
use crate::synth::molecules::AnalogueMaker;

/// A key as fixed-size bytes (27 ASCII characters).
pub type KeyBytes = [u8; 27];

/// The bytes of a standard InChIKey, if it has the right length.
pub fn key_bytes(key: &str) -> Option<KeyBytes> {
    key.as_bytes().try_into().ok()
}

/// What a candidate is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Candidate {
    /// A salt form of Cell Painting compound `compound`, child of molecule `parent`.
    Salt {
        /// Cell Painting compound index.
        compound: usize,
        /// Its parent molregno.
        parent: i64,
    },
    /// The stereo-less record of Cell Painting compound `compound`.
    Flat {
        /// Cell Painting compound index.
        compound: usize,
    },
    /// A family's parent molecule (a real molecule).
    Parent {
        /// Family index.
        family: u32,
    },
    /// An analogue in a family.
    Analogue {
        /// Family index.
        family: u32,
    },
}

/// A family of analogues.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// The parent's molregno, when the parent is in the release.
    pub parent: Option<i64>,
    /// The Cell Painting compound that is the parent, if any.
    pub cp_compound: Option<usize>,
    /// Members (analogues) in the release.
    pub members: Vec<i64>,
}

/// Results of the stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamOutput {
    /// Salt-form molregno of Cell Painting compounds that got one.
    pub salts: BTreeMap<usize, i64>,
    /// Stereo-less record of Cell Painting compounds that got one.
    pub flats: BTreeMap<usize, i64>,
    /// Families.
    pub families: Vec<Family>,
    /// Molecules written by the stream.
    pub written: usize,
    /// Candidates keyed.
    pub candidates: u64,
    /// Candidates without a key, or with a key already taken.
    pub discarded: u64,
}

/// The stream.
pub struct MoleculeStream {
    writer: ChemblWriter,
    next_molregno: i64,
    fixed: Vec<(Candidate, String)>,
    fixed_next: usize,
    /// The parents' SMILES (family order) for analogues.
    maker: AnalogueMaker,
    weights: Vec<f64>,
    total_weight: f64,
    pass: u32,
    family_cursor: usize,
    carry: f64,
    rng: SplitMix64,
    target: usize,
    sent: BTreeMap<u64, (Candidate, String)>,
    arrived: BTreeMap<u64, KeyResult>,
    next_id: u64,
    next_to_process: u64,
    taken: HashSet<KeyBytes>,
    output: StreamOutput,
    progress: Box<dyn Fn(u64, u64) + Send>,
}

/// Most candidates per molecule written before the stream gives up.
pub const MAX_CANDIDATES_PER_MOLECULE: u64 = 20;

impl MoleculeStream {
    /// A stream writing into `writer` from molregno `first_molregno`, until `target` molecules
    /// are written. `fixed` candidates go first; then analogues of `parents` (family order,
    /// with optional Cell Painting compound and molregno of the parent) by `weights`. `taken`
    /// holds every key the stream must not write.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        writer: ChemblWriter,
        first_molregno: i64,
        fixed: Vec<(Candidate, String)>,
        parents: &[(String, Option<usize>, Option<i64>)],
        weights: Vec<f64>,
        target: usize,
        taken: HashSet<KeyBytes>,
        seed: u64,
        progress: Box<dyn Fn(u64, u64) + Send>,
    ) -> MoleculeStream {
        let smiles: Vec<&str> = parents.iter().map(|(s, _, _)| s.as_str()).collect();
        let families = parents
            .iter()
            .map(|(_, cp, parent)| Family {
                parent: *parent,
                cp_compound: *cp,
                members: Vec::new(),
            })
            .collect();
        let mut rng = SplitMix64::new(seed);
        let maker = AnalogueMaker::new(&smiles, rng.next_u64());
        MoleculeStream {
            writer,
            next_molregno: first_molregno,
            fixed,
            fixed_next: 0,
            maker,
            total_weight: weights.iter().sum(),
            weights,
            pass: 0,
            family_cursor: 0,
            carry: 0.0,
            rng,
            target,
            sent: BTreeMap::new(),
            arrived: BTreeMap::new(),
            next_id: 0,
            next_to_process: 0,
            taken,
            output: StreamOutput {
                families,
                ..StreamOutput::default()
            },
            progress,
        }
    }

    /// The writer, the next free molregno and the results.
    pub fn finish(self) -> (ChemblWriter, i64, StreamOutput) {
        (self.writer, self.next_molregno, self.output)
    }

    fn done(&self) -> bool {
        self.output.written >= self.target
    }

    /// The next analogue candidate: families in turn, each getting its weight's share of a
    /// pass (the first pass a full share, later passes a quarter, for families that ran out of
    /// new structures).
    fn next_analogue(&mut self) -> Option<(Candidate, String)> {
        let families = self.weights.len();
        if families == 0 {
            return None;
        }
        let total = self.total_weight;
        for _ in 0..families * 4 {
            let f = self.family_cursor;
            let share = self.target as f64 * self.weights[f] / total;
            let share = if self.pass == 0 { share } else { share / 4.0 };
            if self.carry < share {
                self.carry += 1.0;
                let edits = 1 + self.rng.index(4);
                if let Some(s) = self.maker.analogue(f, edits) {
                    return Some((Candidate::Analogue { family: f as u32 }, s));
                }
                continue;
            }
            // This family's share is spent: carry the fraction over to the next one.
            self.carry -= share;
            self.family_cursor += 1;
            if self.family_cursor == families {
                self.family_cursor = 0;
                self.pass += 1;
            }
        }
        None
    }

    fn process(
        &mut self,
        candidate: Candidate,
        smiles: String,
        result: KeyResult,
    ) -> Result<(), DriverError> {
        self.output.candidates += 1;
        let key = match result {
            Ok(k) => k,
            Err(_) => {
                self.output.discarded += 1;
                return Ok(());
            }
        };
        let Some(bytes) = key_bytes(&key) else {
            self.output.discarded += 1;
            return Ok(());
        };
        if self.done() || !self.taken.insert(bytes) {
            self.output.discarded += 1;
            return Ok(());
        }
        let molregno = self.next_molregno;
        self.next_molregno += 1;
        let parent = match candidate {
            Candidate::Salt { compound, parent } => {
                self.output.salts.insert(compound, molregno);
                Some(parent)
            }
            Candidate::Flat { compound } => {
                self.output.flats.insert(compound, molregno);
                None
            }
            Candidate::Parent { family } => {
                if let Some(f) = self.output.families.get_mut(family as usize) {
                    f.parent = Some(molregno);
                }
                None
            }
            Candidate::Analogue { family } => {
                if let Some(f) = self.output.families.get_mut(family as usize) {
                    f.members.push(molregno);
                }
                None
            }
        };
        self.writer.molecule(&MoleculeRow {
            molregno,
            chembl_id: molecule_chembl_id(molregno),
            pref_name: None,
            canonical_smiles: Some(smiles),
            standard_inchi: None,
            standard_inchi_key: key,
            parent_molregno: parent,
        })?;
        self.output.written += 1;
        Ok(())
    }
}

/// The CHEMBL id of a generated molecule.
pub fn molecule_chembl_id(molregno: i64) -> String {
    format!("CHEMBL{}", 100 + molregno)
}

impl KeyingDriver for MoleculeStream {
    fn next_batch(&mut self, max: usize) -> Result<Option<Vec<(u64, String)>>, DriverError> {
        if self.done() {
            return Ok(None);
        }
        let limit = MAX_CANDIDATES_PER_MOLECULE * (self.target as u64 + 1000);
        if self.next_id > limit {
            return Err(format!(
                "could not make {} distinct molecules from {} candidates (wrote {})",
                self.target, self.next_id, self.output.written
            )
            .into());
        }
        let mut batch = Vec::with_capacity(max);
        while batch.len() < max {
            let next = if self.fixed_next < self.fixed.len() {
                self.fixed_next += 1;
                Some(self.fixed[self.fixed_next - 1].clone())
            } else {
                self.next_analogue()
            };
            let Some((candidate, smiles)) = next else {
                break;
            };
            let id = self.next_id;
            self.next_id += 1;
            batch.push((id, smiles.clone()));
            self.sent.insert(id, (candidate, smiles));
        }
        if batch.is_empty() {
            return Ok(None);
        }
        Ok(Some(batch))
    }

    fn accept(&mut self, results: Vec<(u64, KeyResult)>) -> Result<(), DriverError> {
        self.arrived.extend(results);
        while let Some(result) = self.arrived.remove(&self.next_to_process) {
            let (candidate, smiles) = self
                .sent
                .remove(&self.next_to_process)
                .ok_or("a keying result for a candidate never sent")?;
            self.next_to_process += 1;
            self.process(candidate, smiles, result)?;
        }
        (self.progress)(self.output.written as u64, self.target as u64);
        Ok(())
    }
}
