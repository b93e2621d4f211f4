#!/usr/bin/env bash
# Fetch-only pull benchmark: Berth vs skopeo vs containerd, from the peer registry on loopback.
#
#   berth  --root FS/root pull --no-unpack --plain-http --progress quiet --platform linux/amd64 REG/IMAGE
#   skopeo copy -q --src-tls-verify=false docker://REG/IMAGE oci:FS/oci:bench
#   ctr    --address SOCK content fetch --plain-http --platform linux/amd64 REG/IMAGE
#          (Debian's containerd 1.6, a private instance with its own socket; fetches and
#           verifies every blob of the image into its content store, no unpacking)
#
# Every run of every tool writes into a fresh journaled ext4 loop fs (lib/freshfs.sh; for
# containerd that fs is its root, re-created with a restart before each run). Runs are
# interleaved (run r: berth, skopeo, ctr) so background load hits all tools alike.
# The registry's blobs are read once before measuring, so all tools see a warm page cache.
# Wall time: date +%s.%N around the command; peak RSS and user+sys CPU: /usr/bin/time
# (for ctr the CPU column adds the containerd daemon's CPU delta; its RSS is the client's only).
# "sync s" = time of a `sync -f` on the target fs right after the tool exits (not in wall):
# how much written data the tool left unflushed.
#
#   sudo benchmarks/pull.sh [N]          N runs per tool and image (default 3)
#
# Env: IMAGES="bench/debian:12 bench/big:1" (also bench/debian:12-zstd, bench/small-files:1,
#      bench/multiarch:1), BERTH=./build/tools/berth, WORK=/tmp/berth-bench/pull,
#      FS_SIZE=4G, REGISTRY_ADDR=127.0.0.1:5000.
# Needs: root (loop mounts), skopeo, containerd + ctr, docker-registry, curl, jq, /usr/bin/time.
# Registry: started with lib/registry.sh if nothing answers on REGISTRY_ADDR (and stopped again
# at the end); a running one is left alone. The images come from benchmarks/lib/make-images.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
LIB=$PWD/benchmarks/lib
N=${1:-3}
REG=${REGISTRY_ADDR:-127.0.0.1:5000}
read -r -a IMAGES <<<"${IMAGES:-bench/debian:12 bench/big:1}"
work=${WORK:-/tmp/berth-bench/pull}
FS_SIZE=${FS_SIZE:-4G}
berth_src=${BERTH:-./build/tools/berth}
fs=$work/fs
ctrd=$work/containerd
sock=$ctrd/containerd.sock
raw=$work/pull.csv
HZ=$(getconf CLK_TCK)
log() { echo "== $(date +%T) $*" >&2; }
die() { echo "pull.sh: $*" >&2; exit 1; }

[[ $EUID == 0 ]] || die "needs root (loop mounts, containerd): sudo $0 $*"
[[ $N =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer"
for t in skopeo ctr containerd curl jq /usr/bin/time mkfs.ext4; do
  command -v "$t" >/dev/null || die "missing $t (apt-get install skopeo containerd curl jq time e2fsprogs)"
done
[[ -x $berth_src ]] || die "no berth binary at $berth_src (cmake --build build --target berth)"
mkdir -p "$work"
# A private copy: the build tree may be rebuilt while we measure.
berth=$work/berth
cp "$berth_src" "$berth"

. "$LIB/bench-common.sh"
ensure_registry


log "warming the registry's blobs in the page cache"
declare -A SIZE
for img in "${IMAGES[@]}"; do
  m=$(manifest_json "$img") ||
    die "$img not in the registry at $REG (build the images: benchmarks/lib/make-images.sh)"
  SIZE[$img]=$(jq '[.config.size] + [.layers[].size] | add' <<<"$m")
  for d in $(jq -r '.config.digest, .layers[].digest' <<<"$m"); do
    curl -sf -o /dev/null "http://$REG/v2/${img%:*}/blobs/$d" || die "cannot read blob $d of $img"
  done
done


# run_one TOOL IMAGE RUN: one measured run on a fresh fs; appends a CSV row
run_one() {
  local tool=$1 img=$2 r=$3 dir c0=0 c1=0 pid= t0 t1 s0 s1 wall rss u s cpu disk cmd
  case $tool in
    berth)
      "$LIB/freshfs.sh" mount "$fs" "$FS_SIZE"; dir=$fs
      cmd=("$berth" --root "$fs/root" pull --no-unpack --plain-http --progress quiet
           --platform linux/amd64 "$REG/$img") ;;
    skopeo)
      "$LIB/freshfs.sh" mount "$fs" "$FS_SIZE"; dir=$fs
      cmd=(skopeo copy -q --src-tls-verify=false "docker://$REG/$img" "oci:$fs/oci:bench") ;;
    ctr)
      CTRD_FS_SIZE=$FS_SIZE "$LIB/containerd.sh" fresh "$ctrd"; dir=$ctrd/root
      pid=$(cat "$ctrd/containerd.pid")
      cmd=(ctr --address "$sock" content fetch --plain-http --platform linux/amd64 "$REG/$img") ;;
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
  disk=$(du -sb "$dir" | cut -f1)
  echo "$img,$tool,$r,$wall,$rss,$cpu,$(awk -v a="$s0" -v b="$s1" 'BEGIN { printf "%.3f", b - a }'),$disk" >>"$raw"
  log "$img $tool run $r: ${wall} s, peak RSS $((rss / 1024)) MiB, CPU $cpu s"
  if [[ $tool == ctr ]]; then "$LIB/containerd.sh" clean "$ctrd" >/dev/null
  else "$LIB/freshfs.sh" umount "$fs"; fi
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
date_start=$(date -u +%Y-%m-%dT%H:%M:%SZ)
echo "image,tool,run,wall_s,peak_rss_kib,cpu_s,sync_after_s,bytes_on_disk" >"$raw"
for img in "${IMAGES[@]}"; do
  for ((r = 1; r <= N; r++)); do
    for tool in berth skopeo ctr; do run_one "$tool" "$img" "$r"; done
  done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# col IMAGE TOOL FIELD -> the values, one a line
