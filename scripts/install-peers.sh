#!/usr/bin/env bash
# Installs the peer programs Berth's integration tests run against, from
# Debian 12's packages: a real registry (CNCF distribution 2.8), skopeo to put
# images into it, containerd/runc to compare with, and the small tools the
# harness and benchmarks use. Idempotent: does nothing when all are installed.
set -euo pipefail

PACKAGES=(
  # registry/testing: the registry, the tool that seeds it, htpasswd -B for basic auth
  docker-registry skopeo apache2-utils
  # registry/testing: the token server (python3 stdlib + cryptography for RS256)
  python3 python3-cryptography openssl
  # peers to compare with and benchmark against (shared/peers/)
  containerd runc wrk
  # image tooling
  jq zstd pigz curl
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "installing: ${missing[*]}" >&2
$SUDO apt-get update -qq
# No daemon is started by these packages here (no systemd); the tests start
# their own registry on a free loopback port.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
