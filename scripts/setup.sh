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
# Blobs of the sample OCI layouts are named by their digest: ingest them with
# --expected so every byte is verified on the way in.
find testdata -type f | sort | while read -r f; do
  expected=()
  case $f in */blobs/sha256/*) expected=(--expected "sha256:$(basename "$f")") ;; esac
  printf '%-60s ' "$f"
  "$berth" --root "$root" content ingest "${expected[@]}" \
    --label "berth.io/gc.root=setup" --label "path=$f" "$f"
done
echo "== content store"
"$berth" --root "$root" content ls
echo "== fsck"
"$berth" --root "$root" content fsck
