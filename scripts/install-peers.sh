#!/usr/bin/env bash
# Installs the peer programs Berth's integration tests run against, from
# Debian 12's packages: a real registry (CNCF distribution 2.8), skopeo to put
# images into it, containerd/runc to compare with, podman as a client of
# berth serve, and the small tools the harness and benchmarks use.
# Idempotent: does nothing when all are installed.
set -euo pipefail
. "$(dirname "$0")/lib/apt.sh"

PACKAGES=(
  # registry/testing: the registry, the tool that seeds it, htpasswd -B for basic auth
  docker-registry skopeo apache2-utils
  # registry/testing: the token server (python3 stdlib + cryptography for RS256)
  python3 python3-cryptography openssl
  # peers to compare with and benchmark against (shared/peers/)
  containerd runc wrk
  # a second real client of berth serve: pulls, runs, commits and pushes (e2e_test)
  podman
  # image tooling
  jq zstd pigz curl
)

# No daemon is started by these packages here (no systemd); the tests start
# their own registry on a free loopback port.
ensure_packages "${PACKAGES[@]}"
