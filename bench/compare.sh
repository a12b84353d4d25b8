#!/usr/bin/env bash
# Runs Ferry's benchmarks and, on the same machine in the same go, the anchors they are judged
# against: `openssl speed` (SHA-256, SHA-512, ed25519, ECDSA P-256, RSA-3072) and `sha256sum` over
# a 256 MiB file. Prints a Ferry-vs-anchor table with the ratio Ferry/anchor (> 1: Ferry faster).
#
#   bench/compare.sh [--cpu-time] [BUILD_DIR]   (default: build; needs BUILD_DIR/bin/ferry-bench)
#
# Rates are per wall-clock second (`openssl speed -elapsed`) unless --cpu-time is given: then
# every rate, Ferry's and the anchors', is per second of CPU time the process was given (openssl
# speed without -elapsed, Google Benchmark's cpu_time, sha256sum's user+sys time). That mode is
# for a machine other work is using, where wall-clock rates fall by however much of a core each
# program happened to get.
#
# Takes about two and a half minutes. Raw results are kept in BUILD_DIR/bench-results/. This is a
# measuring tool, not a test: CI does not run it. Run it on an otherwise idle machine; it prints
# the share of the wall time it had a core (own_cpu_share, ~1.0 when undisturbed) and warns when
# that is low (renicing does not help where the kernel groups processes by session).
# docs/benchmarks.md records a run.
set -euo pipefail

clock=wall
if [[ "${1:-}" == "--cpu-time" ]]; then
  clock=cpu
  shift
fi
build_dir=${1:-build}
elapsed=-elapsed
[[ $clock == cpu ]] && elapsed=
bench_bin="$build_dir/bin/ferry-bench"
if [[ ! -x "$bench_bin" ]]; then
  echo "compare.sh: $bench_bin not found; build it with" >&2
  echo "  cmake --preset default && cmake --build $build_dir --target ferry-bench" >&2
  exit 1
fi
for tool in openssl sha256sum python3; do
  command -v "$tool" >/dev/null || { echo "compare.sh: $tool is required" >&2; exit 1; }
done

# CPU time used by every process on the machine, and by this script and its children, in clock
# ticks: their difference over the run is what other processes took (they share the cores).
machine_busy_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8; exit}' /proc/stat; }
steal_ticks() { awk '/^cpu /{print $9; exit}' /proc/stat; }
own_ticks() { awk '{print $14 + $15 + $16 + $17}' "/proc/$$/stat"; }
start_wall=$(date +%s)
start_busy=$(machine_busy_ticks)
start_steal=$(steal_ticks)
start_own=$(own_ticks)

results="$build_dir/bench-results"
mkdir -p "$results"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/ferry-compare.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  if grep -qw sha_ni /proc/cpuinfo; then echo "sha_ni: yes"; else echo "sha_ni: no"; fi
  echo "openssl: $(openssl version)"
  echo "sha256sum: $(sha256sum --version | head -n1)"
  echo "ferry: $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "clock: $clock"
  echo "load_before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$results/machine.txt"
cat "$results/machine.txt"

echo
echo "== ferry-bench (3 repetitions, median) =="
# Only the benchmarks compared here, so others added to ferry-bench do not lengthen the run.
"$bench_bin" --benchmark_filter='^BM_(Hash|Ed25519|EcdsaP256|RsaPss3072|PemDecode|Snapshot)' \
  --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  --benchmark_out="$results/ferry.json" --benchmark_out_format=json

echo
echo "== openssl speed $elapsed -seconds 3 sha256 sha512 ed25519 ecdsap256 =="
openssl speed -mr $elapsed -seconds 3 sha256 sha512 ed25519 ecdsap256 2>&1 \
  | grep -v '^+[DR]' | tee "$results/openssl-speed.txt"
echo "== openssl speed $elapsed -seconds 3 rsa3072 =="
openssl speed -mr $elapsed -seconds 3 rsa3072 2>&1 \
  | grep -v '^+[DR]' | tee "$results/openssl-rsa.txt"
echo "== openssl speed $elapsed -seconds 3 -evp sha256 =="
openssl speed -mr $elapsed -seconds 3 -evp sha256 2>&1 \
  | grep -v '^+[DR]' | tee "$results/openssl-evp.txt"

echo
echo "== sha256sum over a 256 MiB file (second, warm-cache run counts) =="
head -c $((256 << 20)) /dev/urandom >"$scratch/blob"
: >"$results/sha256sum.txt"
for run in 1 2; do
  # bash's `time`: wall, user and system seconds.
  times=$( { TIMEFORMAT='%3R %3U %3S'; time sha256sum "$scratch/blob" >/dev/null; } 2>&1 )
  read -r real user sys <<<"$times"
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}')
  echo "run${run}_wall_s=$real run${run}_cpu_s=$cpu" >>"$results/sha256sum.txt"
