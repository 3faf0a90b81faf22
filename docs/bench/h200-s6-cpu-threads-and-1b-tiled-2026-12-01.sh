#!/usr/bin/env bash
# Session 6 lead run: the CPU engine on threads after the row-wise passes went parallel
# (vs PyTorch CPU eager, same host), and the 1B configs not yet timed with attention_tiled.
set -u
cd "$(dirname "$0")/../.."
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
xz -dc .devjobs/lead/hybrid.xz > /tmp/hybrid; H=/tmp/hybrid; chmod +x $H
{ nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1; nproc; lscpu | grep 'Model name'; git log -1 --format=%h 2>/dev/null; } > $OUT/env.txt 2>&1
timeout 100 $H bench assets/configs/playground-{transformer,mamba2,inter,intra}.json -c 128,2048 -d 16 --threads 1,16 --prefill-runs 2 --json $OUT/cpu-threads.json > $OUT/cpu-threads.log 2>&1; echo "cpu rc $?"
PYTHONPATH=train timeout 90 python train/bench_torch_cpu.py --lens 128,2048 --threads 1,16 --configs assets/configs > $OUT/torch-cpu.log 2>&1; echo "torch rc $?"
for c in paper-swa paper-intra paper-mamba2; do
  timeout 150 $H bench assets/configs/$c.json -c 2048,8192,32768 -d 16 -b gpu --chunk 4096 --prefill-runs 1 --weights f16 --json $OUT/gpu-$c.json > $OUT/gpu-$c.log 2>&1; echo "$c rc $?"
done
tail -n 30 $OUT/cpu-threads.log; tail -n 20 $OUT/torch-cpu.log; tail -n 8 $OUT/gpu-*.log
