#!/usr/bin/env bash
# Builds the page into dist/ (release): test model, crates fetched, then trunk offline.
# Expects scripts/setup.sh to have run.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

step "test model (assets/models/test-random)"
scripts/make-test-model.sh

step "cargo fetch"
cargo fetch

step "trunk build --release (dist/)"
trunk build --release --offline

scripts/build-worker-mt.sh
info "built $(du -sh dist | cut -f1) into dist/: $(ls dist | tr '\n' ' ')"
