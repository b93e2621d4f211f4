#!/usr/bin/env bash
# Installs what Berth needs to build and test on Debian 12, from Debian's
# packages. Idempotent: does nothing when everything is already installed.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config
  # libraries (see README.md "Dependencies" for why each one)
  libssl-dev librocksdb-dev libzstd-dev libarchive-dev libsimdjson-dev
  libcpp-httplib-dev libcli11-dev nlohmann-json3-dev libisal-dev libtomlplusplus-dev
  # tests
  libgtest-dev libgmock-dev
  # benchmarks
  openssl time bc e2fsprogs
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "installing: ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
