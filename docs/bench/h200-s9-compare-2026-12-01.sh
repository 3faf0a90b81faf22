#!/usr/bin/env bash
# Session 9, the second H200 job for issue #13: what session 8's kernels change, in one
# run, and their tests on a device that has the features lavapipe lacks.
#  1. gpu tests on the H200: matmul_f16.rs with HYBRID_REQUIRE_F16=1 (coop.rs passed here in
#     session 7 and its kernels are unchanged; matvec_pair.rs and attention_decode.rs need no feature lavapipe
#     lacks and run in CI);
#  2. decode before (7113f76, session 7's end) and after (main), interleaved, 2 rounds:
#     paper-transformer, paper-intra, paper-swa (f16 weights) @2K / @32K, and the windowed
#     playground config, playground-transformer and playground-intra @128 (f32);
#  3. f16 arithmetic without tensor cores: prefill with f16 weights under
#     HYBRID_GPU_FEATURES=subgroups (f32 kernels), f16,subgroups (matmul_f16), all
#     (tensor cores): paper-mamba2 + paper-inter @2K, playground-inter @16K.
# Binaries (stripped; tests in the test profile) in .devjobs/s9/bins.tar.xz: hybrid (main),
# hybrid-before (7113f76), matmul_f16 (the 64 MiB limit on what travels left out coop).
set -u
cd "$(dirname "$0")/../.."
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
D=.devjobs/s9
xz -dc $D/bins.tar.xz | tar -C /tmp -xf - && chmod +x /tmp/hybrid* /tmp/matmul_f16
cp /tmp/hybrid /tmp/hybrid-after
# the test binaries find tests/fixtures through the dev box's path (CARGO_MANIFEST_DIR/..)
[ -e /work/main/tests ] || { mkdir -p /work/main; ln -sfn "$PWD/tests" /work/main/tests; }
{ nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1; cat $D/commit; } > $OUT/env.txt 2>&1
for t in matmul_f16; do
  HYBRID_REQUIRE_COOP=1 HYBRID_REQUIRE_F16=1 timeout 60 /tmp/$t --test-threads 1 --nocapture > $OUT/test-$t.log 2>&1; echo "test $t rc $?"
done
P=assets/configs
for round in 1 2; do
  for b in before after; do
    H=/tmp/hybrid-$b
    timeout 30 $H bench $P/playground-transformer.json docs/bench/playground-swa-w64.json $P/playground-intra.json -c 128 -d 64 -b gpu --prefill-runs 1 >> $OUT/decode-$b.log 2>&1; echo "pg $b $round rc $?"
    for c in paper-transformer paper-intra paper-swa; do
      timeout 50 $H bench $P/$c.json -c 2048,32768 -d 16 -b gpu --chunk 4096 --prefill-runs 1 --weights f16 >> $OUT/decode-$b.log 2>&1; echo "$c $b $round rc $?"
    done
  done
done
for feat in subgroups f16,subgroups all; do
  echo "# HYBRID_GPU_FEATURES=$feat" >> $OUT/f16.log
  HYBRID_GPU_FEATURES=$feat timeout 45 /tmp/hybrid bench $P/paper-mamba2.json $P/paper-inter.json -c 2048 -d 2 -b gpu --chunk 2048 --prefill-runs 3 --weights f16 >> $OUT/f16.log 2>&1; echo "paper $feat rc $?"
  HYBRID_GPU_FEATURES=$feat timeout 20 /tmp/hybrid bench $P/playground-inter.json -c 16384 -d 2 -b gpu --chunk 4096 --prefill-runs 3 --weights f16 >> $OUT/f16.log 2>&1; echo "pg $feat rc $?"
done
cat $OUT/env.txt; grep -hE "test result|worst|panicked" $OUT/test-*.log
for b in before after; do echo "== $b"; grep -E '^\| (paper|playground)' $OUT/decode-$b.log | cut -d'|' -f2,4-9; done
grep -E '^#|^\| (paper|playground)' $OUT/f16.log | cut -d'|' -f2,4-9
