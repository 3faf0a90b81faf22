#!/usr/bin/env bash
# Session 8, helper "flash": long-context decode attention (issue #13 items 2/3) on the
# H200. Two release `hybrid` binaries, stripped and packed together (bins.tar.xz in
# .devjobs/flash): h-before = 7113f76 (attention_split.wgsl), h-after = branch s8-flash
# (attention_split_vec4.wgsl). Decode of the 1B configs with f16 weights @2K and @32K,
# with --profile (GPU us per kernel of one decode step), the binaries interleaved.
set -u
cd "$(dirname "$0")/../.."
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
D=.devjobs/flash
mkdir -p /tmp/fl && xz -dc $D/bins.tar.xz | tar -C /tmp/fl -xf - && chmod +x /tmp/fl/h-*
{ nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1; nproc; lscpu | grep 'Model name'; } > $OUT/env.txt 2>&1
P=assets/configs
for c in paper-transformer paper-intra paper-swa; do
  for b in after before; do
    t=40; [ $c = paper-transformer ] && t=60
    timeout $t /tmp/fl/h-$b bench $P/$c.json -c 2048,32768 -d 16 -b gpu --chunk 4096 --prefill-runs 1 --weights f16 --profile --json $OUT/$c-$b.json > $OUT/$c-$b.log 2>&1; echo "$c $b rc $?"
  done
done
timeout 20 /tmp/fl/h-after bench $P/paper-inter.json -c 2048,32768 -d 16 -b gpu --chunk 4096 --prefill-runs 1 --weights f16 --json $OUT/paper-inter-after.json > $OUT/paper-inter-after.log 2>&1; echo "paper-inter after rc $?"
cat $OUT/env.txt
for f in $OUT/*.log; do echo "== $(basename $f)"; grep -E '^\| paper|^\| decode' $f | cut -d'|' -f2,4,6,8,9 | head -24; done
