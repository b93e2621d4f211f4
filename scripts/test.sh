#!/usr/bin/env bash
# Second command of README.md (and what CI runs): install dependencies, then
# build and run every test twice — a normal build, and one with
# AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/install-peers.sh

echo "== build (RelWithDebInfo)"
./scripts/build.sh build
echo "== tests"
(cd build && ctest --output-on-failure -j 2 --timeout 600)

echo "== build (ASan + UBSan)"
./scripts/build.sh build-asan -DBERTH_SANITIZE=ON
echo "== tests under ASan + UBSan"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure -j 2 --timeout 900)
echo "== all tests passed"
