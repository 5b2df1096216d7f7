#!/usr/bin/env python3
"""Lists the dynamic symbols libapr.so exports and fails on anything outside
the C ABI (apr_*) and the public C++ API (apr::..., with the typeinfo and
vtables of its classes): no internals (apr::model::, apr::capi::, pimpl
::Impl structs), no std:: template instances. Also checks the soname
(libapr.so.0) and that every export carries the LIBAPR_0 version. TAP."""
import re
import subprocess
import sys
from tap import check, done

lib = sys.argv[1]


dynamic = subprocess.run(["readelf", "-d", lib], capture_output=True, text=True, check=True).stdout
soname = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", dynamic)
check(soname is not None and soname.group(1) == "libapr.so.0", "soname is libapr.so.0",
      soname.group(1) if soname else "no soname")

out = subprocess.run(["nm", "-D", "--defined-only", "--with-symbol-versions", lib], capture_output=True, text=True,
                     check=True).stdout
symbols = []  # (mangled, version)
for line in out.splitlines():
    parts = line.split()
    if len(parts) < 3:
        continue
    kind, name = parts[1], parts[2]
    base, _, version = name.partition("@")
    version = version.lstrip("@")
    if kind == "A":  # the version node's own absolute symbol (LIBAPR_0)
        continue
    symbols.append((base, version))
check(len(symbols) > 100, f"libapr exports its API ({len(symbols)} symbols)")

unversioned = [s for s, v in symbols if v != "LIBAPR_0"]
check(not unversioned, "every exported symbol is versioned LIBAPR_0", "\n".join(unversioned))

demangled = subprocess.run(["c++filt"], input="\n".join(s for s, _ in symbols), capture_output=True, text=True,
                           check=True).stdout.splitlines()
PREFIXES = ("typeinfo for ", "typeinfo name for ", "vtable for ", "non-virtual thunk to ", "VTT for ")
INTERNAL = re.compile(r"^apr::(model|capi|detail)::|::Impl(::|$|\b)")


def allowed(mangled, name):
    if re.fullmatch(r"apr_[a-z0-9_]+", mangled):
        return True
    if not mangled.startswith("_Z"):
        return False
    for p in PREFIXES:
        if name.startswith(p):
            name = name[len(p):]
            break
    qualified = name.split("(")[0]
    return qualified.startswith("apr::") and not INTERNAL.search(qualified)


bad = [f"{name}  [{m}]" for (m, _), name in zip(symbols, demangled) if not allowed(m, name)]
check(not bad, "nothing outside apr_* and the public apr:: C++ API is exported", "\n".join(bad))
c_names = [m for m, _ in symbols if m.startswith("apr_")]
check("apr_generate" in c_names and "apr_model_load" in c_names and "apr_last_error" in c_names,
      "the C ABI's entry points are there")
check(any(name.startswith("apr::Model::load") for name in demangled) and
      any(name == "typeinfo for apr::Error" for name in demangled),
      "the C++ API and its exception's typeinfo are there")
done()
