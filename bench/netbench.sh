# shellcheck shell=bash
# Shared helpers for the network benchmarks (bench/serve.sh, bench/publish.sh, bench/download.sh,
# tools/load-test.sh). Sourced, not run. Everything listens on 127.0.0.1 only; every process a
# script starts is recorded in NB_PIDS and stopped by its PID when the script exits.
#
# Conventions (as in bench/compare.sh): raw outputs are kept under BUILD_DIR/bench-results/NAME/,
# machine state (CPU, versions, commit, load before and after, CPU other processes took) goes to
# machine.txt there, and nothing here is a test: CI does not run it.

NB_PIDS=()
NB_KEEP_SCRATCH=${NB_KEEP_SCRATCH:-0}
NB_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

nb_die() { echo "$(basename "$0"): $*" >&2; exit 1; }

# nb_setup BUILD_DIR NAME: sets NB_BUILD, NB_BIN, NB_RESULTS (fresh), NB_SCRATCH, the exit trap.
# The scratch directory lives under BUILD_DIR (a disk file system, like a real data directory;
# /tmp may be tmpfs elsewhere), so the page-cache behaviour is that of real files.
nb_setup() {
  NB_BUILD=$1
  NB_NAME=$2
  NB_BIN="$NB_BUILD/bin"
  NB_RESULTS="$NB_BUILD/bench-results/$NB_NAME"
  rm -rf "$NB_RESULTS"
  mkdir -p "$NB_RESULTS"
  NB_RESULTS=$(cd "$NB_RESULTS" && pwd)
  mkdir -p "$NB_BUILD/bench-scratch"
  NB_SCRATCH=$(mktemp -d "$(cd "$NB_BUILD/bench-scratch" && pwd)/$NB_NAME.XXXXXX")
  chmod 755 "$NB_SCRATCH"
  trap nb_cleanup EXIT
  trap 'exit 130' INT TERM
  NB_START_WALL=$(date +%s)
  NB_START_BUSY=$(nb_busy_ticks)
  NB_START_STEAL=$(nb_steal_ticks)
}

nb_cleanup() {
  local pid
  for pid in "${NB_PIDS[@]}"; do nb_stop "$pid"; done
  if [[ $NB_KEEP_SCRATCH == 1 ]]; then
    echo "scratch kept: $NB_SCRATCH" >&2
  else
    rm -rf "$NB_SCRATCH"
  fi
}

nb_require() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || nb_die "$tool is required (apt-get install ${tool})"
  done
}

# nb_require_bins NAME...: checks BUILD_DIR/bin/NAME and copies each into the scratch directory;
# NB_BIN then points at the copies. Others rebuild in the same tree: a binary relinked halfway
# through a run would otherwise fail to start ("Permission denied") or change what is measured.
nb_require_bins() {
  local b
  for b in "$@"; do
    [[ -x "$NB_BUILD/bin/$b" ]] || nb_die "$NB_BUILD/bin/$b not found; build it with
  cmake --preset default && cmake --build $NB_BUILD --target $*"
  done
  mkdir -p "$NB_SCRATCH/bin"
  for b in "$@"; do
    cp "$NB_BUILD/bin/$b" "$NB_SCRATCH/bin/$b"
    echo "$b: $(stat -c '%y' "$NB_BUILD/bin/$b" | cut -d. -f1) sha256 $(sha256sum "$NB_BUILD/bin/$b" | cut -c1-16)" \
      >>"$NB_RESULTS/binaries.txt"
  done
  NB_BIN="$NB_SCRATCH/bin"
}

