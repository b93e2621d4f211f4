#!/usr/bin/env bash
# Peer: Debian's docker-registry (distribution 2.8) on 127.0.0.1:5000.
# Usage: registry.sh start|stop|status
# Copy of the peer harness's shared/peers/registry.sh (unchanged), so benchmarks/pull.sh can
# start the registry itself. Same PEERS_TMP (/tmp/peers) => same pid file and storage as the
# peers' script: either script sees a registry the other started. Images: shared/peers/make-images.sh.
set -euo pipefail

BASE=${PEERS_TMP:-/tmp/peers}/registry
ADDR=${REGISTRY_ADDR:-127.0.0.1:5000}
PIDFILE=$BASE/registry.pid
CONF=$BASE/config.yml
LOG=$BASE/registry.log

running() { [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

start() {
  if running; then echo "registry already running (pid $(cat "$PIDFILE"))"; return 0; fi
  mkdir -p "$BASE/storage"
  cat >"$CONF" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $BASE/storage
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: $ADDR
  headers:
    X-Content-Type-Options: [nosniff]
EOF
  setsid docker-registry serve "$CONF" >>"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 100); do
    if curl -sf "http://$ADDR/v2/" >/dev/null; then
      echo "registry up on $ADDR (pid $(cat "$PIDFILE"), storage $BASE/storage)"; return 0
    fi
    running || { echo "registry died, see $LOG" >&2; tail -20 "$LOG" >&2; exit 1; }
    sleep 0.1
  done
  echo "registry did not answer on $ADDR in 10 s, see $LOG" >&2; exit 1
}

stop() {
  if ! running; then echo "registry not running"; rm -f "$PIDFILE"; return 0; fi
  local pid; pid=$(cat "$PIDFILE")
  kill "$pid"
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  rm -f "$PIDFILE"; echo "registry stopped (pid $pid)"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) if running; then echo "running pid $(cat "$PIDFILE")"; else echo stopped; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
