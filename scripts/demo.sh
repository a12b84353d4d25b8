#!/usr/bin/env bash
# Sets up a Debian 12 machine (packages only when missing), builds Ferry, and runs the network
# demo (scripts/network-demo.sh): an origin and three mirrors on 127.0.0.1, a plugin published in
# two versions, downloads verified, tampering refused, a patch-based update, a clean shutdown.
# Usage: scripts/demo.sh [DIR]   (DIR: where the demo keeps its files; default a temp dir)
# The trust core alone: build/bin/ferry-trust-demo.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake --preset default >/dev/null
cmake --build --preset default
exec ./scripts/network-demo.sh "$@"
