#!/usr/bin/env bash
# Every anchor comparison, one after the other, then docs/benchmarks.md's tables rewritten from
# the results (bench/update_docs.py; the hand-written analysis around them is kept).
#
#   bench/run-all.sh [--only NAME,NAME] [--no-docs] [BUILD_DIR]      (BUILD_DIR: build)
#
# NAME      what                                                           anchor(s)           time
# compare   hashing, signatures, canonical JSON (bench/compare.sh)          openssl speed,      3 min
#                                                                           sha256sum
# download  verified 100 MiB download (bench/download.sh)                   curl + sha256sum    3 min
# serve     the origin serving 1 KiB / 1 MiB / timestamp (bench/serve.sh)   nginx               10 min
# mirror    a mirror serving, redirects, publish -> 3 mirrors (mirror.sh)   nginx               8 min
# publish   publish throughput (bench/publish.sh)                           curl -T to nginx    3 min
# delta     bytes moved per version pair over the corpus                    zstd, xdelta3,      45 min
#           (delta/bench/corpus_bench.py)                                   bsdiff, rsync,
#                                                                           zsync, casync, zchunk
# load      wrk -c256 for 30 s against origin, mirror, redirector           (0 errors)          4 min
#           (tools/load-test.sh)
#
# Installs the anchor tools (scripts/setup.sh --bench) and the corpus (../shared/corpus/fetch.sh,
# into ~/.cache/ferry-corpus; needs the npm registry) when missing, and builds the release
# preset. Run it on an otherwise idle machine: the scripts record the load and the CPU other
# processes took, and docs/benchmarks.md says how to read a noisy run. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."

only=""
docs=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --only) only=$2; shift 2 ;;
    --no-docs) docs=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run-all.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
build=${1:-build}
want() { [[ -z $only ]] || [[ ",$only," == *",$1,"* ]]; }

./scripts/setup.sh --bench
if [[ $build == build ]]; then
  cmake --preset default >/dev/null
fi
cmake --build "$build"

corpus=${FERRY_CORPUS:-$HOME/.cache/ferry-corpus}
if want delta && [[ ! -f $corpus/manifest.csv ]]; then
  ../shared/corpus/fetch.sh "$corpus"
fi

start=$(date +%s)
failed=()
step() {  # NAME COMMAND...
  local name=$1
  shift
  want "$name" || return 0
  echo
  echo "######## $name: $* ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"
  if ! "$@"; then
    echo "######## $name FAILED" >&2
    failed+=("$name")
  fi
}
delta_run() {
  local out="$build/bench-results/delta"
  rm -rf "$out"
  mkdir -p "$out"
  {
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "ferry: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- || echo ' (work tree has changes)')"
    echo "load_before: $(cut -d' ' -f1-3 /proc/loadavg)"
  } >"$out/machine.txt"
  python3 delta/bench/corpus_bench.py --ferry "$build/bin/ferry-delta" --corpus "$corpus" \
    --json "$out/results.json" --markdown "$out/results.md" | tee "$out/run.log"
  echo "load_after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
}

step compare bench/compare.sh --cpu-time "$build"
step download bench/download.sh "$build"
step serve bench/serve.sh "$build"
step mirror bench/mirror.sh "$build"
step publish bench/publish.sh "$build"
step delta delta_run
step load tools/load-test.sh "$build"

if [[ $docs == 1 ]]; then
  echo
  python3 bench/update_docs.py --results "$build/bench-results" ${only//,/ }
fi
echo
echo "run-all: $(( ($(date +%s) - start) / 60 )) min"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "run-all: FAILED: ${failed[*]}" >&2
  exit 1
fi
