#!/usr/bin/env python3
"""The label build written the plain way: pandas + sqlite3 + RDKit (issue 4's benchmark anchor).

Issue 4 asks that `assayflow labels build` be benchmarked side by side with "a straightforward
pandas + sqlite3 script of the same rules on the same files", which doubles as a correctness
cross-check. This is that script. It reads the same inputs and the same pipeline file (the
`[labels]` rules through tomllib) and applies the same rules as the Rust build:

1. Cell Painting metadata, CDRP layout (Bray 2017): `chemical_annotations.csv` (BROAD_ID,
   CPD_SMILES, ...), `barcode_platemap.csv`, `platemap/<Plate_Map_Name>.txt`. Every annotated
   sample with a SMILES is keyed with RDKit (`Chem.MolToInchiKey(Chem.MolFromSmiles(s))`); a
   SMILES RDKit cannot read is a reject; samples without SMILES (empty, NA) are controls. A
   compound is one standard InChIKey (all its samples).
2. ChEMBL molecules whose `compound_structures.standard_inchi_key` equals a compound's key
   (a temp table of keys joined against the unique index).
3. Those molecules' activities, with their assay's chembl_id.
4. Activities whose `data_validity_comment` is non-empty and not in `validity_comments_kept`
   are excluded (from numeric and comment tasks alike).
5. Numeric: `standard_type` in `numeric_standard_types`, `pchembl_value` present and within
   [pchembl_min, pchembl_max]; per (compound, assay) the median, in integer hundredths (twice the
   median, so an even count stays exact); label +1 iff 2*median >= 2*t for each threshold t.
   Task `<assay chembl_id>:pchembl>=<t>`. (`standard_relation` is read but, as in the Rust build,
   not used: ChEMBL only computes pChEMBL for '=' relations.)
6. Comments: trimmed, lower-cased, inner whitespace collapsed; in `comments_active` -> +1, in
   `comments_inactive` -> -1, anything else ignored; a (compound, assay) with both is a conflict
   and dropped. Task `<assay chembl_id>:comment`. The same activity row may feed a numeric task
   and a comment task.
7. Tasks with >= min_actives actives and >= min_inactives inactives are kept, other labels dropped.
8. `labels.parquet` (inchikey, task_id, label int8) and `tasks.parquet` (task_id, n_active,
   n_inactive) are written to --out; timings per phase and counts are printed.

Run (from the repository root):

    python3 benches/labels_pandas.py --chembl WORLD/chembl/chembl_36.db \\
        --cellpainting WORLD/cellpainting --pipeline pipelines/paper.toml --out /tmp/pandas-labels \\
        [--compare EXPORT_DIR] [--processes N]

With `--compare EXPORT_DIR` (an export written by `assayflow labels build`) it compares the set
of (inchikey, task_id, label) with `EXPORT_DIR/labels/*.parquet` and the kept tasks and their
counts with `EXPORT_DIR/tasks.parquet`, prints a short report and exits 1 on any difference,
0 when identical (the rule counts of the export's manifest are compared too, for information).
`--processes N` keys SMILES in N worker processes (default 1: the plain single-process script).
Timings exclude the comparison.

Only the CDRP layout is read (the layout the generated worlds use); the InChIKeys are RDKit's,
which the Rust keying is built to reproduce, so this is also an end-to-end check of that.

Versions used when this script was written and checked (`pip show`): Python 3.11.7,
pandas 3.1.1, pyarrow 26.0.1, rdkit 2026.9.1 (sqlite3 and tomllib from the standard library).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import resource
import sqlite3
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from rdkit import Chem, RDLogger

# Unicode White_Space, the set Rust's str::trim / split_whitespace use (Python's str.split()
# also splits on U+001C..U+001F, which Rust does not; spelt out so the two agree exactly).
WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_WS_RUN = re.compile("[" + re.escape(WHITESPACE) + "]+")
MISSING = {"", "NA", "NaN", "nan"}


def strip_ws(s: str) -> str:
    return s.strip(WHITESPACE)


def normalize_comment(s: str) -> str:
    return _WS_RUN.sub(" ", s).strip(" ").lower()


def hundredths(x: float) -> int:
    """A pipeline value (at most two decimals) in hundredths."""
    h = round(x * 100)
    if abs(h / 100 - x) > 1e-9:
        sys.exit(f"pipeline: {x} has more than two decimals")
    return int(h)


def round_half_away(x: np.ndarray) -> np.ndarray:
    """Rust's f64::round (ties away from zero), exactly, for an array of finite floats."""
    t = np.trunc(x)
    return t + np.sign(x) * (np.abs(x - t) >= 0.5)


