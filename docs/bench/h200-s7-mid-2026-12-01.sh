#!/usr/bin/env bash
# Session 7, mid-session H200 run on the integration branch (tensor-core matmul + attention,
# attention_tiled for dv != dh, the chunked SSD for P > 64): the tensor-core tests with
# HYBRID_REQUIRE_COOP=1 and the SSD op test on the NVIDIA driver, then every 1B config
# (f16 weights, chunks of 4096) at 2K and 32K and the playground configs (f32 and f16).
set -u
cd "$(dirname "$0")/../.."
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
D=.devjobs/lead
for n in hybrid coop; do xz -dc $D/$n.xz > /tmp/$n; chmod +x /tmp/$n; done
mkdir -p /work/trial/core; ln -sfn "$PWD/tests" /work/trial/tests   # fixtures: core CARGO_MANIFEST_DIR/../tests (the mid run lacked core/: its coop model test could not read the fixture)
{ nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1; cat $D/commit; } > $OUT/env.txt 2>&1
for t in coop; do HYBRID_REQUIRE_COOP=1 timeout 60 /tmp/$t --test-threads 1 > $OUT/tests.log 2>&1; echo "$t rc $?"; tail -3 $OUT/tests.log; done
for c in paper-mamba2 paper-inter paper-intra paper-swa paper-transformer; do
  timeout 60 /tmp/hybrid bench assets/configs/$c.json -c 2048,32768 -d 16 -b gpu --chunk 4096 --prefill-runs 1 --weights f16 --json $OUT/$c.json >> $OUT/bench.log 2>&1; echo "$c rc $?"
done
timeout 60 /tmp/hybrid bench assets/configs/playground-{transformer,mamba2,inter,intra}.json -c 128,16384 -d 64 -b gpu --chunk 4096 --weights f32,f16 --json $OUT/playground.json >> $OUT/bench.log 2>&1; echo "playground rc $?"
cat $OUT/env.txt; grep -E '^\|' $OUT/bench.log | grep -v -- '---' 
