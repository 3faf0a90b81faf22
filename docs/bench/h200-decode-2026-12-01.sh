#!/usr/bin/env bash
# Decode round 2 (branch decode): dispatches per step and decode ms/token on the H200,
# the playground configs in f32 at 128 (target <= 0.25 ms/token) with and without the
# subgroup matvec, and the five 1B configs with f16 weights at 2K and 32K (targets
# <= 1.5 / 2.5 ms/token). Carry .gl and .devjobs/decode (hybrid.xz: the stripped
# release CLI of the branch, xz -9). Recipe of h200-s6-cpu-threads-and-1b-tiled-2026-12-01.sh.
set -u
cd "$(dirname "$0")/../.."
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
xz -dc .devjobs/decode/hybrid.xz > /tmp/hybrid; H=/tmp/hybrid; chmod +x $H
{ nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1; git log -1 --format=%h 2>/dev/null; } > $OUT/env.txt 2>&1
P=assets/configs/playground
# f32 playground decode at 128: subgroup matvec (default), then the tree (features none)
timeout 120 $H bench $P-{transformer,mamba2,inter,intra}.json -c 128 -d 64 -b gpu --prefill-runs 1 --profile --json $OUT/pg.json > $OUT/pg.log 2>&1; echo "pg rc $?"
HYBRID_GPU_FEATURES=none timeout 90 $H bench $P-{transformer,mamba2,inter,intra}.json -c 128 -d 64 -b gpu --prefill-runs 1 --json $OUT/pg-nosg.json > $OUT/pg-nosg.log 2>&1; echo "pg-nosg rc $?"
# 1B, f16 weights, 2K and 32K
for c in paper-transformer paper-mamba2 paper-inter paper-intra paper-swa; do
  timeout 150 $H bench assets/configs/$c.json -c 2048,32768 -d 16 -b gpu --chunk 4096 --prefill-runs 1 --weights f16 --json $OUT/gpu-$c.json > $OUT/gpu-$c.log 2>&1; echo "$c rc $?"
done
tail -n 12 $OUT/pg.log $OUT/pg-nosg.log; tail -n 4 $OUT/gpu-*.log
