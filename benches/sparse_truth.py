#!/usr/bin/env python3
"""How well trained models recover a generated world's planted mechanisms, scored on every
compound they were not trained on (test fold and compounds without labels), not only on the
few labelled test wells the report uses.

For each mechanism, a compound is positive when the world gives it that mechanism at a potency
(pXC50) at or above the screening concentration (`--p-concentration`, the generator's
EFFECTIVE_P_CONCENTRATION: half or more of the full effect in the images). Its score is the
model's mean predicted probability over the tasks of the assays that read the mechanism out
(truth/screening_assays.parquet), per compound (predict's compounds.parquet). ROC AUC per
mechanism (average ranks for ties), then the mean by phenotype class.

Inputs: a world's truth/ directory, the label export the models were trained with, and
`assayflow predict` outputs of each model over a view export that includes unlabelled
compounds (`include_unlabelled = true`). Needs pandas and pyarrow. See BENCHMARKS.md
("Evaluation and the whole demo") for the commands that make the inputs.

    python3 benches/sparse_truth.py --truth W/truth --labels L \
        --pred GapNet=P1 --pred FNN=P2 [--p-concentration 6.5]
"""

import argparse
import sys

import numpy as np
import pandas as pd
import pyarrow.parquet as pq


def auc(y, s):
    """ROC AUC by the rank-sum formula with average ranks for ties."""
    r = pd.Series(s).rank().to_numpy()
    n1 = int(y.sum())
    n0 = len(y) - n1
    return (r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--truth", required=True, help="the world's truth/ directory")
    ap.add_argument("--labels", required=True, help="the label export the models trained on")
    ap.add_argument("--pred", action="append", required=True, metavar="NAME=DIR",
                    help="a model's `assayflow predict` output (repeatable)")
    ap.add_argument("--p-concentration", type=float, default=6.5,
                    help="log10 molar screening concentration of the world (default 6.5)")
    ap.add_argument("--min-positives", type=int, default=3)
    a = ap.parse_args()
    for spec in a.pred:
        name, _, path = spec.partition("=")
        if not name or not path:
            ap.error(f"--pred {spec!r}: expected NAME=DIR (a model name and a predict output)")

    mech = pq.read_table(f"{a.truth}/mechanisms.parquet").to_pandas().set_index("mechanism")
    assays = pq.read_table(f"{a.truth}/screening_assays.parquet").to_pandas()
    actions = pq.read_table(f"{a.truth}/actions.parquet").to_pandas()
    samples = pq.read_table(f"{a.truth}/samples.parquet").to_pandas()
    compounds = pq.read_table(f"{a.labels}/compounds.parquet").to_pandas()
    labelled = set(pq.read_table(f"{a.labels}/labels").column("inchikey").to_pylist())
    # InChIKey -> broad_id through the compounds' broad samples.
    sample_id = dict(zip(samples.broad_sample, samples.broad_id))
    key_id = {}
    for key, bs in zip(compounds.inchikey, compounds.broad_samples):
        for s in bs:
            if s in sample_id:
                key_id[key] = sample_id[s]
                break

    names = []
    table = {}
    for spec in a.pred:
        name, _, path = spec.partition("=")
        names.append(name)
        c = pq.read_table(f"{path}/compounds.parquet").to_pandas()
        t = pq.read_table(f"{path}/tasks.parquet").to_pandas()
        c = c[(c.split == "test") | ~c.key.isin(labelled)]
        c = c[c.key.isin(key_id)]
        ids = [key_id[k] for k in c.key]
        probs = np.stack(c.probabilities.to_numpy())
        for m, row in mech.iterrows():
            read_by = set(assays[assays.mechanism == m].chembl_id)
            cols = [p for p, tid in zip(t.position, t.task_id) if tid.split(":")[0] in read_by]
            if not cols:
                continue
            potency = actions[actions.mechanism == m].set_index("broad_id").potency
            y = np.array([potency.get(i, 0.0) >= a.p_concentration for i in ids])
            if y.sum() < a.min_positives or y.sum() == len(y):
                continue
            entry = table.setdefault(m, {"class": row.phenotype, "name": row["name"],
                                         "positives": int(y.sum()), "compounds": len(y)})
            entry[name] = auc(y, probs[:, cols].mean(axis=1))
    if not table:
        sys.exit("no mechanism with enough positives among the scored compounds")
    df = pd.DataFrame(table).T
    for n in names:
        df[n] = df[n].astype(float)
    pd.set_option("display.width", 200)
    print(df.round(3).to_string())
    print()
    print("mean AUC by phenotype class (mechanisms):")
    means = df.groupby("class")[names].mean().round(3)
    means["mechanisms"] = df.groupby("class").size()
    print(means.to_string())


if __name__ == "__main__":
    main()
