# Shared environment for the project's scripts. Source it: `. scripts/env.sh`.
# Sets ROOT, puts cargo's and npm's tool folders on PATH, and gives Vulkan/Mesa a valid
# XDG_RUNTIME_DIR (a 0700 folder), which they otherwise complain about.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
export PATH="$ROOT/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "$XDG_RUNTIME_DIR" ] || [ ! -O "$XDG_RUNTIME_DIR" ]; then
    export XDG_RUNTIME_DIR="/tmp/xdg-runtime-$(id -u)"
fi
mkdir -p "$XDG_RUNTIME_DIR"
chmod 0700 "$XDG_RUNTIME_DIR"

# Pinned tool versions (see docs in README.md; must match Cargo.lock and Trunk.toml).
TRUNK_VERSION="0.21.14"
WASM_BINDGEN_VERSION="0.2.130"
WASM_OPT_VERSION="132"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
export CHROMIUM

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
info() { printf '    %s\n' "$*"; }
die() { printf '\n\033[1;31mFAILED: %s\033[0m\n' "$*" >&2; exit 1; }
