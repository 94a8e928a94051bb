"""The view conversion of `assayflow images convert`, written the straightforward way with Python
tifffile + numpy: the baseline of benches/images_convert.rs.

For the views listed in an export's views.parquet (same sites, same order, same shards), read the
five channel TIFFs of each site with tifffile, stack them in the pipeline's channel order, compute
the per-channel statistics our views index carries (min, max, mean, and the 8-bit scaling's
saturation threshold), and write .npy shards of the same shape with numpy.

    python3 benches/images_tifffile.py --export OUT --plates PLATES --out DIR [--processes N] [--compare]

--compare checks that every shard holds the same pixels as the export's (a correctness check of
both). Needs tifffile (and imagecodecs for compressed TIFFs), numpy, pandas/pyarrow.
"""
import argparse
import glob
import json
import os
import sys
import time
from multiprocessing import Pool

import numpy as np
import pandas as pd
import tifffile

# The pipeline's default channel order and the CDRP wavelength of each stain.
ORDER = {"Mito": 5, "ER": 2, "RNA": 3, "AGP": 4, "DNA": 1}
SATURATED_PERCENT = 0.0028


def site_files(plates, plate, well, site, channels):
    out = []
    for stain in channels:
        w = ORDER[stain]
        pattern = os.path.join(plates, f"{plate}-*", f"*_{well.lower()}_s{site}_w{w}*.tif")
        hits = glob.glob(pattern)
        if len(hits) != 1:
            raise SystemExit(f"{pattern}: {len(hits)} files")
        out.append(hits[0])
    return out


def threshold(a):
    n = int(np.around(a.size * SATURATED_PERCENT / 100))
    if n == 0:
        return int(a.max())
    return int(np.partition(a.reshape(-1), -n)[-n])


def convert_shard(job):
    path, files_per_view = job
    first = tifffile.imread(files_per_view[0][0])
    h, w = first.shape
    arr = np.lib.format.open_memmap(path, mode="w+", dtype="<u2", shape=(len(files_per_view), 5, h, w))
    stats = []
    for i, files in enumerate(files_per_view):
        for c, f in enumerate(files):
            px = tifffile.imread(f)
            arr[i, c] = px
            stats.append((int(px.min()), int(px.max()), float(px.mean()), threshold(px)))
    arr.flush()
    del arr
    return len(files_per_view), stats


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--export", required=True)
    ap.add_argument("--plates", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--compare", action="store_true")
    a = ap.parse_args()
    manifest = json.load(open(os.path.join(a.export, "manifest.json")))
    channels = manifest["images"]["channels"]
    views = pd.read_parquet(os.path.join(a.export, "views.parquet"))
    os.makedirs(a.out, exist_ok=True)
    started = time.time()
    jobs = []
    for shard, group in views.groupby("shard", sort=True):
        group = group.sort_values("row")
        files = [site_files(a.plates, r.plate, r.well, r.site, channels) for r in group.itertuples()]
        jobs.append((os.path.join(a.out, shard.replace("/", "_")), files))
    if a.processes > 1:
        with Pool(a.processes) as pool:
            done = pool.map(convert_shard, jobs)
    else:
        done = [convert_shard(j) for j in jobs]
    n = sum(d[0] for d in done)
    secs = time.time() - started
    print(f"{n} views in {secs:.2f} s ({n / secs:.1f} views/s)")
    if a.compare:
        for shard, _ in views.groupby("shard", sort=True):
            ours = np.load(os.path.join(a.export, shard), mmap_mode="r")
            theirs = np.load(os.path.join(a.out, shard.replace("/", "_")), mmap_mode="r")
            if ours.shape != theirs.shape or not np.array_equal(ours, theirs):
                sys.exit(f"{shard}: the shards differ")
        print("compare: every shard holds the same pixels")


if __name__ == "__main__":
    main()
