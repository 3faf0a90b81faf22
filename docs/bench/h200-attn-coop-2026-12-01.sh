#!/usr/bin/env bash
# Helper "attn" (issue #13 items 1-2): attention_coop.wgsl (tensor cores) on the H200.
# 1. gpu/tests/attention_coop.rs with HYBRID_REQUIRE_COOP=1 (fails without tensor cores);
# 2. `hybrid bench` of paper-transformer and paper-intra, f16 weights, 4096-token chunks,
#    2K and 32K, HYBRID_GPU_FEATURES=all (attention_coop) and none (f32 kernels: the
#    Transformer on attention_tiled, intra's dv-256 branch now on attention_tiled too).
# Binaries built on the dev box (release, stripped, xz) in .devjobs/attn/.
set -u
cd "$(dirname "$0")/../.."
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
J=.devjobs/attn
xz -dc $J/hybrid.xz > /tmp/hybrid; xz -dc $J/attention_coop.xz > /tmp/attention_coop
chmod +x /tmp/hybrid /tmp/attention_coop; H=/tmp/hybrid
{ nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1; date -u; } > $OUT/env.txt 2>&1
HYBRID_REQUIRE_COOP=1 timeout 40 /tmp/attention_coop --nocapture --test-threads 1 > $OUT/test.log 2>&1; echo "test rc $?"
tail -n 12 $OUT/test.log
b() { # features config timeout
  HYBRID_GPU_FEATURES=$1 timeout $3 $H bench assets/configs/$2.json -c 2048,32768 -d 16 -b gpu --chunk 4096 --prefill-runs 1 --weights f16 --profile --json $OUT/$2-$1.json > $OUT/$2-$1.log 2>&1; echo "$2 $1 rc $?"
}
b all paper-transformer 35
b all paper-intra 30
b none paper-intra 30
b none paper-transformer 40
grep -h -E "prefill|coop|attention|features|paper" $OUT/*.log | head -n 80