# CPU ticks (1/CLK_TCK s) every process on the machine used, the steal time, and the utime+stime
# of the given processes (all their threads).
nb_busy_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8; exit}' /proc/stat; }
nb_steal_ticks() { awk '/^cpu /{print $9; exit}' /proc/stat; }
nb_pid_ticks() {
  local total=0 pid t
  for pid in "$@"; do
    t=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
    total=$((total + t))
  done
  echo "$total"
}
# A process and its direct children (nginx: the master and its workers).
nb_tree_pids() { echo "$1" $(pgrep -P "$1" || true); }
nb_load() { cut -d' ' -f1-3 /proc/loadavg; }
nb_hz() { getconf CLK_TCK; }

# "rss_kib=N hwm_kib=N fds=N threads=N" of one process, from /proc/PID/status and /proc/PID/fd.
nb_mem() {
  local pid=$1
  awk -v fds="$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)" '
    /^VmRSS:/ {rss = $2} /^VmHWM:/ {hwm = $2} /^Threads:/ {thr = $2}
    END {printf "rss_kib=%d hwm_kib=%d fds=%d threads=%d\n", rss, hwm, fds, thr}' "/proc/$pid/status"
}
# The same summed over a process tree (nginx master + workers): RSS counts shared pages per
# process, so this overstates nginx's real footprint a little.
nb_mem_tree() {
  local pids pid
  pids=$(nb_tree_pids "$1")
  for pid in $pids; do nb_mem "$pid"; done | awk '
    { for (i = 1; i <= NF; i++) { split($i, kv, "="); sum[kv[1]] += kv[2] } }
    END { printf "rss_kib=%d hwm_kib=%d fds=%d threads=%d\n", sum["rss_kib"], sum["hwm_kib"], sum["fds"], sum["threads"] }'
}

nb_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

