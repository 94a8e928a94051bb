#!/usr/bin/env bash
# Builds the binary for the lent GPU machine (issue 6) and puts a stripped copy in out/assayflow
# (out/ is git-ignored; carry it with the device tool's `carry: ["out"]`).
#
# The same binary runs on CPU-only machines and with CUDA: at start-up it dlopens
# libtorch_cuda.so (src/train/cuda_runtime.rs). On the GPU machine, point the loader at that
# machine's torch 2.11.0 (cu130), whose libtorch is ABI-identical to the wheel we build against:
#   export LD_LIBRARY_PATH=/opt/torch/.venv/lib/python3.12/site-packages/torch/lib
#   out/assayflow train --device cuda ...   # logs "device: cuda:0 (...) (CUDA is available)"
# Then see scripts/gpu/train_throughput.sh for generating a full-resolution world there and
# training on it.
set -euo pipefail
cd "$(dirname "$0")/../.."
eval "$(scripts/libtorch)"
cargo build --release --locked --features torch
mkdir -p out
strip -o out/assayflow target/release/assayflow
ls -la out/assayflow
