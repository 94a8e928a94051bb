#!/usr/bin/env python3
"""Write the RDKit oracles the key tests compare against (run once, commit the output).

Needs `pip install rdkit==2026.9.1` and ../shared beside the project.

- tests/fixtures/rdkit_random_smiles.tsv: for each molecule of
  ../shared/data/chem/smiles_inchikey_rdkit.tsv, one random-order aromatic SMILES and one random-order
  Kekule SMILES written by RDKit (`MolToRandomSmilesVect`), with the molecule's RDKit InChIKey.
  Columns (no header): random_smiles, inchikey, form.
- tests/fixtures/rdkit_stereo_edits.tsv: 4,000 stereo-edited variants of molecules from the sets
  above (some `@`/`@@` marks removed or inverted, some `/` `\\` dropped: partially specified
  stereo, where RDKit's stereo clean-up decides what reaches InChI), with RDKit's keys.
  Columns (no header): smiles, inchikey.
- tests/fixtures/bray2017_rdkit_inchikeys.txt: RDKit's InChIKey of every SMILES of
  ../shared/data/cellpainting/bray2017_compounds/moshkov2023_smiles.txt, line by line (header line
  `inchikey`; empty where RDKit gives none).
"""
import os
import random

from rdkit import Chem, RDLogger

RDLogger.DisableLog("rdApp.*")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(ROOT, "..", "shared", "data")
OUT = os.path.join(ROOT, "tests", "fixtures")


def random_smiles():
    rng = random.Random(20261124)
    path = os.path.join(SHARED, "chem", "smiles_inchikey_rdkit.tsv")
    with open(path) as src, open(os.path.join(OUT, "rdkit_random_smiles.tsv"), "w") as out:
        for line in src:
            smiles, key, _source = line.rstrip("\n").split("\t")
            mol = Chem.MolFromSmiles(smiles)
            for form in ("aromatic", "kekule"):
                m = Chem.Mol(mol)
                if form == "kekule":
                    Chem.Kekulize(m, clearAromaticFlags=True)
                r = Chem.MolToRandomSmilesVect(
                    m, 1, randomSeed=rng.randint(1, 2**31 - 1), isomericSmiles=True,
                    kekuleSmiles=(form == "kekule"))[0]
                out.write("%s\t%s\t%s\n" % (r, key, form))


def bray_keys():
    path = os.path.join(SHARED, "cellpainting", "bray2017_compounds", "moshkov2023_smiles.txt")
    with open(path) as src, open(os.path.join(OUT, "bray2017_rdkit_inchikeys.txt"), "w") as out:
        next(src)
        out.write("inchikey\n")
        for line in src:
            mol = Chem.MolFromSmiles(line.strip())
            out.write("%s\n" % (Chem.MolToInchiKey(mol) if mol is not None else ""))


def stereo_edits():
    import re

    rng = random.Random(20261125)
    pattern = re.compile(r"\[([0-9]*[A-Za-z][a-z]?)(@@|@)(H?[0-9]*)([^\]]*)\]")
    sources = [line.split("\t")[0] for line in open(os.path.join(SHARED, "chem", "smiles_inchikey_rdkit.tsv"))]
    with open(os.path.join(SHARED, "cellpainting", "bray2017_compounds", "moshkov2023_smiles.txt")) as f:
        next(f)
        sources += [line.strip() for line in f]
    stereo = [s for s in sources if "@" in s or "/" in s or "\\" in s]
    rows = []
    while len(rows) < 4000:
        s = rng.choice(stereo)
        pieces, last = [], 0
        for m in pattern.finditer(s):
            r = rng.random()
            if r < 0.3:
                rep = "[" + m.group(1) + m.group(3) + m.group(4) + "]"
            elif r < 0.6:
                rep = "[" + m.group(1) + ("@" if m.group(2) == "@@" else "@@") + m.group(3) + m.group(4) + "]"
            else:
                rep = m.group(0)
            pieces += [s[last:m.start()], rep]
            last = m.end()
        pieces.append(s[last:])
        t = "".join(c if (c not in "/\\" or rng.random() < 0.7) else "" for c in "".join(pieces))
        mol = Chem.MolFromSmiles(t)
        if mol is None:
            continue
        key = Chem.MolToInchiKey(mol)
        if key:
            rows.append((t, key))
    with open(os.path.join(OUT, "rdkit_stereo_edits.tsv"), "w") as out:
        for t, key in rows:
            out.write("%s\t%s\n" % (t, key))


if __name__ == "__main__":
    random_smiles()
    stereo_edits()
    bray_keys()
