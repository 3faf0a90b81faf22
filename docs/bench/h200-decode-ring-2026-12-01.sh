#!/usr/bin/env bash
# Decode round 2 (branch s8-intra: the ring-cache KV append in the q|k|v matvec, and the
# intra block's q|k|v + in_proj pair): decode
# ms/token before (7113f76) and after, binaries interleaved, 3 rounds, on the H200: the
# windowed playground config and playground-intra at 128 (f32), paper-swa and paper-intra
# (f16 weights) at 2K (one call of < 10 min; 32K: a second call). For the lead: carry .gl and
# .devjobs/intra (hybrid-before.xz, hybrid-after.xz: stripped release CLIs, xz -9).
# Recipe of h200-s6-cpu-threads-and-1b-tiled-2026-12-01.sh.
set -u
cd "$(dirname "$0")/../.."
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
for b in before after; do
  xz -dc .devjobs/intra/hybrid-$b.xz > /tmp/hybrid-$b; chmod +x /tmp/hybrid-$b
done
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1 > $OUT/env.txt 2>&1
for round in 1 2 3; do
  for b in before after; do
    H=/tmp/hybrid-$b
    timeout 60 $H bench docs/bench/playground-swa-w64.json assets/configs/playground-intra.json \
      -c 128 -d 64 -b gpu --prefill-runs 1 --json $OUT/pg-$b-$round.json > $OUT/pg-$b-$round.log 2>&1
    echo "pg $b $round rc $?"
    for c in paper-swa paper-intra; do
      timeout 90 $H bench assets/configs/$c.json -c 2048 -d 16 -b gpu --chunk 4096 \
        --prefill-runs 1 --weights f16 --json $OUT/$c-$b-$round.json > $OUT/$c-$b-$round.log 2>&1
      echo "$c $b $round rc $?"
    done
  done
done
grep -h '^| p' $OUT/*.log
