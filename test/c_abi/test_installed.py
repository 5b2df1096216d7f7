#!/usr/bin/env python3
"""`meson install` into a temporary folder, then what a user of the
installed library does: pkg-config finds apr.pc, a C99 program
(-std=c99 -pedantic -Werror) built against the installed <apr/apr.h> and
`pkg-config --libs apr` loads the nano model, streams the answer (4), uses
the observer and handles a bad path; the installed libapr.so.0 carries its
soname and the `apr` program runs. TAP.

usage: test_installed.py BUILD_DIR SOURCE_DIR MODEL [CC...]"""
import functools
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

import tap
from tap import done

# Install and compiler logs end with their cause: show their last lines.
check = functools.partial(tap.check, last_lines=True)

build_dir, source_dir, model = sys.argv[1:4]
cc = sys.argv[4:] or ["cc"]  # the compiler command (may be "ccache cc")


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


if shutil.which("pkg-config") is None:
    print("1..0 # SKIP pkg-config is not installed")
    sys.exit(0)

with tempfile.TemporaryDirectory(prefix="apr-install-") as dest:
    inst = run(["meson", "install", "-C", build_dir, "--no-rebuild", "--quiet", "--destdir", dest])
    if not check(inst.returncode == 0, "meson install --destdir succeeds", inst.stdout + inst.stderr):
        done(1)
    pcs = glob.glob(dest + "/**/pkgconfig/apr.pc", recursive=True)
    headers = glob.glob(dest + "/**/include/apr/apr.h", recursive=True)
    libs = glob.glob(dest + "/**/libapr.so.0", recursive=True)
    apr_exe = glob.glob(dest + "/**/bin/apr", recursive=True)
    check(len(pcs) == 1 and len(headers) == 1 and len(libs) == 1 and len(apr_exe) == 1,
          "installed apr.pc, include/apr/apr.h, libapr.so.0 and bin/apr", "\n".join(pcs + headers + libs + apr_exe))
    if not (pcs and headers and libs and apr_exe):
        done(1)
    check(os.path.exists(headers[0].replace("apr.h", "apr.hpp")), "the C++ headers are installed beside it")
    soname = run(["readelf", "-d", libs[0]]).stdout
    check("Library soname: [libapr.so.0]" in soname, "the installed library's soname is libapr.so.0")
    check(os.path.islink(os.path.join(os.path.dirname(libs[0]), "libapr.so")), "libapr.so links to it for -lapr")

    env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pcs[0]), PKG_CONFIG_SYSROOT_DIR=dest,
               PKG_CONFIG_LIBDIR=os.path.dirname(pcs[0]))
    cflags = run(["pkg-config", "--cflags", "apr"], env=env)
    ldflags = run(["pkg-config", "--libs", "apr"], env=env)
    check(cflags.returncode == 0 and ldflags.returncode == 0 and "-lapr" in ldflags.stdout.split(),
          f"pkg-config --cflags --libs apr: {cflags.stdout.strip()} {ldflags.stdout.strip()}",
          cflags.stderr + ldflags.stderr)

    exe = os.path.join(dest, "stream_answer")
    src = os.path.join(source_dir, "examples", "c", "stream_answer.c")
    build = run([*cc, "-std=c99", "-pedantic", "-Werror", "-Wall", "-Wextra", *cflags.stdout.split(), src, "-o", exe,
                 *ldflags.stdout.split()])
    check(build.returncode == 0, "examples/c/stream_answer.c builds as C99 -pedantic -Werror against the install",
          build.stdout + build.stderr)
    libdir = os.path.dirname(libs[0])
    # The install's lib folder first, the caller's library path kept after it
    # (a machine whose dependencies live outside the system folders, such as
    # the GPU machine's unpacked Debian kit, needs both).
    lib_path = os.pathsep.join(p for p in [libdir, os.environ.get("LD_LIBRARY_PATH", "")] if p)
    if build.returncode == 0:
        linked = run(["ldd", exe], env=dict(os.environ, LD_LIBRARY_PATH=lib_path)).stdout
        check(libdir in linked, "it runs against the installed libapr.so.0", linked)
        out = run([exe, model], env=dict(os.environ, LD_LIBRARY_PATH=lib_path))
        check(out.returncode == 0 and re.search(r"^answer: 4$", out.stdout, re.M) is not None,
              "it streams the answer 4", out.stdout + out.stderr)
        check("bad path: not_found: " in out.stdout and "/no/such/model.gguf" in out.stdout,
              "it reports the bad path through the error API", out.stdout)
        m = re.search(r"observer: (\d+) matmuls, (\d+) block outputs", out.stdout)
        check(m is not None and int(m.group(1)) > 0 and int(m.group(2)) > 0, "the observer saw the forward passes",
              out.stdout)
    ver = run([apr_exe[0], "--help"], env=dict(os.environ, LD_LIBRARY_PATH=lib_path))
    check(ver.returncode == 0 and "run" in ver.stdout, "the installed apr program runs", ver.stdout + ver.stderr)
done()
