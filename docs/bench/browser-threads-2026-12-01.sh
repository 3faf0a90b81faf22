#!/usr/bin/env bash
# The CPU engine in Chromium on threads (cross-origin isolated page: the threaded worker on
# navigator.hardwareConcurrency threads, ONNX Runtime Web's wasm backend on as many) and on
# one thread (the same dist/ served without COOP/COEP; ORT on one thread), one after the
# other on this machine. Needs: scripts/build-web.sh, npm install --no-save
# onnxruntime-web@1.30.0. Output: the two tables and JSON beside this script.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=docs/bench/browser-threads-2026-12-01
mkdir -p "$out"
node scripts/static-server.mjs dist --port 0 --url-file /tmp/hp-iso.url >/dev/null &
iso_pid=$!
node scripts/static-server.mjs dist --port 0 --url-file /tmp/hp-plain.url --no-isolation >/dev/null &
plain_pid=$!
trap 'kill $iso_pid $plain_pid 2>/dev/null || true' EXIT
sleep 1
cores=$(nproc)
HYBRID_URL=$(cat /tmp/hp-iso.url) node scripts/bench-browser.mjs --engines cpu,ort-wasm \
    --ort-threads "$cores" --lens 128,2048 --json "$out/threads.json" | tee "$out/threads.log"
HYBRID_URL=$(cat /tmp/hp-plain.url) node scripts/bench-browser.mjs --engines cpu,ort-wasm \
    --ort-threads 1 --lens 128,2048 --json "$out/one-thread.json" | tee "$out/one-thread.log"
