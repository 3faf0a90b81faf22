#!/usr/bin/env bash
# lavapipe (this 2-core box, shared): f16 arithmetic vs f32 arithmetic for f16 weights,
# interleaved rounds, playground-inter @ 512 tokens, with per-kernel profile.
cd "$(dirname "$0")/../.."
for r in 1 2 3 4; do   # run as two invocations: rounds 1-2, then 3-4
  for f in subgroups f16,subgroups; do
    echo "== round $r HYBRID_GPU_FEATURES=$f"
    HYBRID_GPU_FEATURES=$f nice -n 19 ./target/release/hybrid bench assets/configs/playground-inter.json \
      -c 512 -d 2 -b gpu --weights f16 --prefill-runs 2 --chunk 512 --profile
  done
done
