#!/usr/bin/env bash
# Installs libapr's build and test dependencies from Debian 12 packages.
# Safe to run again: apt-get skips what is already installed.
set -euo pipefail

packages=(
  g++ meson ninja-build pkg-config python3
  libfmt-dev libsimdjson-dev libtbb-dev catch2 libbenchmark-dev
  libcpp-httplib-dev libcurl4-openssl-dev libssl-dev libedit-dev
  # Test only: the Apache Portable Runtime's headers and libapr-1.so, so
  # test/c_abi/check_apache_names.py can prove libapr's names never clash.
  libapr1-dev
)
# clang-14 and its runtimes build the libFuzzer targets (optional).
if [[ "${APR_WITH_FUZZERS:-0}" == 1 ]]; then packages+=(clang-14 libclang-rt-14-dev); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then exit 0; fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
