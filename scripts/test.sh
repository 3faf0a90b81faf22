#!/usr/bin/env bash
# Runs every test: formatting, clippy, the Rust tests, the release web build, and the
# browser tests in headless Chromium (with WebGPU and without).
# Usage: scripts/test.sh [STEP...]   steps: setup fmt clippy test web browser (default: all)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

ALL_STEPS=(setup fmt clippy test web browser)
if [ $# -gt 0 ]; then STEPS=("$@"); else STEPS=("${ALL_STEPS[@]}"); fi
for s in "${STEPS[@]}"; do
    [[ " ${ALL_STEPS[*]} " == *" $s "* ]] || die "unknown step '$s' (steps: ${ALL_STEPS[*]})"
done

server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

summary=()
run_step() {
    local name="$1"
    shift
    local t0=$SECONDS
    step "[$name] $*"
    if "$@"; then
        summary+=("ok    $name ($((SECONDS - t0)) s)")
    else
        local rc=$?
        summary+=("FAIL  $name ($((SECONDS - t0)) s)")
        echo
        printf '%s\n' "${summary[@]}"
        die "step '$name' failed (exit $rc): $*"
    fi
}

browser_tests() {
    local url_file
    url_file="$(mktemp)"
    rm -f "$url_file"
    node scripts/static-server.mjs dist --port 0 --url-file "$url_file" &
    server_pid=$!
    for _ in $(seq 1 100); do
        [ -s "$url_file" ] && break
        kill -0 "$server_pid" 2>/dev/null || { echo "static server exited"; return 1; }
        sleep 0.1
    done
    [ -s "$url_file" ] || { echo "static server did not start"; return 1; }
    local url
    url="$(cat "$url_file")"
    rm -f "$url_file"
    local failed=0
    for t in tests/browser/*.mjs; do
        info "node $t  (HYBRID_URL=$url)"
        HYBRID_URL="$url" node "$t" || { echo "FAILED: $t"; failed=1; }
    done
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
    return $failed
}

for s in "${STEPS[@]}"; do
    case "$s" in
        setup) run_step setup scripts/setup.sh ;;
        fmt) run_step fmt cargo fmt --all -- --check ;;
        clippy)
            run_step clippy cargo clippy --workspace --all-targets -- -D warnings
            # the CPU engine's threaded worker: code no other build compiles
            run_step clippy-threaded scripts/build-worker-mt.sh --clippy
            ;;
        # lavapipe has shader-f16: gpu/tests/matmul_f16.rs must run the f16 kernel there,
        # not check a fallback (HYBRID_REQUIRE_F16=0 on an adapter without it)
        test) run_step test env HYBRID_REQUIRE_F16="${HYBRID_REQUIRE_F16:-1}" cargo test --workspace ;;
        web) run_step web scripts/build-web.sh ;;
        browser) run_step browser browser_tests ;;
    esac
done

echo
printf '%s\n' "${summary[@]}"
step "all tests passed"
