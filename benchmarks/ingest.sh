#!/usr/bin/env bash
# Ingest of a 1 GiB file into the content store (hash + write + fsync), against
# `openssl dgst -sha256 FILE` (hashing alone) and `cp FILE DST && sync DST`
# (writing alone, made durable), in one run, each on a fresh journaled ext4.
# Prints the median of N runs and berth's ratio to the slower of the two.
#
#   sudo benchmarks/ingest.sh [N]      (needs root for the loop mount)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-3}
berth=${BERTH:-./build/tools/berth}
work=${WORK:-/tmp/berth-bench}
fs=$work/fs
src=$work/src-1g.bin
mkdir -p "$work"

if [ ! -f "$src" ] || [ "$(stat -c %s "$src")" -ne $((1 << 30)) ]; then
  echo "making $src (AES-CTR keystream, incompressible)" >&2
  # openssl dies of SIGPIPE when head has enough; pipefail must not take that for a failure.
  { openssl enc -aes-256-ctr -nosalt -pbkdf2 -pass pass:berth-bench -in /dev/zero 2>/dev/null || true; } |
    head -c $((1 << 30)) > "$src.tmp"
  mv "$src.tmp" "$src"
fi
cat "$src" > /dev/null  # warm the page cache: every tool reads from memory

# time_it CMD...: wall seconds of CMD, on a fresh file system mounted at $fs.
time_it() {
  ./benchmarks/lib/freshfs.sh mount "$fs" 4G
  # Let the previous run's image deletion and write-back settle first: the
  # tool that runs right after a big delete is slowed by it, not by itself.
  sync
  sleep 3
  local t0 t1
  t0=$(date +%s.%N)
  "$@" > /dev/null
  t1=$(date +%s.%N)
  ./benchmarks/lib/freshfs.sh umount "$fs"
  echo "$t1 - $t0" | bc -l
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A runs
run_tool() {
  case $1 in
    openssl) time_it openssl dgst -sha256 "$src" ;;
    cp) time_it sh -c "cp '$src' '$fs/copy' && sync '$fs/copy'" ;;
    berth) time_it "$berth" --root "$fs/root" content ingest "$src" ;;
  esac
}
orders=("openssl cp berth" "berth openssl cp" "cp berth openssl")
for i in $(seq "$N"); do
  # Rotate the order so no tool always follows the same one.
  for t in ${orders[$(( (i - 1) % 3 ))]}; do runs[$t]+="$(run_tool "$t") "; done
done

printf '%-34s %s\n' "tool (1 GiB, median of $N)" "seconds"
declare -A med
for t in openssl cp berth; do
  med[$t]=$(echo "${runs[$t]}" | tr ' ' '\n' | grep . | median)
done
printf '%-34s %.2f\n' "openssl dgst -sha256" "${med[openssl]}" "cp + sync" "${med[cp]}" \
  "berth content ingest" "${med[berth]}"
for t in openssl cp berth; do printf '  runs %-8s %s\n' "$t" "${runs[$t]}"; done
slower=$(echo "if (${med[openssl]} > ${med[cp]}) ${med[openssl]} else ${med[cp]}" | bc -l)
printf 'berth / openssl = %.2f   berth / (cp+sync) = %.2f   berth / slower = %.2f (target <= 1.2)\n' \
  "$(echo "${med[berth]} / ${med[openssl]}" | bc -l)" "$(echo "${med[berth]} / ${med[cp]}" | bc -l)" \
  "$(echo "${med[berth]} / $slower" | bc -l)"
