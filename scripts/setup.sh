#!/usr/bin/env bash
# First command of README.md: install dependencies, build, and run the main
# job on the embedded default store (./.berth-root): ingest the samples in
# testdata/ into the RocksDB-indexed content store, list them, re-verify
# every byte with fsck.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh build

berth=./build/tools/berth
root=${BERTH_ROOT:-./.berth-root}
echo "== ingesting testdata/ into $root"
find testdata -type f | sort | while read -r f; do
  printf '%-60s ' "$f"
  "$berth" --root "$root" content ingest --label "berth.io/gc.root=setup" --label "path=$f" "$f"
done
echo "== content store"
"$berth" --root "$root" content ls
echo "== fsck"
"$berth" --root "$root" content fsck
