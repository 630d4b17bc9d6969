#!/usr/bin/env bash
# Builds the web app from source into server/web/dist: urne-wasm (the
# voter's steps) and urne-verify-wasm (the verifier) for wasm32, bindings
# by wasm-bindgen-cli at the crate's exact version, then the TypeScript
# pages by Vite.
#
# The committed bundle is built with Debian's rustc-web (-Zbuild-std over
# rust-web-src, linked by wasm-ld-14), which is used whenever it is installed;
# rustup's wasm32 target is the fallback (URNE_WEB_RUSTC=rustup or =debian
# chooses). Another compiler gives other bytes. Paths are remapped (the
# checkout, the cargo home, Debian's sysroot), so one toolchain gives the same
# bundle from any folder and any home.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd -P)"
cd "$root"
# It would take the place of RUSTFLAGS, remapping included.
unset CARGO_ENCODED_RUSTFLAGS
bindgen_version="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/,""); print; exit}' Cargo.lock)"
if ! command -v wasm-bindgen >/dev/null || [ "$(wasm-bindgen --version | awk '{print $2}')" != "$bindgen_version" ]; then
  cargo install wasm-bindgen-cli --version "$bindgen_version"
fi
toolchain="${URNE_WEB_RUSTC:-}"
if [ -z "$toolchain" ]; then
  if [ -x /usr/bin/rustc ] && [ -d /usr/lib/rustlib/src/rust/library ] && command -v wasm-ld-14 >/dev/null; then
    toolchain=debian
  elif rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown; then
    toolchain=rustup
  else
    echo "build.sh: no wasm32 toolchain: apt-get install rustc-web cargo-web rust-web-src lld" \
      "(the bundle's toolchain), or rustup target add wasm32-unknown-unknown" >&2
    exit 1
  fi
fi
remap="--remap-path-prefix=$root=/urne --remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo"
case "$toolchain" in
  debian)
    echo "urne-wasm built by $(/usr/bin/rustc -V) (Debian rustc-web)"
    sysroot="$(/usr/bin/rustc --print sysroot)"
    RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-14 \
      RUSTFLAGS="--cfg getrandom_backend=\"wasm_js\" $remap --remap-path-prefix=$sysroot=/rustc" \
      CARGO_PROFILE_RELEASE_DEBUG=0 /usr/bin/cargo build -p urne-wasm -p urne-verify-wasm --release --locked --target wasm32-unknown-unknown \
      --target-dir target/wasm -Zbuild-std=std,panic_abort
    ;;
  rustup)
    echo "urne-wasm built by $(rustc -V) (rustup; the committed bundle is Debian rustc-web's)"
    CARGO_PROFILE_RELEASE_DEBUG=0 RUSTFLAGS="--cfg getrandom_backend=\"wasm_js\" $remap" \
      cargo build -p urne-wasm -p urne-verify-wasm --release --locked --target wasm32-unknown-unknown --target-dir target/wasm
    ;;
  *)
    echo "build.sh: URNE_WEB_RUSTC is debian or rustup, not $toolchain" >&2
    exit 1
    ;;
esac
wasm-bindgen --target web --out-dir server/web/app/pkg \
  target/wasm/wasm32-unknown-unknown/release/urne_wasm.wasm
wasm-bindgen --target web --out-dir server/web/app/pkg-verify \
  target/wasm/wasm32-unknown-unknown/release/urne_verify_wasm.wasm
cd server/web/app
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build
cd "$root"
echo "bundle built in server/web/dist"
