#!/usr/bin/env python3
"""Counts test cases from meson's testlog.json and checks every TAP stream.

Every test program speaks TAP (one line per test case), so a case is a line
"ok N" or "not ok N"; "ok N ... # SKIP reason" is a skipped case. A program
is only believed when its stream is whole:

- it printed a plan ("1..N") and exactly N results, numbered 1..N; a missing
  plan (a program that exited early, even with status 0) or a count that
  differs from the plan is a failure;
- "1..0" without "# SKIP" (a program that found no cases) is a failure;
- "1..0 # SKIP reason" (a program that skipped itself) counts as one skip;
- a program that meson saw fail (a crash, a timeout, a non-zero exit)
  without printing "not ok" counts as one failure, so a dead program can
  never look green.

Skips are listed by name with their reasons before the totals, so a run that
skipped something says so. Every failed case is listed with the TAP comment
lines that follow it (the failed assertions), since a CI log shows only the
console, not the programs' stdout. The last line is "N passed, N failed, N skipped".
Exit status: 0 when nothing failed, 1 otherwise, 2 when the log is missing or
names no test (nothing ran).
"""
import json
import re
import sys

PLAN = re.compile(r"^1\.\.(\d+)(?:\s*#\s*(.*))?$")
RESULT = re.compile(r"^(not )?ok\b\s*(\d+)?(.*)$")
SKIP_DIRECTIVE = re.compile(r"#\s*SKIP\b\s*(.*)$", re.I)


def check_program(name, result, stdout):
    """Returns (passed, failed, skipped, problems, skips) for one program."""
    passed = failed = skipped = 0
    problems, skips = [], []
    plan = None
    plan_directive = ""
    numbers = []
    for line in stdout.splitlines():
        m = PLAN.match(line)
        if m:
            if plan is not None:
                problems.append("printed a second TAP plan")
            plan = int(m.group(1))
            plan_directive = m.group(2) or ""
            continue
        m = RESULT.match(line)
        if not m:
            continue
        numbers.append(int(m.group(2)) if m.group(2) else len(numbers) + 1)
        skip = SKIP_DIRECTIVE.search(m.group(3))
        if m.group(1):
            failed += 1
        elif skip:
            skipped += 1
            skips.append(f"{name}: {m.group(3).split('#')[0].strip(' -')}: {skip.group(1).strip()}")
        else:
            passed += 1
    if plan is None:
        problems.append("printed no TAP plan (exited before its last case?)")
    elif plan == 0:
        if re.match(r"SKIP\b", plan_directive, re.I):
            skipped += 1
            skips.append(f"{name}: {plan_directive[4:].strip() or 'skipped'}")
        else:
            problems.append("found no test cases (plan 1..0 without SKIP)")
    elif len(numbers) != plan:
        problems.append(f"planned {plan} cases but reported {len(numbers)}")
    elif numbers != list(range(1, plan + 1)):
        problems.append("reported cases out of order or twice")
    if result not in ("OK", "SKIP", "EXPECTEDFAIL") and failed == 0:
        problems.append(f"ended {result}")
    if problems:
        failed += 1
    return passed, failed, skipped, problems, skips


def failure_details(stdout, limit=40):
    """The "not ok" lines of a TAP stream and the "# " comments under each."""
    out, inside = [], False
    for line in stdout.splitlines():
        if RESULT.match(line):
            inside = line.startswith("not ok")
            if inside:
                out.append(line)
        elif inside and line.startswith("#"):
            out.append(line)
    return out[:limit] + ([f"# ... {len(out) - limit} more lines"] if len(out) > limit else [])


def main(argv):
    if len(argv) != 2:
        print("usage: count_tests.py build/meson-logs/testlog.json", file=sys.stderr)
        return 2
    try:
        lines = open(argv[1], encoding="utf-8").read().splitlines()
    except FileNotFoundError:
        print(f"count_tests: {argv[1]} is missing: no test ran", file=sys.stderr)
        print("0 passed, 1 failed, 0 skipped")
        return 2
    records = [json.loads(line) for line in lines if line.strip()]
    if not records:
        print(f"count_tests: {argv[1]} names no test: nothing ran", file=sys.stderr)
        print("0 passed, 1 failed, 0 skipped")
        return 2
    passed = failed = skipped = 0
    all_skips = []
    for record in records:
        p, f, s, problems, skips = check_program(record["name"], record.get("result"), record.get("stdout") or "")
        passed, failed, skipped = passed + p, failed + f, skipped + s
        all_skips += skips
        for problem in problems:
            print(f"count_tests: FAIL {record['name']}: {problem} (exit {record.get('returncode')})", file=sys.stderr)
        if f:
            for line in failure_details(record.get("stdout") or ""):
                print(f"count_tests: {record['name']}: {line}", file=sys.stderr)
    if all_skips:
        print(f"skipped ({len(all_skips)}):")
        for skip in all_skips:
            print(f"  - {skip}")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
