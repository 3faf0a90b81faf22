#!/usr/bin/env bash
# Session 7, the closing H200 run (issue #13): in ONE run on one machine,
#  1. ours on the GPU (Vulkan, wgpu): playground configs f32 (decode @128, prefill 16K) and
#     f16 weights, and the 1B configs with f16 weights (prefill 2K / 32K, decode @2K / @32K),
#     with every optional feature the adapter has (tensor cores, f16, subgroups);
#  2. PyTorch (train/bench_twin_gpu.py): the same configs, eager / CUDA graph / compile;
#  3. the host CPU: ours 16 threads vs PyTorch CPU eager 16 threads at 2,048 tokens.
set -u
cd "$(dirname "$0")/../.."
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
xz -dc .devjobs/lead/hybrid.xz > /tmp/hybrid; H=/tmp/hybrid; chmod +x $H
{ nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1; nproc; lscpu | grep 'Model name'; cat .devjobs/lead/commit; } > $OUT/env.txt 2>&1
P=assets/configs
timeout 120 $H bench $P/playground-{transformer,mamba2,inter,intra}.json -c 128,16384 -d 64 -b gpu --chunk 4096 --weights f32,f16 --json $OUT/ours-playground.json > $OUT/ours-playground.log 2>&1; echo "pg rc $?"
for c in paper-mamba2 paper-inter paper-intra paper-swa paper-transformer; do
  timeout 75 $H bench $P/$c.json -c 2048,32768 -d 16 -b gpu --chunk 4096 --prefill-runs 1 --weights f16 --json $OUT/ours-$c.json >> $OUT/ours-1b.log 2>&1; echo "$c rc $?"
done
timeout 100 python3 train/bench_twin_gpu.py --configs playground-transformer,playground-mamba2,playground-inter,playground-intra \
  --prefill 16384 --decode 128 --modes eager,graph,compile --dtypes f32,bf16 > $OUT/twin-playground.jsonl 2> $OUT/twin.err; echo "twin pg rc $?"
timeout 90 python3 train/bench_twin_gpu.py --configs paper-transformer,paper-mamba2,paper-inter,paper-intra,paper-swa \
  --prefill 32768 --decode 2048,32768 --modes graph --dtypes bf16 --reps 2 --steps 16 > $OUT/twin-1b.jsonl 2>> $OUT/twin.err; echo "twin 1b rc $?"
timeout 50 $H bench $P/playground-{transformer,mamba2,inter,intra}.json -c 2048 -d 4 --threads 16 --prefill-runs 2 --json $OUT/cpu-ours.json > $OUT/cpu.log 2>&1; echo "cpu rc $?"
timeout 40 python3 train/bench_torch_cpu.py --lens 2048 --threads 16 >> $OUT/cpu.log 2>&1; echo "torch cpu rc $?"
grep -h -E '^\|' $OUT/ours-*.log | head -60; cat $OUT/twin-*.jsonl | tail -40; tail -12 $OUT/cpu.log; tail -3 $OUT/twin.err
