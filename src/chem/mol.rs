//! The molecular graph that the SMILES reader builds and every later step refines.
//!
//! [`Mol`] holds [`Atom`]s and [`Bond`]s in the order the SMILES wrote them. Each atom keeps its
//! neighbours in SMILES order ([`Neighbor`]), which is what `@`/`@@` refer to; an implicit or
//! bracket hydrogen takes the place the SMILES gives it, and the lone pair of a three-connected
//! centre is taken to be last (RDKit's convention).

/// Order of a bond as read, then as resolved by perception.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BondOrder {
    /// `-`, or an implicit bond that perception resolved to single.
    Single,
    /// `=`.
    Double,
    /// `#`.
    Triple,
    /// `$` (no standard InChI exists for it).
    Quadruple,
    /// `:`, or an implicit/directional ring bond between two aromatic atoms.
    Aromatic,
}

impl BondOrder {
    /// Contribution to an atom's valence, in half units (aromatic = 3 halves, as RDKit counts it).
    pub fn half_valence(self) -> u32 {
        match self {
            BondOrder::Single => 2,
            BondOrder::Double => 4,
            BondOrder::Triple => 6,
            BondOrder::Quadruple => 8,
            BondOrder::Aromatic => 3,
        }
    }

    /// Contribution to an atom's sigma+pi count with aromatic bonds taken as single.
    pub fn sigma_valence(self) -> u32 {
        match self {
            BondOrder::Single | BondOrder::Aromatic => 1,
            BondOrder::Double => 2,
            BondOrder::Triple => 3,
            BondOrder::Quadruple => 4,
        }
    }
}

/// The bond symbol written in the SMILES, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BondSymbol {
    /// No symbol: single, or aromatic between aromatic ring atoms.
    Implicit,
    /// `-`
    Single,
    /// `=`
    Double,
    /// `#`
    Triple,
    /// `$`
    Quadruple,
    /// `:`
    Aromatic,
    /// `/`
    Up,
    /// `\`
    Down,
}

impl BondSymbol {
    /// The character, or `None` for an implicit bond.
    pub fn as_char(self) -> Option<char> {
        match self {
            BondSymbol::Implicit => None,
            BondSymbol::Single => Some('-'),
            BondSymbol::Double => Some('='),
            BondSymbol::Triple => Some('#'),
            BondSymbol::Quadruple => Some('$'),
            BondSymbol::Aromatic => Some(':'),
            BondSymbol::Up => Some('/'),
            BondSymbol::Down => Some('\\'),
        }
    }

    /// True for `/` and `\`.
    pub fn is_directional(self) -> bool {
        matches!(self, BondSymbol::Up | BondSymbol::Down)
    }
}

/// Where the far atom of a directional bond lies, seen from a given atom: `/` written from `a`
/// to `b` puts `b` up from `a` (and `a` down from `b`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Above.
    Up,
    /// Below.
    Down,
}

impl Side {
    /// The opposite side.
    pub fn flip(self) -> Side {
        match self {
            Side::Up => Side::Down,
            Side::Down => Side::Up,
        }
    }
}

/// Tetrahedral chirality as written (`@` or `@@`), relative to [`Atom::neighbors`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Chirality {
    /// No stereo mark.
    None,
    /// `@`: seen from the first neighbour, the others are anticlockwise.
    Anticlockwise,
    /// `@@`: seen from the first neighbour, the others are clockwise.
    Clockwise,
}

impl Chirality {
    /// The opposite mark (`@` <-> `@@`).
    pub fn invert(self) -> Chirality {
        match self {
            Chirality::None => Chirality::None,
            Chirality::Anticlockwise => Chirality::Clockwise,
            Chirality::Clockwise => Chirality::Anticlockwise,
        }
    }
}

/// One entry of an atom's neighbour list, in SMILES order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Neighbor {
    /// A bond (index into [`Mol::bonds`]).
    Bond(usize),
    /// The hydrogen written inside the atom's brackets (`[C@H]`).
    ImplicitH,
}

