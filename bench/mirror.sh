#!/usr/bin/env bash
# The mirror network measured: a ferry-mirror serving files beside nginx serving the same
# directory, the origin's /download redirector beside nginx's `return 302`, and how long a publish
# takes to reach every mirror of a two-tier network. Same machine, same run; prints tables and
# Ferry/nginx ratios.
#
#   bench/mirror.sh [--reps N] [--duration S] [--conns C] [--publishes P] [BUILD_DIR]
#                   (defaults: 3 repetitions, 15 s, 64 connections, 50 publishes)
#
# Set-up (all on 127.0.0.1): `ferry-origin init` (1 root key) with a 1 KiB and a 1 MiB release and
# one plugin with its author; `ferry-origin serve`; three mirrors, each with io_threads = 2:
#   tier1-a  upstream the origin, registered with the origin (mirror token), region eu
#   tier1-b  upstream the origin, registered with the origin, region na
#   tier2-c  upstream tier1-a, subscribed to its forwarded notices
# All mirrors use `min_interval = 0s` (a notice starts a sync at once; the default waits 5 s after
# the previous sync started) and `poll_interval = 1h` (notices alone drive the syncs).
#
# 1. Serving: GET of the 1 KiB and 1 MiB targets (consistent-snapshot names) and of
#    timestamp.json from tier1-a and from nginx (2 workers, sendfile, no access log, the same
#    cache headers) whose root is tier1-a's served directory; `wrk -t2 -cC -dS --latency`,
#    servers alternating, order flipped every repetition. The mirror's access log (stderr) goes
#    to /dev/null.
# 2. Redirects: GET /download/release/x1k?region=eu on the origin (302 to tier1-a, with Link
#    rel=duplicate and Repr-Digest, after a registry lookup) beside nginx `return 302` to the same
#    Location with the same extra headers. wrk does not follow redirects: it measures the 302.
# 3. Convergence: P times, `ferry publish` of a new 64 KiB build of the plugin; from the moment
#    the command returns (the origin has published and acknowledged), every mirror's
#    /metadata/timestamp.json is polled every 5 ms until it carries the origin's new version.
#    The origin's push notice reaches tier1-a and tier1-b; tier1-a forwards it to tier2-c after
#    its own sync. Reported: p50, p95 and max per mirror and for "all three", plus the time of
#    the publish command itself.
#
# Takes about 8 minutes with the defaults. Raw output (wrk reports, runs.jsonl,
# convergence.jsonl, configs, machine.txt, memory.txt, table.md) is kept in
# BUILD_DIR/bench-results/mirror/. A measuring tool, not a test: CI does not run it.
set -euo pipefail

reps=3
duration=15
conns=64
publishes=50
while [[ $# -gt 0 ]]; do
  case $1 in
    --reps) reps=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --publishes) publishes=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "mirror.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
build_dir=${1:-build}

source "$(dirname "$0")/netbench.sh"
nb_setup "$build_dir" mirror
nb_require wrk nginx python3 curl sha256sum
nb_require_bins ferry-origin ferry-mirror ferry
ulimit -n 65536 2>/dev/null || ulimit -n 4096 2>/dev/null || true

data="$NB_SCRATCH/origin"
echo "== set-up: origin with a 1 KiB and a 1 MiB release, a plugin and its author =="
nb_origin_init "$data"
head -c 1024 /dev/urandom >"$NB_SCRATCH/x1k"
head -c $((1 << 20)) /dev/urandom >"$NB_SCRATCH/x1m"
path_1k=$(nb_release_add "$data" "$NB_SCRATCH/x1k" release/x1k p 1k)
path_1m=$(nb_release_add "$data" "$NB_SCRATCH/x1m" release/x1m p 1m)
path_ts=/metadata/timestamp.json
declare -A url_path=([1k]=$path_1k [1m]=$path_1m [timestamp]=$path_ts)
home="$NB_SCRATCH/author-home"
FERRY_HOME=$home "$NB_BIN/ferry" keygen -o "$NB_SCRATCH/author.key" >/dev/null
"$NB_BIN/ferry-origin" plugin add demo --data "$data" --author-key "$NB_SCRATCH/author.key.pub" \
  --targets-key "$data/offline-keys/targets.key" >/dev/null
