#!/usr/bin/env bash
# Session 9: the decode attention kernel chosen by head size (attention_split_vec4 only for
# heads of 64+ floats; `vec4_pays` in gpu/src/ops/attention_split.rs), on the H200, after
# h200-s9-compare showed playground decode @128 10-20% slower than at session 7's end
# (attention_split_vec4 at heads of 32: 16.8 us a dispatch against attention_split's 9.3).
# Decode before (7113f76) and after (this commit), interleaved, 3 rounds: the playground
# configs and the windowed one @128 (f32); then the 1B Transformer and intra (f16 weights)
# @2K / @32K, after only (they keep the vec4 kernel). Binaries: .devjobs/s9/bins2.tar.xz.
set -u
cd "$(dirname "$0")/../.."
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
xz -dc .devjobs/s9/bins2.tar.xz | tar -C /tmp -xf - && mv /tmp/hybrid /tmp/hybrid-after
P=assets/configs
for round in 1 2 3; do
  for b in before after; do
    timeout 40 /tmp/hybrid-$b bench $P/playground-{transformer,mamba2,inter,intra}.json docs/bench/playground-swa-w64.json -c 128 -d 64 -b gpu --prefill-runs 1 >> $OUT/pg-$b.log 2>&1; echo "pg $b $round rc $?"
  done
done
timeout 90 /tmp/hybrid-after bench $P/paper-transformer.json $P/paper-intra.json -c 2048,32768 -d 16 -b gpu --chunk 4096 --prefill-runs 1 --weights f16 > $OUT/paper-after.log 2>&1; echo "paper rc $?"
for b in before after; do echo "== $b"; grep -E '^\| playground' $OUT/pg-$b.log | cut -d'|' -f2,4,6,9 | sort; done
grep -E '^\| paper' $OUT/paper-after.log | cut -d'|' -f2,4,5,6,9
