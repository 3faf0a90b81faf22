#!/usr/bin/env bash
# One atlas call on the device machine (issue #16), from the repo root:
#   train/atlas_device.sh SECONDS_LIMIT [train_zoo.py args ...]
# One train_zoo.py --atlas driver per GPU (runs dealt out round-robin), each stopped after
# SECONDS_LIMIT; runs whose metrics.json is under $ATLAS_DONE (from an earlier call) are
# skipped. Then train/atlas_pack.py packs the metrics and the checkpoints named in
# $ATLAS_SHIP (config ids) into $OUT.
set -u
limit=$1; shift
here=$(cd "$(dirname "$0")" && pwd)
out=/tmp/atlas
mkdir -p $out
[ -n "${ATLAS_DONE:-}" ] && [ -d "$ATLAS_DONE" ] && cp -r "$ATLAS_DONE"/. $out/
ngpu=$(python3 -c 'import torch; print(torch.cuda.device_count())')
pids=()
for g in $(seq 0 $((ngpu - 1))); do
  CUDA_VISIBLE_DEVICES=$g PYTHONUNBUFFERED=1 timeout -s INT "$limit" \
    python3 "$here/train_zoo.py" --atlas --out $out --part "$g/$ngpu" --gpus 1 "$@" > "$OUT/driver$g.log" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
grep -h "FAILED\|wall time\|done$" "$OUT"/driver*.log | cut -c1-200
python3 "$here/atlas_pack.py" $out "$OUT" --ship ${ATLAS_SHIP:-}
ls -la "$OUT"