plugin_token=$("$NB_BIN/ferry-origin" token issue --data "$data" --scope plugin:demo | head -n1)
"$NB_BIN/ferry-origin" token issue --data "$data" --scope mirror | head -n1 >"$NB_SCRATCH/mirror-token"
chmod 600 "$NB_SCRATCH/mirror-token"
# The prober checks each mirror every 2 s here (default 5 m), so the redirector finds them soon.
nb_start_origin "$data" "$NB_SCRATCH/origin.conf" "$NB_SCRATCH/origin.log" 2 \
  $'[mirrors]\nprobe_every = 2s'
FERRY_HOME=$home "$NB_BIN/ferry" init "$ORIGIN_URL" --root "$data/repo/metadata/1.root.json" >/dev/null
root="$data/repo/metadata/1.root.json"

declare -A mirror_pid mirror_url mirror_dir
start_mirror() {  # NAME UPSTREAM EXTRA_CONF LOG
  local name=$1 upstream=$2 extra=$3 log=$4 port dir
  port=$(nb_free_port)
  dir="$NB_SCRATCH/$name"
  mkdir -p "$dir"
  cat >"$dir/mirror.conf" <<EOF
data_dir = $dir/data
[upstream]
url = $upstream
root = $root
[http]
listen = 127.0.0.1:$port
public_url = http://127.0.0.1:$port
io_threads = 2
[sync]
poll_interval = 1h
min_interval = 0s
$extra
EOF
  cp "$dir/mirror.conf" "$NB_RESULTS/$name.conf"
  "$NB_BIN/ferry-mirror" serve --config "$dir/mirror.conf" >"$dir/stdout" 2>>"$log" &
  mirror_pid[$name]=$!
  NB_PIDS+=("${mirror_pid[$name]}")
  mirror_url[$name]="http://127.0.0.1:$port"
  mirror_dir[$name]="$dir/data"
  nb_wait_port "$port" || nb_die "$name did not start: $(tail -n 20 "$log")"
}
register="[origin]
url = $ORIGIN_URL
token_file = $NB_SCRATCH/mirror-token
heartbeat_interval = 10s"
echo "== set-up: tier1-a, tier1-b (registered with the origin), tier2-c (behind tier1-a) =="
start_mirror tier1-a "$ORIGIN_URL" "[mirror]
name = tier1-a
region = eu
$register" /dev/null
start_mirror tier1-b "$ORIGIN_URL" "[mirror]
name = tier1-b
region = na
$register" "$NB_SCRATCH/tier1-b.log"
start_mirror tier2-c "${mirror_url[tier1-a]}" "[upstream]
subscribe = true" "$NB_SCRATCH/tier2-c.log"

origin_version() { curl -sf "$ORIGIN_URL$path_ts" | python3 -c 'import json,sys; print(json.load(sys.stdin)["signed"]["version"])'; }
served_version() { curl -sf "$1$path_ts" | python3 -c 'import json,sys; print(json.load(sys.stdin)["signed"]["version"])' 2>/dev/null || echo 0; }
want=$(origin_version)
for m in tier1-a tier1-b tier2-c; do
  for i in $(seq 1 600); do
    [[ $(served_version "${mirror_url[$m]}") -ge $want ]] && break
    sleep 0.1
  done
  [[ $(served_version "${mirror_url[$m]}") -ge $want ]] || nb_die "$m did not sync within 60 s"
done
answer=""
for i in $(seq 1 120); do
  answer=$(curl -s -o /dev/null -w '%{http_code}' "$ORIGIN_URL/download/release/x1k?region=eu")
  [[ $answer == 302 ]] && break
  sleep 1
