//! The SMILES reader: OpenSMILES syntax to a [`Mol`] graph, in one left-to-right pass.
//!
//! Supported: the organic subset and bracket atoms (isotope, element, `@`/`@@`, hydrogen count,
//! charge, atom class), aromatic atoms, bonds `- = # $ : / \`, branches, ring closures with
//! digits, `%nn` and `%(n)`, and `.` components. Ring-bond symbols may be written at either end;
//! a `/` or `\` written at a ring digit is read from the atom that carries the digit.
//! The reader only checks syntax; [`crate::chem::perceive`] checks chemistry.

use std::collections::{BTreeMap, HashSet};

use crate::chem::element::{self, bracket_aromatic, organic_subset};
use crate::chem::error::{ErrorKind, SmilesError};
use crate::chem::mol::{Atom, Bond, BondOrder, BondSymbol, Chirality, Mol, Neighbor, Side};

/// Highest ring-closure number accepted in `%(n)` form (RDKit's limit).
pub const MAX_RING_NUMBER: u32 = 99_999;

/// Placeholder in a neighbour list until the ring bond that fills the slot is closed.
const OPEN_RING_SLOT: usize = usize::MAX;

/// Parses a SMILES string into a molecular graph (syntax only).
///
/// ```
/// let mol = assayflow::chem::smiles::read("C1CC1O").unwrap();
/// assert_eq!(mol.atoms.len(), 4);
/// assert_eq!(mol.bonds.len(), 4);
/// let err = assayflow::chem::smiles::read("C1CC").unwrap_err();
/// assert_eq!(err.class(), "unclosed-ring");
/// ```
pub fn read(smiles: &str) -> Result<Mol, SmilesError> {
    Reader::new(smiles).run()
}

/// A ring bond opened and waiting for its closing digit.
struct OpenRing {
    atom: usize,
    slot: usize,
    symbol: Option<(BondSymbol, usize)>,
    position: usize,
}

/// An open `(`: the atom it hangs from and whether an atom has been read inside it yet.
struct OpenBranch {
    atom: usize,
    position: usize,
    has_atom: bool,
}

struct Reader<'a> {
    s: &'a [u8],
    i: usize,
    mol: Mol,
    /// The atom the next bond attaches to.
    prev: Option<usize>,
    /// A bond symbol read and not yet used, with its position.
    pending: Option<(BondSymbol, usize)>,
    /// Set after `(` or `.`: what must be followed by an atom, and where it was.
    expect_atom: Option<(&'static str, usize)>,
    branches: Vec<OpenBranch>,
    rings: BTreeMap<u32, OpenRing>,
    /// Bonded atom pairs (smaller index first), to reject ring closures that double a bond.
    pairs: HashSet<(usize, usize)>,
}

