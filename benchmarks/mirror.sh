#!/usr/bin/env bash
# berth serve --mirror: 8 clients pull the same cold image at once through the mirror, vs
# straight from the upstream (Debian's docker-registry on 127.0.0.1:5000, the peers' registry).
# A "pull" here fetches every blob of the image's linux/amd64 manifest, 3 at a time, into
# /dev/null (what the registry side serves; clients' own disks are not what is measured).
# Prints: upstream bytes through the mirror / bytes 8 direct pulls take (target 1/8 = 0.125),
# and the slowest of the 8 mirrored pulls / one direct pull alone (target <= 1.2).
# Usage: sudo IMAGE=bench/big:1 N=2 benchmarks/mirror.sh    (needs benchmarks/lib/make-images.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); LIB=$here/lib
BERTH=${BERTH:-$here/../build/tools/berth}
REG=${REGISTRY_ADDR:-127.0.0.1:5000}
MIRROR=127.0.0.1:5113
IMAGE=${IMAGE:-bench/big:1}; N=${N:-2}; CLIENTS=${CLIENTS:-8}
fs=${BENCH_FS:-/tmp/berth-bench-mirror}
ctrd=$fs/no-containerd  # bench-common.sh cleanup expects one
source "$LIB/bench-common.sh"

mirror_pid=
stop_mirror() { [[ -n $mirror_pid ]] && { kill "$mirror_pid"; wait "$mirror_pid" 2>/dev/null || true; mirror_pid=; }; }
trap 'stop_mirror; cleanup' EXIT

ensure_registry
repo=${IMAGE%:*}; tag=${IMAGE##*:}
if ! manifest_json "$IMAGE" >/dev/null; then
  skopeo --insecure-policy copy -q --all --dest-tls-verify=false "oci:/tmp/peers/oci:${repo#bench/}-$tag" "docker://$REG/$IMAGE"
fi
m=$(manifest_json "$IMAGE")
mapfile -t blobs < <(jq -r '.config.digest, .layers[].digest' <<<"$m")
image_bytes=$(jq '[.config.size, .layers[].size] | add' <<<"$m")

fetch_all() {  # fetch_all HOST: every blob of the image, 3 at a time, to /dev/null
  printf '%s\n' "${blobs[@]}" | xargs -P 3 -I{} curl -sf -o /dev/null "http://$1/v2/$repo/blobs/{}"
}
timed() { local s=$EPOCHREALTIME; "$@"; echo "$EPOCHREALTIME - $s" | bc; }
slowest_of() {  # slowest_of HOST: CLIENTS concurrent fetch_all, prints the slowest wall time
  local pids=() i out=$fs/times; : >"$out"
  for i in $(seq "$CLIENTS"); do ( timed fetch_all "$1" >>"$out" ) & pids+=($!); done
  wait "${pids[@]}"
  sort -g "$out" | tail -1
}

echo "image $IMAGE: ${#blobs[@]} blobs, $image_bytes bytes; $CLIENTS clients, $N rounds" >&2
printf '| round | one direct pull (s) | %s direct at once, slowest (s) | %s through a cold mirror, slowest (s) | slowest mirrored / one direct | upstream bytes / %s direct pulls |\n|---|---|---|---|---|---|\n' "$CLIENTS" "$CLIENTS" "$CLIENTS"
for round in $(seq "$N"); do
  "$LIB/freshfs.sh" umount "$fs" 2>/dev/null || true
  "$LIB/freshfs.sh" mount "$fs" 16G >/dev/null
  one=$(timed fetch_all "$REG")
  direct=$(slowest_of "$REG")
  "$BERTH" --root "$fs/mirror" serve -q --listen "$MIRROR" --mirror "http://$REG" 2>"$fs/mirror.log" &
  mirror_pid=$!
  for _ in $(seq 100); do curl -sf "http://$MIRROR/v2/" >/dev/null && break; sleep 0.1; done
  mirrored=$(slowest_of "$MIRROR")
  upstream=$(curl -sf "http://$MIRROR/metrics" | awk '$1 == "berth_mirror_upstream_bytes_total" { print $2 }')
  stop_mirror
  printf '| %s | %.2f | %.2f | %.2f | %.2f | %.3f |\n' "$round" "$one" "$direct" "$mirrored" \
    "$(echo "$mirrored / $one" | bc -l)" "$(echo "$upstream / ($CLIENTS * $image_bytes)" | bc -l)"
done