done
[[ $answer == 302 ]] || nb_die "the origin did not redirect to a mirror within 120 s (last answer $answer)"
curl -sI "$ORIGIN_URL/download/release/x1k?region=eu" | tr -d '\r' >"$NB_RESULTS/download-302-head.txt"
location=$(sed -n 's/^[Ll]ocation: //p' "$NB_RESULTS/download-302-head.txt")
link=$(sed -n 's/^[Ll]ink: //p' "$NB_RESULTS/download-302-head.txt")
digest=$(sed -n 's/^[Rr]epr-[Dd]igest: //p' "$NB_RESULTS/download-302-head.txt")
[[ $location == "${mirror_url[tier1-a]}"* ]] || nb_die "region eu was redirected to $location, not tier1-a"
echo "/download/release/x1k?region=eu -> 302 $location"

# nginx serves tier1-a's served directory and answers /download/ with the same 302.
nginx_extra="location = /download/release/x1k {
      add_header Link '$link' always;
      add_header Repr-Digest '$digest' always;
      add_header Cache-Control 'no-store' always;
      return 302 '$location';
    }"
nb_start_nginx "${mirror_dir[tier1-a]}/repo" "$NB_SCRATCH/nginx" off "$nginx_extra"
cp "$NB_SCRATCH/nginx/nginx.conf" "$NB_SCRATCH/origin.conf" "$NB_RESULTS/"
for c in 1k 1m timestamp; do
  a=$(curl -sf "${mirror_url[tier1-a]}${url_path[$c]}" | sha256sum)
  b=$(curl -sf "$NGINX_URL${url_path[$c]}" | sha256sum)
  [[ "$a" == "$b" ]] || nb_die "tier1-a and nginx serve different bytes for ${url_path[$c]}"
done
curl -sI "$NGINX_URL/download/release/x1k?region=eu" | tr -d '\r' >"$NB_RESULTS/nginx-302-head.txt"
curl -sI "${mirror_url[tier1-a]}$path_1k" >"$NB_RESULTS/head-mirror-1k.txt"
curl -sI "$NGINX_URL$path_1k" >"$NB_RESULTS/head-nginx-1k.txt"

nb_machine "$NB_RESULTS/machine.txt" "reps: $reps" "duration_s: $duration" "conns: $conns" \
  "publishes: $publishes" "mirrors: io_threads = 2, worker_threads = 4 (default), access log to /dev/null" \
  "origin: io_threads = 2, probe_every = 2s" \
  "nginx: worker_processes 2, sendfile on, tcp_nopush on, keepalive_requests 10000, access_log off"
{
  echo "before any request:"
  echo "  ferry-mirror tier1-a: $(nb_mem "${mirror_pid[tier1-a]}")"
  echo "  ferry-origin: $(nb_mem "$ORIGIN_PID")"
  echo "  nginx master+workers: $(nb_mem_tree "$NGINX_PID")"
} >"$NB_RESULTS/memory.txt"

echo
echo "== warm-up: 3 s per server and case (not counted) =="
for u in "${mirror_url[tier1-a]}" "$NGINX_URL"; do
  for c in 1k 1m; do wrk -t2 -c"$conns" -d3s "$u${url_path[$c]}" >/dev/null 2>&1; done
done
for u in "$ORIGIN_URL" "$NGINX_URL"; do
  wrk -t2 -c"$conns" -d3s "$u/download/release/x1k?region=eu" >/dev/null 2>&1
done
: >"$NB_SCRATCH/origin.log"

