#!/usr/bin/env bash
# Publish throughput of a live origin: N 1 MiB plugin builds published with `ferry publish`, by
# one author one after the other, then by 4 authors (4 plugins) at once; builds/s and MiB/s, and
# where the time goes (upload, the origin accepting the signed role and publishing, the client's
# own work), from the origin's access log. Anchor for the upload step: the same volume sent with
# `curl -T` to the origin's upload API and to nginx's WebDAV PUT (Debian's nginx), in the same
# run; publishing itself has no anchor. At the end `ferry-origin status` must count every build.
#
#   bench/publish.sh [--builds N] [--no-deltas] [--large-mib M] [BUILD_DIR]   (N: 48, M: 100)
#
# After each publish the origin builds signed patches from the package's previous versions (zstd
# level 19, off the request path; [deltas] in conf/origin.example.conf), which takes CPU from the
# same 2 cores. The builds here are random, so no patch is ever worth publishing and every one is
# built in vain: the worst case. --no-deltas sets `[deltas] enabled = false` to show the rest.
#
# Set-up: `ferry-origin init` (1 root key), `ferry-origin serve` (io_threads = 2), for each of 4
# authors `ferry keygen`, `ferry-origin plugin add plN --author-key`, `ferry-origin token issue
# --scope plugin:plN` and `ferry init` in their own FERRY_HOME. Builds are random (incompressible,
# all different) 1 MiB files. Phases, in this order:
#   seq      author 1 publishes N builds of pl1, one `ferry publish` after the other
#   conc     authors 1-4 publish N/4 builds each of pl1..pl4, the 4 loops running at once
#   curl-origin-seq / -conc   `curl -T` of N other 1 MiB files to PUT /api/v1/plugins/pl1/files/
#                             (the upload alone: hashed, fsynced, never published)
#   curl-nginx-seq / -conc    `curl -T` of the same files to nginx (dav_methods PUT; no fsync)
#   curl-nginx-sync-seq       the same followed by `sync FILE` (fsync, as the origin's store does)
#   large                     3 uploads of a 100 MiB file (--large-mib) with `curl -T`, to the
#                             origin's upload API and to nginx alternately: server CPU and MB/s
#
# Takes 1-4 minutes. Raw output (per-build times, the origin's access log, status) is kept in
# BUILD_DIR/bench-results/publish/ (publish-no-deltas/ with --no-deltas). A measuring tool, not
# a test: CI does not run it.
set -euo pipefail

builds=48
deltas=on
large_mib=100
while [[ $# -gt 0 ]]; do
  case $1 in
    --builds) builds=$2; shift 2 ;;
    --no-deltas) deltas=off; shift ;;
    --large-mib) large_mib=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "publish.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
build_dir=${1:-build}
((builds % 4 == 0)) || { echo "publish.sh: --builds must be divisible by 4" >&2; exit 2; }
per_author=$((builds / 4))

source "$(dirname "$0")/netbench.sh"
results_name=publish
[[ $deltas == off ]] && results_name=publish-no-deltas
nb_setup "$build_dir" "$results_name"
nb_require curl nginx python3 sync
nb_require_bins ferry-origin ferry
ferry="$NB_BIN/ferry"

data="$NB_SCRATCH/data"
echo "== set-up: origin, 4 plugins with one author each, tokens =="
nb_origin_init "$data"
access="$NB_RESULTS/origin-access.log"
delta_conf=""
[[ $deltas == off ]] && delta_conf=$'[deltas]\nenabled = false'
nb_start_origin "$data" "$NB_SCRATCH/origin.conf" "$access" 2 "$delta_conf"
declare -a token home
for a in 1 2 3 4; do
  home[$a]="$NB_SCRATCH/home$a"
  FERRY_HOME=${home[$a]} "$ferry" keygen -o "$NB_SCRATCH/author$a.key" >/dev/null
  "$NB_BIN/ferry-origin" plugin add "pl$a" --data "$data" --author-key "$NB_SCRATCH/author$a.key.pub" \
    --targets-key "$data/offline-keys/targets.key" >/dev/null
  token[$a]=$("$NB_BIN/ferry-origin" token issue --data "$data" --scope "plugin:pl$a" | head -n1)
  FERRY_HOME=${home[$a]} "$ferry" init "$ORIGIN_URL" --root "$data/repo/metadata/1.root.json" >/dev/null
