#!/usr/bin/env bash
# Issue 14's GPU check, one short script for a lent GPU (the device tool; about 5 minutes on an H100/H200):
#   bash reproduce/gpu_check.sh            # writes figures/bench/*_gpu_*.csv (or under $OUT when set)
# 1. seconds per training step of every method on the MNIST and CIFAR10 shapes (batch 100, the paper's Table 2):
#    fp32 eager, bf16, bf16 + channels-last, and that compiled with CUDA graphs (torch.compile reduce-overhead);
#    each CSV names the GPU, the torch version and the variant. Target: a GPE encoder step ≤ 2 ms on an H100.
# 2. the GME cost forward + backward at B up to 65,536 (chunked: ≤ 2 GiB extra memory), ratios to torch.cdist.
# 3. with DRY_RUN=1 (issue 13): the paper profile's dry run on fake data sets with --device cuda (reproduce/dry_run.py,
#    about 20 minutes on 2 CPU cores; its log goes to $out/dry_run_gpu.log).
set -euo pipefail
out=${OUT:-figures/bench}
py=${PYTHON:-.venv/bin/python}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu.txt"
run_variant() {  # name, flags...
  local name=$1; shift
  "$py" reproduce/bench_train.py --device cuda --shapes mnist cifar10 --iterations 100 --warmup 30 --no-flops "$@" \
    --csv "$out/bench_train_gpu_${name}.csv"
}
run_variant fp32
run_variant bf16 --precision bf16
run_variant bf16_channels_last --precision bf16 --channels-last
run_variant bf16_channels_last_cudagraphs --precision bf16 --channels-last --compile reduce-overhead
"$py" reproduce/bench_gme.py --device cuda --sizes 2048 8192 32768 65536 --chunk 4096 --repeats 5 \
  --csv "$out/bench_gme_gpu.csv"
if [ "${DRY_RUN:-0}" = 1 ]; then
  "$py" reproduce/dry_run.py --device cuda 2>&1 | tee "$out/dry_run_gpu.log"
fi
