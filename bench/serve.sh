#!/usr/bin/env bash
# The origin serving its repository beside nginx (Debian's) serving the same directory, same
# machine, same run, with wrk. Prints requests/s, MB/s, latency p50/p99, server CPU per request
# and errors for each server, then the Ferry/nginx ratios, then both servers' RSS and open files
# before and after.
#
#   bench/serve.sh [--reps N] [--duration S] [--conns "64 256"] [--access-log] [BUILD_DIR]
#
# Set-up: `ferry-origin init` (1 root key), two releases published with `ferry-origin release add`
# (a 1 KiB and a 1 MiB random file), `ferry-origin serve` (io_threads = 2, on 127.0.0.1), and
# nginx with 2 workers, sendfile on, access log off, serving DATA/repo as its root. Cases:
#   1k, 1m     GET /targets/release/SHA256.NAME (the consistent-snapshot file name)
#   timestamp  GET /metadata/timestamp.json
# each with `wrk -t2 -cC -dS` for C in --conns (default 64 and 256), S = --duration (15). The
# servers run alternately, back to back, case by case, and the order flips every repetition
# (default 3), so slow drift in the machine's load hits both; the tables give medians and the
# min-max spread. wrk shares the 2 cores with the server it measures, as it does for nginx.
#
# The origin writes one access-log line per request to stderr and has no switch to turn that off;
# here its stderr goes to /dev/null (the nearest thing to nginx's `access_log off`: the formatting
# and the write(2) still happen). --access-log instead logs on both sides to files.
#
# Takes about 10 minutes with the defaults. Raw output (every wrk report, runs.jsonl with one
# record per run, machine.txt, memory.txt, nginx.conf, the table) is kept in
# BUILD_DIR/bench-results/serve/. A measuring tool, not a test: CI does not run it.
set -euo pipefail

reps=3
duration=15
conns="64 256"
access_log=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --reps) reps=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --access-log) access_log=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "serve.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
build_dir=${1:-build}

source "$(dirname "$0")/netbench.sh"
nb_setup "$build_dir" serve
nb_require wrk nginx python3 sha256sum
nb_require_bins ferry-origin

data="$NB_SCRATCH/data"
echo "== set-up: origin repository with a 1 KiB and a 1 MiB release =="
nb_origin_init "$data"
head -c 1024 /dev/urandom >"$NB_SCRATCH/x1k"
head -c $((1 << 20)) /dev/urandom >"$NB_SCRATCH/x1m"
path_1k=$(nb_release_add "$data" "$NB_SCRATCH/x1k" release/x1k p 1k)
path_1m=$(nb_release_add "$data" "$NB_SCRATCH/x1m" release/x1m p 1m)
path_ts=/metadata/timestamp.json
declare -A url_path=([1k]=$path_1k [1m]=$path_1m [timestamp]=$path_ts)

origin_err=/dev/null
nginx_log=off
if [[ $access_log == 1 ]]; then
  origin_err="$NB_SCRATCH/origin-access.log"
  nginx_log="$NB_SCRATCH/nginx-access.log"
fi
nb_start_origin "$data" "$NB_SCRATCH/origin.conf" "$origin_err" 2
nb_start_nginx "$data/repo" "$NB_SCRATCH/nginx" "$nginx_log"
cp "$NB_SCRATCH/origin.conf" "$NB_SCRATCH/nginx/nginx.conf" "$NB_RESULTS/"
declare -A server_pid=([ferry]=$ORIGIN_PID [nginx]=$NGINX_PID)
declare -A server_url=([ferry]=$ORIGIN_URL [nginx]=$NGINX_URL)

# Same bytes from both servers (the files are in the page cache from here on).
for c in 1k 1m timestamp; do
  a=$(curl -sf "$ORIGIN_URL${url_path[$c]}" | sha256sum)
  b=$(curl -sf "$NGINX_URL${url_path[$c]}" | sha256sum)
  [[ "$a" == "$b" ]] || nb_die "origin and nginx serve different bytes for ${url_path[$c]}"
done
for s in ferry nginx; do
  curl -sI "${server_url[$s]}$path_1k" >"$NB_RESULTS/head-$s-1k.txt"
  curl -sI "${server_url[$s]}$path_ts" >"$NB_RESULTS/head-$s-timestamp.txt"
done

nb_machine "$NB_RESULTS/machine.txt" "reps: $reps" "duration_s: $duration" "conns: $conns" \
  "access_log: $access_log" "origin: io_threads = 2, worker_threads = 4 (default)" \
  "nginx: worker_processes 2, sendfile on, tcp_nopush on, keepalive_requests 10000"
{
  echo "before (after start, before any request):"
  echo "  ferry-origin pid $ORIGIN_PID: $(nb_mem "$ORIGIN_PID")"
  echo "  nginx master+workers pid $NGINX_PID: $(nb_mem_tree "$NGINX_PID")"
} >"$NB_RESULTS/memory.txt"

echo
echo "== warm-up: 3 s per server and file (not counted) =="
for s in ferry nginx; do
  for c in 1k 1m; do
    wrk -t2 -c64 -d3s "${server_url[$s]}${url_path[$c]}" >"$NB_RESULTS/warmup-$s-$c.txt" 2>&1
  done
done
{
  echo "after warm-up:"
  echo "  ferry-origin: $(nb_mem "$ORIGIN_PID")"
  echo "  nginx: $(nb_mem_tree "$NGINX_PID")"
} >>"$NB_RESULTS/memory.txt"

echo
echo "== measured runs: wrk -t2 -cC -d${duration}s, $reps repetitions, servers alternating =="
: >"$NB_RESULTS/runs.jsonl"
for rep in $(seq 1 "$reps"); do
  order="ferry nginx"
  ((rep % 2 == 0)) && order="nginx ferry"
  echo "-- repetition $rep (load $(nb_load)) --"
  for c in 1k 1m timestamp; do
    for n in $conns; do
      for s in $order; do
        nb_wrk "$NB_RESULTS/runs.jsonl" "$NB_RESULTS/wrk-$s-$c-c$n-r$rep.txt" "${server_pid[$s]}" \
          "{\"server\":\"$s\",\"case\":\"$c\",\"conns\":$n,\"rep\":$rep}" \
          "${server_url[$s]}${url_path[$c]}" -t2 -c"$n" -d"${duration}s" --latency
      done
    done
  done
done

{
  echo "after all runs:"
  echo "  ferry-origin: $(nb_mem "$ORIGIN_PID")"
  echo "  nginx: $(nb_mem_tree "$NGINX_PID")"
} >>"$NB_RESULTS/memory.txt"
curl -sf "$ORIGIN_URL/metrics" | grep -E '^ferry_http_(requests|responses|bytes|connections)' \
  >"$NB_RESULTS/origin-metrics.txt" || true
nb_machine_end "$NB_RESULTS/machine.txt"
echo
python3 "$NB_LIB_DIR/netbench_report.py" serve "$NB_RESULTS" | tee "$NB_RESULTS/table.md"
