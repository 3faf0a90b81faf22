#!/usr/bin/env bash
# Helper "f16", issue #13 item 1: f16 arithmetic without tensor cores
# (shaders/matmul_f16.wgsl) on the H200. One job:
#  1. gpu/tests/matmul_f16.rs with HYBRID_REQUIRE_F16=1 on a device opened without
#     cooperative matrices: the kernel against the f64 reference within its stated bound,
#     the fixture prefill against the CPU engine, and the TFLOP/s of a 4096x2048x2048
#     product on the f16 kernel (f16 weights) and the f32 kernel (bf16 weights);
#  2. prefill with f16 weights, HYBRID_GPU_FEATURES=subgroups (f32 arithmetic),
#     =f16,subgroups (matmul_f16) and =all (tensor cores), in that order: paper-mamba2 and
#     paper-inter at 2K (one chunk of 2048; kernel profile for the first two) and
#     playground-inter at 16K (chunks of 4096); best of 3 prefills each.
# Binaries built on the dev box (release / test profile, stripped, xz) in .devjobs/f16/.
set -u
cd "$(dirname "$0")/../.."
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
D=.devjobs/f16
for n in hybrid matmul_f16; do xz -dc $D/$n.xz > /tmp/$n; chmod +x /tmp/$n; done
# the test binary finds tests/fixtures through the dev box's path (CARGO_MANIFEST_DIR/..)
mkdir -p /work/wt-f16/core /work/wt-f16/gpu; ln -sfn "$PWD/tests" /work/wt-f16/tests
{ nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1; cat $D/commit; } > $OUT/env.txt 2>&1
HYBRID_REQUIRE_F16=1 RUST_BACKTRACE=1 timeout 30 /tmp/matmul_f16 --nocapture --test-threads 1 > $OUT/test.log 2>&1; echo "test rc $?"
P=assets/configs
for feat in subgroups f16,subgroups all; do
  tag=${feat/,/-}; prof=""; [ $feat != all ] && prof=--profile
  echo "# paper-mamba2, paper-inter @ 2K, HYBRID_GPU_FEATURES=$feat" >> $OUT/bench.log
  HYBRID_GPU_FEATURES=$feat timeout 45 /tmp/hybrid bench $P/paper-mamba2.json $P/paper-inter.json -c 2048 -d 2 -b gpu --chunk 2048 --prefill-runs 3 --weights f16 $prof --json $OUT/paper-$tag.json >> $OUT/bench.log 2>&1; echo "paper $feat rc $?"
  echo "# playground-inter @ 16K, HYBRID_GPU_FEATURES=$feat" >> $OUT/bench.log
  HYBRID_GPU_FEATURES=$feat timeout 15 /tmp/hybrid bench $P/playground-inter.json -c 16384 -d 2 -b gpu --chunk 4096 --prefill-runs 3 --weights f16 --json $OUT/pg-$tag.json >> $OUT/bench.log 2>&1; echo "pg $feat rc $?"
done
cat $OUT/env.txt; grep -E "test result|worst|inter_1to3|greedy|TFLOP|panicked" $OUT/test.log; grep -E "^#|@ |prefill \| matmul" $OUT/bench.log
