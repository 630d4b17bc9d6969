#!/usr/bin/env bash
# Builds the voter web app from source into server/web/dist: urne-wasm for
# wasm32 (Debian's rustc-web where rustup has no wasm32 target), bindings by
# wasm-bindgen-cli at the crate's exact version, then the TypeScript app by
# Vite. Paths are remapped so the bundle is the same bytes on any machine.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
bindgen_version="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/,""); print; exit}' Cargo.lock)"
if ! command -v wasm-bindgen >/dev/null || [ "$(wasm-bindgen --version | awk '{print $2}')" != "$bindgen_version" ]; then
  cargo install wasm-bindgen-cli --version "$bindgen_version"
fi
remap="--remap-path-prefix=$root=/urne --remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo"
if rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown; then
  CARGO_PROFILE_RELEASE_DEBUG=0 RUSTFLAGS="--cfg getrandom_backend=\"wasm_js\" $remap" \
    cargo build -p urne-wasm --release --locked --target wasm32-unknown-unknown --target-dir target/wasm
else
  sysroot="$(/usr/bin/rustc --print sysroot)"
  RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-14 \
    RUSTFLAGS="--cfg getrandom_backend=\"wasm_js\" $remap --remap-path-prefix=$sysroot=/rustc" \
    CARGO_PROFILE_RELEASE_DEBUG=0 /usr/bin/cargo build -p urne-wasm --release --locked --target wasm32-unknown-unknown \
    --target-dir target/wasm -Zbuild-std=std,panic_abort
fi
wasm-bindgen --target web --out-dir server/web/app/pkg \
  target/wasm/wasm32-unknown-unknown/release/urne_wasm.wasm
cd server/web/app
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build
cd "$root"
echo "bundle built in server/web/dist"
