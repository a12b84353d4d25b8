#!/usr/bin/env bash
# Download and verify a 100 MiB target from a local origin: `ferry get` and `ferry-tuf download`
# (TUF refresh, download, hash check, fsync, rename) beside `curl -o` plus `sha256sum` of the same
# file, same run, interleaved. Prints median wall time, MB/s and client CPU per tool, warm and
# cold page cache, and the ratios to the anchor.
#
#   bench/download.sh [--runs N] [--size-mib M] [--drop-caches] [BUILD_DIR]   (5 runs, 100 MiB)
#
# Set-up: `ferry-origin init` (1 root key), a random file published with `ferry-origin release add
# --path release/big.bin`, `ferry-origin serve` (io_threads = 2) on 127.0.0.1; `ferry init` with
# the origin's 1.root.json in a private FERRY_HOME; `ferry-tuf init` with the same root. Every run
# starts without the output file (and without a partial download), so each one downloads.
#
# Tools, in a rotating order within each repetition:
#   ferry-get       FERRY_HOME=H ferry get release/big.bin -o OUT
#   ferry-tuf       ferry-tuf --metadata-url U/metadata/ --metadata-dir M --target-name
#                   release/big.bin --target-dir T --target-base-url U/targets/ download
#   curl+sha256sum  curl -sSf -o OUT U/targets/release/SHA256.big.bin && sha256sum OUT  (the anchor)
#   curl+openssl    the same with `openssl dgst -sha256` (SHA-NI speed; coreutils' sha256sum is not)
#   curl+sha256sum+sync  the anchor followed by `sync OUT` (fsync: Ferry fsyncs before renaming)
# The anchors compare the digest with the expected one, as a verifying download must.
#
# Page cache: "warm" runs read the origin's file from memory (it is read right before). "cold"
# runs first drop that file's pages with posix_fadvise(POSIX_FADV_DONTNEED) (fincore records
# what stayed resident), so the origin's sendfile reads it from the disk while the programs
# themselves stay cached, as on a server that has been up a while. --drop-caches uses
# `echo 1 >/proc/sys/vm/drop_caches` instead (root; it also evicts everything else on the
# machine, other people's builds included, so it is not the default). On a VM the host may still
# cache the disk, so cold means "from the virtual disk".
#
# Raw output (times.txt, fincore, the origin's log) is kept in BUILD_DIR/bench-results/download/.
# A measuring tool, not a test: CI does not run it.
set -euo pipefail

runs=5
size_mib=100
use_drop_caches=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --size-mib) size_mib=$2; shift 2 ;;
    --drop-caches) use_drop_caches=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "download.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
build_dir=${1:-build}

source "$(dirname "$0")/netbench.sh"
nb_setup "$build_dir" download
nb_require curl sha256sum openssl python3 sync fincore
nb_require_bins ferry-origin ferry ferry-tuf

data="$NB_SCRATCH/data"
echo "== set-up: origin with a $size_mib MiB release =="
nb_origin_init "$data"
head -c $((size_mib << 20)) /dev/urandom >"$NB_SCRATCH/big.bin"
expected=$(sha256sum "$NB_SCRATCH/big.bin" | cut -d' ' -f1)
url_path=$(nb_release_add "$data" "$NB_SCRATCH/big.bin" release/big.bin big 1)
rm "$NB_SCRATCH/big.bin"
served_file="$data/repo$url_path"
nb_start_origin "$data" "$NB_SCRATCH/origin.conf" "$NB_RESULTS/origin.log" 2
home="$NB_SCRATCH/home"
FERRY_HOME=$home "$NB_BIN/ferry" init "$ORIGIN_URL" --root "$data/repo/metadata/1.root.json" >/dev/null
tufmeta="$NB_SCRATCH/tuf-metadata"
mkdir -p "$tufmeta" "$NB_SCRATCH/tuf-targets" "$NB_SCRATCH/out"
"$NB_BIN/ferry-tuf" --metadata-dir "$tufmeta" init "$data/repo/metadata/1.root.json"
out="$NB_SCRATCH/out/big.bin"
tuf_out="$NB_SCRATCH/tuf-targets/release%2Fbig.bin"

if [[ $use_drop_caches == 1 ]]; then
  cold_method="sync; echo 1 >/proc/sys/vm/drop_caches (the whole page cache)"
