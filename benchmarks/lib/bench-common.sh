# Sourced by pull.sh and unpack.sh: what both benchmarks do the same way.
# Expects LIB, REG, fs and ctrd to be set by the sourcing script.

# Removes what a run left (containerd, the loop fs, a registry we started)
# on any exit.
started_registry=
cleanup() {
  set +e
  "$LIB/containerd.sh" clean "$ctrd" >/dev/null 2>&1
  "$LIB/freshfs.sh" umount "$fs" 2>/dev/null
  rmdir "$fs" 2>/dev/null
  if [[ -n $started_registry ]]; then "$LIB/registry.sh" stop >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The peers' registry: used if it answers, else started (and stopped at exit).
ensure_registry() {
  if ! curl -sf "http://$REG/v2/" >/dev/null; then
    REGISTRY_ADDR=$REG "$LIB/registry.sh" start >&2
    started_registry=1
  fi
}

accept='application/vnd.oci.image.index.v1+json,application/vnd.oci.image.manifest.v1+json'
accept+=',application/vnd.docker.distribution.manifest.v2+json,application/vnd.docker.distribution.manifest.list.v2+json'
# manifest_json IMAGE: the linux/amd64 image manifest (resolving an index)
manifest_json() {
  local repo=${1%:*} tag=${1##*:} m d
  m=$(curl -sf -H "Accept: $accept" "http://$REG/v2/$repo/manifests/$tag") || return 1
  if jq -e '.manifests' <<<"$m" >/dev/null; then
    d=$(jq -r '[.manifests[] | select(.platform.os == "linux" and .platform.architecture == "amd64")][0].digest' <<<"$m")
    m=$(curl -sf -H "Accept: $accept" "http://$REG/v2/$repo/manifests/$d") || return 1
  fi
  echo "$m"
}

ticks() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat"; }  # user+sys, self + waited children

# Columns of the raw CSV ($raw) and order statistics over them.
col() { awk -F, -v i="$1" -v t="$2" -v f="$3" '$1 == i && $2 == t { print $f }' "$raw"; }
med() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
mn() { sort -g | head -1; }
mx() { sort -g | tail -1; }
