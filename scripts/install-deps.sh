#!/usr/bin/env bash
# Installs what Berth needs to build and test on Debian 12, from Debian's
# packages. Idempotent: does nothing when everything is already installed.
set -euo pipefail
. "$(dirname "$0")/lib/apt.sh"

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config
  # libraries (see README.md "Dependencies" for why each one)
  libssl-dev librocksdb-dev libzstd-dev libarchive-dev libsimdjson-dev
  libcpp-httplib-dev libcurl4-openssl-dev libcli11-dev nlohmann-json3-dev libisal-dev libtomlplusplus-dev
  libcrypt-dev
  # tests
  libgtest-dev libgmock-dev
  # benchmarks
  openssl time bc e2fsprogs
)

ensure_packages "${PACKAGES[@]}"