else
  cold_method="posix_fadvise(POSIX_FADV_DONTNEED) on the served file"
fi
nb_machine "$NB_RESULTS/machine.txt" "size: $size_mib MiB" "runs: $runs per tool and cache state" \
  "cold: $cold_method" "file system of the scratch dir: $(df --output=fstype "$NB_SCRATCH" | tail -n1)" \
  "openssl: $(openssl version)" "sha256sum: $(sha256sum --version | head -n1)"

evict() {  # drop the origin's copy of the file from the page cache
  if [[ $use_drop_caches == 1 ]]; then
    sync
    echo 1 >/proc/sys/vm/drop_caches
    return
  fi
  python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.fsync(fd)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
os.close(fd)' "$served_file"
}
warm() { cat "$served_file" >/dev/null; }
resident() { fincore -nb -o RES "$served_file" | tr -d ' '; }
clean_outputs() {
  rm -f "$out" "$tuf_out"
  rm -rf "$home/partial"
}
check() {  # FILE: the digest must be the expected one (checked outside the timed part for Ferry)
  [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "$expected" ]] || nb_die "wrong bytes in $1"
}

# The anchors check the digest themselves, inside the timed command.
anchor_sha256sum='curl -sSf -o "$1" "$2" && [ "$(sha256sum "$1" | cut -d" " -f1)" = "$3" ]'
anchor_openssl='curl -sSf -o "$1" "$2" && [ "$(openssl dgst -sha256 -r "$1" | cut -d" " -f1)" = "$3" ]'
anchor_sync='curl -sSf -o "$1" "$2" && [ "$(sha256sum "$1" | cut -d" " -f1)" = "$3" ] && sync "$1"'
run_tool() {  # TOOL: runs it once, prints "WALL USER SYS"
  local t
  case $1 in
    ferry-get) t=$( { TIMEFORMAT='%3R %3U %3S'; time FERRY_HOME=$home "$NB_BIN/ferry" get release/big.bin -o "$out" >/dev/null 2>"$NB_SCRATCH/err"; } 2>&1 ) ;;
    ferry-tuf) t=$( { TIMEFORMAT='%3R %3U %3S'; time "$NB_BIN/ferry-tuf" --metadata-url "$ORIGIN_URL/metadata/" \
                   --metadata-dir "$tufmeta" --target-name release/big.bin --target-dir "$NB_SCRATCH/tuf-targets" \
                   --target-base-url "$ORIGIN_URL/targets/" download >/dev/null 2>"$NB_SCRATCH/err"; } 2>&1 ) ;;
    curl+sha256sum) t=$( { TIMEFORMAT='%3R %3U %3S'; time bash -c "$anchor_sha256sum" _ "$out" "$ORIGIN_URL$url_path" "$expected" 2>"$NB_SCRATCH/err"; } 2>&1 ) ;;
    curl+openssl) t=$( { TIMEFORMAT='%3R %3U %3S'; time bash -c "$anchor_openssl" _ "$out" "$ORIGIN_URL$url_path" "$expected" 2>"$NB_SCRATCH/err"; } 2>&1 ) ;;
    curl+sha256sum+sync) t=$( { TIMEFORMAT='%3R %3U %3S'; time bash -c "$anchor_sync" _ "$out" "$ORIGIN_URL$url_path" "$expected" 2>"$NB_SCRATCH/err"; } 2>&1 ) ;;
  esac || { cat "$NB_SCRATCH/err" >&2; nb_die "$1 failed"; }
  echo "$t"
}

