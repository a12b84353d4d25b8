#!/usr/bin/env bash
# Installs the Debian 12 packages Ferry needs to build and test, only those missing.
# Usage: scripts/setup.sh [--bench]
# Idempotent: a second run installs nothing. Needs root (or sudo) only when something is missing.
set -euo pipefail

PACKAGES=(
  # toolchain
  g++ cmake ninja-build pkg-config ccache clang libclang-rt-14-dev
  # libraries (docs/dependencies.md says why each is here)
  libboost1.81-all-dev libsodium-dev libssl-dev libzstd-dev zlib1g-dev libsqlite3-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev minisign faketime openssl python3 curl
)
# --bench: also the anchor tools the benchmarks run beside Ferry (bench/run-all.sh).
if [ "${1:-}" = "--bench" ]; then
  PACKAGES+=(nginx-light wrk xdelta3 bsdiff rsync zsync casync zchunk time util-linux)
fi
# Node.js runs the tuf-js interop test; the machines ship Node 20. Only if there is none at all
# do we take Debian's (tuf-js then may refuse it, and the interop test reports itself skipped).
if ! command -v node >/dev/null 2>&1; then PACKAGES+=(nodejs npm); fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Debian starts nginx on port 80 of every address when it is installed; the benchmarks run their
# own nginx on 127.0.0.1, so the system service is stopped and disabled.
if [[ " ${missing[*]} " == *" nginx-light "* ]]; then
  $SUDO systemctl disable --now nginx >/dev/null 2>&1 || $SUDO service nginx stop >/dev/null 2>&1 || true
fi
echo "setup: done"
