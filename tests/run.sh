#!/usr/bin/env bash
# The whole test suite, browser tests included: installs what the voter web
# app's tests need (Chromium from Debian, the app's npm packages from the
# committed lockfile) when missing, then runs every Rust test, among them
# server/tests/web.rs, which drives Chromium through the app.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
fi
(cd server/web/app && { [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --ignore-scripts; })
cargo test --workspace
