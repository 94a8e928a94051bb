#!/usr/bin/env python3
"""The PyTorch side of the GPU training benchmark (issue 6): a plain PyTorch GapNet loop reading
the same view export as `assayflow train`: torch.utils.data.DataLoader over numpy memory maps of
the .npy shards (workers, pinned memory, shuffle), per-image z-scoring on the device, masked BCE,
SGD (momentum 0.9, weight decay 1e-4, lr 1e-2), clipping at 5, the loss read every step (as
assayflow does for its NaN check). Prints one JSON line per epoch with views/s.

usage: gapnet_torch.py VIEWS LABELS --epochs N --batch-size B --workers W [--bf16] [--channels-last]
Needs torch, numpy and pyarrow (the GPU machine's python3 has them).
"""
import argparse, glob, json, os, sys, time

import numpy as np
import pyarrow.parquet as pq
import torch
import torch.nn as nn
import torch.nn.functional as F


class GapNet(nn.Module):
    """The paper's GapNet with global average pooling over any input size (3,694,545 parameters)."""

    def __init__(self, channels=5, tasks=209, fc=1024):
        super().__init__()
        def conv(i, o, s=1, d=1):
            return nn.Conv2d(i, o, 3, stride=s, padding=d, dilation=d)
        self.b1 = nn.ModuleList([conv(channels, 32, 2)])
        self.b2 = nn.ModuleList([conv(32, 64, 2), conv(64, 64), conv(64, 64)])
        self.b3 = nn.ModuleList([conv(64, 128), conv(128, 128), conv(128, 128)])
        self.b4 = nn.ModuleList([conv(128, 256, 1, 2), conv(256, 256, 1, 2), conv(256, 256, 1, 4)])
        self.fc1, self.fc2, self.out = nn.Linear(480, fc), nn.Linear(fc, fc), nn.Linear(fc, tasks)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                nn.init.normal_(m.weight, 0, (1.0 / fan_in) ** 0.5)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        pooled = []
        for n, block in enumerate([self.b1, self.b2, self.b3, self.b4]):
            for c in block:
                x = F.selu(c(x))
            if n == 0 or n == 2:
                x = F.max_pool2d(x, 2, 2)
            elif n == 1:
                x = F.max_pool2d(x, 2, 2, padding=1)
            pooled.append(x.mean(dim=(2, 3)))
        x = torch.cat(pooled, 1)
        return self.out(F.selu(self.fc2(F.selu(self.fc1(x)))))


class Views(torch.utils.data.Dataset):
    def __init__(self, root, rows, labels):
        self.root, self.rows, self.labels, self.maps = root, rows, labels, {}

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        shard, row, key = self.rows[i]
        m = self.maps.get(shard)
        if m is None:
            m = self.maps[shard] = np.load(os.path.join(self.root, shard), mmap_mode="r")
        return torch.from_numpy(np.ascontiguousarray(m[row])), torch.from_numpy(self.labels[key])


def load(views, labels_dir, split):
    """(shard, row, inchikey) of the labelled views of `split` (all splits with None), the label
    rows by InChIKey (int8, task order of tasks.parquet), and the number of tasks."""
    tasks = pq.read_table(os.path.join(labels_dir, "tasks.parquet"), columns=["task_id"]).column(0).to_pylist()
    index = {t: i for i, t in enumerate(tasks)}
    labels = {}
    for f in sorted(glob.glob(os.path.join(labels_dir, "labels", "*.parquet"))):
        t = pq.read_table(f, columns=["inchikey", "task_id", "label"]).to_pydict()
        for k, task, l in zip(t["inchikey"], t["task_id"], t["label"]):
            labels.setdefault(k, np.zeros(len(tasks), dtype=np.int8))[index[task]] = l
    v = pq.read_table(os.path.join(views, "views.parquet"), columns=["inchikey", "split", "shard", "row"]).to_pydict()
    rows = [(s, r, k) for k, sp, s, r in zip(v["inchikey"], v["split"], v["shard"], v["row"])
            if (split is None or sp == split) and k in labels]
    return rows, labels, len(tasks)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("views"); ap.add_argument("labels")
    ap.add_argument("--epochs", type=int, default=3); ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--workers", type=int, default=8); ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--channels-last", action="store_true"); ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    rows, labels, tasks = load(a.views, a.labels, "train")
    ds = Views(a.views, rows, labels)
    dl = torch.utils.data.DataLoader(ds, batch_size=a.batch_size, shuffle=True, num_workers=a.workers,
                                     pin_memory=dev.type == "cuda", persistent_workers=a.workers > 0,
                                     prefetch_factor=4 if a.workers > 0 else None)
    model = GapNet(ds[0][0].shape[0], tasks).to(dev)
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9, weight_decay=1e-4)
    for epoch in range(1, a.epochs + 1):
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0, n, total = time.perf_counter(), 0, 0.0
        for x, y in dl:
            x = x.to(dev, non_blocking=True)
            if x.dtype == torch.int16 or x.dtype == torch.uint16:
                x = x.to(torch.int32) & 0xFFFF
            x = x.float()
            mean = x.mean(dim=(2, 3), keepdim=True)
            std = x.std(dim=(2, 3), keepdim=True, unbiased=False)
            x = (x - mean) / (std + 1e-7)
            if a.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            y = y.to(dev, non_blocking=True)
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=a.bf16):
                p = model(x)
            p = p.float()
            mask = (y != 0).float()
            t = (y > 0).float()
            bce = p.clamp(min=0) - p * t + torch.log1p(torch.exp(-p.abs()))
            loss = (bce * mask).sum() / mask.sum().clamp(min=1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            total += loss.item()
            n += x.shape[0]
        if dev.type == "cuda":
            torch.cuda.synchronize()
        s = time.perf_counter() - t0
        print(json.dumps({"epoch": epoch, "views": n, "seconds": s, "views_per_second": n / s,
                          "loss": total / max(1, (n + a.batch_size - 1) // a.batch_size),
                          "device": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu",
                          "bf16": a.bf16, "channels_last": a.channels_last}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
