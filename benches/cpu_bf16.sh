#!/bin/bash
# Training throughput on the CPU, float32 against bfloat16 + channels-last, on the demo's binned
# training views: one epoch capped at a few batches per model, 3 interleaved rounds, items/s as
# `assayflow train` records it (metrics.jsonl). Needs a torch build and a finished demo:
#   scripts/demo && benches/cpu_bf16.sh            # ASSAYFLOW=<binary> DEMO=<demo-out> to change
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/libtorch)"   # the cached libtorch runtime (installed on first use)
A=${ASSAYFLOW:-target/release/assayflow}
D=${DEMO:-demo-out}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
for r in 1 2 3; do
  for spec in "gapnet 32 256" "milnet 16 128" "mcnn 16 128" "sccnn 128 2048"; do
    read -r model batch items <<<"$spec"
    for opt in "" "--bf16 --channels-last"; do
      rm -rf "$OUT/run"
      # shellcheck disable=SC2086
      "$A" -q train --model "$model" --views "$D/views-train" --labels "$D/labels-37" \
        --pipeline "$D/demo-training.toml" --out "$OUT/run" --epochs 1 --batch-size "$batch" \
        --max-items-per-epoch "$items" $opt >/dev/null
      python3 -c "import json,sys; m=[json.loads(l) for l in open(sys.argv[1])][-1]; \
print(sys.argv[2], sys.argv[3], sys.argv[4], round(m['items_per_second'], 1))" \
        "$OUT/run/metrics.jsonl" "$r" "$model" "${opt:-float32}"
    done
  done
done
