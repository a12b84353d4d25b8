#!/usr/bin/env bash
# Fails if a library includes a layer above it. The arrows point one way:
#   base <- crypto <- tuf <- {store, delta, net} <- {origin, mirror, client}
# store, delta and net never include each other; the apps never include each other.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
check() {  # check DIR FORBIDDEN...
  local dir=$1; shift
  [ -d "$dir" ] || return 0
  for f in "$@"; do
    if grep -rn --include='*.h' --include='*.cc' "#include \"$f/" "$dir" >/dev/null; then
      echo "layering violation: $dir/ includes $f/:"
      grep -rn --include='*.h' --include='*.cc' "#include \"$f/" "$dir" | sed 's/^/  /'
      status=1
    fi
  done
}
apps="origin mirror client"
check base crypto tuf store delta net $apps
check crypto tuf store delta net $apps
check tuf store delta net $apps
check store delta net $apps
check delta store net $apps
check net store delta $apps
check origin mirror client
check mirror origin client
check client origin mirror
# Beast/Asio stay out of public headers outside net/ internals.
if grep -rln --include='*.h' -E '#include <boost/(asio|beast)' base crypto tuf origin mirror client store delta 2>/dev/null; then
  echo "Boost.Asio/Beast included from a header outside net/ (keep them in .cc files)"
  status=1
fi
[ $status -eq 0 ] && echo "layering: ok"
exit $status
