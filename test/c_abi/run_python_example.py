#!/usr/bin/env python3
"""Runs examples/python/apr_ctypes.py (ctypes only, no compiled extension)
against the built libapr and reports its checks as TAP.

usage: run_python_example.py EXAMPLE LIBAPR_SO MODEL"""
import os
import re
import subprocess
import sys

example, lib, model = sys.argv[1:4]
out = subprocess.run([sys.executable, example, model], capture_output=True, text=True, timeout=100,
                     env=dict(os.environ, APR_LIBRARY=os.path.abspath(lib)))
checks = [
    (out.returncode == 0 and out.stdout.rstrip().endswith("ok"), "the ctypes example runs to its end"),
    ("bad path: not_found: " in out.stdout, "a bad path comes back through the error API"),
    (re.search(r"^answer: 4$", out.stdout, re.M) is not None, "it streams the answer 4"),
    (re.search(r"text: '4', finish_reason 0, [1-9]\d* matmuls observed", out.stdout) is not None,
     "the result text is 4 and the observer saw the matmuls (model freed before the session)"),
]
for i, (ok, what) in enumerate(checks, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {what}")
if not all(ok for ok, _ in checks):
    for line in (out.stdout + out.stderr).splitlines()[-30:]:
        print(f"# {line}")
print(f"1..{len(checks)}")
sys.exit(0 if all(ok for ok, _ in checks) else 1)
