#!/usr/bin/env bash
# Installs dependencies, configures (once) and builds libapr in ./build.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
if [[ ! -f build/build.ninja ]]; then
  log=$(mktemp)
  meson setup build --buildtype=release >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
  rm -f "$log"
fi
# Quiet on success; on failure show the compiler's errors.
if ! ninja -C build >build/ninja.log 2>&1; then
  grep -E -A12 "FAILED|error" build/ninja.log | head -80 >&2
  echo "build failed; full log: build/ninja.log" >&2
  exit 1
fi
