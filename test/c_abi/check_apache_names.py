#!/usr/bin/env python3
"""No name of libapr's may equal one of the Apache Portable Runtime's
(libapr-1, installed with httpd and Subversion): exported symbols, macros,
include guards, and every apr_/APR_ identifier of the public headers
(typedefs, enumerators, functions). Checked against Debian's libapr1-dev
(headers in /usr/include/apr-1.0, symbols of libapr-1.so). Then one C
program includes both libraries' headers, links both, and shows each
apr_*version* call reaching its own library.

Without libapr1-dev the test skips loudly (and fails when $CI is set):
scripts/install-deps.sh installs it. TAP.

usage: check_apache_names.py LIBAPR_SO CAPI_DIR CPP_HEADER_DIR [CC...]
(every capi/*.h is checked: apr.h and the headers beside it)"""
import glob
import os
import re
import subprocess
import sys
import tempfile
from tap import check, done

lib, capi_dir, cpp_dir = sys.argv[1:4]
capi_headers = sorted(glob.glob(os.path.join(capi_dir, "*.h")))
capi_header = os.path.join(capi_dir, "apr.h")
cc = sys.argv[4:] or [os.environ.get("CC", "cc")]  # the compiler command (may be "ccache cc")
APACHE_INC = "/usr/include/apr-1.0"
APACHE_LIB = next(iter(glob.glob("/usr/lib/*/libapr-1.so") + glob.glob("/usr/lib/libapr-1.so")), None)

if not os.path.isdir(APACHE_INC) or APACHE_LIB is None:
    msg = "Apache APR's libapr1-dev is not installed (scripts/install-deps.sh installs it)"
    if os.environ.get("CI"):
        print(f"not ok 1 - {msg}\n1..1")
        sys.exit(1)
    print(f"1..0 # SKIP {msg}")
    sys.stderr.write(f"SKIPPED: {msg}\n")
    sys.exit(0)



def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def exported(path):
    out = subprocess.run(["nm", "-D", "--defined-only", path], capture_output=True, text=True, check=True).stdout
    return {line.split()[2].split("@")[0] for line in out.splitlines() if len(line.split()) >= 3}


def macros(text):
    return set(re.findall(r"^\s*#\s*define\s+([A-Za-z_]\w*)", text, flags=re.M))


apache_text = "".join(strip_comments(open(p, errors="replace").read()) for p in glob.glob(APACHE_INC + "/*.h"))
apache_idents = set(re.findall(r"\b(?:apr|APR)_\w+\b", apache_text)) | macros(apache_text)
apache_symbols = exported(APACHE_LIB)

ours_text = "".join(strip_comments(open(p).read()) for p in capi_headers)
cpp_text = "".join(strip_comments(open(p).read()) for p in glob.glob(cpp_dir + "/*.hpp"))
our_macros = macros(ours_text) | macros(cpp_text)
our_idents = set(re.findall(r"\b(?:apr|APR)_\w+\b", ours_text)) | our_macros
our_symbols = exported(lib)

check(len(apache_symbols) > 300 and len(apache_idents) > 1000,
      f"read Apache APR's names ({len(apache_symbols)} symbols, {len(apache_idents)} identifiers)")
check("apr_version_string" in apache_symbols and "APR_H" in apache_idents,
      "Apache APR has apr_version_string and the APR_H guard")
both = sorted(our_symbols & apache_symbols)
check(not both, f"no exported symbol of libapr ({len(our_symbols)}) is one of libapr-1's", "\n".join(both))
both = sorted(our_macros & apache_idents)
check(not both, f"no macro or include guard of libapr's headers ({len(our_macros)}) is one of Apache APR's",
      "\n".join(both))
both = sorted(our_idents & apache_idents)
check(not both, f"no apr_/APR_ identifier of {', '.join(os.path.basename(p) for p in capi_headers)} "
      f"({len(our_idents)}) is one of Apache APR's", "\n".join(both))

# Both in one program: both headers compile together, both libraries link,
# and each version call reaches its own library.
program = r"""
#include <apr.h>
#include <apr_general.h>
#include <apr_version.h>
#include <apr_strings.h>
#include <apr_file_io.h>
%s
#include <stdio.h>
#include <string.h>
int main(void) {
    printf("apache=%%s libapr=%%s\n", apr_version_string(), apr_version_str());
    return strcmp(apr_version_string(), APR_VERSION_STRING) == 0 && apr_version_number() == APR_VERSION_NUMBER ? 0 : 1;
}
""" % "\n".join('#include "%s"' % os.path.abspath(p) for p in capi_headers)
with tempfile.TemporaryDirectory() as tmp:
    src = os.path.join(tmp, "both.c")
    exe = os.path.join(tmp, "both")
    open(src, "w").write(program)
    libdir = os.path.dirname(os.path.abspath(lib))
    # Apache APR wants its pkg-config defines (apr-1.pc: -DLINUX -D_REENTRANT -D_GNU_SOURCE).
    build = subprocess.run([*cc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-DLINUX", "-D_REENTRANT", "-D_GNU_SOURCE",
                            "-I" + APACHE_INC, src, "-o", exe,
                            "-L" + libdir, "-l:" + os.path.basename(lib), "-Wl,-rpath," + libdir,
                            APACHE_LIB], capture_output=True, text=True)
    check(build.returncode == 0, "one C program includes Apache APR's headers and apr.h, and links both",
          build.stdout + build.stderr)
    if build.returncode == 0:
        run = subprocess.run([exe], capture_output=True, text=True)
        check(run.returncode == 0 and "libapr=" in run.stdout,
              f"each library answers its own version call ({run.stdout.strip()})", run.stdout + run.stderr)
done()
