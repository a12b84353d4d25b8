#!/usr/bin/env bash
# Sets up a Debian 12 machine (packages only when missing), builds Ferry, and runs the demo.
# Usage: scripts/demo.sh [DIR]   (DIR: where the demo keeps its files; default a temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake --preset default >/dev/null
cmake --build --preset default
exec ./build/bin/ferry-trust-demo "$@"
