#!/usr/bin/env bash
# Session 7: PyTorch (the twin, train/bench_twin_gpu.py) on the H200: prefill eager and
# decode eager / CUDA graph / torch.compile, f32 (TF32 off) and bf16, for the playground and
# the 1B configs; each config first checks its fast paths against the twin's reference.
set -u
cd "$(dirname "$0")/../.."
{ nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1; git log -1 --format=%h 2>/dev/null; } > $OUT/env.txt 2>&1
timeout 260 python3 train/bench_twin_gpu.py --check --configs playground-transformer,playground-mamba2,playground-inter,playground-intra \
  --prefill 16384 --decode 128 --modes eager,graph,compile --dtypes f32,bf16 > $OUT/twin-playground.jsonl 2> $OUT/twin-playground.err; echo "playground rc $?"
timeout 300 python3 train/bench_twin_gpu.py --check --configs paper-transformer,paper-mamba2,paper-inter,paper-intra,paper-swa \
  --prefill 2048,32768 --decode 2048,32768 --modes eager,graph --dtypes bf16,f32 --reps 2 --steps 16 > $OUT/twin-1b.jsonl 2> $OUT/twin-1b.err; echo "1b rc $?"
cat $OUT/twin-playground.jsonl $OUT/twin-1b.jsonl; tail -n 5 $OUT/*.err