declare -A M RSS
label() { case $1 in berth) echo "berth pull --no-unpack" ;; skopeo) echo "skopeo copy" ;;
                     ctr) echo "ctr content fetch" ;; esac; }

echo
echo "Pull, fetch only: $N runs per tool, fresh ext4 loop fs per run, warm registry cache."
echo "$(nproc) cores, kernel $(uname -r), $date_start; load avg at start $load_start, at end $load_end"
echo "berth: $(sha256sum "$berth" | cut -c1-12) (copy of $berth_src, git $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src include tools 2>/dev/null || echo '+dirty'))"
echo
echo "| image | tool | median s | min s | max s | MiB/s (median) | CPU s (median) | peak RSS MiB (max) | sync after s (median) | on disk MiB |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for img in "${IMAGES[@]}"; do
  for tool in berth skopeo ctr; do
    M[$img,$tool]=$(col "$img" "$tool" 4 | med)
    RSS[$img,$tool]=$(col "$img" "$tool" 5 | mx)
    printf '| %s | %s | %.2f | %.2f | %.2f | %.0f | %.2f | %.1f%s | %.2f | %.0f |\n' "$img" "$(label $tool)" \
      "${M[$img,$tool]}" "$(col "$img" "$tool" 4 | mn)" "$(col "$img" "$tool" 4 | mx)" \
      "$(awk -v b="${SIZE[$img]}" -v s="${M[$img,$tool]}" 'BEGIN { print b / 1048576 / s }')" \
      "$(col "$img" "$tool" 6 | med)" "$(awk -v k="${RSS[$img,$tool]}" 'BEGIN { print k / 1024 }')" \
      "$([[ $tool == ctr ]] && echo ' (client)')" "$(col "$img" "$tool" 7 | med)" \
      "$(col "$img" "$tool" 8 | tail -1 | awk '{ print $1 / 1048576 }')"
  done
done

echo
echo "| image | berth / skopeo | berth / containerd | berth peak RSS | targets |"
echo "|---|---|---|---|---|"
fails=0
for img in "${IMAGES[@]}"; do
  rs=$(awk -v a="${M[$img,berth]}" -v b="${M[$img,skopeo]}" 'BEGIN { printf "%.2f", a / b }')
  rc=$(awk -v a="${M[$img,berth]}" -v b="${M[$img,ctr]}" 'BEGIN { printf "%.2f", a / b }')
  rss=$(awk -v k="${RSS[$img,berth]}" 'BEGIN { printf "%.1f", k / 1024 }')
  goal=
  case $img in
    bench/big:1) goal=0.5 ;;
    bench/debian:12) goal=0.8 ;;
  esac
  verdict=()
  if [[ -n $goal ]]; then
    if awk -v r="$rs" -v g="$goal" 'BEGIN { exit !(r <= g) }'; then verdict+=("≤${goal}× skopeo: yes")
    else verdict+=("≤${goal}× skopeo: NO"); fails=$((fails + 1)); fi
    if awk -v r="$rc" 'BEGIN { exit !(r < 1) }'; then verdict+=("< containerd: yes")
    else verdict+=("< containerd: NO"); fails=$((fails + 1)); fi
  fi
  if awk -v k="${RSS[$img,berth]}" 'BEGIN { exit !(k <= 65536) }'; then verdict+=("RSS ≤ 64 MiB: yes")
  else verdict+=("RSS ≤ 64 MiB: NO"); fails=$((fails + 1)); fi
  joined=$(printf '%s; ' "${verdict[@]}")
  echo "| $img | ${rs}× | ${rc}× | $rss MiB | ${joined%; } |"
done
echo
echo "targets missed: $fails   (raw: $raw)"
