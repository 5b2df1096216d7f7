#!/usr/bin/env bash
# Builds libapr and runs the whole test suite (or the tests named as
# arguments). Ends with one line "N passed, N failed, N skipped" counted from
# the test programs' TAP output by scripts/count_tests.py, which also checks
# every program's TAP plan and lists what was skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
log=build/meson-logs/testlog.json
# A stale log from an earlier run must never be counted as this run's.
rm -f "$log"
if (($# > 0)); then
  # Every name must select at least one test: a typo is an error, not a green run.
  known=$(meson test -C build --list 2>/dev/null)
  for name in "$@"; do
    [[ "$name" == -* ]] && continue
    if ! grep -qxF -- "$name" <<<"$known" && ! grep -q -- "$name" <<<"$known"; then
      echo "test.sh: no test matches '$name' (see: meson test -C build --list)" >&2
      exit 2
    fi
  done
fi
status=0
meson test -C build --print-errorlogs --num-processes "$(nproc)" "$@" || status=$?
count_status=0
python3 scripts/count_tests.py "$log" || count_status=$?
if ((status == 0 && count_status != 0)); then status=$count_status; fi
exit $status
