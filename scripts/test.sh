#!/usr/bin/env bash
# Builds libapr and runs the whole test suite. Ends with one line
# "N passed, N failed, N skipped" counted from the test programs' TAP output.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
status=0
meson test -C build --print-errorlogs --num-processes "$(nproc)" "$@" || status=$?
python3 scripts/count_tests.py build/meson-logs/testlog.json
exit $status
