#!/usr/bin/env bash
# Installs everything the build and the tests need, skipping what is already there.
# Safe to run again. Needs: Rust (rustup), Node.js 20 + npm, Python 3, and root (or sudo)
# for apt on Debian 12.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

# --- Rust target for the browser build ------------------------------------------------
step "rust target wasm32-unknown-unknown"
if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    info "present"
else
    info "installing: rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
fi

# --- Rust's standard library source, for the threaded worker build ---------------------
# (scripts/build-web.sh rebuilds std with atomics: -Z build-std, see docs/ARCHITECTURE.md)
step "rust-src (the threaded CPU worker rebuilds std)"
if rustup component list --installed | grep -q '^rust-src'; then
    info "present"
else
    info "installing: rustup component add rust-src"
    rustup component add rust-src
fi

# --- npm tools: binaryen (wasm-opt) and playwright-core ---------------------------------
step "npm packages (binaryen $WASM_OPT_VERSION, playwright-core) into ./node_modules"
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
stamp="node_modules/.hybrid-npm-ci"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_sum" ] && [ -x node_modules/.bin/wasm-opt ]; then
    info "present"
else
    info "running: npm ci --no-audit --no-fund"
    npm ci --no-audit --no-fund
    echo "$lock_sum" > "$stamp"
fi
wasm-opt --version | grep -q "version $WASM_OPT_VERSION" \
    || die "wasm-opt on PATH is not version $WASM_OPT_VERSION: $(command -v wasm-opt) says '$(wasm-opt --version)'"

# --- system packages: Mesa lavapipe (Vulkan on the CPU), headless Chromium, pngquant -----
# (pngquant keeps scripts/screenshots.sh's PNGs small)
step "apt packages (lavapipe Vulkan, chromium, pngquant)"
apt_pkgs=(mesa-vulkan-drivers libvulkan1 vulkan-tools chromium chromium-driver pngquant)
missing=()
for p in "${apt_pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    info "present"
else
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "need root (or sudo) to install: ${missing[*]}"
        SUDO="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    info "installing: apt-get install -y ${missing[*]}"
    if ! $SUDO apt-get install -y "${missing[@]}"; then
        info "install failed; running apt-get update and retrying"
        $SUDO apt-get update
        $SUDO apt-get install -y "${missing[@]}"
    fi
fi

# --- trunk ----------------------------------------------------------------------------
step "trunk $TRUNK_VERSION"
if [ "$(trunk --version 2>/dev/null || true)" = "trunk $TRUNK_VERSION" ]; then
    info "present"
else
    info "installing: cargo install trunk --version $TRUNK_VERSION --locked (about 12 minutes on 2 cores)"
    cargo install trunk --version "$TRUNK_VERSION" --locked
fi

# --- wasm-bindgen-cli (must equal the wasm-bindgen crate version in Cargo.lock) ---------
step "wasm-bindgen-cli $WASM_BINDGEN_VERSION"
if [ "$(wasm-bindgen --version 2>/dev/null || true)" = "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
    info "present"
else
    info "installing: cargo install wasm-bindgen-cli --version $WASM_BINDGEN_VERSION --locked (about 4 minutes)"
    if ! cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --locked; then
        # The crate's own lock file names a dependency version that is no longer in the
        # registry (webpki-roots 1.0.11); resolve afresh instead.
        info "--locked failed; retrying without --locked"
        cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
    fi
fi

step "setup done"
