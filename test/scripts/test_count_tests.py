#!/usr/bin/env python3
"""TAP test of scripts/count_tests.py: a broken program must never count as
passed. Feeds the counter meson-style testlog records (synthetic TAP streams
and the real output of tap_exit_early, a Catch2 program that exits 0 before
its plan) and checks the totals and the exit status.

usage: test_count_tests.py COUNT_TESTS_PY TAP_EXIT_EARLY_EXE
"""
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

spec = importlib.util.spec_from_file_location("count_tests", sys.argv[1])
count_tests = importlib.util.module_from_spec(spec)
spec.loader.exec_module(count_tests)
exit_early = sys.argv[2]

results = []


def check(name, condition, detail=""):
    results.append((bool(condition), name, detail))


def program(stdout, result="OK"):
    p, f, s, problems, skips = count_tests.check_program("prog", result, stdout)
    return p, f, s, problems


# Whole streams pass.
check("a whole stream counts its cases", program("ok 1 - a\nok 2 - b\n1..2\n")[:3] == (2, 0, 0))
check("a plan may come first", program("1..2\nok 1 - a\nnot ok 2 - b\n")[:3] == (1, 1, 0))
# Holes that used to pass.
p, f, s, problems = program("ok 1 - a\nok 2 - b\n")
check("no plan (exited early with status 0) is a failure", f == 1 and p == 2, problems)
p, f, s, problems = program("ok 1 - a\n1..3\n")
check("fewer results than planned is a failure", f == 1, problems)
p, f, s, problems = program("ok 1 - a\nok 2 - b\nok 3 - c\n1..2\n")
check("more results than planned is a failure", f == 1, problems)
p, f, s, problems = program("1..0\n")
check("a program that found no cases fails", f == 1 and p == 0, problems)
p, f, s, problems = program("ok 1 - a\nok 1 - a\n1..2\n")
check("a case reported twice fails", f == 1, problems)
p, f, s, problems = program("ok 1 - a\n1..1\n", result="FAIL")
check("a non-zero exit without 'not ok' is a failure", f == 1, problems)
p, f, s, problems = program("ok 1 - a\n1..1\n", result="TIMEOUT")
check("a timeout is a failure", f == 1, problems)
# Skips are counted as skips, never as passes.
check("a skipped program is one skip", program("1..0 # SKIP no GPU\n")[:3] == (0, 0, 1))
check("a skipped case is a skip", program("ok 1 - a\nok 2 - b # SKIP needs apr\n1..2\n")[:3] == (1, 0, 1))

# The real thing: a Catch2 program that calls std::exit(0) mid-run.
run = subprocess.run([exit_early, "--reporter", "tapcases"], capture_output=True, text=True, timeout=60)
check("tap_exit_early exits 0 (meson would call it OK)", run.returncode == 0, run.returncode)
p, f, s, problems = program(run.stdout, result="OK")
check("tap_exit_early is counted as a failure", f >= 1 and p == 1, (p, f, problems))

# The command line: a log with an early-exit program fails with status 1 and
# prints the totals line; a missing or empty log is "nothing ran" (status 2).
with tempfile.TemporaryDirectory() as tmp:
    log = os.path.join(tmp, "testlog.json")
    with open(log, "w") as out:
        out.write(json.dumps({"name": "good", "result": "OK", "stdout": "ok 1 - a\n1..1\n"}) + "\n")
        out.write(json.dumps({"name": "early", "result": "OK", "stdout": run.stdout, "returncode": 0}) + "\n")
        out.write(json.dumps({"name": "gpu", "result": "SKIP", "stdout": "1..0 # SKIP no CUDA device\n"}) + "\n")
    cli = subprocess.run([sys.executable, sys.argv[1], log], capture_output=True, text=True)
    last = cli.stdout.strip().splitlines()[-1]
    check("the CLI fails a log holding an early exit", cli.returncode == 1, cli.returncode)
    check("the CLI's last line counts it", last == "2 passed, 1 failed, 1 skipped", last)
    check("the CLI lists skips by name", "gpu: no CUDA device" in cli.stdout, cli.stdout)
    missing = subprocess.run([sys.executable, sys.argv[1], os.path.join(tmp, "none.json")], capture_output=True, text=True)
    check("a missing log is an error", missing.returncode == 2 and "0 passed, 1 failed" in missing.stdout, missing.stdout)
    with open(log, "w") as out:
        out.write(json.dumps({"name": "bad", "result": "FAIL", "returncode": 1,
                              "stdout": "ok 1 - a\nnot ok 2 - b\n# t.cpp:9: CHECK(x == 1) with expansion 2 == 1\nok 3 - c\n# fine\n1..3\n"}) + "\n")
    failing = subprocess.run([sys.executable, sys.argv[1], log], capture_output=True, text=True)
    check("the CLI prints a failed case's assertions (CI shows only the console)",
          "bad: # t.cpp:9: CHECK(x == 1) with expansion 2 == 1" in failing.stderr and "# fine" not in failing.stderr,
          failing.stderr)
    open(log, "w").close()
    empty = subprocess.run([sys.executable, sys.argv[1], log], capture_output=True, text=True)
    check("an empty log is an error", empty.returncode == 2, empty.returncode)

for i, (ok, name, detail) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    if not ok:
        print(f"# got: {detail}")
print(f"1..{len(results)}")
sys.exit(0 if all(ok for ok, _, _ in results) else 1)
