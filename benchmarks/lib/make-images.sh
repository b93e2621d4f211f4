#!/usr/bin/env bash
# Copy of shared/peers/make-images.sh (with oci-lib.sh and image-info.sh beside it) with two changes: mirror_url no longer aborts the
# script (exit 2, silently) when /etc/apt/sources.list does not exist (set -o pipefail
# saw grep's failure), and the tools it needs (debootstrap, jq) are installed first.
# Build deterministic test images as OCI layouts and push them to the peer registry.
# Usage: make-images.sh [debian] [zstd] [big] [small] [multiarch]   (default: all)
# Needs: registry.sh start. Rebuilds reuse the cached debootstrap rootfs, so reruns give
# the same bytes; FRESH_ROOTFS=1 re-runs debootstrap (new rootfs => new digests).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/oci-lib.sh"
REG=${REGISTRY_ADDR:-127.0.0.1:5000}
TOP=${PEERS_TMP:-/tmp/peers}
WORK=$TOP/build              # scratch
OCI=$TOP/oci                 # OCI layout holding all gzip images (tags: debian-12, big-1, ...)
OCIZ=$TOP/oci-zstd           # OCI layout for the zstd variant
ROOTFS=$TOP/cache/debian-rootfs
WHAT=("$@"); [[ ${#WHAT[@]} -gt 0 ]] || WHAT=(debian zstd big small multiarch)
want() { [[ " ${WHAT[*]} " == *" $1 "* ]]; }
log() { echo "== $(date +%T) $*" >&2; }

for tool in debootstrap jq skopeo; do
  command -v "$tool" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null
done
curl -sf "http://$REG/v2/" >/dev/null || { echo "registry not up on $REG (run registry.sh start)" >&2; exit 1; }
mkdir -p "$WORK" "$TOP/cache"; oci_init "$OCI"

push() {  # push OCI_REF REPO:TAG [skopeo args]
  local src=$1 dst=$2; shift 2
  log "push $src -> $REG/$dst"
  skopeo copy -q --preserve-digests --dest-tls-verify=false "$@" "$src" "docker://$REG/$dst"
}

mirror_url() {  # first Debian URI from apt sources (deb822 or one-line format)
  { grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'
    grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}'; } |
    grep -v security | head -1 || true
}

fallback_rootfs() {  # when debootstrap fails: copy the files of some essential host packages
  local dir=$1 p
  mkdir -p "$dir"/usr/{bin,sbin,lib,lib64} "$dir/etc"
  for d in bin sbin lib lib64; do [[ -L /$d ]] && cp -a "/$d" "$dir/"; done
  for p in base-files base-passwd libc6 libc-bin dash bash coreutils grep sed findutils \
           debianutils gzip tar apt dpkg libtinfo6 libselinux1 libpcre2-8-0 libacl1 libattr1 \
           libgmp10 libcrypt1 libzstd1 liblzma5 libbz2-1.0 libmd0 zlib1g libgcc-s1 libstdc++6; do
    dpkg -L "$p" 2>/dev/null | while read -r f; do
      [[ -e $f && ! -d $f ]] || [[ -L $f ]] || continue
      cp -a --parents "$f" "$dir/" 2>/dev/null || true
    done
  done
  cp -a /etc/passwd /etc/group "$dir/etc/"
  echo "FALLBACK rootfs from host packages (debootstrap failed)" >"$dir/etc/bench-fallback"
}

get_rootfs() {
  [[ -n ${FRESH_ROOTFS:-} ]] && rm -rf "$ROOTFS"
  [[ -d $ROOTFS ]] && { log "reusing cached rootfs $ROOTFS"; return; }
  local mirror; mirror=$(mirror_url)
  log "debootstrap --variant=minbase bookworm ($mirror)"
  rm -rf "$ROOTFS.tmp"
  if debootstrap --variant=minbase bookworm "$ROOTFS.tmp" "$mirror" >"$WORK/debootstrap.log" 2>&1; then
    mv "$ROOTFS.tmp" "$ROOTFS"
  else
    echo "WARNING: debootstrap failed (see $WORK/debootstrap.log); falling back to host files" >&2
    tail -5 "$WORK/debootstrap.log" >&2
    rm -rf "$ROOTFS.tmp"; fallback_rootfs "$ROOTFS"
  fi
}

# Layer 3 of bench/debian:12: modifications, whiteouts and one opaque dir.
stage_layer3() {
  local S=$1 R=$ROOTFS
  rm -rf "$S"; mkdir -p "$S"
  mkparents() {  # recreate parent dirs of $1 in $S with the rootfs' owner/mode
    local d; d=$(dirname "$1"); [[ $d == . || -d $S/$d ]] && return 0
    mkparents "$d"; mkdir -m 0755 "$S/$d"
    [[ -d $R/$d ]] || return 0        # new dir: root 0755
    chown --reference="$R/$d" "$S/$d"; chmod --reference="$R/$d" "$S/$d"
  }
  put() { mkparents "$1"; cat >"$S/$1"; chmod "${2:-0644}" "$S/$1"; }   # put PATH [MODE] <content
  whiteout() { mkparents "$1"; : >"$S/$(dirname "$1")/.wh.$(basename "$1")"; }
  # modified files
  mkparents etc/bash.bashrc; cp -a "$R/etc/bash.bashrc" "$S/etc/bash.bashrc"
  echo "alias ll='ls -l'" >>"$S/etc/bash.bashrc"
  echo "bench-debian" | put etc/hostname
  printf 'bench/debian:12 test image (layer 3 of 3)\n' | put etc/motd
  # new files, a symlink, a long (>100 char) path and a file with a user xattr (PAX records)
  printf 'APT::Keep-Downloaded-Packages "false";\n' | put etc/apt/apt.conf.d/docker-clean
  printf 'image=bench/debian:12\nlayer=3\n' | put etc/bench-image
  printf '#!/bin/sh\necho hello from bench\n' | put usr/local/bin/bench-hello 0755
  ln -s bench-hello "$S/usr/local/bin/hello"
  local long=usr/local/share/bench/a-directory-with-a-rather-long-name-to-need-pax-or-gnu-long-names/and-a-file-name-that-is-long-too.txt
  echo "long name" | put "$long"
  echo "has xattr" | put usr/local/share/bench/xattr.txt
  python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.bench", b"1")' "$S/usr/local/share/bench/xattr.txt"
  # deletions: whole dirs from layer 2, single files from layer 1
  whiteout usr/share/info
  whiteout usr/share/doc/apt
  whiteout etc/cron.daily/apt-compat
  whiteout var/log/bootstrap.log
  # opaque dir: /usr/share/locale keeps only de/ (like localepurge)
  mkparents usr/share/locale/.wh..wh..opq
  : >"$S/usr/share/locale/.wh..wh..opq"
  cp -a "$R/usr/share/locale/de" "$S/usr/share/locale/de"
}

build_debian() {
  get_rootfs
  reset_image
  local list
  list=$WORK/list0
  log "debian layer 1: base system"
  # Excluded like the official image does: device nodes, apt lists and caches.
  (cd "$ROOTFS" && find . -mindepth 1 \
      \( -path './dev/*' -o -path './proc/*' -o -path './sys/*' -o -path './var/lib/apt/lists/*_*' \
         -o -path './var/cache/apt/*.bin' -o -path './var/cache/apt/archives/*.deb' \) -prune -o \
      \( -path ./usr/share/doc -o -path ./usr/share/locale -o -path ./usr/share/man \
         -o -path ./usr/share/info \) -prune -o -print0 | sed -z 's|^\./||' | LC_ALL=C sort -z) >"$list"
  tar_list "$ROOTFS" "$WORK/l1.tar" "$list" --format=gnu
  add_layer "$OCI" "$WORK/l1.tar" "debootstrap --variant=minbase bookworm (base system)"
  log "debian layer 2: /usr/share docs + locale"
  (cd "$ROOTFS" && { printf 'usr\0usr/share\0'
     find usr/share/doc usr/share/locale usr/share/man usr/share/info -print0 2>/dev/null; } |
     LC_ALL=C sort -z) >"$list"
  tar_list "$ROOTFS" "$WORK/l2.tar" "$list" --format=gnu
  add_layer "$OCI" "$WORK/l2.tar" "debootstrap (usr/share/doc, locale, man, info)"
  log "debian layer 3: modifications, whiteouts, opaque dir (PAX format, xattr)"
  stage_layer3 "$WORK/l3"
  tar_tree "$WORK/l3" "$WORK/l3.tar" --format=posix --xattrs --xattrs-include='user.*' \
      --pax-option='exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime'
  add_layer "$OCI" "$WORK/l3.tar" "modify /etc, delete docs (.wh.), purge locales (.wh..wh..opq)"
  write_image "$OCI" amd64 '["bash"]'
  oci_tag "$OCI" debian-12 "$MANIFEST_DESC"
  DEBIAN_AMD64_DESC=$MANIFEST_DESC
  DEB_LAYERS=("${LAYERS[@]}") DEB_DIFFIDS=("${DIFFIDS[@]}") DEB_HISTORY=("${HISTORY[@]}")
  push "oci:$OCI:debian-12" bench/debian:12
}

build_zstd() {
  log "zstd variant via skopeo --dest-compress-format zstd"
  rm -rf "$OCIZ"
  skopeo copy -q --dest-compress-format zstd "oci:$OCI:debian-12" "oci:$OCIZ:debian-12-zstd"
  jq -e '[.layers[].mediaType] | all(. == "application/vnd.oci.image.layer.v1.tar+zstd")' \
     "$OCIZ/blobs/sha256/$(jq -r '.manifests[0].digest' "$OCIZ/index.json" | cut -d: -f2)" >/dev/null \
     || { echo "skopeo did not produce zstd layers" >&2; exit 1; }
  push "oci:$OCIZ:debian-12-zstd" bench/debian:12-zstd
}

build_big() {  # 4 layers, 1 GiB of incompressible data: 1x256M, 4x64M, 16x16M, 64x4M
  reset_image
  local i j n size d
  for i in 1 2 3 4; do
    n=$((1 << (2 * (i - 1)))); size=$((256 / n))
    log "big layer $i: $n file(s) of $size MiB"
    d=$WORK/big$i; rm -rf "$d"; mkdir -p "$d/data/layer$i"
    for j in $(seq -w 1 "$n"); do
      head -c "$((size << 20))" /dev/zero |
        openssl enc -aes-256-ctr -nosalt -pbkdf2 -pass "pass:bench-big-$i-$j" >"$d/data/layer$i/blob-$j.bin"
    done
    chmod -R u=rwX,go=rX "$d"
    tar_tree "$d" "$WORK/big$i.tar" --format=gnu --owner=0 --group=0
    rm -rf "$d"
    add_layer "$OCI" "$WORK/big$i.tar" "add $n x $size MiB random files"
  done
  write_image "$OCI" amd64 '["/bin/sh"]'
  oci_tag "$OCI" big-1 "$MANIFEST_DESC"
  push "oci:$OCI:big-1" bench/big:1
}

build_small() {  # 2 layers x 50,000 files of 1-8 KiB in 5,000 nested dirs
  reset_image
  local i kind
  for i in 1 2; do
    kind=$([[ $i == 1 ]] && echo text || echo binary)
    log "small-files layer $i: 50000 $kind files"
    # on a throw-away fs: deleting 50k files on this VM's host fs slows later file creation
    "$HERE/freshfs.sh" mount "$WORK/small$i" 4G
    python3 - "$WORK/small$i" "$i" "$kind" <<'EOF'
import os, random, sys
root, seed, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rng = random.Random(seed)
words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz_") for _ in range(rng.randint(2, 10)))
         for _ in range(3000)]
pool = " ".join(rng.choice(words) + ("\n" if rng.random() < 0.1 else "") for _ in range(1500000)).encode()
n = 0
for a in range(100):
    for b in range(10):
        for c in range(5):
            d = os.path.join(root, f"layer{seed}", f"pkg{a:02d}", f"mod{b}", f"sub{c}")
            os.makedirs(d, mode=0o755, exist_ok=True)
            for _ in range(10):
                size = rng.randint(1024, 8192)
                if kind == "text":
                    off = rng.randrange(len(pool) - size)
                    data = pool[off:off + size]
                else:
                    data = rng.randbytes(size)
                p = os.path.join(d, f"f{n:06d}.{'txt' if kind == 'text' else 'bin'}")
                with open(p, "wb") as f:
                    f.write(data)
                os.chmod(p, 0o644)
                n += 1
EOF
    rmdir "$WORK/small$i/lost+found"; chmod -R u=rwX,go=rX "$WORK/small$i"
    # layer 1 as GNU tar, layer 2 as PAX, so both header flavours appear
    local fmt=(--format=gnu)
    [[ $i == 2 ]] && fmt=(--format=posix --pax-option='exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime')
    tar_tree "$WORK/small$i" "$WORK/small$i.tar" --owner=0 --group=0 "${fmt[@]}"
    "$HERE/freshfs.sh" umount "$WORK/small$i"; rmdir "$WORK/small$i"
    add_layer "$OCI" "$WORK/small$i.tar" "add 50000 $kind files"
  done
  write_image "$OCI" amd64 '["/bin/sh"]'
  oci_tag "$OCI" small-files-1 "$MANIFEST_DESC"
  push "oci:$OCI:small-files-1" bench/small-files:1
}

build_multiarch() {  # index: amd64 = bench/debian:12, arm64 = same layers, config says arm64/v8
  local amd arm
  [[ -n ${DEBIAN_AMD64_DESC:-} ]] || { echo "multiarch needs the debian step in the same run" >&2; exit 1; }
  amd=$(jq -c '. + {platform:{architecture:"amd64",os:"linux"}}' <<<"$DEBIAN_AMD64_DESC")
  LAYERS=("${DEB_LAYERS[@]}") DIFFIDS=("${DEB_DIFFIDS[@]}") HISTORY=("${DEB_HISTORY[@]}")
  write_image "$OCI" arm64 '["bash"]' v8
  arm=$(jq -c '. + {platform:{architecture:"arm64",os:"linux",variant:"v8"}}' <<<"$MANIFEST_DESC")
  write_index "$OCI" "$amd" "$arm"
  oci_tag "$OCI" multiarch-1 "$MANIFEST_DESC"
  push "oci:$OCI:multiarch-1" bench/multiarch:1 --all
}

if want debian || want multiarch; then build_debian; fi
if want zstd; then build_zstd; fi
if want big; then build_big; fi
if want small; then build_small; fi
if want multiarch; then build_multiarch; fi
rm -rf "$WORK/l3" "$WORK/list0"

log "image summary (from the registry)"
"$HERE/image-info.sh" bench/debian:12 bench/debian:12-zstd bench/big:1 bench/small-files:1 bench/multiarch:1
