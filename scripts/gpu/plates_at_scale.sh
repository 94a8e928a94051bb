#!/usr/bin/env bash
# Generated plates and their conversion at scale on the lent 16-core GPU machine (issue 5).
# The machine has no Rust toolchain: build here, strip, and carry the binary:
#   cargo build --release && mkdir -p out && strip -o out/assayflow target/release/assayflow
#   (then run this script there with out/ carried; it writes under /tmp on that machine)
# Draws 2 full plates (768 wells x 6 sites, 16.7 GB of uncompressed TIFF) on all cores, then
# converts every keyed and control view with crops and features, with 1, 4 and 16 workers.
set -euo pipefail
BIN=${BIN:-$PWD/out/assayflow}
W=/tmp/gw; rm -rf $W; mkdir -p $W
nproc; df -h /tmp | tail -1
/usr/bin/time -f "world %e s %M KB" $BIN -q synth world --scale demo --seed 1 --no-images --out $W/world
/usr/bin/time -f "labels %e s %M KB" $BIN -q labels build --chembl $W/world/chembl/chembl_36.db --cellpainting $W/world/cellpainting --out $W/labels || true
/usr/bin/time -f "plates %e s %M KB" $BIN synth plates --world $W/world --plates 2 --sites 6 --workers 16
du -sh $W/world/images $W/world/cellprofiler
sed -e 's/include_controls = false/include_controls = true/' -e 's/include_unlabelled = false/include_unlabelled = true/' pipelines/paper.toml > $W/p.toml
for w in 1 4 16; do
  rm -rf $W/v$w
  /usr/bin/time -f "convert workers=$w %e s %U u %S s %M KB" $BIN -q images convert --plates $W/world/images --cellpainting $W/world/cellpainting --labels $W/labels --pipeline $W/p.toml --out $W/v$w --workers $w --cellprofiler $W/world/cellprofiler || true
  python3 -c "import json;m=json.load(open('$W/v$w/manifest.json'));print(m['stats'])"
  [ $w = 16 ] || rm -rf $W/v$w
done
python3 - <<PY || echo "(pandas not available)"
import numpy as np, pandas as pd
v=pd.read_parquet('$W/v16/views.parquet'); r=v.iloc[len(v)//2]
a=np.load('$W/v16/'+r.shard, mmap_mode='r'); print(a.shape, a.dtype, a[r.row].mean(axis=(1,2)).round(1), r.channel_mean.round(1))
c=pd.read_parquet('$W/v16/cells.parquet'); f=pd.read_parquet('$W/v16/features.parquet'); print(len(c), 'cells', f.shape, 'features')
PY
