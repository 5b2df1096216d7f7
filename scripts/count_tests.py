#!/usr/bin/env python3
"""Counts test cases from meson's testlog.json.

Every test program speaks TAP (one line per test case), so a case is a line
"ok N" or "not ok N". A program that skipped itself ("1..0 # SKIP") counts as
one skipped; a program that failed without printing "not ok" (a crash, a
timeout) counts as one failure, so a dead program can never look green.
"""
import json
import re
import sys

passed = failed = skipped = 0
for line in open(sys.argv[1], encoding="utf-8"):
    record = json.loads(line)
    out = record.get("stdout") or ""
    ok = len(re.findall(r"^ok \d+", out, re.M))
    not_ok = len(re.findall(r"^not ok \d+", out, re.M))
    skip_plan = re.search(r"^1\.\.0 # SKIP", out, re.M)
    passed += ok
    failed += not_ok
    if skip_plan:
        skipped += 1
    if record.get("result") not in ("OK", "SKIP", "EXPECTEDFAIL") and not_ok == 0:
        failed += 1
        print(f"count_tests: {record['name']} ended {record.get('result')} (exit {record.get('returncode')})",
              file=sys.stderr)
print(f"{passed} passed, {failed} failed, {skipped} skipped")