echo
echo "== measured runs: wrk -t2 -c$conns -d${duration}s, $reps repetitions, servers alternating =="
: >"$NB_RESULTS/runs.jsonl"
declare -A srv_pid=([ferry]=${mirror_pid[tier1-a]} [nginx]=$NGINX_PID)
declare -A srv_url=([ferry]=${mirror_url[tier1-a]} [nginx]=$NGINX_URL)
for rep in $(seq 1 "$reps"); do
  order="ferry nginx"
  ((rep % 2 == 0)) && order="nginx ferry"
  echo "-- repetition $rep (load $(nb_load)) --"
  for c in 1k 1m timestamp; do
    for s in $order; do
      nb_wrk "$NB_RESULTS/runs.jsonl" "$NB_RESULTS/wrk-$s-$c-r$rep.txt" "${srv_pid[$s]}" \
        "{\"server\":\"$s\",\"case\":\"$c\",\"conns\":$conns,\"rep\":$rep}" \
        "${srv_url[$s]}${url_path[$c]}" -t2 -c"$conns" -d"${duration}s" --latency
    done
  done
  for s in $order; do
    pid=$ORIGIN_PID url=$ORIGIN_URL
    [[ $s == nginx ]] && pid=$NGINX_PID url=$NGINX_URL
    nb_wrk "$NB_RESULTS/runs.jsonl" "$NB_RESULTS/wrk-$s-download-r$rep.txt" "$pid" \
      "{\"server\":\"$s\",\"case\":\"download\",\"conns\":$conns,\"rep\":$rep}" \
      "$url/download/release/x1k?region=eu" -t2 -c"$conns" -d"${duration}s" --latency
    : >"$NB_SCRATCH/origin.log"  # its access log: one line per redirect
  done
done
{
  echo "after all runs:"
  echo "  ferry-mirror tier1-a: $(nb_mem "${mirror_pid[tier1-a]}")"
  echo "  ferry-origin: $(nb_mem "$ORIGIN_PID")"
  echo "  nginx master+workers: $(nb_mem_tree "$NGINX_PID")"
} >>"$NB_RESULTS/memory.txt"
nb_stop "$NGINX_PID"

echo
echo "== convergence: $publishes publishes, time until all three mirrors serve each =="
mkdir -p "$NB_SCRATCH/builds"
python3 - "$NB_RESULTS/convergence.jsonl" "$publishes" "$NB_BIN/ferry" "$home" \
  "$NB_SCRATCH/author.key" "$plugin_token" "$NB_SCRATCH/builds" "$ORIGIN_URL" \
  "tier1-a=${mirror_url[tier1-a]}" "tier1-b=${mirror_url[tier1-b]}" \
  "tier2-c=${mirror_url[tier2-c]}" <<'EOF'
import json, os, subprocess, sys, time, urllib.request
out, n, ferry, home, key, token, builds, origin = sys.argv[1:9]
mirrors = dict(a.split("=", 1) for a in sys.argv[9:])
env = dict(os.environ, FERRY_HOME=home)

def version(url):
    try:
        with urllib.request.urlopen(url + "/metadata/timestamp.json", timeout=5) as r:
            return json.load(r)["signed"]["version"]
    except Exception:
        return 0

with open(out, "w") as f:
    for i in range(1, int(n) + 1):
        path = os.path.join(builds, "demo-%d.hpi" % i)
        with open(path, "wb") as b:
            b.write(os.urandom(64 * 1024))
        t0 = time.monotonic()
        subprocess.run([ferry, "publish", path, "--plugin", "demo", "--version", "1.%d" % i,
                        "--key", key, "--token", token], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        t_ack = time.monotonic()
        want = version(origin)
        seen = {}
        while len(seen) < len(mirrors):
            for name, url in mirrors.items():
                if name not in seen and version(url) >= want:
                    seen[name] = time.monotonic() - t_ack
            if time.monotonic() - t_ack > 60:
                sys.exit("publish %d: not every mirror reached version %d within 60 s: %s"
                         % (i, want, seen))
            time.sleep(0.005)
        rec = {"i": i, "version": want, "publish_s": t_ack - t0, **seen,
               "all": max(seen.values())}
        f.write(json.dumps(rec) + "\n")
        f.flush()
        print("  publish %2d: command %.3f s; mirrors %s" % (
            i, rec["publish_s"], ", ".join("%s %.3f s" % (k, seen[k]) for k in mirrors)),
            flush=True)
EOF
nb_machine_end "$NB_RESULTS/machine.txt"
echo
python3 "$NB_LIB_DIR/netbench_report.py" mirror "$NB_RESULTS" | tee "$NB_RESULTS/table.md"
