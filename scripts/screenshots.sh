#!/usr/bin/env bash
# Regenerates docs/screenshots/: every view (and the first visit, with the intro open) at
# 1440x900 and 1280x720, every guided-tour step at 1280x720 (tour-<N>-1280x720.png), and
# presenter mode of both at 1280x720 (*-1280x720-presenter.png), on the CPU engine with
# trained zoo models (scripts/screenshots.mjs), against a fresh release build of the page.
# PNGs are quantized with pngquant (scripts/setup.sh installs it), keeping the folder small. docs/screenshots/before/ holds
# the views as they were before the #15 page work, for comparison; it is not regenerated.
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

step "screenshots ($url)"
HYBRID_URL="$url" node scripts/screenshots.mjs "$shots"
HYBRID_URL="$url" node scripts/screenshots.mjs "$shots/presenter" -presenter presenter
mkdir -p docs/screenshots
find docs/screenshots -maxdepth 1 -name '*.png' -delete
install -m 0644 "$shots"/*.png docs/screenshots/
install -m 0644 "$shots"/presenter/*-1280x720-presenter.png docs/screenshots/
if command -v pngquant >/dev/null; then
    pngquant --force --ext .png --quality 60-90 --speed 1 docs/screenshots/*.png
else
    info "pngquant not installed (scripts/setup.sh installs it): PNGs left unquantized (larger)"
fi
info "wrote $(ls docs/screenshots/*.png | wc -l) screenshots ($(du -sh docs/screenshots | cut -f1) with before/)"
