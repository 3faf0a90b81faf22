#!/usr/bin/env bash
# Session 9, the H200 run that closes issue #13: main with every change of sessions 7 and 8
# (tensor-core matmul + attention, f16 arithmetic matmul, decode fusions round 2 with the
# ring-cache append and the intra pair, attention_split_vec4 for long-context decode), in
# ONE job on one machine, beside the PyTorch twin:
#  1. ours on the GPU (Vulkan, wgpu, every feature the adapter has): playground configs,
#     f32 and f16 weights (decode @128, prefill 16K); the 1B configs with f16 weights
#     (prefill 2K / 32K, decode @2K / @32K), with a kernel profile of one step;
#  2. PyTorch (train/bench_twin_gpu.py): playground f32 prefill 16K and decode @128 (eager,
#     CUDA graph, compile + graph), 1B bf16 prefill 32K (eager) and decode @2K / @32K (CUDA
#     graph).
# Binary: a stripped release `hybrid` of main, xz, in .devjobs/s9 (carried).
set -u
cd "$(dirname "$0")/../.."
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
D=.devjobs/s9
xz -dc $D/hybrid.xz > /tmp/hybrid; chmod +x /tmp/hybrid
mkdir -p $OUT/json
{ nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1; nproc; lscpu | grep 'Model name'; cat $D/commit; } > $OUT/env.txt 2>&1
H=/tmp/hybrid; P=assets/configs
timeout 60 $H bench $P/playground-{transformer,mamba2,inter,intra}.json -c 128,16384 -d 64 -b gpu --chunk 4096 --weights f32,f16 --json $OUT/json/playground.json > $OUT/ours.log 2>&1; echo "pg rc $?"
for c in paper-mamba2 paper-inter paper-intra paper-swa paper-transformer; do
  timeout 70 $H bench $P/$c.json -c 2048,32768 -d 16 -b gpu --chunk 4096 --prefill-runs 1 --weights f16 --profile --json $OUT/json/$c.json >> $OUT/ours.log 2>&1; echo "$c rc $?"
done
timeout 110 python3 train/bench_twin_gpu.py --configs playground-transformer,playground-mamba2,playground-inter,playground-intra \
  --prefill 16384 --decode 128 --modes eager,graph,compile --dtypes f32 > $OUT/twin.jsonl 2> $OUT/err.log; echo "twin pg rc $?"
timeout 90 python3 train/bench_twin_gpu.py --configs paper-transformer,paper-mamba2,paper-inter,paper-intra,paper-swa \
  --prefill 32768 --decode 2048,32768 --modes graph --dtypes bf16 --reps 2 --steps 16 >> $OUT/twin.jsonl 2>> $OUT/err.log; echo "twin 1b rc $?"
tar -C $OUT -cf $OUT/json.tar json && rm -rf $OUT/json
cat $OUT/env.txt; grep -E '^\| (paper|playground)' $OUT/ours.log | cut -d'|' -f2,4-9; grep -v check $OUT/twin.jsonl
