#!/usr/bin/env bash
# Sets up a Debian 12 machine (packages only when missing) and runs every Ferry test:
#   1. the layering check (which library may include which);
#   2. the release build with warnings as errors, and its tests (unit, fuzz-corpus replay);
#   3. the same tests under AddressSanitizer + UndefinedBehaviorSanitizer.
# Usage: scripts/test.sh [--no-asan]
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
asan=1
[ "${1:-}" = "--no-asan" ] && asan=0

./scripts/setup.sh
./tools/check_layering.sh

echo "== release build (warnings are errors)"
cmake --preset ci >/dev/null
cmake --build --preset ci
echo "== release tests"
ctest --preset ci -j "$(nproc)"

if [ $asan -eq 1 ]; then
  echo "== asan+ubsan build"
  cmake --preset asan >/dev/null
  cmake --build --preset asan
  echo "== asan+ubsan tests"
  # verify_asan_link_order=0: the attack tests run clients under faketime, whose LD_PRELOAD
  # library would otherwise come before the ASan runtime and abort the process.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:verify_asan_link_order=0 \
    UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --preset asan -j "$(nproc)"
fi
echo "all tests passed in $(( $(date +%s) - start ))s"
