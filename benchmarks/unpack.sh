#!/usr/bin/env bash
# Pull + unpack benchmark: Berth vs containerd 1.6, from the peer registry on loopback;
# and unpack alone: Berth vs GNU tar.
#
# A. End to end (fetch + verify + unpack into overlayfs snapshots), per image:
#      berth --root FS/root pull --plain-http --progress quiet --platform linux/amd64 REG/IMAGE
#      ctr --address SOCK images pull --plain-http --platform linux/amd64 REG/IMAGE
#    (Debian's containerd 1.6, a private instance: lib/containerd.sh, restarted on a fresh
#     root fs before every run; ctr 1.6 fetches everything, then unpacks; with pigz installed
#     it gunzips with `unpigz`, as the peers' baseline did)
# B. Unpack alone, per image:
#      berth: `pull --no-unpack` first (not timed: every blob is then in the store, no
#             snapshot exists), then `berth pull` again, timed: it only unpacks.
#      tar:   `tar -xzf LAYER` (zstd layers: `tar -I zstd -xf`) of each layer blob, read from
#             the registry's storage (warm page cache), each into its own new dir (like one
#             snapshot per layer; tar does not apply whiteouts), one after the other.
#
# Every run writes into a fresh journaled ext4 loop fs (lib/freshfs.sh; for containerd that fs
# is its root). Runs are interleaved per image (run r: berth, ctr, berth-unpack, tar) so
# background load hits all alike. The registry's blobs are read once first (warm cache).
# Wall time: date +%s.%N around the command; peak RSS and user+sys: /usr/bin/time (for ctr the
# CPU adds the containerd daemon's CPU delta, incl. unpigz; RSS is the client's only).
# "sync after s": a `sync -f` of the target fs right after the tool exits (not in wall): how
# much written data the tool left unflushed (containerd 1.6 and tar do not sync unpacked files).
#
#   sudo benchmarks/unpack.sh [N]        N runs per tool and image (default 3)
#
# Env: IMAGES (default "bench/debian:12 bench/debian:12-zstd bench/big:1 bench/small-files:1"),
#      BERTH=./build/tools/berth, WORK=/tmp/berth-bench/unpack, FS_SIZE=4G,
#      REGISTRY_ADDR=127.0.0.1:5000, REGISTRY_STORAGE=/tmp/peers/registry/storage,
#      PROFILE=1: afterwards, `strace -c -f` of one berth pull per image (to WORK/strace-*.txt).
# Needs: root, containerd + ctr, curl, jq, /usr/bin/time, tar, zstd; the peers' registry and
# images (benchmarks/lib/make-images.sh); started with lib/registry.sh if nothing answers.
set -euo pipefail
cd "$(dirname "$0")/.."
LIB=$PWD/benchmarks/lib
N=${1:-3}
REG=${REGISTRY_ADDR:-127.0.0.1:5000}
STORAGE=${REGISTRY_STORAGE:-/tmp/peers/registry/storage}
read -r -a IMAGES <<<"${IMAGES:-bench/debian:12 bench/debian:12-zstd bench/big:1 bench/small-files:1}"
work=${WORK:-/tmp/berth-bench/unpack}
FS_SIZE=${FS_SIZE:-4G}
berth_src=${BERTH:-./build/tools/berth}
fs=$work/fs
ctrd=$work/containerd
sock=$ctrd/containerd.sock
raw=$work/unpack.csv
HZ=$(getconf CLK_TCK)
log() { echo "== $(date +%T) $*" >&2; }
die() { echo "unpack.sh: $*" >&2; exit 1; }