done
echo "== set-up: $((2 * builds)) random 1 MiB files =="
mkdir -p "$NB_SCRATCH/builds" "$NB_SCRATCH/uploads" "$NB_SCRATCH/dav/upload" "$NB_SCRATCH/nginx"
for i in $(seq 1 "$builds"); do
  head -c $((1 << 20)) /dev/urandom >"$NB_SCRATCH/builds/seq-$i.hpi"
  head -c $((1 << 20)) /dev/urandom >"$NB_SCRATCH/uploads/up-$i.hpi"
done
for a in 1 2 3 4; do
  for i in $(seq 1 "$per_author"); do
    head -c $((1 << 20)) /dev/urandom >"$NB_SCRATCH/builds/conc-$a-$i.hpi"
  done
done
nb_start_nginx "$NB_SCRATCH/dav" "$NB_SCRATCH/nginx" off \
  'location /upload/ { dav_methods PUT; create_full_put_path on; client_max_body_size 0; client_body_buffer_size 1m; }'
cp "$NB_SCRATCH/nginx/nginx.conf" "$NB_SCRATCH/origin.conf" "$NB_RESULTS/"
nb_machine "$NB_RESULTS/machine.txt" "builds: $builds (1 MiB each)" "authors_concurrent: 4" \
  "origin deltas: $deltas"

phases="$NB_RESULTS/phases.txt"
: >"$phases"
# phase NAME COUNT START_NS END_NS ORIGIN_TICKS: one line per phase, read by the report below.
phase_line() {
  echo "phase=$1 count=$2 start_ns=$3 end_ns=$4 origin_ticks=$5 load=$(cut -d' ' -f1 /proc/loadavg)" >>"$phases"
}
now_ns() { date +%s%N; }
# Runs one command, appends "NAME WALL_S USER_S SYS_S" to FILE; fails the script if it fails.
timed() {
  local name=$1 file=$2
  shift 2
  local t
  t=$( { TIMEFORMAT='%3R %3U %3S'; time "$@" >/dev/null 2>"$NB_SCRATCH/err.$BASHPID"; } 2>&1 ) || {
    cat "$NB_SCRATCH/err.$BASHPID" >&2
    nb_die "$name failed: $*"
  }
  echo "$name $t" >>"$file"
}
publish_loop() {  # AUTHOR PREFIX COUNT FILE
  local a=$1 prefix=$2 n=$3 file=$4 i
  for i in $(seq 1 "$n"); do
    FERRY_HOME=${home[$a]} timed "$prefix-$i" "$file" "$ferry" publish "$NB_SCRATCH/builds/$prefix-$i.hpi" \
      --plugin "pl$a" --version "$prefix.$i" --key "$NB_SCRATCH/author$a.key" --token "${token[$a]}"
  done
}
curl_loop() {  # TARGET(origin|nginx|nginx-sync) TAG FIRST LAST FILE: uploads/up-I.hpi as TAG-I.hpi
  local target=$1 tag=$2 first=$3 last=$4 file=$5 i f
  for i in $(seq "$first" "$last"); do
    f="$NB_SCRATCH/uploads/up-$i.hpi"
    case $target in
      origin) timed "$tag-$i" "$file" curl -sSf -T "$f" -H "Authorization: Bearer ${token[1]}" \
                "$ORIGIN_URL/api/v1/plugins/pl1/files/$tag-$i.hpi" ;;
      nginx) timed "$tag-$i" "$file" curl -sSf -T "$f" "$NGINX_URL/upload/$tag-$i.hpi" ;;
      nginx-sync) timed "$tag-$i" "$file" bash -c 'curl -sSf -T "$1" "$2" && sync "$3"' _ "$f" \
                    "$NGINX_URL/upload/$tag-$i.hpi" "$NB_SCRATCH/dav/upload/$tag-$i.hpi" ;;
    esac
  done
}
# Waits (at most 60 s) until the origin used less than 2% of a core for a second: the patch
# builder may still be working on the previous phase's publishes.
wait_origin_idle() {
  local i a b
  for i in $(seq 1 60); do
    a=$(nb_pid_ticks "$ORIGIN_PID"); sleep 1; b=$(nb_pid_ticks "$ORIGIN_PID")
    (( (b - a) * 50 < $(nb_hz) )) && return 0
  done
  echo "note: the origin was still busy after 60 s" >&2
}
run_phase() {  # NAME COUNT COMMAND...: runs COMMAND, records the phase
  local name=$1 count=$2 t0 t1 o0 o1
  shift 2
  wait_origin_idle
  sync  # earlier phases' dirty pages are not this phase's fsync cost
  o0=$(nb_pid_ticks "$ORIGIN_PID"); t0=$(now_ns)
  "$@"
  t1=$(now_ns)
  wait_origin_idle  # the origin CPU of a phase includes the patches its publishes caused
  o1=$(nb_pid_ticks "$ORIGIN_PID")
  phase_line "$name" "$count" "$t0" "$t1" "$((o1 - o0))"
  awk -v n="$count" -v s="$(( (t1 - t0) / 1000000 ))" -v name="$name" \
    'BEGIN {printf "  %-22s %3d x 1 MiB in %6.2f s: %6.2f per s, %6.2f MiB/s\n", name, n, s / 1000, n / (s / 1000), n / (s / 1000)}'
}
conc_publish() {
  local a pids=()
  for a in 1 2 3 4; do
    publish_loop "$a" "conc-$a" "$per_author" "$NB_RESULTS/times-conc-$a.txt" &
    pids+=($!)
  done
  for a in "${pids[@]}"; do wait "$a" || nb_die "a concurrent author failed"; done
}
conc_curl() {  # TARGET TAG
  local target=$1 tag=$2 a pids=()
  for a in 1 2 3 4; do
    curl_loop "$target" "$tag" $(( (a - 1) * per_author + 1 )) $((a * per_author)) \
      "$NB_RESULTS/times-$tag-$a.txt" &
    pids+=($!)
  done
  for a in "${pids[@]}"; do wait "$a" || nb_die "a concurrent upload failed"; done
}