done
echo "bytes=$((256 << 20))" >>"$results/sha256sum.txt"
cat "$results/sha256sum.txt"
echo "load_after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$results/machine.txt"
hz=$(getconf CLK_TCK)
wall=$(($(date +%s) - start_wall))
own=$(( $(own_ticks) - start_own ))
foreign=$(( $(machine_busy_ticks) - start_busy - own ))
steal=$(( $(steal_ticks) - start_steal ))
# Everything this script runs is single-threaded and CPU-bound, one program at a time, so its CPU
# time should equal the wall time; less means it waited for a core and the wall-clock rates of
# both Ferry and the anchors are low by that much (and not necessarily by the same amount).
awk -v o="$own" -v f="$foreign" -v st="$steal" -v hz="$hz" -v w="$wall" -v clock="$clock" '
BEGIN {
  if (f < 0) f = 0
  printf "own_cpu_share: %.2f (%.1f CPU-s in %d s wall)\n", o / hz / w, o / hz, w
  printf "other_processes_cpu_s: %.1f (%.0f%% of one core)\n", f / hz, 100 * f / hz / w
  printf "steal_cpu_s: %.1f\n", st / hz
  if (o / hz / w < 0.95 && clock == "wall")
    print "WARNING: this run waited for the CPU (other load); its wall-clock rates are unreliable"
  else if (o / hz / w < 0.95)
    print "note: this run waited for the CPU; CPU-time rates are less affected, not immune"
}' | tee -a "$results/machine.txt"

echo
python3 - "$results" "$clock" <<'EOF' | tee "$results/compare-table.md"
import json
import sys
from pathlib import Path

results = Path(sys.argv[1])
cpu_clock = sys.argv[2] == "cpu"

# Ferry: median of the repetitions (or the single run when repetitions were not used).
ferry = {}
for b in json.loads((results / "ferry.json").read_text())["benchmarks"]:
    if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
        continue
    ferry[b["run_name"]] = b


def rate(name, field):
    b = ferry.get(name)
    if b is None or b.get("error_occurred") or b.get(field) is None:
        return None
    # Google Benchmark computes the rates from real time (UseRealTime); rescale to CPU time.
    return b[field] * (b["real_time"] / b["cpu_time"] if cpu_clock else 1.0)


def ferry_mbs(name):
    v = rate(name + "/real_time", "bytes_per_second")
    return None if v is None else v / 1e6


def ferry_ops(name):
    return rate(name + "/real_time", "items_per_second")


def ferry_ms(name):
    b = ferry.get(name + "/real_time")
    if b is None or b.get("error_occurred"):
        return None
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
    return b["cpu_time" if cpu_clock else "real_time"] * scale


# openssl speed -mr: "+H:16:64:..." block sizes, "+F:i:name:B/s..." digests,
# "+F2:i:bits:sign/s:verify/s" RSA, "+F4:i:bits:sign/s:verify/s" ECDSA,
# "+F6:i:bits:name:sign/s:verify/s" EdDSA.
def parse_speed(path):
    sizes, digests, pk = [], {}, {}
    for line in (results / path).read_text().splitlines():
        f = line.split(":")
        if f[0] == "+H":
            sizes = [int(x) for x in f[1:]]
        elif f[0] == "+F":
            digests[f[2].lower()] = dict(zip(sizes, (float(x) for x in f[3:])))
        elif f[0] in ("+F2", "+F4"):
            pk[(f[0], int(f[2]))] = (float(f[3]), float(f[4]))
        elif f[0] == "+F6":
            pk[("+F6", f[3].lower())] = (float(f[4]), float(f[5]))
    return digests, pk


speed_digests, speed_pk = parse_speed("openssl-speed.txt")
_, rsa_pk = parse_speed("openssl-rsa.txt")
evp_digests, _ = parse_speed("openssl-evp.txt")
big = 16384


def digest(table, name):
    for key, by_size in table.items():
        if key.replace("-", "") == name and big in by_size:
            return by_size[big] / 1e6
    return None


sums = dict(l.split("=") for l in (results / "sha256sum.txt").read_text().split())
sha256sum_s = float(sums["run2_cpu_s" if cpu_clock else "run2_wall_s"])
sha256sum_mbs = int(sums["bytes"]) / sha256sum_s / 1e6
ed = speed_pk.get(("+F6", "ed25519"), (None, None))
p256 = speed_pk.get(("+F4", 256), (None, None))
rsa = rsa_pk.get(("+F2", 3072), (None, None))

