#!/usr/bin/env python3
"""The PyTorch side of the loader benchmark (benches/loader.rs): torch.utils.data.DataLoader over
numpy memory maps of a view export's .npy shards (the same Dataset as benches/gpu/gapnet_torch.py:
each item a contiguous uint8/uint16 copy of one view plus its int8 label row), shuffled,
persistent workers, batches collated into tensors; no model. One JSON line per epoch with views/s.

usage: loader_torch.py VIEWS LABELS --epochs N --batch-size B --workers W
"""
import argparse, json, os, sys, time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gpu"))
from gapnet_torch import Views, load  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("views"); ap.add_argument("labels")
    ap.add_argument("--epochs", type=int, default=3); ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    torch.manual_seed(1)
    rows, labels, _ = load(a.views, a.labels, None)
    dl = torch.utils.data.DataLoader(Views(a.views, rows, labels), batch_size=a.batch_size, shuffle=True,
                                     num_workers=a.workers, persistent_workers=a.workers > 0,
                                     prefetch_factor=4 if a.workers > 0 else None)
    for epoch in range(1, a.epochs + 1):
        t0, n, check = time.perf_counter(), 0, 0
        for x, y in dl:
            n += x.shape[0]
            check += int(x[:, 0, 0, 0].sum()) + int(y.sum())
        s = time.perf_counter() - t0
        print(json.dumps({"epoch": epoch, "views": n, "seconds": s, "views_per_second": n / s, "check": check}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
