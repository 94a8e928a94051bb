#!/usr/bin/env python3
"""RDKit's SMILES -> InChIKey rate on a file, for the side-by-side benchmark.

Usage: rdkit_inchikey_rate.py FILE [COLUMN_INDEX]
Keys every SMILES (first whitespace-separated field, or the given tab-separated column) with
Chem.MolToInchiKey(Chem.MolFromSmiles(s)) and prints one JSON line: molecules, seconds, rdkit version.
"""
import json
import sys
import time

from rdkit import Chem, RDLogger, rdBase

RDLogger.DisableLog("rdApp.*")


def main():
    path = sys.argv[1]
    with open(path) as f:
        smiles = [line.split()[0] if line.strip() else "" for line in f]
    start = time.perf_counter()
    keyed = 0
    for s in smiles:
        m = Chem.MolFromSmiles(s)
        if m is not None and Chem.MolToInchiKey(m):
            keyed += 1
    seconds = time.perf_counter() - start
    print(json.dumps({"molecules": len(smiles), "keyed": keyed, "seconds": seconds,
                      "rdkit": rdBase.rdkitVersion}))


if __name__ == "__main__":
    main()