nb_wait_port() {
  local port=$1 i
  for i in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# nb_stop PID: SIGTERM, wait up to 15 s, then SIGKILL. Only for processes this script started.
nb_stop() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# nb_origin_init DATA: a fresh origin data directory with one root key.
nb_origin_init() {
  "$NB_BIN/ferry-origin" init --data "$1" --root-keys 1 --root-threshold 1 >/dev/null
}

# nb_release_add DATA FILE PATH PACKAGE VERSION: publish a release, prints the consistent-snapshot
# target URL path (/targets/DIR/SHA256.NAME).
nb_release_add() {
  local data=$1 file=$2 path=$3 pkg=$4 ver=$5 sha dir name
  "$NB_BIN/ferry-origin" release add "$file" --data "$data" --path "$path" --package "$pkg" \
    --version "$ver" --targets-key "$data/offline-keys/targets.key" >/dev/null
  sha=$(sha256sum "$file" | cut -d' ' -f1)
  dir=$(dirname "$path")
  name=$(basename "$path")
  [[ -f "$data/repo/targets/$dir/$sha.$name" ]] || nb_die "release $path not found in $data/repo"
  echo "/targets/$dir/$sha.$name"
}

# nb_start_origin DATA CONF STDERR [IO_THREADS] [EXTRA_CONF]: writes CONF (EXTRA_CONF: more sections), starts `ferry-origin serve` on an
# ephemeral port; sets ORIGIN_PID, ORIGIN_PORT, ORIGIN_URL. STDERR receives the origin's log,
# including one access-log line per request (the origin has no switch to turn it off): give
# /dev/null for throughput runs. It is opened with O_APPEND, so it can be truncated while in use.
nb_start_origin() {
  local data=$1 conf=$2 err=$3 io=${4:-2} extra=${5:-} out i
  cat >"$conf" <<EOF
data_dir = $data
[http]
listen = 127.0.0.1:0
io_threads = $io
$extra
EOF
  out="$conf.stdout"
  "$NB_BIN/ferry-origin" serve --config "$conf" >"$out" 2>>"$err" &
  ORIGIN_PID=$!
  NB_PIDS+=("$ORIGIN_PID")
  for i in $(seq 1 100); do
    ORIGIN_PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$out")
    [[ -n "$ORIGIN_PORT" ]] && break
    kill -0 "$ORIGIN_PID" 2>/dev/null || nb_die "ferry-origin serve exited (config $conf; stderr: $err)"
    sleep 0.1
  done
  [[ -n "$ORIGIN_PORT" ]] || nb_die "ferry-origin serve did not report its port"
  ORIGIN_URL="http://127.0.0.1:$ORIGIN_PORT"
}

# nb_start_nginx ROOT PREFIX_DIR [ACCESS_LOG] [EXTRA_SERVER_CONF]: nginx from Debian in the
# foreground (-p PREFIX), 2 workers, sendfile, no access log unless ACCESS_LOG is a path. Serves
# ROOT as / and sends the same cache headers Ferry sends for /targets/ and /metadata/, so both
# answer with heads of about the same size. Sets NGINX_PID, NGINX_PORT, NGINX_URL.
nb_start_nginx() {
  local root=$1 prefix=$2 alog=${3:-off} extra=${4:-}
  NGINX_PORT=$(nb_free_port)
  mkdir -p "$prefix/logs" "$prefix/tmp"
  local alog_line="access_log off;"
  [[ $alog != off ]] && alog_line="access_log $alog;"
  cat >"$prefix/nginx.conf" <<EOF
daemon off;
master_process on;
# The workers read the benchmark's files, which belong to root in a private directory.
user root;
worker_processes 2;
pid $prefix/nginx.pid;
error_log $prefix/logs/error.log warn;
events { worker_connections 4096; }
http {
  $alog_line
  sendfile on;
  tcp_nopush on;
  keepalive_requests 10000;
  server_tokens off;
  client_body_temp_path $prefix/tmp/body;
  proxy_temp_path $prefix/tmp/proxy;
  fastcgi_temp_path $prefix/tmp/fastcgi;
  uwsgi_temp_path $prefix/tmp/uwsgi;
  scgi_temp_path $prefix/tmp/scgi;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $root;
    $extra
    location /targets/ {
      add_header Cache-Control "public, max-age=31536000, immutable";
      add_header Content-Disposition attachment;
      add_header X-Content-Type-Options nosniff;
    }
    location = /metadata/timestamp.json {
      default_type application/json;
      add_header Cache-Control "public, max-age=60";
      add_header X-Content-Type-Options nosniff;
    }
  }
}
EOF
  nginx -p "$prefix" -c "$prefix/nginx.conf" >"$prefix/logs/stdout" 2>&1 &
  NGINX_PID=$!
  NB_PIDS+=("$NGINX_PID")
  nb_wait_port "$NGINX_PORT" || nb_die "nginx did not start: $(cat "$prefix/logs/error.log" "$prefix/logs/stdout" 2>/dev/null)"
  NGINX_URL="http://127.0.0.1:$NGINX_PORT"
}

