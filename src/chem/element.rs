//! Elements: symbols, the organic subset, and RDKit's valence model ([`valence_cell`]).

use super::element_tables::{
    MAX_CHARGE, MIN_CHARGE, ROUNDED_WEIGHT, SYMBOLS, VALENCE_INDEX, VALENCE_ROWS,
};

/// Atomic numbers used by name in the code.
pub mod z {
    /// Hydrogen.
    pub const H: u8 = 1;
    /// Boron.
    pub const B: u8 = 5;
    /// Carbon.
    pub const C: u8 = 6;
    /// Nitrogen.
    pub const N: u8 = 7;
    /// Oxygen.
    pub const O: u8 = 8;
    /// Fluorine.
    pub const F: u8 = 9;
    /// Phosphorus.
    pub const P: u8 = 15;
    /// Sulfur.
    pub const S: u8 = 16;
    /// Chlorine.
    pub const CL: u8 = 17;
    /// Bromine.
    pub const BR: u8 = 35;
    /// Iodine.
    pub const I: u8 = 53;
}

/// Highest atomic number known.
pub const MAX_ELEMENT: u8 = 118;

/// The symbol of element `z` (`"*"` for 0).
pub fn symbol(z: u8) -> &'static str {
    SYMBOLS.get(usize::from(z)).copied().unwrap_or("?")
}

/// The atomic number of an element symbol (case-sensitive, e.g. `"Cl"`).
pub fn from_symbol(s: &str) -> Option<u8> {
    SYMBOLS
        .iter()
        .skip(1)
        .position(|&sym| sym == s)
        .and_then(|i| u8::try_from(i + 1).ok())
}

/// RDKit's atomic weight of `z` rounded to an integer (used to express isotopes as InChI shifts).
pub fn rounded_weight(z: u8) -> u16 {
    ROUNDED_WEIGHT.get(usize::from(z)).copied().unwrap_or(0)
}

/// What RDKit's valence model says about an atom with this element, charge and explicit valence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValenceCell {
    /// The valence is not allowed.
    Rejected,
    /// Allowed; a bracket atom then carries this many radical electrons, and an organic-subset
    /// atom outside brackets gets this many implicit hydrogens.
    Allowed(u8),
}

/// Looks up RDKit's valence model. `None` when the charge lies outside the table (|charge| > 15)
/// or the element is unknown.
pub fn valence_cell(z: u8, charge: i8, valence: u32) -> Option<ValenceCell> {
    if z == 0 || z > MAX_ELEMENT || !(MIN_CHARGE..=MAX_CHARGE).contains(&charge) {
        return None;
    }
    let row_index = VALENCE_INDEX[usize::from(z - 1)][usize::try_from(charge - MIN_CHARGE).ok()?];
    let row = VALENCE_ROWS[usize::from(row_index)];
    // Beyond the table's last column the last cell holds (metals accept anything).
    let column = usize::try_from(valence)
        .unwrap_or(usize::MAX)
        .min(row.len() - 1);
    Some(match row[column] {
        b'x' => ValenceCell::Rejected,
        c @ b'0'..=b'9' => ValenceCell::Allowed(c - b'0'),
        c => ValenceCell::Allowed(c.saturating_sub(b'a') + 10),
    })
}

/// True when the valence is allowed with no radical electrons (a "normal" valence).
pub fn is_normal_valence(z: u8, charge: i8, valence: u32) -> bool {
    valence_cell(z, charge, valence) == Some(ValenceCell::Allowed(0))
}

/// The smallest normal valence of a neutral element (its default valence), if any.
pub fn default_valence(z: u8) -> Option<u32> {
    (0..16).find(|&v| is_normal_valence(z, 0, v))
}

/// Elements allowed outside brackets (the organic subset), by symbol as written.
pub fn organic_subset(symbol: &str) -> Option<(u8, bool)> {
    Some(match symbol {
        "B" => (z::B, false),
        "C" => (z::C, false),
        "N" => (z::N, false),
        "O" => (z::O, false),
        "P" => (z::P, false),
        "S" => (z::S, false),
        "F" => (z::F, false),
        "Cl" => (z::CL, false),
        "Br" => (z::BR, false),
        "I" => (z::I, false),
        "b" => (z::B, true),
        "c" => (z::C, true),
        "n" => (z::N, true),
        "o" => (z::O, true),
        "p" => (z::P, true),
        "s" => (z::S, true),
        _ => return None,
    })
}

/// Aromatic symbols allowed inside brackets (those RDKit accepts).
pub fn bracket_aromatic(symbol: &str) -> Option<u8> {
    Some(match symbol {
        "b" => z::B,
        "c" => z::C,
        "n" => z::N,
        "o" => z::O,
        "p" => z::P,
        "s" => z::S,
        "se" => 34,
        "te" => 52,
        "as" => 33,
        "si" => 14,
        _ => return None,
    })
}

/// Metals in RDKit's sense (its `M` atom query): everything but H, He, B, C, N, O, F, Ne, Si, P,
/// S, Cl, Ar, Ge, As, Se, Br, Kr, Sb, Te, I, Xe, At, Rn and the wildcard.
pub fn is_metal(z: u8) -> bool {
    !matches!(
        z,
        0 | 1 | 2 | 5..=10 | 14..=18 | 32..=36 | 51..=54 | 85 | 86
    )
}

/// The elements for which RDKit lets InChI add implicit hydrogens itself.
pub fn inchi_adds_hydrogens(z: u8) -> bool {
    matches!(z, z::C | z::N | z::O | z::F | z::CL | z::BR | z::I)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_round_trip() {
        for zz in 1..=MAX_ELEMENT {
            assert_eq!(from_symbol(symbol(zz)), Some(zz));
        }
        assert_eq!(from_symbol("Xx"), None);
        assert_eq!(symbol(z::CL), "Cl");
    }

    #[test]
    fn valence_model_matches_known_cases() {
        // Carbon: 4 is normal, 3 leaves one radical, 5 is rejected.
        assert_eq!(valence_cell(z::C, 0, 4), Some(ValenceCell::Allowed(0)));
        assert_eq!(valence_cell(z::C, 0, 3), Some(ValenceCell::Allowed(1)));
        assert_eq!(valence_cell(z::C, 0, 5), Some(ValenceCell::Rejected));
        // N+ behaves like carbon; sulfur has 2, 4 and 6.
        assert!(is_normal_valence(z::N, 1, 4));
        assert!(is_normal_valence(z::S, 0, 6));
        assert!(!is_normal_valence(z::S, 0, 3));
        assert_eq!(default_valence(z::N), Some(3));
        assert_eq!(default_valence(z::C), Some(4));
        assert_eq!(valence_cell(z::C, 20, 4), None);
    }
}