echo
echo "== phases (load $(nb_load)) =="
run_phase seq "$builds" publish_loop 1 seq "$builds" "$NB_RESULTS/times-seq.txt"
run_phase conc "$builds" conc_publish
# Upload-only phases: each under its own file names; the origin's store keeps identical content
# once (and skips the fsync for it), so its second phase gets new random bytes.
run_phase curl-origin-seq "$builds" curl_loop origin curl-origin-seq 1 "$builds" "$NB_RESULTS/times-curl-origin-seq.txt"
for i in $(seq 1 "$builds"); do head -c $((1 << 20)) /dev/urandom >"$NB_SCRATCH/uploads/up-$i.hpi"; done
run_phase curl-origin-conc "$builds" conc_curl origin curl-origin-conc
run_phase curl-nginx-seq "$builds" curl_loop nginx curl-nginx-seq 1 "$builds" "$NB_RESULTS/times-curl-nginx-seq.txt"
run_phase curl-nginx-conc "$builds" conc_curl nginx curl-nginx-conc
run_phase curl-nginx-sync-seq "$builds" curl_loop nginx-sync curl-nginx-sync-seq 1 "$builds" "$NB_RESULTS/times-curl-nginx-sync-seq.txt"

echo
echo "== large uploads: $large_mib MiB with curl -T, origin and nginx alternately =="
: >"$NB_RESULTS/large.txt"
nginx_pids=$(nb_tree_pids "$NGINX_PID")
wait_origin_idle
for r in 1 2 3; do
  head -c $((large_mib << 20)) /dev/urandom >"$NB_SCRATCH/large.bin"
  sync
  for target in origin nginx; do
    if [[ $target == origin ]]; then
      url="$ORIGIN_URL/api/v1/plugins/pl1/files/large-$r.hpi"; pids=$ORIGIN_PID
    else
      url="$NGINX_URL/upload/large-$r.hpi"; pids=$nginx_pids
    fi
    s0=$(nb_pid_ticks $pids)
    t=$( { TIMEFORMAT='%3R %3U %3S'; time curl -sSf -o /dev/null -T "$NB_SCRATCH/large.bin" \
           -H "Authorization: Bearer ${token[1]}" "$url"; } 2>&1 ) || nb_die "large upload to $target failed"
    s1=$(nb_pid_ticks $pids)
    read -r wall user sys <<<"$t"
    echo "rep=$r target=$target wall_s=$wall curl_cpu_s=$(awk -v u="$user" -v s="$sys" 'BEGIN{print u + s}') server_cpu_s=$(awk -v t=$((s1 - s0)) -v hz="$(nb_hz)" 'BEGIN{print t / hz}') bytes=$((large_mib << 20))" \
      | tee -a "$NB_RESULTS/large.txt"
  done
  rm -f "$NB_SCRATCH/dav/upload/large-$r.hpi"
