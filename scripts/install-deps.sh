#!/usr/bin/env bash
# Installs the Debian 12 packages kreuz builds, runs and tests with, and the
# npm packages of the Node test client. Only what is missing is installed, so a
# second run costs a few dpkg queries.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libuv1-dev nlohmann-json3-dev libspdlog-dev libcli11-dev doctest-dev libyaml-cpp-dev
  libssl-dev zlib1g-dev libhiredis-dev libcurl4-openssl-dev
  python3 python3-pytest python3-websockets python3-autobahn
  nodejs npm curl
)

sudo=()
if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

here=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" = "--test" ] && [ ! -d "$here/tests/node/node_modules/ws" ]; then
  echo "install-deps: installing npm packages for tests/node"
  (cd "$here/tests/node" && npm ci --no-audit --no-fund --loglevel=error)
fi
