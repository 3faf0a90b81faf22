#!/usr/bin/env bash
# Sets up the tools, builds the playground and serves it at a local URL.
# Env: HOST (default 127.0.0.1), PORT (default 8080). Ctrl+C stops the server.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

scripts/setup.sh
scripts/build-web.sh

step "serving dist/"
host="${HOST:-127.0.0.1}"
port="${PORT:-8080}"
info "open http://$host:$port/ in a browser (Ctrl+C stops)"
exec node scripts/static-server.mjs dist --host "$host" --port "$port"
