#!/usr/bin/env bash
# Helper "coop", issue #13 item 1: the tensor-core matmul (shaders/matmul_coop.wgsl) on
# the H200. One job: gpu/tests/coop.rs with HYBRID_REQUIRE_COOP=1 (it prints the adapter's
# cooperative-matrix configurations, checks the kernel against the CPU reference and prints
# its TFLOP/s), then 1B prefill with the tensor cores (HYBRID_GPU_FEATURES=all, with a
# kernel profile) and without (=none: the f32 kernel), f16 weights, chunks of 4096.
# Binaries built on the dev box (release, stripped, xz) in .devjobs/coop/. At most 8 files
# come back from $OUT: the bench logs go to one file.
set -u
cd "$(dirname "$0")/../.."
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
D=.devjobs/coop
xz -dc $D/coop-test.xz > /tmp/coop-test; xz -dc $D/hybrid.xz > /tmp/hybrid
chmod +x /tmp/coop-test /tmp/hybrid
# the test binary finds tests/fixtures through the dev box's path (CARGO_MANIFEST_DIR/..)
mkdir -p /work/wt-coop/core; ln -sfn "$PWD/tests" /work/wt-coop/tests
{ nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1; git log -1 --format=%h 2>/dev/null; } > $OUT/env.txt 2>&1
HYBRID_REQUIRE_COOP=1 RUST_BACKTRACE=1 timeout 60 /tmp/coop-test --nocapture --test-threads 1 > $OUT/coop-test.log 2>&1; echo "coop test rc $?"
for feat in all none; do
  prof=""; [ $feat = all ] && prof=--profile
  for c in paper-mamba2 paper-inter; do
    echo "# $c, HYBRID_GPU_FEATURES=$feat" >> $OUT/bench.log
    HYBRID_GPU_FEATURES=$feat timeout 55 /tmp/hybrid bench assets/configs/$c.json -c 2048,32768 -d 4 -b gpu --chunk 4096 --prefill-runs 1 --weights f16 $prof --json $OUT/$c-$feat.json >> $OUT/bench.log 2>&1; echo "$c $feat rc $?"
  done
done
cat $OUT/env.txt; tail -n 40 $OUT/coop-test.log; grep -E "@ |matmul" $OUT/bench.log
