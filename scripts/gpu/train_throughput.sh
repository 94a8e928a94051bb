#!/usr/bin/env bash
# GapNet training throughput at full resolution on the lent GPU machine (issue 6, BENCHMARKS.md):
# assayflow's trainer against a plain PyTorch DataLoader + GapNet loop (benches/gpu/gapnet_torch.py)
# on the same shards, in the same run, fp32 and bf16 + channels-last, batch 128.
#
# Build here with scripts/gpu/build.sh (out/assayflow), carry out/, then run this script there:
#   bash scripts/gpu/train_throughput.sh          # results in $OUT (or /tmp/gt-out)
# It generates a demo-scale world there (600 compounds, 4 plates, SITES sites per well at
# 520 x 696), builds labels, converts the labelled views to uint8 shards (the paper's format),
# then trains each variant for EPOCHS epochs while sampling GPU utilisation.
set -uo pipefail
BIN=${BIN:-$PWD/out/assayflow}
SITES=${SITES:-2}
EPOCHS=${EPOCHS:-8}
READERS=${READERS:-8}
W=/tmp/gt
OUT=${OUT:-/tmp/gt-out}
mkdir -p "$OUT"
export LD_LIBRARY_PATH=/opt/torch/.venv/lib/python3.12/site-packages/torch/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
LOG=$OUT/log.txt
exec > >(tee -a "$LOG") 2>&1
rm -rf $W; mkdir -p $W
nproc; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; df -h /tmp | tail -1
t=$(date +%s)
$BIN -q synth world --scale demo --seed 1 --no-images --out $W/world
$BIN -q labels build --chembl $W/world/chembl/chembl_36.db --cellpainting $W/world/cellpainting --out $W/labels
$BIN -q synth plates --world $W/world --sites "$SITES" --workers "$(nproc)"
sed -e 's/^dtype = "uint16"/dtype = "uint8"/' pipelines/paper.toml > $W/paper-uint8.toml
$BIN -q images convert --plates $W/world/images --cellpainting $W/world/cellpainting --labels $W/labels \
  --pipeline $W/paper-uint8.toml --out $W/views --workers "$(nproc)"
rm -rf $W/world/images
echo "data ready in $(( $(date +%s) - t )) s"; du -sh $W/views

sample() { nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader,nounits -lms 200 > "$OUT/util-$1.csv" & echo $!; }
run() { # name, then the command
  local name=$1; shift
  local pid; pid=$(sample "$name")
  local s; s=$(date +%s.%N)
  "$@"; local rc=$?
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  echo "$name: exit $rc, $(echo "$(date +%s.%N) - $s" | bc) s wall"
}
for variant in fp32 bf16; do
  flags=(); [ $variant = bf16 ] && flags=(--bf16 --channels-last)
  rm -rf $W/run-$variant
  run ours-$variant $BIN train --model gapnet --views $W/views --labels $W/labels --out $W/run-$variant \
    --device cuda --epochs "$EPOCHS" --batch-size 128 --readers "$READERS" --prefetch 6 "${flags[@]}"
  cp $W/run-$variant/metrics.jsonl "$OUT/ours-$variant.jsonl" 2>/dev/null
  PYTHONUNBUFFERED=1 run torch-$variant python3 benches/gpu/gapnet_torch.py $W/views $W/labels \
    --epochs "$EPOCHS" --batch-size 128 --workers "$READERS" "${flags[@]}" > "$OUT/torch-$variant.jsonl"
done
python3 - "$OUT" <<'PY'
import json, statistics, sys, os, csv
out = sys.argv[1]
def util(name):
    try:
        vals = [float(r[0]) for r in csv.reader(open(os.path.join(out, f"util-{name}.csv"))) if r and r[0].strip().isdigit()]
        busy = [v for v in vals if v > 0]
        return statistics.mean(busy) if busy else 0.0, max(float(r[1]) for r in csv.reader(open(os.path.join(out, f"util-{name}.csv"))) if r and r[1].strip().isdigit())
    except Exception as e:
        return float("nan"), float("nan")
rows = []
for v in ["fp32", "bf16"]:
    for who in ["ours", "torch"]:
        p = os.path.join(out, f"{who}-{v}.jsonl")
        if not os.path.exists(p):
            continue
        lines = [json.loads(l) for l in open(p) if l.startswith("{")]
        rate = [l.get("items_per_second", l.get("views_per_second")) for l in lines]
        extra = ""
        if who == "ours" and lines:
            extra = " bottleneck=" + ",".join(sorted({l["bottleneck"] for l in lines[1:]} or {"-"}))
        u, mem = util(f"{who}-{v}")
        med = statistics.median(rate[1:]) if len(rate) > 1 else float("nan")
        rows.append((v, who, med, u, mem))
        print(f"{v:5} {who:6} median views/s (epochs 2..): {med:8.1f}  all: {[round(r) for r in rate]}  GPU util (busy samples) {u:.0f}%  peak GPU memory {mem:.0f} MiB{extra}")
for v in ["fp32", "bf16"]:
    d = {w: r for (vv, w, r, _, _) in rows if vv == v}
    if "ours" in d and "torch" in d:
        print(f"{v}: ours / PyTorch = {d['ours'] / d['torch']:.2f}")
PY
ls -la "$OUT"
