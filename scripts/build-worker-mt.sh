#!/usr/bin/env bash
# Builds the threaded CPU engine worker into dist/ (after trunk has built the page):
# dist/hybrid-worker-mt.js, hybrid-worker-mt_bg.wasm, hybrid-worker-mt_loader.js and
# pool-thread.js. The page loads it instead of the single-threaded hybrid-worker where it
# is cross-origin isolated (app/src/engine/worker.rs; the threads: app/src/worker/threads.rs).
#
# Threads in wasm need atomics and a shared memory, so the standard library is rebuilt
# with them (-Z build-std, on the stable toolchain with RUSTC_BOOTSTRAP=1: the same
# compiler as the rest of the build; needs the rust-src component, scripts/setup.sh).
# Its own target dir: these flags would otherwise rebuild the single-threaded wasm.
#
# `--clippy`: instead of building, run clippy (warnings are errors) on the same build, so
# that its `target_feature = "atomics"` code is linted too (scripts/test.sh, step clippy).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

out=target/wasm-mt
# The memory is shared and imported (wasm-bindgen then makes it, and each pool thread
# instantiates the module on it), at most 4 GiB (the most a wasm32 memory can grow to; a
# shared memory must declare its maximum); the TLS symbols let wasm-bindgen give every
# thread its own thread-locals.
link="--shared-memory --import-memory --max-memory=4294967296 --export=__wasm_init_tls"
link="$link --export=__tls_size --export=__tls_align --export=__tls_base"
flags="-C target-feature=+atomics,+bulk-memory,+mutable-globals,+simd128"
if [ "${1:-}" = --clippy ]; then
    step "clippy, threaded wasm build (cargo -Z build-std, atomics; $out)"
    RUSTC_BOOTSTRAP=1 RUSTFLAGS="$flags" \
        cargo clippy --target wasm32-unknown-unknown -Z build-std=std,panic_abort \
        -p hybrid-core -p hybrid-app --target-dir "$out" -- -D warnings
    exit 0
fi
[ -f dist/index.html ] || die "dist/ has no page: run trunk build first (scripts/build-web.sh)"
step "threaded CPU worker (cargo -Z build-std, atomics; $out)"
for a in $link; do flags="$flags -C link-arg=$a"; done
RUSTC_BOOTSTRAP=1 RUSTFLAGS="$flags" \
    cargo build --release --target wasm32-unknown-unknown -Z build-std=std,panic_abort \
    -p hybrid-app --bin hybrid-worker --target-dir "$out"

step "wasm-bindgen + wasm-opt (dist/hybrid-worker-mt*)"
wasm-bindgen --target no-modules --no-typescript --out-dir "$out/bindgen" \
    --out-name hybrid-worker-mt "$out/wasm32-unknown-unknown/release/hybrid-worker.wasm"
wasm-opt -Oz --enable-threads --enable-bulk-memory --enable-simd --enable-mutable-globals \
    --enable-nontrapping-float-to-int --enable-sign-ext --enable-reference-types \
    --enable-multivalue "$out/bindgen/hybrid-worker-mt_bg.wasm" -o dist/hybrid-worker-mt_bg.wasm
cp "$out/bindgen/hybrid-worker-mt.js" dist/hybrid-worker-mt.js
cp app/worker-mt-loader.js dist/hybrid-worker-mt_loader.js
cp app/pool-thread.js dist/pool-thread.js
info "$(du -h dist/hybrid-worker-mt_bg.wasm | cut -f1) dist/hybrid-worker-mt_bg.wasm"
