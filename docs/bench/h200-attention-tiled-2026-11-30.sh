#!/usr/bin/env bash
# Issue #13 item 2 (gpuattn): prefill attention at head_dim 128 (attention_tiled.wgsl) on the
# H200: paper-transformer and paper-inter at 2K/8K/32K, 4096-token chunks, f16 weight
# matrices, GPU engine, the same flags as the "before" rows (h200-1b-f16-and-hf-shapes);
# then one profiled Transformer point (timestamp queries) if time is left.
set -u
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
J=.devjobs/gpuattn; B=$J/hybrid; chmod +x $B; mkdir -p /tmp/ga
START=$(date +%s); LOG=$OUT/bench.log; BUDGET=${BUDGET:-320}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1 | tee $LOG
date -u | tee -a $LOG
one() { # name limit_s extra args...
  local n=$1 lim=$2; shift 2
  local left=$(( BUDGET - ($(date +%s) - START) ))
  [ $left -lt 15 ] && { echo "== $n: SKIPPED (time left ${left}s)" | tee -a $LOG; return; }
  [ $lim -gt $left ] && lim=$left
  echo "== $n: bench $* -d 16 -b gpu --chunk 4096 --prefill-runs 1 --weights f16 (limit ${lim}s)" | tee -a $LOG
  local t0=$(date +%s)
  timeout $lim $B bench "$@" -d 16 -b gpu --chunk 4096 --prefill-runs 1 --weights f16 --json /tmp/ga/$n.json >>$LOG 2>&1
  echo "== $n: rc=$? in $(( $(date +%s) - t0 ))s" | tee -a $LOG
}
one transformer 140 $J/cfg/paper-transformer.json -c 2048,8192,32768
one inter 90 $J/cfg/paper-inter.json -c 2048,8192,32768
one transformer-profile 80 $J/cfg/paper-transformer.json -c 8192 --profile
cat $LOG
echo total $(( $(date +%s) - START ))s
