//! Why a SMILES string got no key: [`SmilesError`] names the position and an [`ErrorKind`].

use std::fmt;

/// A rejected SMILES: where (byte offset, shown 1-based as a column) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} (at column {})", .position + 1)]
pub struct SmilesError {
    /// Byte offset in the SMILES string (0-based).
    pub position: usize,
    /// The reason.
    pub kind: ErrorKind,
}

impl SmilesError {
    /// A new error at `position`.
    pub fn new(position: usize, kind: ErrorKind) -> SmilesError {
        SmilesError { position, kind }
    }

    /// The stable reason class of this error (see [`ErrorKind::class`]).
    pub fn class(&self) -> &'static str {
        self.kind.class()
    }
}

/// The reason a SMILES was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// Nothing but whitespace.
    Empty,
    /// A character that cannot start any SMILES token here.
    UnexpectedCharacter(char),
    /// `(` never closed.
    UnclosedBranch,
    /// `)` without a matching `(`.
    UnmatchedCloseBranch,
    /// `()` or a branch that holds no atom.
    EmptyBranch,
    /// A branch, ring bond or dot where an atom must come first.
    AtomExpected(&'static str),
    /// A bond symbol with no atom on one side.
    DanglingBond,
    /// Ring-closure digit opened and never closed.
    UnclosedRing(u32),
    /// Ring closure back to the same atom (`C11`).
    RingBondToSelf(u32),
    /// Ring closure doubling an existing bond (`C12CC12`).
    DuplicateBond(u32),
    /// The two ends of a ring closure give different bond orders (`C=1CC#1`).
    ConflictingRingBond(u32),
    /// A malformed ring-closure number (`%0`, `%(`...).
    BadRingNumber,
    /// Not an element symbol (or not allowed outside brackets / as aromatic).
    UnknownElement(String),
    /// An element outside the organic subset written without brackets (`Cu`).
    NeedsBrackets(String),
    /// A malformed bracket atom.
    BadBracketAtom(&'static str),
    /// `@TH1`, `@SP1`, `@TB..`, `@OH..`, `@AL..`.
    UnsupportedChirality(String),
    /// An aromatic atom that is not in a ring.
    NonRingAromatic,
    /// No Kekulé structure exists for the aromatic system.
    Kekulize,
    /// RDKit's valence model rejects the atom.
    Valence {
        /// Element symbol.
        element: &'static str,
        /// Formal charge.
        charge: i8,
        /// Explicit valence found.
        valence: u32,
    },
    /// Valid SMILES with no standard InChI as RDKit computes it (wildcards, quadruple or dative bonds).
    NoInchi(&'static str),
    /// The InChI library refused the structure.
    Inchi(String),
}

impl ErrorKind {
    /// A short stable class name, used by the rejects output and the tests.
    pub fn class(&self) -> &'static str {
        match self {
            ErrorKind::Empty => "empty",
            ErrorKind::UnexpectedCharacter(_) => "unexpected-character",
            ErrorKind::UnclosedBranch | ErrorKind::UnmatchedCloseBranch => "unbalanced-parentheses",
            ErrorKind::EmptyBranch => "empty-branch",
            ErrorKind::AtomExpected(_) => "atom-expected",
            ErrorKind::DanglingBond => "dangling-bond",
            ErrorKind::UnclosedRing(_) => "unclosed-ring",
            ErrorKind::RingBondToSelf(_)
            | ErrorKind::DuplicateBond(_)
            | ErrorKind::ConflictingRingBond(_)
            | ErrorKind::BadRingNumber => "bad-ring-bond",
            ErrorKind::UnknownElement(_) | ErrorKind::NeedsBrackets(_) => "unknown-element",
            ErrorKind::BadBracketAtom(_) => "bad-bracket-atom",
            ErrorKind::UnsupportedChirality(_) => "unsupported-chirality",
            ErrorKind::NonRingAromatic => "non-ring-aromatic",
            ErrorKind::Kekulize => "kekulize",
            ErrorKind::Valence { .. } => "valence",
            ErrorKind::NoInchi(_) => "no-inchi",
            ErrorKind::Inchi(_) => "inchi",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Empty => write!(f, "empty SMILES"),
            ErrorKind::UnexpectedCharacter(c) => write!(f, "unexpected character {c:?}"),
            ErrorKind::UnclosedBranch => write!(f, "unbalanced parentheses: '(' is never closed"),
            ErrorKind::UnmatchedCloseBranch => {
                write!(f, "unbalanced parentheses: ')' without a matching '('")
            }
            ErrorKind::EmptyBranch => write!(f, "empty branch"),
            ErrorKind::AtomExpected(what) => write!(f, "an atom must come before {what}"),
            ErrorKind::DanglingBond => write!(f, "dangling bond: no atom on one side"),
            ErrorKind::UnclosedRing(n) => write!(f, "unclosed ring: ring bond {n} is never closed"),
            ErrorKind::RingBondToSelf(n) => write!(f, "ring bond {n} closes on its own atom"),
            ErrorKind::DuplicateBond(n) => {
                write!(f, "ring bond {n} duplicates a bond between the same atoms")
            }
            ErrorKind::ConflictingRingBond(n) => {
                write!(
                    f,
                    "the two ends of ring bond {n} give different bond orders"
                )
            }
            ErrorKind::BadRingNumber => write!(f, "malformed ring-bond number"),
            ErrorKind::UnknownElement(s) => write!(f, "unknown element {s:?}"),
            ErrorKind::NeedsBrackets(s) => {
                write!(f, "element {s} must be written in brackets ([{s}])")
            }
            ErrorKind::BadBracketAtom(why) => write!(f, "bad bracket atom: {why}"),
            ErrorKind::UnsupportedChirality(c) => {
                write!(
                    f,
                    "unsupported chirality class {c:?} (only @ and @@ are supported)"
                )
            }
            ErrorKind::NonRingAromatic => write!(f, "aromatic atom outside any ring"),
            ErrorKind::Kekulize => {
                write!(
                    f,
                    "cannot kekulize: the aromatic system has no alternating bond pattern"
                )
            }
            ErrorKind::Valence {
                element,
                charge,
                valence,
            } => {
                let sign = match charge {
                    0 => String::new(),
                    c if *c > 0 => format!("{c:+}"),
                    c => format!("{c}"),
                };
                write!(
                    f,
                    "explicit valence {valence} is not allowed for {element}{sign} (RDKit's valence model)"
                )
            }
            ErrorKind::NoInchi(why) => write!(f, "no standard InChI: {why}"),
            ErrorKind::Inchi(msg) => write!(f, "InChI library error: {msg}"),
        }
    }
}