[[ $EUID == 0 ]] || die "needs root (loop mounts, containerd): sudo $0 $*"
[[ $N =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer"
for t in ctr containerd curl jq /usr/bin/time mkfs.ext4 tar zstd; do
  command -v "$t" >/dev/null || die "missing $t"
done
[[ -x $berth_src ]] || die "no berth binary at $berth_src (cmake --build build --target berth)"
mkdir -p "$work"
berth=$work/berth   # a private copy: build/ may be rebuilt while we measure
cp "$berth_src" "$berth"

. "$LIB/bench-common.sh"
ensure_registry

blob_path() { local h=${1#sha256:}; echo "$STORAGE/docker/registry/v2/blobs/sha256/${h:0:2}/$h/data"; }

log "warming the registry's blobs in the page cache"
declare -A LAYERS
for img in "${IMAGES[@]}"; do
  m=$(manifest_json "$img") || die "$img not in the registry at $REG (benchmarks/lib/make-images.sh)"
  for d in $(jq -r '.config.digest, .layers[].digest' <<<"$m"); do
    curl -sf -o /dev/null "http://$REG/v2/${img%:*}/blobs/$d" || die "cannot read blob $d of $img"
  done
  LAYERS[$img]=$(jq -r '.layers[] | "\(.mediaType)=\(.digest)"' <<<"$m" | tr '\n' ' ')
  for l in ${LAYERS[$img]}; do
    [[ -f $(blob_path "${l#*=}") ]] || die "layer ${l#*=} not at $(blob_path "${l#*=}") (REGISTRY_STORAGE?)"
  done
done


# tar_layers DIR IMAGE: extract each layer of IMAGE into DIR/N (sequentially)
tar_layers() {
  local dir=$1 img=$2 i=0 l
  for l in ${LAYERS[$img]}; do
    i=$((i + 1)); mkdir -p "$dir/$i"
    case ${l%%=*} in
      *zstd) tar -I zstd -xf "$(blob_path "${l#*=}")" -C "$dir/$i" ;;
      *gzip) tar -xzf "$(blob_path "${l#*=}")" -C "$dir/$i" ;;
      *) tar -xf "$(blob_path "${l#*=}")" -C "$dir/$i" ;;
    esac
  done
}
export -f tar_layers blob_path

# run_one KIND IMAGE RUN: one measured run on a fresh fs; appends a CSV row
#   KIND: berth (pull e2e) | ctr (pull e2e) | berth-unpack | tar
run_one() {
  local kind=$1 img=$2 r=$3 dir c0=0 c1=0 pid='' t0 t1 s0 s1 wall rss u s cpu cmd
  local bpull=("$berth" --root "$fs/root" pull --plain-http --progress quiet --platform linux/amd64)
  case $kind in
    berth)
      "$LIB/freshfs.sh" mount "$fs" "$FS_SIZE"; dir=$fs
      cmd=("${bpull[@]}" "$REG/$img") ;;
    ctr)
      CTRD_FS_SIZE=$FS_SIZE "$LIB/containerd.sh" fresh "$ctrd"; dir=$ctrd/root
      pid=$(cat "$ctrd/containerd.pid")
      cmd=(ctr --address "$sock" images pull --plain-http --platform linux/amd64 "$REG/$img") ;;
    berth-unpack)
      "$LIB/freshfs.sh" mount "$fs" "$FS_SIZE"; dir=$fs
      "${bpull[@]}" --no-unpack "$REG/$img" >/dev/null || die "berth pull --no-unpack $img failed"
      cmd=("${bpull[@]}" "$REG/$img") ;;
    tar)
      "$LIB/freshfs.sh" mount "$fs" "$FS_SIZE"; dir=$fs
      # shellcheck disable=SC2016  # expanded by the inner bash
      cmd=(bash -c 'LAYERS_STR=$3; declare -A LAYERS=(["$2"]="$LAYERS_STR"); STORAGE=$4; tar_layers "$1" "$2"'
           _ "$fs/x" "$img" "${LAYERS[$img]}" "$STORAGE") ;;
  esac
  sync
  [[ -n $pid ]] && c0=$(ticks "$pid")
  t0=$(date +%s.%N)
  /usr/bin/time -f '%M %U %S' -o "$work/time.out" "${cmd[@]}" >"$work/cmd.log" 2>&1 ||
    { tail -5 "$work/cmd.log" >&2; die "failed: ${cmd[*]}"; }
  t1=$(date +%s.%N)
  [[ -n $pid ]] && c1=$(ticks "$pid")
  s0=$(date +%s.%N); sync -f "$dir"; s1=$(date +%s.%N)
  read -r rss u s < <(tail -1 "$work/time.out")
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  cpu=$(awk -v u="$u" -v s="$s" -v d=$((c1 - c0)) -v hz="$HZ" 'BEGIN { printf "%.2f", u + s + d / hz }')
  echo "$img,$kind,$r,$wall,$rss,$cpu,$(awk -v a="$s0" -v b="$s1" 'BEGIN { printf "%.3f", b - a }')" >>"$raw"
  log "$img $kind run $r: ${wall} s, peak RSS $((rss / 1024)) MiB, CPU $cpu s"
  if [[ $kind == ctr ]]; then "$LIB/containerd.sh" clean "$ctrd" >/dev/null
  else "$LIB/freshfs.sh" umount "$fs"; fi
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
date_start=$(date -u +%Y-%m-%dT%H:%M:%SZ)
echo "image,kind,run,wall_s,peak_rss_kib,cpu_s,sync_after_s" >"$raw"
for img in "${IMAGES[@]}"; do
  for ((r = 1; r <= N; r++)); do
    for kind in berth ctr berth-unpack tar; do run_one "$kind" "$img" "$r"; done
  done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
date_end=$(date -u +%Y-%m-%dT%H:%M:%SZ)

label() { case $1 in berth) echo "berth pull (fetch+unpack)" ;; ctr) echo "ctr images pull (fetch+unpack)" ;;
                     berth-unpack) echo "berth pull, blobs stored (unpack only)" ;; tar) echo "tar -x of each layer" ;; esac; }