# nb_wrk OUT_JSONL RAW_FILE SERVER_PID_TREE_ROOT TAGS_JSON URL WRK_ARGS...: runs
# `wrk WRK_ARGS -s bench/wrk_report.lua URL`, keeps its output in RAW_FILE, and appends one JSON
# record to OUT_JSONL: TAGS_JSON's fields, wrk's totals and percentiles, and the CPU seconds the
# server (process tree), wrk and everything else on the machine used during the run.
nb_wrk() {
  local jsonl=$1 raw=$2 server=$3 tags=$4 url=$5
  shift 5
  local pids b0 s0 st0 w0 times wall user sys b1 s1 st1 w1 load
  pids=$(nb_tree_pids "$server")
  load=$(cut -d' ' -f1 /proc/loadavg)
  b0=$(nb_busy_ticks); st0=$(nb_steal_ticks); s0=$(nb_pid_ticks $pids)
  times=$( { TIMEFORMAT='%3R %3U %3S'; time wrk "$@" -s "$NB_LIB_DIR/wrk_report.lua" "$url" >"$raw" 2>&1; } 2>&1 )
  b1=$(nb_busy_ticks); st1=$(nb_steal_ticks); s1=$(nb_pid_ticks $pids)
  read -r wall user sys <<<"$times"
  local line
  line=$(sed -n 's/^WRK_JSON //p' "$raw")
  [[ -n "$line" ]] || nb_die "wrk produced no report (see $raw)"
  python3 - "$jsonl" "$tags" "$line" "$wall" "$user" "$sys" "$((b1 - b0))" "$((s1 - s0))" \
    "$((st1 - st0))" "$(nb_hz)" "$load" <<'EOF'
import json, sys
path, tags, line, wall, user, sys_s, busy, server, steal, hz, load = sys.argv[1:]
hz = float(hz)
rec = json.loads(tags)
rec.update(json.loads(line))
rec["wall_s"] = float(wall)
rec["wrk_cpu_s"] = float(user) + float(sys_s)
rec["server_cpu_s"] = int(server) / hz
rec["machine_cpu_s"] = int(busy) / hz
rec["other_cpu_s"] = max(0.0, rec["machine_cpu_s"] - rec["server_cpu_s"] - rec["wrk_cpu_s"])
rec["steal_s"] = int(steal) / hz
rec["load1_before"] = float(load)
with open(path, "a") as f:
    f.write(json.dumps(rec) + "\n")
d = rec["duration_us"] / 1e6
errs = sum(rec[k] for k in ("errors_connect", "errors_read", "errors_write", "errors_status", "errors_timeout"))
print(f"  {rec.get('server','?'):6} {rec.get('case','?'):10} c={rec.get('conns','?'):<4} "
      f"{rec['requests'] / d:10.0f} req/s {rec['bytes'] / d / 1e6:9.1f} MB/s "
      f"p50 {rec['lat_p50_us'] / 1000:7.2f} ms p99 {rec['lat_p99_us'] / 1000:7.2f} ms "
      f"errors {errs}  server {rec['server_cpu_s']:.1f} CPU-s, wrk {rec['wrk_cpu_s']:.1f}, "
      f"others {rec['other_cpu_s']:.1f}")
EOF
}

# nb_machine FILE [LINES...]: the machine and tool versions, plus extra "key: value" lines.
nb_machine() {
  local file=$1
  shift
  {
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc: $(nproc)"
    echo "cpu: $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "memory: $(awk '/^MemTotal:/{printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
    echo "kernel: $(uname -r)"
    echo "ferry: $(git -C "$NB_LIB_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$NB_LIB_DIR" diff --quiet HEAD -- 2>/dev/null || echo ' (work tree has changes)')"
    command -v nginx >/dev/null && echo "nginx: $(nginx -v 2>&1 | sed 's/.*version: //')"
    command -v wrk >/dev/null && echo "wrk: $(wrk -v 2>&1 | head -n1 | awk '{print $2}')"
    command -v curl >/dev/null && echo "curl: $(curl --version | head -n1 | awk '{print $2}')"
    echo "load_before: $(nb_load)"
    local l
    for l in "$@"; do echo "$l"; done
  } >"$file"
  cat "$file"
}

# nb_machine_end FILE: load after and the CPU the rest of the machine took during the script.
nb_machine_end() {
  local file=$1 hz wall busy steal
  hz=$(nb_hz)
  wall=$(($(date +%s) - NB_START_WALL))
  busy=$(($(nb_busy_ticks) - NB_START_BUSY))
  steal=$(($(nb_steal_ticks) - NB_START_STEAL))
  {
    echo "load_after: $(nb_load)"
    awk -v b="$busy" -v st="$steal" -v hz="$hz" -v w="$wall" -v n="$(nproc)" 'BEGIN {
      printf "wall_s: %d\nmachine_cpu_s: %.1f (%.0f%% of %d cores; everything, this script included)\nsteal_cpu_s: %.1f\n",
        w, b / hz, 100 * b / hz / w / n, n, st / hz }'
  } | tee -a "$file"
}