done
rm -f "$NB_SCRATCH/large.bin"

echo
echo "== ferry-origin status =="
"$NB_BIN/ferry-origin" status --data "$data" | tee "$NB_RESULTS/status.txt" || true
published=$(sed -n 's/.*artifacts \([0-9]*\),.*/\1/p' "$NB_RESULTS/status.txt")
for a in 1 2 3 4; do
  FERRY_HOME=${home[$a]} "$ferry" refresh >/dev/null
  FERRY_HOME=${home[$a]} "$ferry" list "pl$a" >"$NB_RESULTS/list-pl$a.txt" 2>&1 || true
done
echo "artifacts published: $published (expected $((2 * builds)))"
[[ "$published" == "$((2 * builds))" ]] || nb_die "not every build was published (see $NB_RESULTS/status.txt)"
nb_machine_end "$NB_RESULTS/machine.txt"
echo
python3 - "$NB_RESULTS" "$(nb_hz)" <<'EOF' | tee "$NB_RESULTS/table.md"
import re
import statistics
import sys
from pathlib import Path

results = Path(sys.argv[1])
hz = float(sys.argv[2])
phases = []
for line in (results / "phases.txt").read_text().splitlines():
    phases.append(dict(kv.split("=", 1) for kv in line.split()))

# Access log: "2026-...Z remote=... method=PUT target="/..." status=201 bytes=N ms=12 tls=0"
# The timestamp is when the request started (ms resolution).
log = []
pat = re.compile(r'^(\S+) remote=\S+ method=(\S+) target="([^"]*)" status=(\d+) bytes=(\d+) ms=(\d+)')
from datetime import datetime, timezone
for line in (results / "origin-access.log").read_text(errors="replace").splitlines():
    m = pat.match(line)
    if not m:
        continue
    t = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()
    log.append((t, m.group(2), m.group(3), int(m.group(4)), int(m.group(6))))

def kind(method, target):
    if method == "PUT":
        return "upload"
    if method == "POST" and target.endswith("/role"):
        return "submit"
    if method == "GET" and target.startswith("/metadata/"):
        return "metadata"
    return "other"

def times(name):
    out = []
    for f in sorted(results.glob(f"times-{name}*.txt")):
        for line in f.read_text().splitlines():
            _, wall, user, sys_s = line.split()
            out.append((float(wall), float(user) + float(sys_s)))
    return out