def format_hundredths(h: int) -> str:
    """550 -> '5.5', 625 -> '6.25', 700 -> '7' (as the export spells thresholds)."""
    sign = "-" if h < 0 else ""
    units, frac = divmod(abs(h), 100)
    if frac == 0:
        return f"{sign}{units}"
    if frac % 10 == 0:
        return f"{sign}{units}.{frac // 10}"
    return f"{sign}{units}.{frac:02d}"


def inchikey(smiles: str) -> str | None:
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return None
    key = Chem.MolToInchiKey(mol)
    return key or None


def _init_worker():
    RDLogger.DisableLog("rdApp.*")


def key_all(smiles: list[str], processes: int) -> list[str | None]:
    if processes <= 1:
        return [inchikey(s) for s in smiles]
    from multiprocessing import Pool

    with Pool(processes, initializer=_init_worker) as pool:
        return pool.map(inchikey, smiles, chunksize=64)


class Timer:
    def __init__(self):
        self.t0 = time.perf_counter()
        self.last = self.t0
        self.phases: list[tuple[str, float]] = []

    def lap(self, name: str):
        now = time.perf_counter()
        self.phases.append((name, now - self.last))
        self.last = now

    def total(self) -> float:
        return self.last - self.t0


def read_csv_str(path: Path, sep: str) -> pd.DataFrame:
    df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    df.columns = [strip_ws(c) for c in df.columns]
    df = df.apply(lambda col: col.str.strip(WHITESPACE))
    return df[(df != "").any(axis=1)]  # rows with every field empty carry nothing


def column(df: pd.DataFrame, name: str, path: Path) -> str:
    """A header's column by exact name, else case-insensitively (as the Rust reader)."""
    if name in df.columns:
        return name
    for c in df.columns:
        if c.lower() == name.lower():
            return c
    sys.exit(f"{path}: no column named {name!r} (columns: {', '.join(df.columns)})")


def read_cellpainting(cp: Path, counts: dict) -> pd.DataFrame:
    """Annotated samples: broad_sample, smiles (None for controls)."""
    ann_path = cp / "chemical_annotations.csv"
    ann = read_csv_str(ann_path, ",")
    ids, smi = column(ann, "BROAD_ID", ann_path), column(ann, "CPD_SMILES", ann_path)
    ann = ann[[ids, smi]].set_axis(["broad_sample", "smiles"], axis=1)
    ann = ann[~ann["broad_sample"].isin(MISSING)]
    # A BROAD_ID listed twice: the first definition stands.
    ann = ann.drop_duplicates("broad_sample", keep="first")
    ann["smiles"] = ann["smiles"].where(~ann["smiles"].isin(MISSING), None)

    bp_path = cp / "barcode_platemap.csv"
    plates = read_csv_str(bp_path, ",")
    plates = plates[[column(plates, "Plate_Map_Name", bp_path), column(plates, "Assay_Plate_Barcode", bp_path)]]
    plates.columns = ["platemap", "plate"]
    plates = plates.drop_duplicates("plate")
    wells = []
    for name in plates["platemap"].unique():
        path = cp / "platemap" / f"{name}.txt"
        if path.is_file():
            pm = read_csv_str(path, "\t")
            pm = pm[[column(pm, "well_position", path), column(pm, "broad_sample", path)]]
            pm.columns = ["well", "broad_sample"]
            pm["platemap"] = name
            wells.append(pm)
    wells = plates.merge(pd.concat(wells, ignore_index=True), on="platemap")
    control = wells["broad_sample"].isin(MISSING) | (wells["broad_sample"].str.upper() == "DMSO")
    counts["cellpainting.samples"] = len(ann)
    counts["cellpainting.samples_without_smiles"] = int(ann["smiles"].isna().sum())
    counts["cellpainting.plates"] = len(plates)
    counts["cellpainting.wells"] = len(wells)
    counts["cellpainting.control_wells"] = int(control.sum())
    counts["cellpainting.wells_unannotated"] = int((~control & ~wells["broad_sample"].isin(ann["broad_sample"])).sum())
    return ann


