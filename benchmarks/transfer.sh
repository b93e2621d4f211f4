#!/usr/bin/env bash
# Import and export of a 1 GiB image archive (bench/big:1, 4 gzip layers, as an
# OCI archive written by skopeo), each run on a fresh journaled ext4:
#   import: berth import --no-unpack ARCHIVE      vs  skopeo copy oci-archive:ARCHIVE oci:FS/layout
#           and vs sha256sum ARCHIVE (reading and hashing the bytes, nothing written)
#   export: berth export -o FS/out.tar            vs  skopeo copy oci:FS/layout oci-archive:FS/out.tar
#           (the store / layout it exports from is made on the same fs first, untimed)
# Prints medians of N runs, peak RSS, and the ratios (targets: import <= 1.5x sha256sum,
# <= 0.5x skopeo). Wall time with date +%s.%N around the command; RSS from /usr/bin/time.
#
#   sudo benchmarks/transfer.sh [N]      (root for the loop mounts; ~1 min per round)
# The archive comes from the peers' layout /tmp/peers/oci (tag big-1); without it,
# a deterministic 1 GiB image (AES-CTR keystream layers) is made with openssl + python3.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-3}
LIB=$PWD/benchmarks/lib
work=${WORK:-/tmp/berth-bench/transfer}
fs=$work/fs
archive=$work/big.oci.tar
mkdir -p "$work"
# The binary is copied: others may rebuild build/ while this runs.
cp "${BERTH:-./build/tools/berth}" "$work/berth"
berth=$work/berth
trap '"$LIB/freshfs.sh" umount "$fs" 2>/dev/null || true' EXIT

if [[ ! -s $archive ]]; then
  if [[ -f /tmp/peers/oci/index.json ]] && skopeo inspect --raw oci:/tmp/peers/oci:big-1 >/dev/null 2>&1; then
    echo "making $archive from oci:/tmp/peers/oci:big-1" >&2
    skopeo copy -q --preserve-digests oci:/tmp/peers/oci:big-1 "oci-archive:$archive:bench/big:1"
  else
    echo "making $archive: 4 x 256 MiB layers of AES-CTR keystream" >&2
    python3 - "$work/gen" <<'PY'
import hashlib, io, json, os, subprocess, sys, tarfile
out = sys.argv[1]
os.makedirs(out + "/blobs/sha256", exist_ok=True)
def put(data):
    d = hashlib.sha256(data).hexdigest()
    open(f"{out}/blobs/sha256/{d}", "wb").write(data)
    return {"digest": "sha256:" + d, "size": len(data)}
layers, diffs = [], []
for i in range(4):
    keystream = subprocess.Popen(["openssl", "enc", "-aes-256-ctr", "-nosalt", "-pbkdf2", "-pass", f"pass:berth-{i}",
                                  "-in", "/dev/zero"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    data = keystream.stdout.read((256 << 20) - 4096)  # + tar headers: 4 layers of 256 MiB
    keystream.kill()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        info = tarfile.TarInfo(f"data/{i}.bin"); info.size = len(data); info.mtime = 0
        t.addfile(info, io.BytesIO(data))
    tar = buf.getvalue()
    diffs.append("sha256:" + hashlib.sha256(tar).hexdigest())
    layers.append(dict(mediaType="application/vnd.oci.image.layer.v1.tar", **put(tar)))
config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diffs}}).encode()
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": dict(mediaType="application/vnd.oci.image.config.v1+json", **put(config)),
                       "layers": layers}).encode()
m = put(manifest)
open(out + "/index.json", "w").write(json.dumps({"schemaVersion": 2, "manifests": [dict(
    mediaType="application/vnd.oci.image.manifest.v1+json", annotations={"org.opencontainers.image.ref.name": "big-1"}, **m)]}))
open(out + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
PY
    skopeo copy -q --preserve-digests "oci:$work/gen:big-1" "oci-archive:$archive:bench/big:1"
    rm -rf "$work/gen"
  fi
fi
size=$(stat -c %s "$archive")
name=docker.io/bench/big:1

# time_it CMD...: wall seconds of CMD (after an untimed $prepare), on a fresh fs at $fs.
prepare=
time_it() {
  "$LIB/freshfs.sh" mount "$fs" 6G
  mkdir -p "$fs/tmp"
  if [[ -n $prepare ]]; then eval "$prepare" >/dev/null; fi
  cat "$archive" >/dev/null  # the archive is read from the page cache by every tool
  sync
  sleep 2  # let write-back of the previous run settle
  local t0 t1
  t0=$(date +%s.%N)
  TMPDIR=$fs/tmp /usr/bin/time -f %M -a -o "$work/rss-$current" "$@" >/dev/null 2>&1
  t1=$(date +%s.%N)
  "$LIB/freshfs.sh" umount "$fs"
  echo "$t1 - $t0" | bc -l
}

run_tool() {
  current=$1
  prepare=
  case $1 in
    sha256sum) time_it sha256sum "$archive" ;;
    berth-import) time_it "$berth" --root "$fs/root" import --no-unpack "$archive" ;;
    skopeo-import) time_it skopeo copy -q --preserve-digests "oci-archive:$archive" "oci:$fs/layout:big-1" ;;
    berth-export)
      prepare="'$berth' --root '$fs/root' import --no-unpack '$archive'"
      time_it "$berth" --root "$fs/root" export "$name" -o "$fs/out.tar" ;;
    skopeo-export)
      prepare="skopeo copy -q --preserve-digests 'oci-archive:$archive' 'oci:$fs/layout:big-1'"
      time_it skopeo copy -q --preserve-digests "oci:$fs/layout:big-1" "oci-archive:$fs/out.tar:bench/big:1" ;;
  esac
}

tools=(sha256sum berth-import skopeo-import berth-export skopeo-export)
for t in "${tools[@]}"; do rm -f "$work/rss-$t"; done
declare -A runs
for i in $(seq "$N"); do
  # Rotate the order so no tool always follows the same one.
  for ((k = 0; k < ${#tools[@]}; k++)); do
    t=${tools[$(( (k + i - 1) % ${#tools[@]} ))]}
    runs[$t]+="$(run_tool "$t") "
  done
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -A med
printf '%-20s %8s %8s %8s %14s\n' "$(printf '%s MiB, %d runs' $((size >> 20)) "$N")" median min max "peak RSS MiB"
for t in "${tools[@]}"; do
  med[$t]=$(echo "${runs[$t]}" | median)
  printf '%-20s %8.2f %8.2f %8.2f %14.1f\n' "$t" "${med[$t]}" \
    "$(echo "${runs[$t]}" | tr ' ' '\n' | grep . | sort -g | head -1)" \
    "$(echo "${runs[$t]}" | tr ' ' '\n' | grep . | sort -g | tail -1)" \
    "$(sort -g "$work/rss-$t" | tail -1 | awk '{print $1 / 1024}')"
done
ratio() { echo "${med[$1]} / ${med[$2]}" | bc -l; }
printf 'import: %.2fx sha256sum (target <= 1.5), %.2fx skopeo (target <= 0.5)\n' \
  "$(ratio berth-import sha256sum)" "$(ratio berth-import skopeo-import)"
printf 'export: %.2fx skopeo, %.2fx sha256sum\n' "$(ratio berth-export skopeo-export)" "$(ratio berth-export sha256sum)"
