#!/usr/bin/env python3
"""Write tests/fixtures/invalid_smiles.tsv: invalid SMILES, the reason class assayflow must give,
and RDKit's verdict recorded beside it.

Run once with `pip install rdkit==2026.9.1`; the test reads the committed TSV, not Python.
Columns: smiles, expected_class, rdkit_verdict ("rejected: <RDKit's message>" or
"accepted: <key or empty>"), note.
"""
import sys

from rdkit import Chem, RDLogger, rdBase

CASES = [
    # syntax: parentheses
    ("CC(C", "unbalanced-parentheses", "branch never closed"),
    ("CC)C", "unbalanced-parentheses", "')' without '('"),
    ("C(C(C)", "unbalanced-parentheses", "nested branch never closed"),
    ("C()C", "empty-branch", "empty branch"),
    ("C(=)C", "dangling-bond", "branch with only a bond"),
    ("C((C))", "atom-expected", "branch opening a branch"),
    ("(C)C", "atom-expected", "branch before any atom"),
    ("C(1)CC1", "atom-expected", "ring digit as the first thing in a branch"),
    # syntax: bonds and dots
    ("C=", "dangling-bond", "bond at the end"),
    ("=CC", "dangling-bond", "bond at the start"),
    ("C=.C", "dangling-bond", "bond before a dot"),
    ("C==C", "unexpected-character", "two bond symbols"),
    ("C#=C", "unexpected-character", "two bond symbols"),
    ("C..C", "atom-expected", "two dots"),
    (".C", "atom-expected", "leading dot"),
    ("C.", "atom-expected", "trailing dot"),
    ("C(.C)C", "atom-expected", "dot opening a branch"),
    # syntax: rings
    ("C1CC", "unclosed-ring", "ring 1 never closed"),
    ("C1CC2CC1", "unclosed-ring", "ring 2 never closed"),
    ("C%12CC", "unclosed-ring", "two-digit ring never closed"),
    ("C11", "bad-ring-bond", "ring closing on its own atom"),
    ("C12CC12", "bad-ring-bond", "two ring bonds between the same atoms"),
    ("C1C1", "bad-ring-bond", "ring bond doubling a chain bond"),
    ("C=1CCC#1", "bad-ring-bond", "ring ends disagree on the order"),
    ("C%1CC%1", "bad-ring-bond", "'%' needs two digits"),
    ("C%01CC%01", "bad-ring-bond", "'%0n' is not a ring number"),
    ("C%(100000)CC%(100000)", "bad-ring-bond", "ring number above 99999"),
    ("1CC1", "atom-expected", "ring digit before any atom"),
    # elements
    ("CXC", "unknown-element", "X is no element"),
    ("C[Xx]C", "unknown-element", "unknown bracket element"),
    ("Cu", "unknown-element", "metal outside brackets"),
    ("NaCl", "unknown-element", "metal outside brackets"),
    ("C[cl]C", "unknown-element", "lower-case chlorine is not aromatic"),
    ("[Cv]", "unknown-element", "unknown bracket element"),
    # bracket atoms
    ("C[C", "bad-bracket-atom", "missing ']'"),
    ("C[]C", "bad-bracket-atom", "empty brackets"),
    ("[C@@@H](F)(Cl)Br", "bad-bracket-atom", "three '@'"),
    ("[00C]", "bad-bracket-atom", "isotope with a leading zero"),
    ("[Fe+++]", "bad-bracket-atom", "three '+' signs"),
    ("[C+-]", "bad-bracket-atom", "two charge signs"),
    ("[C:]", "bad-bracket-atom", "atom class without digits"),
    ("[CH4", "bad-bracket-atom", "missing ']'"),
    ("[H2]", "bad-bracket-atom", "digits after H without H count"),
    # chirality classes we do not support
    ("[C@TH1](F)(Cl)(Br)I", "unsupported-chirality", "@TH1 (RDKit reads it as @)"),
    ("F[C@SP1](Cl)(Br)I", "unsupported-chirality", "square planar"),
    ("F[As@TB1](Cl)(Br)(N)S", "unsupported-chirality", "trigonal bipyramidal"),
    ("F[Co@OH1](Cl)(C)(N)(O)S", "unsupported-chirality", "octahedral"),
    ("C[C@AL1](F)=C=CC", "unsupported-chirality", "allene class"),
    # aromaticity and kekulization
    ("c", "non-ring-aromatic", "lone aromatic atom"),
    ("c1ccccc1c", "non-ring-aromatic", "aromatic atom hanging off a ring"),
    ("CnC", "non-ring-aromatic", "aromatic N in a chain"),
    ("c1cccc1", "kekulize", "five aromatic carbons"),
    ("n1cccc1", "kekulize", "pyrrole without its H"),
    ("c1cc1", "kekulize", "three aromatic carbons"),
    ("c1ccc2c(c1)cc1ccccc12c", "non-ring-aromatic", "aromatic atom outside the rings"),
    ("C1CC[c]CC1", "kekulize", "bracket aromatic radical with no partner"),
    # valences
    ("CC(C)(C)(C)C", "valence", "five-valent carbon"),
    ("C[Cl]C", "valence", "two-valent chlorine"),
    ("FCl(=O)(=O)=O", "valence", "seven-valent chlorine with a non-oxygen"),
    ("C=O=C", "valence", "three-valent neutral oxygen"),
    ("CN(C)(C)C", "valence", "four-valent neutral nitrogen"),
    ("[CH5]", "valence", "CH5"),
    ("C1=CC=CC=o1", "valence", "aromatic O with a double bond"),
    ("C1=CC=CC=C1=C", "valence", "five-valent ring carbon"),
    ("c1ccccc1=O", "kekulize", "aromatic ring with an exocyclic C=O on a six-ring of carbons"),
    # no InChI although the SMILES is valid
    ("C*C", "no-inchi", "wildcard atom"),
    ("C$C", "no-inchi", "quadruple bond"),
    ("CN(C)(C)[Pt]", "no-inchi", "RDKit makes the N-Pt bond dative"),
    # characters
    ("C C", "unexpected-character", "space inside a SMILES"),
    ("CC\u00e9", "unexpected-character", "non-ASCII letter"),
    ("", "empty", "empty string"),
]


def verdict(smiles):
    m = Chem.MolFromSmiles(smiles)
    if m is None:
        return "rejected"
    if m.GetNumAtoms() == 0:
        return "accepted: empty molecule"
    try:
        key = Chem.MolToInchiKey(m)
    except Exception:  # noqa: BLE001
        key = ""
    return "accepted: " + (key if key else "no InChIKey")


def main():
    RDLogger.DisableLog("rdApp.*")
    out = sys.stdout
    out.write("# Generated by scripts/rdkit/gen_invalid_smiles.py with RDKit %s\n" % rdBase.rdkitVersion)
    out.write("smiles\texpected_class\trdkit_verdict\tnote\n")
    for smiles, expected, note in CASES:
        out.write("%s\t%s\t%s\t%s\n" % (smiles, expected, verdict(smiles), note))


if __name__ == "__main__":
    main()
