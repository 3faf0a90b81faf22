#!/usr/bin/env bash
# Regenerates docs/screenshots/<view>.png (compare, attention, state, scaling,
# architecture) by running the playground browser test (CPU engine, no WebGPU) against
# a fresh release build of the page, with the two random-weight test models.
# Usage: scripts/screenshots.sh [--no-build]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

if [ "${1:-}" != "--no-build" ]; then
    scripts/build-web.sh
fi
[ -f dist/index.html ] || die "no dist/: run scripts/build-web.sh"

url_file="$(mktemp)"
rm -f "$url_file"
node scripts/static-server.mjs dist --port 0 --url-file "$url_file" &
server_pid=$!
shots="$(mktemp -d)"
trap 'kill "$server_pid" 2>/dev/null || true; rm -rf "$shots"' EXIT
for _ in $(seq 1 100); do
    [ -s "$url_file" ] && break
    sleep 0.1
done
[ -s "$url_file" ] || die "static server did not start"
url="$(cat "$url_file")"
rm -f "$url_file"

step "playground test with screenshots ($url)"
HYBRID_URL="$url" HYBRID_MODES=no-webgpu HYBRID_SCREENSHOT_DIR="$shots" HYBRID_SHOT_VIEWPORT=1 \
    node tests/browser/playground.mjs

mkdir -p docs/screenshots
for view in compare attention state scaling architecture; do
    install -m 0644 "$shots/$view-no-webgpu.png" "docs/screenshots/$view.png"
done
info "wrote $(ls docs/screenshots | tr '\n' ' ')into docs/screenshots/"