print("== Publish throughput (1 MiB builds; MiB = 2^20 bytes) ==")
print("| phase | what | builds | wall s | builds/s | MiB/s | per build ms: median (min-max) | "
      "client CPU ms/build | origin CPU ms/build (incl. patches built after) | bad answers |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
what = {
    "seq": "`ferry publish`, 1 author, sequential",
    "conc": "`ferry publish`, 4 authors/plugins at once",
    "curl-origin-seq": "`curl -T` to the origin's upload API, sequential",
    "curl-origin-conc": "`curl -T` to the origin's upload API, 4 at once",
    "curl-nginx-seq": "`curl -T` to nginx WebDAV PUT, sequential",
    "curl-nginx-conc": "`curl -T` to nginx WebDAV PUT, 4 at once",
    "curl-nginx-sync-seq": "`curl -T` to nginx + `sync FILE`, sequential",
}
rate = {}
for p in phases:
    name, n = p["phase"], int(p["count"])
    wall = (int(p["end_ns"]) - int(p["start_ns"])) / 1e9
    t = times(name)
    per = [w for w, _ in t]
    cpu = [c for _, c in t]
    t0, t1 = int(p["start_ns"]) / 1e9, int(p["end_ns"]) / 1e9
    bad = sum(1 for e in log if t0 - 0.001 <= e[0] <= t1 and e[1] in ("PUT", "POST") and e[3] >= 300)
    rate[name] = n / wall
    med = statistics.median(per) * 1000 if per else float("nan")
    spread = f"{med:.0f} ({min(per) * 1000:.0f}-{max(per) * 1000:.0f})" if per else "n/a"
    print(f"| {name} | {what.get(name, name)} | {n} | {wall:.2f} | {n / wall:.2f} | {n / wall:.2f} | "
          f"{spread} | {statistics.mean(cpu) * 1000:.0f} | "
          f"{int(p['origin_ticks']) / hz / n * 1000:.0f} | {bad if name.startswith(('seq', 'conc', 'curl-origin')) else 'n/a'} |")

print()
print("== Ratios ==")
def ratio(a, b, label):
    if a in rate and b in rate:
        print(f"- {label}: **{rate[a] / rate[b]:.2f}**")
ratio("curl-origin-seq", "curl-nginx-seq", "upload alone, origin/nginx, sequential (builds/s)")
ratio("curl-origin-seq", "curl-nginx-sync-seq", "upload alone, origin/(nginx + fsync), sequential")
ratio("curl-origin-conc", "curl-nginx-conc", "upload alone, origin/nginx, 4 at once")
ratio("seq", "curl-nginx-seq", "whole `ferry publish` / nginx upload alone, sequential")
ratio("seq", "curl-origin-seq", "whole `ferry publish` / origin upload alone, sequential")
ratio("conc", "seq", "4 authors at once / 1 author (builds/s)")

large = [dict(kv.split("=", 1) for kv in l.split()) for l in (results / "large.txt").read_text().splitlines()]
if large:
    print()
    print("== Large uploads with curl -T (median of 3; MB = 10^6 bytes) ==")
    print("| server | MiB | wall s | MB/s | server CPU s | server CPU ms per MiB |")
    print("|---|---:|---:|---:|---:|---:|")
    med_wall = {}
    for target in ("origin", "nginx"):
        rs = [r for r in large if r["target"] == target]
        w = [float(r["wall_s"]) for r in rs]
        c = [float(r["server_cpu_s"]) for r in rs]
        n = int(rs[0]["bytes"])
        med_wall[target] = statistics.median(w)
        print(f"| {target} | {n // 1048576} | {statistics.median(w):.2f} ({min(w):.2f}-{max(w):.2f}) | "
              f"{n / statistics.median(w) / 1e6:.0f} | {statistics.median(c):.2f} | "
              f"{statistics.median(c) * 1000 / (n / 1048576):.1f} |")
    print(f"- large upload, origin/nginx (MB/s): **{med_wall['nginx'] / med_wall['origin']:.2f}**")

print()
print("== Where a sequential `ferry publish` spends its time (origin access log, ms per build) ==")
for name in ("seq", "conc"):
    p = next((x for x in phases if x["phase"] == name), None)
    if p is None:
        continue
    t0, t1 = int(p["start_ns"]) / 1e9 - 0.001, int(p["end_ns"]) / 1e9
    n = int(p["count"])
    sums = {"upload": 0, "submit": 0, "metadata": 0, "other": 0}
    counts = dict.fromkeys(sums, 0)
    for e in log:
        if t0 <= e[0] <= t1:
            k = kind(e[1], e[2])
            sums[k] += e[4]
            counts[k] += 1
    per = [w for w, _ in times(name)]
    total_ms = sum(per) * 1000 / n
    server_ms = sum(sums.values()) / n
    print(f"{name}: {total_ms:.0f} ms per `ferry publish` (process wall time, mean)")
    print(f"  PUT upload (server side, head to answer)      {sums['upload'] / n:7.1f} ms  ({counts['upload']} requests)")
    print(f"  POST role: verify, link, sign, publish         {sums['submit'] / n:7.1f} ms  ({counts['submit']} requests)")
    print(f"  GET metadata (the client's TUF refresh)        {sums['metadata'] / n:7.1f} ms  ({counts['metadata'] / n:.1f} requests per build)")
    print(f"  client side: start, key, hash + minisign, TUF  {total_ms - server_ms:7.1f} ms  (the rest)")
EOF