/// An atom as read from SMILES, with what perception adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Atom {
    /// Atomic number; 0 for the wildcard `*`.
    pub element: u8,
    /// Isotope mass number; 0 when none was written.
    pub isotope: u16,
    /// Formal charge.
    pub charge: i8,
    /// Hydrogen count written in brackets (`Some(0)` for `[C]`); `None` outside brackets.
    pub bracket_h: Option<u8>,
    /// Written in lower case (aromatic).
    pub aromatic: bool,
    /// `@`/`@@` as written.
    pub chirality: Chirality,
    /// Atom class (`[CH3:7]`), 0 when none.
    pub class: u32,
    /// Byte offset of the atom in the SMILES string.
    pub position: usize,
    /// Neighbours in SMILES order.
    pub neighbors: Vec<Neighbor>,
    /// Implicit hydrogens (bracket count, or computed for organic-subset atoms by perception).
    pub hydrogens: u8,
    /// Unpaired electrons assigned by perception (bracket atoms below an allowed valence).
    pub radicals: u8,
}

impl Atom {
    /// A new atom with no neighbours.
    pub fn new(element: u8, position: usize) -> Atom {
        Atom {
            element,
            isotope: 0,
            charge: 0,
            bracket_h: None,
            aromatic: false,
            chirality: Chirality::None,
            class: 0,
            position,
            neighbors: Vec::new(),
            hydrogens: 0,
            radicals: 0,
        }
    }

    /// True when the atom was written in brackets.
    pub fn is_bracket(&self) -> bool {
        self.bracket_h.is_some()
    }
}

/// A bond between two atoms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bond {
    /// First atom (the one written first, or the ring-opening atom).
    pub a: usize,
    /// Second atom.
    pub b: usize,
    /// Order (resolved by perception for implicit bonds).
    pub order: BondOrder,
    /// The symbol as written.
    pub symbol: BondSymbol,
    /// For `/` and `\`: the atom the symbol was written from, and where the other atom lies.
    pub direction: Option<(usize, Side)>,
    /// Byte offset of the bond (its symbol, or the second atom for implicit bonds).
    pub position: usize,
    /// Set by perception: the bond lies on a ring.
    pub in_ring: bool,
    /// Set by perception: the bond was aromatic before kekulization.
    pub aromatic: bool,
}

impl Bond {
    /// The atom at the other end from `atom`.
    pub fn other(&self, atom: usize) -> usize {
        if self.a == atom { self.b } else { self.a }
    }

    /// Where the atom at the other end lies, seen from `from`, for a directional bond.
    pub fn side_from(&self, from: usize) -> Option<Side> {
        self.direction
            .map(|(origin, side)| if origin == from { side } else { side.flip() })
    }
}

/// A molecule (possibly several components) as a graph.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mol {
    /// Atoms in SMILES order.
    pub atoms: Vec<Atom>,
    /// Bonds in the order they were closed.
    pub bonds: Vec<Bond>,
}

impl Mol {
    /// Bonds of `atom` (in neighbour order), as bond indices.
    pub fn atom_bonds(&self, atom: usize) -> impl Iterator<Item = usize> + '_ {
        self.atoms[atom].neighbors.iter().filter_map(|n| match n {
            Neighbor::Bond(b) => Some(*b),
            Neighbor::ImplicitH => None,
        })
    }

    /// Number of bonded neighbours (explicit atoms, hydrogens written as atoms included).
    pub fn degree(&self, atom: usize) -> usize {
        self.atom_bonds(atom).count()
    }

    /// Bond orders plus bracket hydrogens, in half units (aromatic bonds count 3 halves).
    pub fn explicit_half_valence(&self, atom: usize) -> u32 {
        let bonds: u32 = self
            .atom_bonds(atom)
            .map(|b| self.bonds[b].order.half_valence())
            .sum();
        bonds + 2 * u32::from(self.atoms[atom].bracket_h.unwrap_or(0))
    }

    /// RDKit's plain explicit valence: bond orders (aromatic = 1.5) plus bracket hydrogens,
    /// rounded half up (`round(x + 0.1)`). Implicit hydrogens are not included.
    pub fn rdkit_valence(&self, atom: usize) -> u32 {
        self.explicit_half_valence(atom).div_ceil(2)
    }

    /// Valence with every bond at its Kekulé order (after kekulization) plus implicit hydrogens.
    pub fn kekule_valence(&self, atom: usize) -> u32 {
        let bonds: u32 = self
            .atom_bonds(atom)
            .map(|b| self.bonds[b].order.sigma_valence())
            .sum();
        bonds + u32::from(self.atoms[atom].hydrogens)
    }

    /// The bond joining `x` and `y`, if any.
    pub fn bond_between(&self, x: usize, y: usize) -> Option<usize> {
        self.atom_bonds(x).find(|&b| self.bonds[b].other(x) == y)
    }
}
