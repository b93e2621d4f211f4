#!/usr/bin/env bash
# A private containerd (Debian's 1.6) for benchmarks: own config, root, state and socket
# under BASE, so it never touches a system containerd or another benchmark's instance.
# Adapted from the peer harness (shared/peers/containerd.sh).
#
# Usage: containerd.sh start|stop|status|fresh|clean BASE
#   start  write BASE/config.toml, start containerd (root BASE/root, state BASE/state,
#          grpc socket BASE/containerd.sock), wait until `ctr version` answers
#   fresh  stop; unmount + delete root and state; new root; start
#   clean  stop; unmount + delete root and state
# CTRD_FS=loop (default): BASE/root is a fresh journaled ext4 loop fs (freshfs.sh, size
#   CTRD_FS_SIZE, default 4G), re-created by "fresh"; CTRD_FS=dir: plain dir (rm -rf).
# Client: ctr --address BASE/containerd.sock ...
# The daemon is started with setsid, its pid in BASE/containerd.pid; stop kills that pid only.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
cmd=${1:-} BASE=${2:-}
[[ -n $cmd && -n $BASE ]] || { echo "usage: $0 start|stop|status|fresh|clean BASE" >&2; exit 2; }
BASE=$(realpath -m "$BASE")
FS=${CTRD_FS:-loop}
SOCK=$BASE/containerd.sock
PIDFILE=$BASE/containerd.pid
CONF=$BASE/config.toml
LOG=$BASE/containerd.log

running() { [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

start() {
  if running; then echo "containerd already running (pid $(cat "$PIDFILE"))"; return 0; fi
  mkdir -p "$BASE/root" "$BASE/state" "$BASE/opt"
  if [[ $FS == loop ]] && ! mountpoint -q "$BASE/root"; then
    "$HERE/freshfs.sh" mount "$BASE/root" "${CTRD_FS_SIZE:-4G}"
  fi
  cat >"$CONF" <<EOF
version = 2
root = "$BASE/root"
state = "$BASE/state"
# CRI needs CNI/kubelet; the other snapshotters only log errors here.
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  address = "$BASE/debug.sock"
  level = "warn"
[metrics]
  address = ""

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "$BASE/opt"
  [plugins."io.containerd.snapshotter.v1.overlayfs"]
    root_path = "$BASE/root/io.containerd.snapshotter.v1.overlayfs"
EOF
  setsid containerd --config "$CONF" >>"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 100); do
    if ctr --address "$SOCK" version >/dev/null 2>&1; then
      echo "containerd up (pid $(cat "$PIDFILE"), socket $SOCK)"; return 0
    fi
    running || { echo "containerd died, see $LOG" >&2; tail -20 "$LOG" >&2; exit 1; }
    sleep 0.1
  done
  echo "containerd did not answer on $SOCK in 10 s, see $LOG" >&2; exit 1
}

stop() {
  if running; then
    local pid; pid=$(cat "$PIDFILE")
    kill "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    echo "containerd stopped (pid $pid)"
  else
    echo "containerd not running"
  fi
  rm -f "$PIDFILE"
}

wipe() {  # unmount whatever is mounted below BASE (deepest first), remove root + state
  findmnt -rn -o TARGET | awk -v b="$BASE/" 'index($0, b) == 1' | sort -r |
    while read -r m; do umount "$m"; done
  if [[ $FS == loop ]]; then "$HERE/freshfs.sh" umount "$BASE/root"; fi
  rm -rf "$BASE/state" "$BASE/root" "$BASE/opt"
}

case $cmd in
  start) start ;;
  stop) stop ;;
  fresh) stop >/dev/null; wipe; start >/dev/null ;;
  clean) stop; wipe ;;
  status) if running; then echo "running pid $(cat "$PIDFILE")"; else echo stopped; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status|fresh|clean BASE" >&2; exit 2 ;;
esac
