#!/usr/bin/env bash
# Assembles the "random-weights test model" the page offers for development and the
# browser tests: a fixture checkpoint from tests/fixtures/ (random weights, vocab 256,
# made by train/make_fixtures.py) plus the byte-level tokenizer tests/data/byte-level-tokenizer.json.
# Output: assets/models/test-random/{config.json,model.safetensors,tokenizer.json}
# and, for side-by-side tests, assets/models/test-random-mamba/ from the mamba2 fixture
# (generated, git-ignored). They are NOT trained models: their text is random bytes.
# Usage: scripts/make-test-model.sh [FIXTURE]   (FIXTURE for test-random; default: inter_1to3)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

tokenizer="tests/data/byte-level-tokenizer.json"

build() {
    local fixture="$1" dst="$2"
    local src="tests/fixtures/$fixture"

    for f in "$src/config.json" "$src/model.safetensors" "$tokenizer"; do
        [ -f "$f" ] || die "missing $f (fixtures come from: python3 train/make_fixtures.py)"
    done
    mkdir -p "$dst"
    changed=0
    for pair in "$src/config.json:config.json" "$src/model.safetensors:model.safetensors" "$tokenizer:tokenizer.json"; do
        from="${pair%%:*}"
        to="$dst/${pair##*:}"
        if ! cmp -s "$from" "$to"; then
            install -m 0644 "$from" "$to"
            changed=1
        fi
    done
    if [ $changed -eq 1 ]; then
        info "test model: $dst <- $src + $tokenizer"
    else
        info "test model: $dst is up to date"
    fi
}

build "${1:-${HYBRID_TEST_FIXTURE:-inter_1to3}}" assets/models/test-random
build mamba2 assets/models/test-random-mamba
