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
# Node.js and npm run the OpenAI/Ollama client tests of `apr serve`; Debian's
# are enough (Node 18+). A newer node already on the PATH is kept.
if ! command -v node >/dev/null 2>&1; then packages+=(nodejs); fi
if ! command -v npm >/dev/null 2>&1; then packages+=(npm); fi
# Headless Chromium drives the chat page of `apr serve` in test_serve_web_page
# (through playwright-core from npm; Debian's browser, not a downloaded one).
packages+=(chromium)
# clang-14 and its runtimes build the libFuzzer targets (optional).
if [[ "${APR_WITH_FUZZERS:-0}" == 1 ]]; then packages+=(clang-14 libclang-rt-14-dev); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# The npm clients of the serve tests (openai, ollama, playwright-core), pinned by
# test/serve/clients/package-lock.json, go into the ignored test/serve/clients/node_modules.
install_npm_clients() {
  local dir
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/test/serve/clients"
  if command -v npm >/dev/null 2>&1 && [[ ! -d "$dir/node_modules/openai" || ! -d "$dir/node_modules/ollama" ||
        ! -d "$dir/node_modules/playwright-core" ]]; then
    echo "install-deps: npm ci in $dir" >&2
    npm ci --no-audit --no-fund --prefix "$dir" >/dev/null || echo "install-deps: npm ci failed; the serve client tests will try again" >&2
  fi
}

if ((${#missing[@]} == 0)); then install_npm_clients; exit 0; fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
install_npm_clients