impl<'a> Reader<'a> {
    fn new(smiles: &'a str) -> Reader<'a> {
        Reader {
            s: smiles.as_bytes(),
            i: 0,
            mol: Mol::default(),
            prev: None,
            pending: None,
            expect_atom: None,
            branches: Vec::new(),
            rings: BTreeMap::new(),
            pairs: HashSet::new(),
        }
    }

    fn err<T>(&self, position: usize, kind: ErrorKind) -> Result<T, SmilesError> {
        Err(SmilesError::new(position, kind))
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.s.get(self.i + offset).copied()
    }

    fn run(mut self) -> Result<Mol, SmilesError> {
        if self.s.iter().all(|c| c.is_ascii_whitespace()) {
            return self.err(0, ErrorKind::Empty);
        }
        while let Some(c) = self.peek() {
            let pos = self.i;
            match c {
                b'(' => self.open_branch(pos)?,
                b')' => self.close_branch(pos)?,
                b'-' | b'=' | b'#' | b'$' | b':' | b'/' | b'\\' => self.bond(c, pos)?,
                b'.' => self.dot(pos)?,
                b'0'..=b'9' | b'%' => self.ring_bond(pos)?,
                b'[' => {
                    let atom = self.bracket_atom(pos)?;
                    self.add_atom(atom)?;
                }
                _ => {
                    let atom = self.organic_atom(pos)?;
                    self.add_atom(atom)?;
                }
            }
        }
        if let Some((_, p)) = self.pending {
            return self.err(p, ErrorKind::DanglingBond);
        }
        if let Some((what, p)) = self.expect_atom {
            let kind = if what == "a dot" {
                ErrorKind::AtomExpected("the end after a dot")
            } else {
                ErrorKind::UnclosedBranch
            };
            return self.err(p, kind);
        }
        if let Some(b) = self.branches.last() {
            return self.err(b.position, ErrorKind::UnclosedBranch);
        }
        if let Some((&n, ring)) = self.rings.iter().next() {
            return self.err(ring.position, ErrorKind::UnclosedRing(n));
        }
        Ok(self.mol)
    }

    fn open_branch(&mut self, pos: usize) -> Result<(), SmilesError> {
        if self.expect_atom.is_some() || self.prev.is_none() {
            return self.err(pos, ErrorKind::AtomExpected("a branch"));
        }
        if self.pending.is_some() {
            return self.err(pos, ErrorKind::AtomExpected("a branch after a bond symbol"));
        }
        let atom = self.prev.unwrap_or_default();
        self.branches.push(OpenBranch {
            atom,
            position: pos,
            has_atom: false,
        });
        self.expect_atom = Some(("a branch", pos));
        self.i += 1;
        Ok(())
    }

    fn close_branch(&mut self, pos: usize) -> Result<(), SmilesError> {
        if let Some((_, p)) = self.pending {
            return self.err(p, ErrorKind::DanglingBond);
        }
        let Some(branch) = self.branches.pop() else {
            return self.err(pos, ErrorKind::UnmatchedCloseBranch);
        };
        if !branch.has_atom {
            return self.err(branch.position, ErrorKind::EmptyBranch);
        }
        if self.expect_atom.is_some() {
            return self.err(pos, ErrorKind::AtomExpected("')' after a dot"));
        }
        self.prev = Some(branch.atom);
        self.i += 1;
        Ok(())
    }

    fn bond(&mut self, c: u8, pos: usize) -> Result<(), SmilesError> {
        if self.pending.is_some() {
            return self.err(pos, ErrorKind::UnexpectedCharacter(char::from(c)));
        }
        let after_branch = matches!(self.expect_atom, Some(("a branch", _)));
        if self.prev.is_none() || (self.expect_atom.is_some() && !after_branch) {
            return self.err(pos, ErrorKind::DanglingBond);
        }
        let symbol = match c {
            b'-' => BondSymbol::Single,
            b'=' => BondSymbol::Double,
            b'#' => BondSymbol::Triple,
            b'$' => BondSymbol::Quadruple,
            b':' => BondSymbol::Aromatic,
            b'/' => BondSymbol::Up,
            _ => BondSymbol::Down,
        };
        self.pending = Some((symbol, pos));
        self.i += 1;
        Ok(())
    }

    fn dot(&mut self, pos: usize) -> Result<(), SmilesError> {
        if let Some((_, p)) = self.pending {
            return self.err(p, ErrorKind::DanglingBond);
        }
        if self.prev.is_none() || self.expect_atom.is_some() {
            return self.err(pos, ErrorKind::AtomExpected("a dot"));
        }
        self.prev = None;
        self.expect_atom = Some(("a dot", pos));
        self.i += 1;
        Ok(())
    }

    fn ring_number(&mut self, pos: usize) -> Result<u32, SmilesError> {
        let c = self.peek().unwrap_or(b'%');
        if c.is_ascii_digit() {
            self.i += 1;
            return Ok(u32::from(c - b'0'));
        }
        // '%nn' (10..99) or '%(n)'.
        self.i += 1;
        match (self.peek(), self.peek_at(1)) {
            (Some(b'('), _) => {
                self.i += 1;
                let start = self.i;
                while self.peek().is_some_and(|d| d.is_ascii_digit()) {
                    self.i += 1;
                }
                let digits = &self.s[start..self.i];
                if digits.is_empty() || digits.len() > 5 || self.peek() != Some(b')') {
                    return self.err(pos, ErrorKind::BadRingNumber);
                }
                self.i += 1;
                let n = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
                if n > MAX_RING_NUMBER {
                    return self.err(pos, ErrorKind::BadRingNumber);
                }
                Ok(n)
            }
            (Some(a @ b'1'..=b'9'), Some(b @ b'0'..=b'9')) => {
                self.i += 2;
                Ok(u32::from(a - b'0') * 10 + u32::from(b - b'0'))
            }
            _ => self.err(pos, ErrorKind::BadRingNumber),
        }
    }

    fn ring_bond(&mut self, pos: usize) -> Result<(), SmilesError> {
        let Some(atom) = self.prev.filter(|_| self.expect_atom.is_none()) else {
            return self.err(pos, ErrorKind::AtomExpected("a ring-bond number"));
        };
        let n = self.ring_number(pos)?;
        let symbol = self.pending.take();
        match self.rings.remove(&n) {
            None => {
                let slot = self.mol.atoms[atom].neighbors.len();
                self.mol.atoms[atom]
                    .neighbors
                    .push(Neighbor::Bond(OPEN_RING_SLOT));
                self.rings.insert(
                    n,
                    OpenRing {
                        atom,
                        slot,
                        symbol,
                        position: pos,
                    },
                );
                Ok(())
            }
            Some(open) => self.close_ring(n, open, atom, symbol, pos),
        }
    }

    fn close_ring(
        &mut self,
        n: u32,
        open: OpenRing,
        atom: usize,
        symbol: Option<(BondSymbol, usize)>,
        pos: usize,
    ) -> Result<(), SmilesError> {
        if open.atom == atom {
            return self.err(pos, ErrorKind::RingBondToSelf(n));
        }
        if self
            .pairs
            .contains(&(open.atom.min(atom), open.atom.max(atom)))
        {
            return self.err(pos, ErrorKind::DuplicateBond(n));
        }
        let first = open.symbol.map(|(s, _)| s);
        let second = symbol.map(|(s, _)| s);
        let order_of = |s: Option<BondSymbol>| s.filter(|s| !s.is_directional());
        let written = match (order_of(first), order_of(second)) {
            (Some(x), Some(y)) if x != y => {
                return self.err(pos, ErrorKind::ConflictingRingBond(n));
            }
            (Some(x), _) | (None, Some(x)) => x,
            (None, None) => first.or(second).unwrap_or(BondSymbol::Implicit),
        };
        // A direction mark is read from the atom whose digit carries it; the opening end wins.
        let direction = match (first, second) {
            (Some(s), _) if s.is_directional() => Some((open.atom, side_of(s))),
            (_, Some(s)) if s.is_directional() => Some((atom, side_of(s))),
            _ => None,
        };
        let position = open
            .symbol
            .or(symbol)
            .map(|(_, p)| p)
            .unwrap_or(open.position);
        let bond = self.push_bond(open.atom, atom, written, direction, position);
        self.mol.atoms[open.atom].neighbors[open.slot] = Neighbor::Bond(bond);
        self.mol.atoms[atom].neighbors.push(Neighbor::Bond(bond));
        Ok(())
    }

    fn push_bond(
        &mut self,
        a: usize,
        b: usize,
        symbol: BondSymbol,
        direction: Option<(usize, Side)>,
        position: usize,
    ) -> usize {
        let order = match symbol {
            BondSymbol::Double => BondOrder::Double,
            BondSymbol::Triple => BondOrder::Triple,
            BondSymbol::Quadruple => BondOrder::Quadruple,
            BondSymbol::Aromatic => BondOrder::Aromatic,
            _ => BondOrder::Single,
        };
        self.pairs.insert((a.min(b), a.max(b)));
        self.mol.bonds.push(Bond {
            a,
            b,
            order,
            symbol,
            direction,
            position,
            in_ring: false,
            aromatic: false,
        });
        self.mol.bonds.len() - 1
    }

    fn add_atom(&mut self, mut atom: Atom) -> Result<(), SmilesError> {
        let idx = self.mol.atoms.len();
        let pos = atom.position;
        let pending = self.pending.take();
        if let Some(prev) = self.prev {
            let (symbol, bond_pos) = pending.unwrap_or((BondSymbol::Implicit, pos));
            let direction = symbol.is_directional().then(|| (prev, side_of(symbol)));
            atom.neighbors.push(Neighbor::Bond(self.mol.bonds.len()));
            let bond = self.push_bond(prev, idx, symbol, direction, bond_pos);
            self.mol.atoms[prev].neighbors.push(Neighbor::Bond(bond));
        } else if let Some((_, p)) = pending {
            return self.err(p, ErrorKind::DanglingBond);
        }
        if atom.bracket_h.is_some_and(|h| h > 0) {
            atom.neighbors.push(Neighbor::ImplicitH);
        }
        self.mol.atoms.push(atom);
        if let Some(branch) = self.branches.last_mut() {
            branch.has_atom = true;
        }
        self.expect_atom = None;
        self.prev = Some(idx);
        Ok(())
    }

    fn organic_atom(&mut self, pos: usize) -> Result<Atom, SmilesError> {
        let c = self.peek().unwrap_or(b' ');
        if c == b'*' {
            self.i += 1;
            return Ok(Atom::new(0, pos));
        }
        let two = self
            .s
            .get(pos..pos + 2)
            .and_then(|b| std::str::from_utf8(b).ok());
        if let Some((z, aromatic)) = two.and_then(organic_subset) {
            self.i += 2;
            let mut atom = Atom::new(z, pos);
            atom.aromatic = aromatic;
            return Ok(atom);
        }
        let one = self
            .s
            .get(pos..pos + 1)
            .and_then(|b| std::str::from_utf8(b).ok());
        if let Some((z, aromatic)) = one.and_then(organic_subset) {
            self.i += 1;
            let mut atom = Atom::new(z, pos);
            atom.aromatic = aromatic;
            return Ok(atom);
        }
        if c.is_ascii_lowercase() && pos > 0 && self.s[pos - 1].is_ascii_uppercase() {
            // `Cu`, `Na`...: the upper-case letter was read as an organic atom already.
            let pair = String::from_utf8_lossy(&self.s[pos - 1..=pos]).into_owned();
            if element::from_symbol(&pair).is_some() {
                return self.err(pos - 1, ErrorKind::NeedsBrackets(pair));
            }
        }
        if c.is_ascii_uppercase()
            && let Some(pair) = self
                .s
                .get(pos..pos + 2)
                .and_then(|b| std::str::from_utf8(b).ok())
                .filter(|p| element::from_symbol(p).is_some())
        {
            return self.err(pos, ErrorKind::NeedsBrackets(pair.to_string()));
        }
        if c.is_ascii_alphabetic() {
            // Name what was written: an element symbol that needs brackets, or an unknown one.
            let len = if self.s.get(pos + 1).is_some_and(|d| d.is_ascii_lowercase()) {
                2
            } else {
                1
            };
            let text = String::from_utf8_lossy(&self.s[pos..pos + len]).into_owned();
            return self.err(pos, ErrorKind::UnknownElement(text));
        }
        let ch = std::str::from_utf8(&self.s[pos..])
            .ok()
            .and_then(|t| t.chars().next())
            .unwrap_or(char::REPLACEMENT_CHARACTER);
        self.err(pos, ErrorKind::UnexpectedCharacter(ch))
    }

    fn bracket_atom(&mut self, pos: usize) -> Result<Atom, SmilesError> {
        let bad = |this: &Self, why| this.err(this.i, ErrorKind::BadBracketAtom(why));
        self.i += 1; // '['
        // Isotope.
        let start = self.i;
        while self.peek().is_some_and(|d| d.is_ascii_digit()) {
            self.i += 1;
        }
        let digits = &self.s[start..self.i];
        let isotope = if digits.is_empty() {
            0
        } else {
            if digits.len() > 1 && digits[0] == b'0' {
                return bad(self, "isotope with a leading zero");
            }
            let value = digits.iter().try_fold(0u32, |acc, d| {
                acc.checked_mul(10)?.checked_add(u32::from(d - b'0'))
            });
            match value.and_then(|v| u16::try_from(v).ok()) {
                Some(v) => v,
                None => return bad(self, "isotope too large"),
            }
        };
        // Element.
        let sym_pos = self.i;
        let (element, aromatic) = self.bracket_symbol(sym_pos)?;
        let mut atom = Atom::new(element, pos);
        atom.isotope = isotope;
        atom.aromatic = aromatic;
        // Chirality.
        if self.peek() == Some(b'@') {
            let chir_pos = self.i;
            self.i += 1;
            if self.peek() == Some(b'@') {
                self.i += 1;
                atom.chirality = Chirality::Clockwise;
                if self.peek() == Some(b'@') {
                    return bad(self, "too many '@'");
                }
            } else if self
                .peek()
                .is_some_and(|c| c.is_ascii_uppercase() && c != b'H')
            {
                let start = self.i;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                {
                    self.i += 1;
                }
                let class = String::from_utf8_lossy(&self.s[start - 1..self.i]).into_owned();
                return self.err(chir_pos, ErrorKind::UnsupportedChirality(class));
            } else {
                atom.chirality = Chirality::Anticlockwise;
            }
        }
        // Hydrogen count.
        let mut hydrogens = 0u8;
        if self.peek() == Some(b'H') {
            self.i += 1;
            hydrogens = 1;
            if let Some(d) = self.peek().filter(|d| d.is_ascii_digit()) {
                self.i += 1;
                hydrogens = d - b'0';
            }
        }
        atom.bracket_h = Some(hydrogens);
        // Charge.
        if let Some(sign @ (b'+' | b'-')) = self.peek() {
            self.i += 1;
            let unit: i32 = if sign == b'+' { 1 } else { -1 };
            let magnitude: i32 = if self.peek() == Some(sign) {
                self.i += 1;
                2
            } else if self.peek().is_some_and(|d| d.is_ascii_digit()) {
                let mut m = 0i32;
                let mut n = 0;
                while let Some(d) = self.peek().filter(|d| d.is_ascii_digit()) {
                    if n == 2 {
                        return bad(self, "charge has more than two digits");
                    }
                    m = m * 10 + i32::from(d - b'0');
                    n += 1;
                    self.i += 1;
                }
                m
            } else {
                1
            };
            atom.charge = match i8::try_from(unit * magnitude) {
                Ok(c) => c,
                Err(_) => return bad(self, "charge out of range"),
            };
        }
        // Atom class.
        if self.peek() == Some(b':') {
            self.i += 1;
            let start = self.i;
            while self.peek().is_some_and(|d| d.is_ascii_digit()) {
                self.i += 1;
            }
            if self.i == start {
                return bad(self, "atom class without digits");
            }
            let class = self.s[start..self.i].iter().try_fold(0u32, |acc, d| {
                acc.checked_mul(10)?.checked_add(u32::from(d - b'0'))
            });
            match class {
                Some(c) => atom.class = c,
                None => return bad(self, "atom class too large"),
            }
        }
        match self.peek() {
            Some(b']') => {
                self.i += 1;
                Ok(atom)
            }
            None => bad(self, "missing ']'"),
            Some(_) => bad(self, "unexpected character inside brackets"),
        }
    }

    fn bracket_symbol(&mut self, pos: usize) -> Result<(u8, bool), SmilesError> {
        let Some(c) = self.peek() else {
            return self.err(pos, ErrorKind::BadBracketAtom("missing element symbol"));
        };
        if c == b'*' {
            self.i += 1;
            return Ok((0, false));
        }
        let text = |len: usize| {
            self.s
                .get(pos..pos + len)
                .and_then(|b| std::str::from_utf8(b).ok())
        };
        let next_is_lower = self.s.get(pos + 1).is_some_and(|d| d.is_ascii_lowercase());
        if c.is_ascii_uppercase() {
            if let Some(z) = text(2)
                .filter(|t| t.as_bytes()[1].is_ascii_lowercase())
                .and_then(element::from_symbol)
            {
                self.i += 2;
                return Ok((z, false));
            }
            // Inside brackets a lower-case letter never follows a one-letter symbol.
            if !next_is_lower && let Some(z) = text(1).and_then(element::from_symbol) {
                self.i += 1;
                return Ok((z, false));
            }
        } else if c.is_ascii_lowercase() {
            if let Some(z) = text(2).and_then(bracket_aromatic) {
                self.i += 2;
                return Ok((z, true));
            }
            if next_is_lower && let Some(pair) = text(2) {
                let capitalised = format!("{}{}", pair[..1].to_ascii_uppercase(), &pair[1..]);
                if element::from_symbol(&capitalised).is_some() {
                    return self.err(
                        pos,
                        ErrorKind::UnknownElement(format!("{pair} (not an aromatic element)")),
                    );
                }
            }
            if let Some(z) = text(1).and_then(bracket_aromatic) {
                self.i += 1;
                return Ok((z, true));
            }
        } else {
            return self.err(pos, ErrorKind::BadBracketAtom("missing element symbol"));
        }
        let len = if self.s.get(pos + 1).is_some_and(|d| d.is_ascii_lowercase()) {
            2
        } else {
            1
        };
        let name = String::from_utf8_lossy(&self.s[pos..pos + len]).into_owned();
        self.err(pos, ErrorKind::UnknownElement(name))
    }
}

fn side_of(symbol: BondSymbol) -> Side {
    if symbol == BondSymbol::Up {
        Side::Up
    } else {
        Side::Down
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> &'static str {
        match read(s) {
            Ok(_) => "ok",
            Err(e) => e.class(),
        }
    }

    #[test]
    fn reads_atoms_bonds_and_neighbor_order() {
        let mol = read("F[C@H](Cl)Br").unwrap();
        assert_eq!(mol.atoms.len(), 4);
        let c = &mol.atoms[1];
        assert_eq!(c.chirality, Chirality::Anticlockwise);
        assert_eq!(c.bracket_h, Some(1));
        // preceding atom, then the bracket H, then the branch, then the chain.
        assert_eq!(
            c.neighbors,
            vec![
                Neighbor::Bond(0),
                Neighbor::ImplicitH,
                Neighbor::Bond(1),
                Neighbor::Bond(2)
            ]
        );
    }

    #[test]
    fn ring_closure_keeps_its_slot_in_neighbor_order() {
        // C0 opens ring 1 before its chain bond to C1; the closing bond fills slot 0.
        let mol = read("C1CC1").unwrap();
        assert_eq!(
            mol.atoms[0].neighbors,
            vec![Neighbor::Bond(2), Neighbor::Bond(0)]
        );
        let mol = read("C%(123)CC%(123)").unwrap();
        assert_eq!(mol.bonds.len(), 3);
    }

    #[test]
    fn bracket_atoms() {
        let mol = read("[13CH3-:7]").unwrap();
        let a = &mol.atoms[0];
        assert_eq!((a.element, a.isotope, a.charge, a.class), (6, 13, -1, 7));
        assert_eq!(a.bracket_h, Some(3));
        assert_eq!(read("[Fe++]").unwrap().atoms[0].charge, 2);
        assert_eq!(read("[se]").unwrap().atoms[0].element, 34);
        assert_eq!(read("[Sc]").unwrap().atoms[0].element, 21);
    }

    #[test]
    fn directions_at_ring_digits_belong_to_the_digit_atom() {
        let mol = read("F/C=C1.F/1").unwrap();
        let ring = mol.bonds.last().unwrap();
        // '/' written at F's digit: read from F (atom 3) towards C (atom 2).
        assert_eq!(ring.direction, Some((3, Side::Up)));
        assert_eq!(ring.side_from(2), Some(Side::Down));
    }

    #[test]
    fn syntax_errors_have_classes() {
        assert_eq!(class(""), "empty");
        assert_eq!(class("C(C"), "unbalanced-parentheses");
        assert_eq!(class("CC)C"), "unbalanced-parentheses");
        assert_eq!(class("C()C"), "empty-branch");
        assert_eq!(class("C((C))"), "atom-expected");
        assert_eq!(class("C="), "dangling-bond");
        assert_eq!(class("=C"), "dangling-bond");
        assert_eq!(class("C==C"), "unexpected-character");
        assert_eq!(class("C1CC"), "unclosed-ring");
        assert_eq!(class("C11"), "bad-ring-bond");
        assert_eq!(class("C12CC12"), "bad-ring-bond");
        assert_eq!(class("C=1CC#1"), "bad-ring-bond");
        assert_eq!(class("C%01CC%01"), "bad-ring-bond");
        assert_eq!(class("[Xx]"), "unknown-element");
        assert_eq!(class("Cu"), "unknown-element");
        assert_eq!(
            read("CNa").unwrap_err().to_string(),
            "element Na must be written in brackets ([Na]) (at column 2)"
        );
        assert_eq!(class("[C"), "bad-bracket-atom");
        assert_eq!(class("[C@@@H]"), "bad-bracket-atom");
        assert_eq!(class("[C@TH1](F)(Cl)(Br)I"), "unsupported-chirality");
        assert_eq!(class("C..C"), "atom-expected");
        assert_eq!(class("C."), "atom-expected");
        assert_eq!(class("C(.C)C"), "atom-expected");
        assert_eq!(class("C(C.C)C"), "ok");
        assert_eq!(class("C C"), "unexpected-character");
    }

    #[test]
    fn error_positions_point_at_the_culprit() {
        let e = read("CC(C").unwrap_err();
        assert_eq!(e.position, 2);
        assert_eq!(
            e.to_string(),
            "unbalanced parentheses: '(' is never closed (at column 3)"
        );
        let e = read("CCC[Zz]").unwrap_err();
        assert_eq!(e.position, 4);
    }
}