declare -A M RSS

echo
echo "Pull + unpack: $N runs per tool and image, fresh ext4 loop fs ($FS_SIZE) per run, warm registry cache."
echo "$(nproc) cores, kernel $(uname -r), $date_start .. $date_end; load avg at start $load_start, at end $load_end"
echo "berth: $(sha256sum "$berth" | cut -c1-12) (copy of $berth_src, git $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src tools snapshotter store registry 2>/dev/null || echo '+dirty'))"
echo
echo "| image | tool | median s | min s | max s | CPU s (median) | peak RSS MiB (max) | sync after s (median) |"
echo "|---|---|---|---|---|---|---|---|"
for img in "${IMAGES[@]}"; do
  for kind in berth ctr berth-unpack tar; do
    M[$img,$kind]=$(col "$img" "$kind" 4 | med)
    RSS[$img,$kind]=$(col "$img" "$kind" 5 | mx)
    printf '| %s | %s | %.2f | %.2f | %.2f | %.2f | %.1f%s | %.2f |\n' "$img" "$(label $kind)" \
      "${M[$img,$kind]}" "$(col "$img" "$kind" 4 | mn)" "$(col "$img" "$kind" 4 | mx)" \
      "$(col "$img" "$kind" 6 | med)" "$(awk -v k="${RSS[$img,$kind]}" 'BEGIN { print k / 1024 }')" \
      "$([[ $kind == ctr ]] && echo ' (client)')" "$(col "$img" "$kind" 7 | med)"
  done
done

echo
echo "| image | berth / containerd (pull) | berth unpack / tar | berth peak RSS (pull) | targets (≤ 0.25× containerd, ≤ 128 MiB) |"
echo "|---|---|---|---|---|"
fails=0
for img in "${IMAGES[@]}"; do
  rc=$(awk -v a="${M[$img,berth]}" -v b="${M[$img,ctr]}" 'BEGIN { printf "%.2f", a / b }')
  rt=$(awk -v a="${M[$img,berth-unpack]}" -v b="${M[$img,tar]}" 'BEGIN { printf "%.2f", a / b }')
  rssk=${RSS[$img,berth]}
  [[ ${RSS[$img,berth-unpack]} -gt $rssk ]] && rssk=${RSS[$img,berth-unpack]}
  rss=$(awk -v k="$rssk" 'BEGIN { printf "%.1f", k / 1024 }')
  verdict=()
  if awk -v r="$rc" 'BEGIN { exit !(r <= 0.25) }'; then verdict+=("time: yes"); else verdict+=("time: NO"); fails=$((fails + 1)); fi
  if ((rssk <= 131072)); then verdict+=("RSS: yes"); else verdict+=("RSS: NO"); fails=$((fails + 1)); fi
  joined=$(printf '%s; ' "${verdict[@]}")
  echo "| $img | ${rc}× | ${rt}× | $rss MiB | ${joined%; } |"
done
echo
echo "Per-run wall seconds (berth / ctr / berth unpack only / tar):"
for img in "${IMAGES[@]}"; do
  for ((r = 1; r <= N; r++)); do
    printf '%s run %d: %s / %s / %s / %s\n' "$img" "$r" \
      "$(awk -F, -v i="$img" -v r="$r" '$1 == i && $2 == "berth" && $3 == r { print $4 }' "$raw")" \
      "$(awk -F, -v i="$img" -v r="$r" '$1 == i && $2 == "ctr" && $3 == r { print $4 }' "$raw")" \
      "$(awk -F, -v i="$img" -v r="$r" '$1 == i && $2 == "berth-unpack" && $3 == r { print $4 }' "$raw")" \
      "$(awk -F, -v i="$img" -v r="$r" '$1 == i && $2 == "tar" && $3 == r { print $4 }' "$raw")"
  done
done
echo
echo "targets missed: $fails   (raw: $raw)"

if [[ ${PROFILE:-} == 1 ]] && command -v strace >/dev/null; then
  for img in "${IMAGES[@]}"; do
    out=$work/strace-${img//[\/:]/_}.txt
    "$LIB/freshfs.sh" mount "$fs" "$FS_SIZE"
    strace -c -f -o "$out" "$berth" --root "$fs/root" pull --plain-http --progress quiet \
      --platform linux/amd64 "$REG/$img" >/dev/null
    "$LIB/freshfs.sh" umount "$fs"
    echo "strace -c -f of berth pull $img: $out (top 8 by time)"
    sed -n '1,10p' "$out"
  done
fi