tools=(ferry-get ferry-tuf curl+sha256sum curl+openssl curl+sha256sum+sync)
times="$NB_RESULTS/times.txt"
: >"$times"
echo
echo "== $runs repetitions x ${#tools[@]} tools x {warm, cold}, interleaved =="
for rep in $(seq 1 "$runs"); do
  for cache in warm cold; do
    # Rotate the order every repetition so no tool always follows the same one.
    for k in $(seq 0 $((${#tools[@]} - 1))); do
      tool=${tools[$(( (k + rep - 1) % ${#tools[@]} ))]}
      clean_outputs
      sync  # the previous run's dirty pages are not this run's to write
      if [[ $cache == cold ]]; then evict; else warm; fi
      res_before=$(resident)
      o0=$(nb_pid_ticks "$ORIGIN_PID")
      read -r wall user sys <<<"$(run_tool "$tool")"
      o1=$(nb_pid_ticks "$ORIGIN_PID")
      case $tool in
        ferry-get) check "$out" ;;
        ferry-tuf) check "$tuf_out" ;;
      esac
      echo "rep=$rep cache=$cache tool=$tool wall_s=$wall user_s=$user sys_s=$sys origin_cpu_s=$(awk -v t=$((o1 - o0)) -v hz="$(nb_hz)" 'BEGIN{print t / hz}') resident_before=$res_before load1=$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$times"
    done
  done
done
clean_outputs

# Extra: `ferry get` into another file system (tmpfs /dev/shm) than its state directory, where
# the verified partial file cannot be renamed into place; peak memory of the client.
if [[ -d /dev/shm && -w /dev/shm ]] && command -v /usr/bin/time >/dev/null; then
  shm_out=$(mktemp /dev/shm/ferry-download.XXXXXX)
  rm -f "$shm_out"
  /usr/bin/time -f 'wall_s=%e maxrss_kib=%M' -o "$NB_RESULTS/cross-fs.txt" \
    env FERRY_HOME="$home" "$NB_BIN/ferry" get release/big.bin -o "$shm_out" >/dev/null
  rm -rf "$home/partial"
  /usr/bin/time -f 'wall_s=%e maxrss_kib=%M' -o "$NB_RESULTS/same-fs.txt" \
    env FERRY_HOME="$home" "$NB_BIN/ferry" get release/big.bin -o "$out" >/dev/null
  rm -f "$shm_out" "$out"
  echo "ferry get, output on tmpfs (rename fails, copy): $(cat "$NB_RESULTS/cross-fs.txt")"
  echo "ferry get, output on the same file system:        $(cat "$NB_RESULTS/same-fs.txt")"
fi
# Cold read speed of the disk for this file, for context.
evict
dd if="$served_file" of=/dev/null bs=1M 2>&1 | tail -n1 | tee "$NB_RESULTS/cold-read-dd.txt"

nb_machine_end "$NB_RESULTS/machine.txt"
echo
python3 - "$NB_RESULTS" "$size_mib" <<'EOF' | tee "$NB_RESULTS/table.md"
import statistics
import sys
from collections import defaultdict
from pathlib import Path

results = Path(sys.argv[1])
size = int(sys.argv[2]) * 1048576
rows = defaultdict(list)
for line in (results / "times.txt").read_text().splitlines():
    r = dict(kv.split("=", 1) for kv in line.split())
    rows[(r["cache"], r["tool"])].append(r)

def med(xs):
    return statistics.median(xs)

anchor = "curl+sha256sum"
print(f"== Download and verify, {size // 1048576} MiB (MB = 10^6 bytes; median of runs, min-max) ==")
print("| cache | tool | wall s | MB/s | client CPU s (user+sys) | origin CPU s | anchor wall / tool wall | curl+sha256sum+sync wall / tool wall |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for cache in ("warm", "cold"):
    base = med([float(r["wall_s"]) for r in rows[(cache, anchor)]])
    base_sync = med([float(r["wall_s"]) for r in rows[(cache, "curl+sha256sum+sync")]])
    for tool in ("ferry-get", "ferry-tuf", "curl+sha256sum", "curl+openssl", "curl+sha256sum+sync"):
        rs = rows[(cache, tool)]
        if not rs:
            continue
        w = [float(r["wall_s"]) for r in rs]
        cpu = [float(r["user_s"]) + float(r["sys_s"]) for r in rs]
        o = [float(r["origin_cpu_s"]) for r in rs]
        print(f"| {cache} | {tool} | {med(w):.3f} ({min(w):.3f}-{max(w):.3f}) | {size / med(w) / 1e6:.0f} | "
              f"{med(cpu):.3f} | {med(o):.3f} | **{base / med(w):.2f}** | {base_sync / med(w):.2f} |")
print()
print("Ratios above 1: the tool is faster than the anchor. Resident pages of the origin's file before")
print("each run (fincore), warm/cold medians:",
      {c: med([int(r["resident_before"]) for t in ("ferry-get",) for r in rows[(c, t)]]) for c in ("warm", "cold")})
EOF
