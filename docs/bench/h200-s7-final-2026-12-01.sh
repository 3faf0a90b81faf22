#!/usr/bin/env bash
# Session 7, the closing H200 run (issue #13), on the integration branch with every change
# of the session (tensor-core matmul + attention, attention_tiled for dv != dh, chunked SSD
# for P > 64, decode fusions + subgroup matvec, CPU engine round 2), in ONE run on one
# machine:
#  1. gpu/tests/coop.rs with HYBRID_REQUIRE_COOP=1 (the whole-model tensor-core check);
#  2. ours on the GPU (Vulkan, wgpu): playground configs, f32 and f16 weights (decode @128,
#     prefill 16K), and the 1B configs with f16 weights (prefill 2K / 32K, decode @2K / @32K);
#  3. PyTorch (train/bench_twin_gpu.py): playground f32 prefill 16K and decode @128 (eager,
#     CUDA graph, compile + graph), 1B bf16 prefill 32K and decode @2K / @32K (CUDA graph);
#  4. the host CPU: ours vs PyTorch CPU eager, 16 threads each, prefill of 2,048 tokens.
set -u
cd "$(dirname "$0")/../.."
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
D=.devjobs/lead
for n in hybrid coop; do xz -dc $D/$n.xz > /tmp/$n; chmod +x /tmp/$n; done
mkdir -p /work/trial/core $OUT/json; ln -sfn "$PWD/tests" /work/trial/tests   # fixtures: core CARGO_MANIFEST_DIR/../tests
{ nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1; nproc; lscpu | grep 'Model name'; cat $D/commit; } > $OUT/env.txt 2>&1
H=/tmp/hybrid; P=assets/configs
HYBRID_REQUIRE_COOP=1 timeout 60 /tmp/coop --test-threads 1 --nocapture > $OUT/tests.log 2>&1; echo "coop test rc $?"; grep -E 'test result|inter_1to3|greedy|worst|panicked' $OUT/tests.log | head
timeout 60 $H bench $P/playground-{transformer,mamba2,inter,intra}.json -c 128,16384 -d 64 -b gpu --chunk 4096 --weights f32,f16 --json $OUT/json/playground.json > $OUT/ours.log 2>&1; echo "pg rc $?"
for c in paper-mamba2 paper-inter paper-intra paper-swa paper-transformer; do
  timeout 60 $H bench $P/$c.json -c 2048,32768 -d 16 -b gpu --chunk 4096 --prefill-runs 1 --weights f16 --json $OUT/json/$c.json >> $OUT/ours.log 2>&1; echo "$c rc $?"
done
timeout 100 python3 train/bench_twin_gpu.py --configs playground-transformer,playground-mamba2,playground-inter,playground-intra \
  --prefill 16384 --decode 128 --modes eager,graph,compile --dtypes f32 > $OUT/twin.jsonl 2> $OUT/err.log; echo "twin pg rc $?"
timeout 80 python3 train/bench_twin_gpu.py --configs paper-transformer,paper-mamba2,paper-inter,paper-intra,paper-swa \
  --prefill 32768 --decode 2048,32768 --modes graph --dtypes bf16 --reps 2 --steps 16 >> $OUT/twin.jsonl 2>> $OUT/err.log; echo "twin 1b rc $?"
timeout 45 $H bench $P/playground-{transformer,mamba2,inter,intra}.json -c 2048 -d 4 --threads 16 --prefill-runs 2 --json $OUT/json/cpu-ours.json > $OUT/cpu.log 2>&1; echo "cpu rc $?"
timeout 45 python3 train/bench_torch_cpu.py --lens 2048 --threads 16 >> $OUT/cpu.log 2>&1; echo "torch cpu rc $?"
tar -C $OUT -cf $OUT/json.tar json && rm -rf $OUT/json
cat $OUT/env.txt; grep -E '^\| (paper|playground)' $OUT/ours.log | cut -d'|' -f2,4-9; cat $OUT/twin.jsonl | grep -v check; grep -v '^$' $OUT/cpu.log | tail -14
