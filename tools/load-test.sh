#!/usr/bin/env bash
# Load test: wrk with 256 connections for 30 s against the origin's file serving (a 1 KiB and a
# 1 MiB target), the origin's redirector (GET /download/release/x1k), and a ferry-mirror's file
# serving (same two files). Every run must end with 0 errors (wrk: connect, read, write, timeout,
# and status >= 400); RSS, peak RSS, open file descriptors and threads of each server are
# recorded before the first run, in the middle of each run and after it (/proc/PID/status,
# /proc/PID/fd). Exits 1 if any run had an error or a server died.
#
#   tools/load-test.sh [--duration S] [--conns C] [BUILD_DIR]     (default 30 s, 256, build)
#
# Order: first the origin alone, with no mirror registered, so /download serves the file itself
# (200); then, if BUILD_DIR/bin/ferry-mirror exists, a mirror (1 KiB and 1 MiB files) that syncs
# from the origin and registers with a `mirror` token; once the origin's prober has found it
# healthy, /download answers 302 to it, and that is load-tested too. Without ferry-mirror the
# mirror runs are reported as pending.
#
# Both servers log every request to stderr (they have no switch for it); here that goes to files
# (as in production), truncated between runs. Everything listens on 127.0.0.1. Raw output (each
# wrk report, runs.jsonl, memory.txt, the origin's /metrics before and after, the servers' log
# lines other than the access log) is kept in
# BUILD_DIR/bench-results/load-test/. bench/netbench_report.py prints the table. Not part of the
# test suite (CI does not run it): it takes about 3.5 minutes and saturates both cores.
set -euo pipefail

