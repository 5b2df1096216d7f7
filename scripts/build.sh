#!/usr/bin/env bash
# Installs dependencies, configures (once) and builds libapr in ./build.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
# $APR_FIXTURES_DIR, when set, is where the tests find the shared fixtures
# (default: ../shared/fixtures beside the source tree); it goes into the
# build's fixtures_dir option, which the tests read, also in a build
# configured before with another folder.
fixtures_args=()
[[ -n ${APR_FIXTURES_DIR:-} ]] && fixtures_args=(-Dfixtures_dir="$APR_FIXTURES_DIR")
log=$(mktemp)
if [[ ! -f build/build.ninja ]]; then
  meson setup build --buildtype=release "${fixtures_args[@]}" >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; exit 1; }
elif ((${#fixtures_args[@]})) && ! meson introspect build --buildoptions 2>/dev/null |
    python3 -c 'import json,sys; sys.exit(0 if any(o["name"] == "fixtures_dir" and o["value"] == sys.argv[1] for o in json.load(sys.stdin)) else 1)' "$APR_FIXTURES_DIR"; then
  meson configure build "${fixtures_args[@]}" >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; exit 1; }
fi
rm -f "$log"
# Quiet on success; on failure show the compiler's errors.
if ! ninja -C build >build/ninja.log 2>&1; then
  grep -E -A12 "FAILED|error" build/ninja.log | head -80 >&2
  echo "build failed; full log: build/ninja.log" >&2
  exit 1
fi
