#!/usr/bin/env bash
# berth serve vs Debian's docker-registry (CNCF distribution 2.8), side by side in one run,
# each with its storage on the same fresh loop-mounted ext4:
#   1. push of the peers' bench images with skopeo (copy --all of each, wall time), N rounds alternating;
#   2. wrk -t2 -c32 for DUR each: GET manifest of bench/debian:12, GET a 4 KiB blob,
#      GET the largest blob of bench/big:1 (256 MiB).
# Prints a table and the ratios berth/registry.
# Targets (issue 5): >= 2x the registry's req/s on manifests and small blobs, >= 1x its throughput
# on the large blob, push <= 0.7x its time.
# Usage: sudo DUR=20s N=2 benchmarks/serve.sh     (needs /tmp/peers/oci: benchmarks/lib/make-images.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); LIB=$here/lib
BERTH=${BERTH:-$here/../build/tools/berth}
LAYOUT=${LAYOUT:-/tmp/peers/oci}
DUR=${DUR:-20s}; N=${N:-2}
PEER=127.0.0.1:5110; SERVE=127.0.0.1:5111
fs=${BENCH_FS:-/tmp/berth-bench-serve}
IMAGES=(debian-12 big-1 small-files-1 multiarch-1)

[[ -f $LAYOUT/index.json ]] || { echo "no $LAYOUT (run benchmarks/lib/make-images.sh)" >&2; exit 1; }
for tool in skopeo wrk docker-registry jq; do command -v $tool >/dev/null || { echo "needs $tool" >&2; exit 1; }; done

serve_pid=
cleanup() {
  set +e
  [[ -n $serve_pid ]] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  PEERS_TMP=$fs/peer REGISTRY_ADDR=$PEER "$LIB/registry.sh" stop >/dev/null 2>&1
  "$LIB/freshfs.sh" umount "$fs" 2>/dev/null; rmdir "$fs" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_both() {  # fresh, empty storage for both
  [[ -n $serve_pid ]] && { kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true; serve_pid=; }
  PEERS_TMP=$fs/peer REGISTRY_ADDR=$PEER "$LIB/registry.sh" stop >/dev/null 2>&1 || true
  "$LIB/freshfs.sh" umount "$fs" 2>/dev/null || true
  "$LIB/freshfs.sh" mount "$fs" 16G >/dev/null
  PEERS_TMP=$fs/peer REGISTRY_ADDR=$PEER "$LIB/registry.sh" start >/dev/null
  "$BERTH" --root "$fs/berth" serve --quiet --listen "$SERVE" 2>"$fs/serve.log" &
  serve_pid=$!
  for _ in $(seq 100); do curl -sf "http://$SERVE/v2/" >/dev/null && curl -sf "http://$PEER/v2/" >/dev/null && return; sleep 0.1; done
  echo "registries did not come up" >&2; cat "$fs/serve.log" >&2; exit 1
}

push_all() {  # push_all HOST: seconds to skopeo-copy every bench image
  local start=$EPOCHREALTIME img took
  for img in "${IMAGES[@]}"; do
    skopeo --insecure-policy copy -q --all --dest-tls-verify=false "oci:$LAYOUT:$img" \
      "docker://$1/bench/${img%-*}:${img##*-}" >/dev/null
  done
  took=$(echo "$EPOCHREALTIME - $start" | bc)
  # Not timed: write back what this push left dirty. docker-registry never syncs, so its
  # 1.3 GB would otherwise be written back during the next push (Berth's in odd rounds),
  # and Berth's push would pay for the registry's writes.
  sync -f "$fs"
  echo "$took"
}

cat "$LAYOUT"/blobs/sha256/* >/dev/null  # both read the layout from the page cache
declare -a push_peer push_berth
for round in $(seq "$N"); do
  start_both
  if (( round % 2 )); then
    push_peer+=("$(push_all $PEER)"); push_berth+=("$(push_all $SERVE)")
  else
    push_berth+=("$(push_all $SERVE)"); push_peer+=("$(push_all $PEER)")
  fi
  echo "round $round: push docker-registry ${push_peer[-1]} s, berth ${push_berth[-1]} s" >&2
done

# A 4 KiB blob in both (same bytes).
small=$fs/blob-4k; head -c 4096 /dev/zero | openssl enc -aes-256-ctr -nosalt -pbkdf2 -pass pass:bench-4k >"$small"
small_dg=sha256:$(sha256sum "$small" | cut -d' ' -f1)
for host in $PEER $SERVE; do
  loc=$(curl -sf -X POST -D - -o /dev/null "http://$host/v2/bench/debian/blobs/uploads/" |
        tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }')
  [[ $loc == http* ]] || loc=http://$host$loc
  [[ $loc == *\?* ]] && sep='&' || sep='?'
  curl -sf -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$small" "$loc${sep}digest=$small_dg" -o /dev/null
done
oci=application/vnd.oci.image.manifest.v1+json
big=$(curl -sf -H "Accept: $oci" "http://$PEER/v2/bench/big/manifests/1" | jq -r '.layers | max_by(.size) | .digest')

wrk_rps() {  # wrk_rps URL [curl/wrk header args] -> "req/s MiB/s"
  local url=$1; shift
  wrk -t2 -c32 -d"$DUR" --timeout 60s "$@" "$url" | awk '
    /Requests\/sec:/ { rps = $2 }
    /Transfer\/sec:/ { t = $2; v = t + 0; if (t ~ /GB/) v *= 1024; else if (t ~ /KB/) v /= 1024; else if (t ~ /B$/ && t !~ /MB/) v /= 1048576; tps = v }
    /Non-2xx/ { bad = $NF }
    END { if (bad) { print "non-2xx answers: " bad > "/dev/stderr" }; printf "%s %.1f\n", rps, tps }'
}

printf '| what | docker-registry | berth serve | berth / registry | target |\n|---|---|---|---|---|\n'
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
pp=$(median "${push_peer[@]}"); pb=$(median "${push_berth[@]}")
printf '| push of 4 bench images (skopeo, s, median of %s) | %.2f | %.2f | %.2f | <= 0.7 |\n' "$N" "$pp" "$pb" "$(echo "$pb / $pp" | bc -l)"
row() {  # row NAME FIELD TARGET PATH [header args]
  local name=$1 field=$2 target=$3 path=$4; shift 4
  read -r prps ptps < <(wrk_rps "http://$PEER$path" "$@")
  read -r brps btps < <(wrk_rps "http://$SERVE$path" "$@")
  if [[ $field == rps ]]; then
    printf '| %s (req/s) | %s | %s | %.2f | %s |\n' "$name" "$prps" "$brps" "$(echo "$brps / $prps" | bc -l)" "$target"
  else
    printf '| %s (MiB/s) | %s | %s | %.2f | %s |\n' "$name" "$ptps" "$btps" "$(echo "$btps / $ptps" | bc -l)" "$target"
  fi
}
row "GET manifest bench/debian:12" rps ">= 2" /v2/bench/debian/manifests/12 -H "Accept: $oci"
row "GET 4 KiB blob" rps ">= 2" "/v2/bench/debian/blobs/$small_dg"
row "GET 256 MiB blob" tps ">= 1" "/v2/bench/big/blobs/$big"