def read_chembl(db: Path, keys: list[str], counts: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(matches: inchikey, molregno; activities of the matched molecules with assay chembl_id).

    CROSS JOIN fixes SQLite's join order (the small temp table outside, index lookups inside);
    with a plain JOIN and no ANALYZE statistics SQLite scans the whole key index of
    compound_structures instead.
    """
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    con.execute("CREATE TEMP TABLE cp_keys (inchikey TEXT PRIMARY KEY)")
    con.executemany("INSERT INTO cp_keys VALUES (?)", ((k,) for k in keys))
    matches = pd.read_sql_query(
        "SELECT k.inchikey, cs.molregno FROM cp_keys k "
        "CROSS JOIN compound_structures cs ON cs.standard_inchi_key = k.inchikey",
        con,
    )
    con.execute("CREATE TEMP TABLE cp_mols (molregno INTEGER PRIMARY KEY)")
    con.executemany("INSERT INTO cp_mols VALUES (?)", ((int(m),) for m in matches["molregno"].unique()))
    acts = pd.read_sql_query(
        "SELECT act.activity_id, act.assay_id, act.molregno, act.standard_type, "
        "       act.standard_relation, act.pchembl_value, act.activity_comment, "
        "       act.data_validity_comment, a.chembl_id AS assay_chembl_id "
        "FROM cp_mols m CROSS JOIN activities act ON act.molregno = m.molregno "
        "LEFT JOIN assays a ON a.assay_id = act.assay_id",
        con,
    )
    con.close()
    counts["chembl.compounds_matched"] = int(matches["inchikey"].nunique())
    counts["chembl.molecules_matched"] = int(matches["molregno"].nunique())
    counts["chembl.activities"] = len(acts)
    counts["chembl.assays"] = int(acts["assay_id"].nunique())
    return matches, acts


def pchembl_hundredths(col: pd.Series) -> pd.Series:
    """pChEMBL in hundredths (nullable Int64); text that is not a number counts as missing."""
    x = pd.to_numeric(col, errors="coerce").astype("float64")
    ok = np.isfinite(x) & (np.abs(x) < 1e6)
    out = pd.Series(pd.NA, index=col.index, dtype="Int64")
    out[ok] = round_half_away(x[ok].to_numpy() * 100.0).astype(np.int64)
    return out


def apply_rules(matches: pd.DataFrame, acts: pd.DataFrame, rules: dict, counts: dict):
    kept_validity = set(rules["validity_comments_kept"])
    numeric_types = set(rules["numeric_standard_types"])
    pmin, pmax = hundredths(rules["pchembl_min"]), hundredths(rules["pchembl_max"])
    thresholds = [hundredths(t) for t in rules["thresholds"]]
    active_set, inactive_set = set(rules["comments_active"]), set(rules["comments_inactive"])

    # Task ids name the assay's chembl_id (an assay missing from `assays`: by its integer id).
    acts["assay_name"] = acts["assay_chembl_id"].where(
        acts["assay_chembl_id"].notna(), "assay_id=" + acts["assay_id"].astype(str)
    )
    # Classify each activity once, then fan it out to the compounds matched to its molecule.
    dvc = acts["data_validity_comment"].fillna("").map(strip_ws)
    acts["valid"] = (dvc == "") | dvc.isin(kept_validity)
    acts["numeric_type"] = acts["standard_type"].fillna("").map(strip_ws).isin(numeric_types)
    acts["p"] = pchembl_hundredths(acts["pchembl_value"])
    comment = acts["activity_comment"].fillna("").map(normalize_comment)
    acts["comment"] = np.select(
        [comment == "", comment.isin(active_set), comment.isin(inactive_set)],
        ["none", "active", "inactive"],
        "other",
    )
    rows = matches.drop_duplicates().merge(acts, on="molregno")
    counts["labels.excluded_by_validity_comment"] = int((~rows["valid"]).sum())
    rows = rows[rows["valid"]]
    keys = ["inchikey", "assay_name"]

    # Numeric tasks: median pChEMBL per (compound, assay), twice it in hundredths.
    num = rows[rows["numeric_type"] & rows["p"].notna()][keys + ["p"]]
    in_range = num["p"].between(pmin, pmax)
    counts["labels.pchembl_out_of_range"] = int((~in_range).sum())
    num = num[in_range].astype({"p": "int64"}).sort_values(keys + ["p"])
    g = num.groupby(keys, sort=False)
    n, r = g["p"].transform("size"), g.cumcount()
    num["w"] = (r == (n - 1) // 2).astype("int64") + (r == n // 2).astype("int64")
    num["m2"] = num["p"] * num["w"]
    med = num.groupby(keys, as_index=False)["m2"].sum()
    numeric_labels = []
    for t in thresholds:
        numeric_labels.append(
            pd.DataFrame({
                "inchikey": med["inchikey"],
                "task_id": med["assay_name"] + f":pchembl>={format_hundredths(t)}",
                "label": np.where(med["m2"] >= 2 * t, 1, -1).astype("int8"),
            })
        )

    # Comment tasks: active / inactive per (compound, assay), conflicts dropped.
    counts["labels.ignored_activity_comments"] = int((rows["comment"] == "other").sum())
    com = rows[rows["comment"].isin(["active", "inactive"])]
    per = pd.crosstab([com["inchikey"], com["assay_name"]], com["comment"])
    for c in ("active", "inactive"):
        if c not in per:
            per[c] = 0
    conflict = (per["active"] > 0) & (per["inactive"] > 0)
    counts["labels.comment_conflicts_dropped"] = int(conflict.sum())
    per = per[~conflict].reset_index()
    comment_labels = pd.DataFrame({
        "inchikey": per["inchikey"],
        "task_id": per["assay_name"] + ":comment",
        "label": np.where(per["active"] > 0, 1, -1).astype("int8"),
    })

    labels = pd.concat(numeric_labels + [comment_labels], ignore_index=True)
    tasks = (
        labels.assign(a=labels["label"] > 0, i=labels["label"] < 0)
        .groupby("task_id", as_index=False)
        .agg(n_active=("a", "sum"), n_inactive=("i", "sum"))
    )
    counts["labels.tasks_with_labels"] = len(tasks)
    tasks = tasks[(tasks["n_active"] >= rules["min_actives"]) & (tasks["n_inactive"] >= rules["min_inactives"])]
    tasks = tasks.astype({"n_active": "uint32", "n_inactive": "uint32"}).sort_values("task_id", ignore_index=True)
    labels = labels[labels["task_id"].isin(tasks["task_id"])].sort_values(["inchikey", "task_id"], ignore_index=True)
    counts["labels.labels"] = len(labels)
    counts["labels.tasks_kept"] = len(tasks)
    counts["labels.compounds_labelled"] = int(labels["inchikey"].nunique())
    return labels, tasks


def write_outputs(out: Path, labels: pd.DataFrame, tasks: pd.DataFrame):
    out.mkdir(parents=True, exist_ok=True)
    label_schema = pa.schema([("inchikey", pa.string()), ("task_id", pa.string()), ("label", pa.int8())])
    task_schema = pa.schema([("task_id", pa.string()), ("n_active", pa.uint32()), ("n_inactive", pa.uint32())])
    pq.write_table(pa.Table.from_pandas(labels, schema=label_schema, preserve_index=False), out / "labels.parquet")
    pq.write_table(pa.Table.from_pandas(tasks, schema=task_schema, preserve_index=False), out / "tasks.parquet")


def compare(export: Path, labels: pd.DataFrame, tasks: pd.DataFrame, counts: dict) -> int:
    files = sorted(glob.glob(str(export / "labels" / "*.parquet")))
    theirs = pd.concat(
        [pq.read_table(f, columns=["inchikey", "task_id", "label"]).to_pandas() for f in files],
        ignore_index=True,
    )
    their_tasks = pq.read_table(export / "tasks.parquet", columns=["task_id", "n_active", "n_inactive"]).to_pandas()
    print(f"\ncompare with {export}: {len(files)} label shards")
    differences = 0

    def as_set(df, cols):
        return set(df[cols].astype({c: "int64" for c in cols if c not in ("inchikey", "task_id")}).itertuples(index=False, name=None))

    for what, mine, other in (
        ("labels (inchikey, task_id, label)", as_set(labels, ["inchikey", "task_id", "label"]),
         as_set(theirs, ["inchikey", "task_id", "label"])),
        ("tasks (task_id, n_active, n_inactive)", as_set(tasks, ["task_id", "n_active", "n_inactive"]),
         as_set(their_tasks, ["task_id", "n_active", "n_inactive"])),
    ):
        only_mine, only_theirs = sorted(mine - other), sorted(other - mine)
        same = "identical" if not (only_mine or only_theirs) else "DIFFERENT"
        print(f"  {what}: script {len(mine)}, export {len(other)}, {same}")
        for name, rows in (("only in script", only_mine), ("only in export", only_theirs)):
            if rows:
                print(f"    {name}: {len(rows)}, e.g.")
                for row in rows[:8]:
                    print(f"      {row}")
        differences += len(only_mine) + len(only_theirs)
    if len(theirs) != len(as_set(theirs, ["inchikey", "task_id", "label"])):
        print("  the export's labels hold duplicate rows")
        differences += 1
    manifest = export / "manifest.json"
    if manifest.is_file():
        stats = json.loads(manifest.read_text()).get("stats", {})
        notes = [
            f"{k}: script {counts[k]}, export {stats[k]}"
            for k in sorted(counts)
            if k.startswith(("labels.", "chembl.")) and k in stats and stats[k] != counts[k]
        ]
        shared = [k for k in counts if k in stats]
        print(f"  manifest counts: {len(shared) - len(notes)} of {len(shared)} shared counts equal")
        for n in notes:
            print(f"    differs (information only) {n}")
    print("  RESULT:", "identical" if differences == 0 else f"{differences} difference(s)")
    return 0 if differences == 0 else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chembl", required=True, type=Path, help="ChEMBL SQLite release (chembl_NN.db)")
    ap.add_argument("--cellpainting", required=True, type=Path, help="Cell Painting metadata directory (CDRP layout)")
    ap.add_argument("--pipeline", default=Path("pipelines/paper.toml"), type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--compare", type=Path, metavar="EXPORT_DIR", help="an assayflow export to compare with")
    ap.add_argument("--processes", type=int, default=1, help="processes keying SMILES (default 1)")
    args = ap.parse_args()
    RDLogger.DisableLog("rdApp.*")
    if not args.chembl.is_file():
        sys.exit(f"{args.chembl}: no such file")

    with open(args.pipeline, "rb") as f:
        pipeline = tomllib.load(f)
    if pipeline["chembl"]["match"] != "full":
        sys.exit("only [chembl] match = \"full\" is implemented here")
    if pipeline["cellpainting"]["layout"] not in ("detect", "cdrp"):
        sys.exit("only the CDRP layout is implemented here")
    rules = pipeline["labels"]

    counts: dict[str, int] = {}
    timer = Timer()
    samples = read_cellpainting(args.cellpainting, counts)
    timer.lap("read Cell Painting metadata")

    smiles = samples["smiles"].dropna().unique().tolist()
    keys = dict(zip(smiles, key_all(smiles, args.processes)))
    samples["inchikey"] = samples["smiles"].map(keys)
    rejected = samples[samples["smiles"].notna() & samples["inchikey"].isna()]
    compounds = sorted(samples["inchikey"].dropna().unique())
    counts["keys.smiles_keyed"] = len(smiles)
    counts["keys.rejected"] = len(rejected)
    counts["keys.distinct"] = len(compounds)
    timer.lap(f"SMILES -> InChIKey (RDKit, {args.processes} process(es))")

    matches, acts = read_chembl(args.chembl, compounds, counts)
    timer.lap("ChEMBL: match keys, read activities")

    labels, tasks = apply_rules(matches, acts, rules, counts)
    timer.lap("label rules")

    write_outputs(args.out, labels, tasks)
    timer.lap("write Parquet")

    print(f"labels_pandas: {args.chembl} x {args.cellpainting} ({args.pipeline})")
    for name, secs in timer.phases:
        print(f"  {secs:8.2f} s  {name}")
    print(f"  {timer.total():8.2f} s  total (wall)")
    print(f"  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB (this process)")
    for k in sorted(counts):
        print(f"  {k} = {counts[k]}")
    for _, row in rejected.head(5).iterrows():
        print(f"  reject: {row['broad_sample']}: RDKit cannot key {row['smiles']!r}")
    print(f"wrote {args.out / 'labels.parquet'} and {args.out / 'tasks.parquet'}")
    if args.compare:
        return compare(args.compare, labels, tasks, counts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