duration=30
conns=256
while [[ $# -gt 0 ]]; do
  case $1 in
    --duration) duration=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "load-test.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
build_dir=${1:-build}

source "$(dirname "$0")/../bench/netbench.sh"
nb_setup "$build_dir" load-test
nb_require wrk curl python3
have_mirror=0
[[ -x "$NB_BUILD/bin/ferry-mirror" ]] && have_mirror=1
if [[ $have_mirror == 1 ]]; then nb_require_bins ferry-origin ferry-mirror; else nb_require_bins ferry-origin; fi

# Enough descriptors for 256 connections on each side.
ulimit -n 65536 2>/dev/null || ulimit -n 4096 2>/dev/null || true

data="$NB_SCRATCH/origin"
echo "== set-up: origin with a 1 KiB and a 1 MiB release =="
nb_origin_init "$data"
head -c 1024 /dev/urandom >"$NB_SCRATCH/x1k"
head -c $((1 << 20)) /dev/urandom >"$NB_SCRATCH/x1m"
path_1k=$(nb_release_add "$data" "$NB_SCRATCH/x1k" release/x1k p 1k)
path_1m=$(nb_release_add "$data" "$NB_SCRATCH/x1m" release/x1m p 1m)
# The servers' stderr (their log, with one access-log line per request) goes to files opened with
# O_APPEND; between runs the lines other than access-log lines are kept in the results and the
# files truncated (at 10^4 requests/s a run writes over 100 MB of access log).
nb_start_origin "$data" "$NB_SCRATCH/origin.conf" "$NB_SCRATCH/origin.log" 2
cp "$NB_SCRATCH/origin.conf" "$NB_RESULTS/"
nb_machine "$NB_RESULTS/machine.txt" "duration_s: $duration" "conns: $conns" \
  "wrk: -t2 -c$conns -d${duration}s" "ferry-mirror: $([[ $have_mirror == 1 ]] && echo present || echo 'not built (pending)')" \
  "ulimit_n: $(ulimit -n)"

memory="$NB_RESULTS/memory.txt"
: >"$memory"
declare -A name_of=()
mem_line() {  # LABEL PID...
  local label=$1 pid
  shift
  for pid in "$@"; do
    if kill -0 "$pid" 2>/dev/null; then
      echo "  $label ${name_of[$pid]} (pid $pid): $(nb_mem "$pid")" >>"$memory"
    else
      echo "  $label ${name_of[$pid]} (pid $pid): NOT RUNNING" >>"$memory"
    fi
  done
}
name_of[$ORIGIN_PID]=ferry-origin
servers=("$ORIGIN_PID")
echo "before any load:" >>"$memory"
mem_line before "$ORIGIN_PID"

rotate_logs() {
  local f
  for f in origin mirror; do
    [[ -f "$NB_SCRATCH/$f.log" ]] || continue
    grep -v ' remote=' "$NB_SCRATCH/$f.log" >>"$NB_RESULTS/$f-log.txt" || true
    : >"$NB_SCRATCH/$f.log"
  done
}
status_of() { curl -s -o /dev/null -w '%{http_code}' "$1"; }
: >"$NB_RESULTS/runs.jsonl"
failed=0
load_run() {  # SERVER_NAME SERVER_PID CASE URL ANSWER
  local sname=$1 pid=$2 case=$3 url=$4 answer=$5 tag
  tag="$sname-$case"
  echo "-- $tag: $url ($answer), load $(nb_load) --"
  echo "$tag:" >>"$memory"
  mem_line before "${servers[@]}"
  # A sample in the middle of the run (the connections are open then).
  ( sleep $((duration / 2)); mem_line "mid-run" "${servers[@]}" ) &
  local sampler=$!
  nb_wrk "$NB_RESULTS/runs.jsonl" "$NB_RESULTS/wrk-$tag.txt" "$pid" \
    "{\"server\":\"$sname\",\"case\":\"$case\",\"conns\":$conns,\"answer\":\"$answer\"}" \
    "$url" -t2 -c"$conns" -d"${duration}s" --timeout 10s --latency
  wait "$sampler" || true
  sleep 2  # let the server close the connections wrk left
  mem_line after "${servers[@]}"
  rotate_logs
  local errs
  errs=$(tail -n1 "$NB_RESULTS/runs.jsonl" | python3 -c 'import json, sys
r = json.loads(sys.stdin.read())
print(sum(r[k] for k in ("errors_connect", "errors_read", "errors_write", "errors_status", "errors_timeout")))')
  if [[ $errs != 0 ]]; then
    echo "ERROR: $tag had $errs errors (see $NB_RESULTS/wrk-$tag.txt)" | tee -a "$memory"
    failed=1
  fi
  for p in "${servers[@]}"; do
    kill -0 "$p" 2>/dev/null || { echo "ERROR: ${name_of[$p]} died" | tee -a "$memory"; failed=1; }
  done
}

curl -sf "$ORIGIN_URL/metrics" >"$NB_RESULTS/origin-metrics-before.txt"
download_a=$(status_of "$ORIGIN_URL/download/release/x1k")
[[ $download_a == 200 ]] || nb_die "/download/release/x1k without a mirror answered $download_a, expected 200"

echo
echo "== the origin alone (no mirror registered) =="
load_run origin "$ORIGIN_PID" 1k "$ORIGIN_URL$path_1k" "200, the file"
load_run origin "$ORIGIN_PID" 1m "$ORIGIN_URL$path_1m" "200, the file"
load_run origin "$ORIGIN_PID" download "$ORIGIN_URL/download/release/x1k" \
  "200, the file from the origin itself (no healthy mirror)"

if [[ $have_mirror == 1 ]]; then
  echo
  echo "== a mirror: sync, register, wait until the origin redirects to it =="
  mdata="$NB_SCRATCH/mirror"
  mkdir -p "$mdata"
  "$NB_BIN/ferry-origin" token issue --data "$data" --scope mirror | head -n1 >"$NB_SCRATCH/mirror-token"
  chmod 600 "$NB_SCRATCH/mirror-token"
  mport=$(nb_free_port)
  murl="http://127.0.0.1:$mport"
  cat >"$NB_SCRATCH/mirror.conf" <<EOF2
data_dir = $mdata
[mirror]
name = load-test-1
region = eu
capacity_mbps = 1000
[upstream]
url = $ORIGIN_URL
root = $data/repo/metadata/1.root.json
[http]
listen = 127.0.0.1:$mport
public_url = $murl
io_threads = 2
[sync]
poll_interval = 1h
min_interval = 0s
[origin]
url = $ORIGIN_URL
token_file = $NB_SCRATCH/mirror-token
EOF2
  cp "$NB_SCRATCH/mirror.conf" "$NB_RESULTS/"
  "$NB_BIN/ferry-mirror" serve --config "$NB_SCRATCH/mirror.conf" >"$NB_RESULTS/mirror.stdout" \
    2>>"$NB_SCRATCH/mirror.log" &
  MIRROR_PID=$!
  NB_PIDS+=("$MIRROR_PID")
  name_of[$MIRROR_PID]=ferry-mirror
  nb_wait_port "$mport" || nb_die "ferry-mirror did not start: $(tail -n 20 "$NB_SCRATCH/mirror.log")"
  answer=""
  for i in $(seq 1 120); do
    answer=$(status_of "$ORIGIN_URL/download/release/x1k")
    [[ $answer == 302 ]] && break
    kill -0 "$MIRROR_PID" 2>/dev/null || nb_die "ferry-mirror exited: $(tail -n 20 "$NB_SCRATCH/mirror.log")"
    sleep 1
  done
  curl -sf "$ORIGIN_URL/api/v1/mirrors" >"$NB_RESULTS/origin-mirrors.json" || true
  [[ $answer == 302 ]] || nb_die "the origin did not redirect to the mirror within 120 s (last answer $answer; see $NB_RESULTS/origin-mirrors.json)"
  curl -sI "$ORIGIN_URL/download/release/x1k" >"$NB_RESULTS/download-302-head.txt"
  location=$(sed -n 's/^Location: \(.*\)\r$/\1/p' "$NB_RESULTS/download-302-head.txt")
  echo "/download/release/x1k -> 302 $location"
  [[ "$(curl -sf "$location" | sha256sum)" == "$(sha256sum <"$NB_SCRATCH/x1k")" ]] \
    || nb_die "the mirror serves other bytes at $location"
  rotate_logs
  servers=("$ORIGIN_PID" "$MIRROR_PID")
  echo "mirror synced and healthy:" >>"$memory"
  mem_line before "$MIRROR_PID"

  echo
  echo "== the mirror, and the redirector pointing at it =="
  load_run mirror "$MIRROR_PID" 1k "$murl$path_1k" "200, the file"
  load_run mirror "$MIRROR_PID" 1m "$murl$path_1m" "200, the file"
  load_run origin "$ORIGIN_PID" download "$ORIGIN_URL/download/release/x1k" "302 to the mirror"
else
  echo
  echo "ferry-mirror is not in $NB_BUILD/bin: mirror load test pending (build it with"
  echo "  cmake --build $build_dir --target ferry-mirror)" | tee -a "$memory"
fi

curl -sf "$ORIGIN_URL/metrics" >"$NB_RESULTS/origin-metrics-after.txt" || true
nb_machine_end "$NB_RESULTS/machine.txt"
echo
python3 "$NB_LIB_DIR/netbench_report.py" load "$NB_RESULTS" | tee "$NB_RESULTS/table.md"
python3 - "$NB_RESULTS" <<'EOF2' | tee -a "$NB_RESULTS/table.md"
import sys
from pathlib import Path
r = Path(sys.argv[1])
def classes(name):
    out = {}
    p = r / name
    if not p.exists():
        return out
    for line in p.read_text().splitlines():
        if line.startswith("ferry_http_responses_total{"):
            k = line.split('"')[1]
            out[k] = int(line.split()[-1])
    return out
a, b = classes("origin-metrics-before.txt"), classes("origin-metrics-after.txt")
if b:
    print()
    print("origin responses by class during the load test (/metrics):",
          ", ".join(f"{k} {b[k] - a.get(k, 0):,}" for k in sorted(b)))
EOF2
if [[ $failed != 0 ]]; then
  echo "load test FAILED: errors or a server died (see above)" >&2
  exit 1
fi
echo "load test passed: 0 errors in every run"
