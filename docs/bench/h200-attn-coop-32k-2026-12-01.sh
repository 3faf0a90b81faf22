#!/usr/bin/env bash
# Helper "attn", second H200 job: the 32K points that the first job
# (h200-attn-coop-2026-12-01.sh: test + 2K points, its 32K points cut by its timeouts)
# did not reach. No test (passed in the first job), no --profile on the 32K runs, then one
# profile of a 4096-token chunk with tensor cores (attention_coop's own time).
set -u
cd "$(dirname "$0")/../.."
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
J=.devjobs/attn
xz -dc $J/hybrid.xz > /tmp/hybrid; chmod +x /tmp/hybrid; H=/tmp/hybrid
b() { # features config timeout contexts extra...
  local f=$1 c=$2 t=$3 ctx=$4; shift 4
  echo "$c $f $ctx start $(date +%s)" >> $OUT/times.txt
  HYBRID_GPU_FEATURES=$f timeout $t $H bench assets/configs/$c.json -c $ctx -d 4 -b gpu --chunk 4096 --prefill-runs 1 --weights f16 "$@" --json $OUT/$c-$f-$ctx.json > $OUT/$c-$f-$ctx.log 2>&1
  echo "$c $f $ctx rc $? $(date +%s)" >> $OUT/times.txt
}
b all paper-transformer 60 32768
b all paper-intra 60 32768
b none paper-intra 60 32768
b all paper-transformer 40 4096 --profile
b none paper-transformer 60 32768
cat $OUT/times.txt; grep -h "prefill" $OUT/*.log | grep "@"
