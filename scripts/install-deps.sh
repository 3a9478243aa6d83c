#!/usr/bin/env bash
# Installs the Debian 12 packages kreuz builds, runs and tests with, and the
# npm packages of the Node test client. Only what is missing is installed, so a
# second run costs a few dpkg queries.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libuv1-dev nlohmann-json3-dev libspdlog-dev libcli11-dev doctest-dev libyaml-cpp-dev
  libssl-dev zlib1g-dev libhiredis-dev libcurl4-openssl-dev libsimdjson-dev
  python3 python3-pytest python3-websockets python3-autobahn python3-yaml
  curl
)
# Node may come from another packaging of nodejs that bundles npm (and
# conflicts with Debian's npm package): only install what is really absent.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)
# scripts/fuzz.sh (part of `make test`): clang, its libFuzzer and sanitizer
# runtimes, and llvm-symbolizer for readable stacks in its reports.
if [ "${1:-}" = "--test" ]; then packages+=(clang libclang-rt-14-dev llvm-14); fi
# The cluster tests start their own redis-server and haproxy on free loopback ports.
if [ "${1:-}" = "--test" ]; then packages+=(redis-server haproxy); fi
# Chromium runs the browser tests; it is installed with its recommended
# packages (fonts among them), the way the tests were written against it.
browser_packages=(chromium)

sudo=()
if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
missing_browser=()
if [ "${1:-}" = "--test" ]; then
  for p in "${browser_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing_browser+=("$p")
  done
fi
if [ ${#missing[@]} -gt 0 ] || [ ${#missing_browser[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]} ${missing_browser[*]}"
  "${sudo[@]}" apt-get update -qq
  export DEBIAN_FRONTEND=noninteractive
  if [ ${#missing[@]} -gt 0 ]; then
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  if [ ${#missing_browser[@]} -gt 0 ]; then
    "${sudo[@]}" apt-get install -y -qq "${missing_browser[@]}" >/dev/null
  fi
fi

here=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" = "--test" ]; then
  # package-lock.json pins every module; npm ci installs exactly those.
  for dir in tests/node tests/browser; do
    if [ ! -f "$here/$dir/node_modules/.package-lock.json" ] ||
       [ "$here/$dir/package-lock.json" -nt "$here/$dir/node_modules/.package-lock.json" ]; then
      echo "install-deps: installing npm packages for $dir"
      (cd "$here/$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
  done
fi
