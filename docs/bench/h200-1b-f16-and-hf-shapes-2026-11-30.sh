#!/usr/bin/env bash
# Issue #12 "Done when" (gpureal): paper-*.json at 2K/8K/32K with 4096-token chunks and the
# Granite-4.0-H-350M / Falcon-H1-0.5B shapes (HF config.json, random weights), GPU engine,
# f16 weight matrices. One bench process per model (a failure or timeout does not stop the
# rest); the Transformer's 32K point alone, last.
set -u
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
J=.devjobs/gpureal; B=$J/hybrid; chmod +x $B; mkdir -p /tmp/gr
START=$(date +%s); LOG=$OUT/bench.log; BUDGET=${BUDGET:-440}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1 | tee $LOG
date -u | tee -a $LOG
one() { # name limit_s args...
  local n=$1 lim=$2; shift 2
  local left=$(( BUDGET - ($(date +%s) - START) ))
  [ $left -lt 15 ] && { echo "== $n: SKIPPED (time left ${left}s)" | tee -a $LOG; return; }
  [ $lim -gt $left ] && lim=$left
  echo "== $n: bench $* -d 16 -b gpu --chunk 4096 --prefill-runs 1 --weights f16 (limit ${lim}s)" | tee -a $LOG
  local t0=$(date +%s)
  timeout $lim $B bench "$@" -d 16 -b gpu --chunk 4096 --prefill-runs 1 --weights f16 --json /tmp/gr/$n.json >>$LOG 2>&1
  echo "== $n: rc=$? in $(( $(date +%s) - t0 ))s" | tee -a $LOG
}
one granite 40 $J/cfg/granite-4.0-h-350m/config.json -c 2048,8192,32768
one falcon 45 $J/cfg/falcon-h1-0.5b/config.json -c 2048,8192,32768
one mamba2 50 $J/cfg/paper-mamba2.json -c 2048,8192,32768
one swa 60 $J/cfg/paper-swa.json -c 2048,8192,32768
one intra 60 $J/cfg/paper-intra.json -c 2048,8192,32768
one inter 60 $J/cfg/paper-inter.json -c 2048,8192,32768
one transformer 60 $J/cfg/paper-transformer.json -c 2048,8192
one transformer32k 200 $J/cfg/paper-transformer.json -c 32768
python3 - <<'PY' > $OUT/bench.json
import json, glob, os
out = {}
for f in sorted(glob.glob('/tmp/gr/*.json')):
    try: out[os.path.basename(f)[:-5]] = json.load(open(f))
    except Exception as e: out[os.path.basename(f)[:-5]] = {"error": str(e)}
print(json.dumps(out, indent=1))
PY
grep -E "^(==|\| |GPU:|error|Error)" $LOG
echo total $(( $(date +%s) - START ))s