rows = [
    # (what, ferry value, ferry source, anchor value, anchor source)
    ("SHA-256 MB/s", ferry_mbs("BM_HasherStream/sha256"), "Hasher 64 MiB stream",
     digest(speed_digests, "sha256"), "openssl speed sha256, 16 KiB"),
    ("SHA-256 MB/s", ferry_mbs("BM_HasherStream/sha256"), "Hasher 64 MiB stream",
     digest(evp_digests, "sha256"), "openssl speed -evp sha256, 16 KiB"),
    ("SHA-256 MB/s", ferry_mbs("BM_HasherStream/sha256"), "Hasher 64 MiB stream",
     sha256sum_mbs, "sha256sum 256 MiB file, warm"),
    ("SHA-256 MB/s", ferry_mbs("BM_HashOneShot/sha256/1048576"), "Hash one-shot 1 MiB",
     digest(evp_digests, "sha256"), "openssl speed -evp sha256, 16 KiB"),
    ("SHA-512 MB/s", ferry_mbs("BM_HasherStream/sha512"), "Hasher 64 MiB stream",
     digest(speed_digests, "sha512"), "openssl speed sha512, 16 KiB"),
    ("ed25519 sign/s", ferry_ops("BM_Ed25519Sign/64"), "libsodium, 64 B msg",
     ed[0], "openssl speed ed25519"),
    ("ed25519 verify/s", ferry_ops("BM_Ed25519Verify/64"), "libsodium, 64 B msg",
     ed[1], "openssl speed ed25519"),
    ("ed25519 verify/s", ferry_ops("BM_Ed25519Verify/300"), "libsodium, 300 B msg",
     ed[1], "openssl speed ed25519"),
    ("ECDSA P-256 verify/s", ferry_ops("BM_EcdsaP256PemVerify"), "PemVerify (PEM per call)",
     p256[1], "openssl speed ecdsap256"),
    ("ECDSA P-256 verify/s", ferry_ops("BM_EcdsaP256RawEvpVerify"), "raw EVP, key pre-parsed",
     p256[1], "openssl speed ecdsap256"),
    ("RSA-3072 verify/s", ferry_ops("BM_RsaPss3072PemVerify"), "PemVerify PSS (PEM per call)",
     rsa[1], "openssl speed rsa3072 (PKCS#1)"),
]


def fmt(v):
    if v is None:
        return "n/a"
    return f"{v:,.0f}" if v >= 100 else f"{v:,.1f}"


header = ("Metric", "Ferry", "Ferry benchmark", "Anchor", "Anchor source", "Ferry/anchor")
table = [header]
for what, fv, fsrc, av, asrc in rows:
    ratio = "n/a" if fv is None or not av else f"{fv / av:.2f}"
    table.append((what, fmt(fv), fsrc, fmt(av), asrc, ratio))
widths = [max(len(r[i]) for r in table) for i in range(len(header))]
print("== Ferry vs anchors (MB = 10^6 bytes; rates per %s second) =="
      % ("CPU" if cpu_clock else "wall-clock"))
print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
for r in table[1:]:
    cells = [r[0].ljust(widths[0]), r[1].rjust(widths[1]), r[2].ljust(widths[2]),
             r[3].rjust(widths[3]), r[4].ljust(widths[4]), r[5].rjust(widths[5])]
    print("| " + " | ".join(cells) + " |")

print()
print("== Ferry metadata path, 2,000-plugin snapshot (no anchor) ==")
print("| Step | ms | MB/s | roles/s |")
print("|---|---:|---:|---:|")
for label, name in [
    ("tuf::ToJson (500 roles)", "BM_SnapshotToJson/500"),
    ("tuf::ToJson (2,000 roles)", "BM_SnapshotToJson/2000"),
    ("tuf::ToJson (8,000 roles)", "BM_SnapshotToJson/8000"),
    ("json::EncodeCanonical", "BM_SnapshotEncodeCanonical"),
    ("json::Parse", "BM_SnapshotJsonParse"),
    ("tuf::ParseMetadata<Snapshot>", "BM_SnapshotParseMetadata"),
    ("tuf::SignEnvelope (1 ed25519 key)", "BM_SnapshotSignEnvelope"),
    ("tuf::VerifyThreshold (1 ed25519 sig)", "BM_SnapshotVerifyThreshold"),
]:
    ms, mbs, ops = ferry_ms(name), ferry_mbs(name), ferry_ops(name)
    print(f"| {label} | {'n/a' if ms is None else f'{ms:.2f}'} | {fmt(mbs)} | {fmt(ops)} |")
doc = ferry.get("BM_SnapshotEncodeCanonical/real_time", {}).get("doc_bytes")
if doc:
    print(f"\ncanonical snapshot `signed` size: {doc:,.0f} bytes")
EOF
echo
grep -E '^(load_|own_cpu|other_processes|steal|WARNING)' "$results/machine.txt"
