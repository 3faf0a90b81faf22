#!/bin/sh
# Decode ms/token before/after decode fusions round 2 (issue #13 item 3: the ring-cache KV
# append and the intra pair), here (2-core dev box, lavapipe): the two `hybrid` binaries
# interleaved, 3 rounds; then playground-intra on the plain kernel (HYBRID_GPU_FEATURES=none,
# two dispatches on both sides: the accessors' cost).
# BEFORE / AFTER: `cargo build --profile test -p hybrid-cli` at 7113f76 and at this branch.
set -e
: "${BEFORE:?path of the before binary}" "${AFTER:?path of the after binary}"
OUT=${OUT:-/tmp/intra-bench}
mkdir -p "$OUT"
for round in 1 2 3; do
  for which in before after; do
    bin=$BEFORE; [ "$which" = after ] && bin=$AFTER
    nice -n 19 "$bin" bench docs/bench/playground-swa-w64.json assets/configs/playground-intra.json \
      -c 128 -d 32 -b gpu --prefill-runs 1 --json "$OUT/$which-$round.json" | grep '^| playground'
    HYBRID_GPU_FEATURES=none nice -n 19 "$bin" bench assets/configs/playground-intra.json \
      -c 128 -d 32 -b gpu --prefill-runs 1 --json "$OUT/$which-none-$round.json" | grep '^| playground'
  done
done
