#!/usr/bin/env python3
"""Tables for the network benchmarks (bench/serve.sh, tools/load-test.sh).

  netbench_report.py serve RESULTS_DIR     Ferry origin vs nginx per case and concurrency
  netbench_report.py mirror RESULTS_DIR    ferry-mirror (and the redirector) vs nginx, then
                                           publish-to-all-mirrors convergence (bench/mirror.sh)
  netbench_report.py load RESULTS_DIR      one row per target of the load test

Reads RESULTS_DIR/runs.jsonl (one record per wrk run, written by nb_wrk in bench/netbench.sh)
and RESULTS_DIR/memory.txt. Medians over the repetitions; the spread is min-max. Ratios are
Ferry/nginx: above 1 means Ferry does more requests/s or bytes/s, and for latency and CPU per
request above 1 means Ferry takes longer. "paired" ratios are per repetition (the two servers ran
back to back in the same repetition), then median and range of those.
"""
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

ERROR_KEYS = ("errors_connect", "errors_read", "errors_write", "errors_status", "errors_timeout")


def load(results):
    runs = []
    for line in (results / "runs.jsonl").read_text().splitlines():
        if line.strip():
            runs.append(json.loads(line))
    return runs


def derive(r):
    d = r["duration_us"] / 1e6
    return {
        "rps": r["requests"] / d,
        "mbs": r["bytes"] / d / 1e6,
        "p50": r["lat_p50_us"] / 1000.0,
        "p99": r["lat_p99_us"] / 1000.0,
        "max": r["lat_max_us"] / 1000.0,
        "errors": sum(r[k] for k in ERROR_KEYS),
        "cpu_us": r["server_cpu_s"] / max(1, r["requests"]) * 1e6,
        "server_cores": r["server_cpu_s"] / r["wall_s"],
        "wrk_cores": r["wrk_cpu_s"] / r["wall_s"],
        "other_cores": r["other_cpu_s"] / r["wall_s"],
        "requests": r["requests"],
    }


def med(values):
    return statistics.median(values) if values else float("nan")


def fmt(v, digits=None):
    if v != v:  # nan
        return "n/a"
    if digits is not None:
        return f"{v:,.{digits}f}"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def cell(values, digits=None):
    """median (min-max)"""
    if not values:
        return "n/a"
    m = med(values)
    if len(values) == 1:
        return fmt(m, digits)
    return f"{fmt(m, digits)} ({fmt(min(values), digits)}-{fmt(max(values), digits)})"


CASE_LABEL = {
    "1k": "1 KiB target",
    "1m": "1 MiB target",
    "timestamp": "timestamp.json",
    "download": "/download redirector",
}


def serve(results, title="Ferry origin vs nginx"):
    runs = load(results)
    groups = defaultdict(list)
    for r in runs:
        groups[(r["case"], r["conns"], r["server"])].append(r)
    cases = []
    for r in runs:
        key = (r["case"], r["conns"])
        if key not in cases:
            cases.append(key)

    print(f"== {title} (median of repetitions, min-max in parentheses) ==")
    print("| case | conns | server | req/s | MB/s | p50 ms | p99 ms | server CPU us/req | "
          "errors | other load (cores) |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for case, conns in cases:
        for server in ("ferry", "nginx"):
            rs = [derive(r) for r in groups[(case, conns, server)]]
            if not rs:
                continue
            print(f"| {CASE_LABEL.get(case, case)} | {conns} | {server} | "
                  f"{cell([x['rps'] for x in rs])} | {cell([x['mbs'] for x in rs])} | "
                  f"{cell([x['p50'] for x in rs])} | {cell([x['p99'] for x in rs])} | "
                  f"{cell([x['cpu_us'] for x in rs])} | {sum(x['errors'] for x in rs)} | "
                  f"{cell([x['other_cores'] for x in rs], 2)} |")

    print()
    print("== Ratios Ferry/nginx (ratio of medians; per-repetition paired ratios: median, range) ==")
    print("| case | conns | req/s | MB/s | p50 latency | p99 latency | server CPU per request |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for case, conns in cases:
        f = groups[(case, conns, "ferry")]
        n = groups[(case, conns, "nginx")]
        if not f or not n:
            continue
        by_rep_f = {r["rep"]: derive(r) for r in f}
        by_rep_n = {r["rep"]: derive(r) for r in n}
        reps = sorted(set(by_rep_f) & set(by_rep_n))
        cols = []
        for key in ("rps", "mbs", "p50", "p99", "cpu_us"):
            ratio = med([by_rep_f[k][key] for k in by_rep_f]) / med([by_rep_n[k][key] for k in by_rep_n])
            paired = [by_rep_f[k][key] / by_rep_n[k][key] for k in reps if by_rep_n[k][key]]
            extra = ""
            if len(paired) > 1:
                extra = f" (paired {med(paired):.2f}, {min(paired):.2f}-{max(paired):.2f})"
            cols.append(f"**{ratio:.2f}**{extra}")
        print(f"| {CASE_LABEL.get(case, case)} | {conns} | " + " | ".join(cols) + " |")
    memory(results)


def memory(results):
    path = results / "memory.txt"
    if path.exists():
        print()
        print("== Memory and file descriptors (/proc/PID/status VmRSS, VmHWM; /proc/PID/fd) ==")
        print(path.read_text().rstrip())


def percentile(values, q):
    """Nearest-rank percentile."""
    v = sorted(values)
    if not v:
        return float("nan")
    k = max(0, min(len(v) - 1, int(-(-q * len(v) // 100)) - 1))
    return v[k]


def mirror(results):
    serve(results, "ferry-mirror (tier1-a) and the origin's /download vs nginx")
    path = results / "convergence.jsonl"
    if not path.exists():
        return
    recs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not recs:
        return
    print()
    print(f"== Publish -> mirror serving it ({len(recs)} publishes; seconds from `ferry publish` "
          "returning until the mirror's timestamp.json carries the new version) ==")
    print("| mirror | p50 s | p95 s | max s |")
    print("|---|---:|---:|---:|")
    keys = [k for k in recs[0] if k not in ("i", "version", "publish_s")]
    keys.append("publish_s")
    label = {"all": "all three (the slowest of each publish)",
             "publish_s": "(the `ferry publish` command itself)"}
    for k in keys:
        v = [r[k] for r in recs]
        print(f"| {label.get(k, k)} | {percentile(v, 50):.3f} | {percentile(v, 95):.3f} | "
              f"{max(v):.3f} |")


def load_test(results):
    runs = load(results)
    print("== Load test (one wrk run per target) ==")
    print("| server | target | what it answered | conns | s | requests | req/s | MB/s | p50 ms | "
          "p99 ms | max ms | errors (connect/read/write/status/timeout) | server CPU us/req |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    for r in runs:
        x = derive(r)
        errs = "/".join(str(r[k]) for k in ERROR_KEYS)
        print(f"| {r['server']} | {CASE_LABEL.get(r['case'], r['case'])} | {r.get('answer', '')} | "
              f"{r['conns']} | {r['duration_us'] / 1e6:.0f} | {r['requests']:,} | {fmt(x['rps'])} | "
              f"{fmt(x['mbs'])} | {fmt(x['p50'])} | {fmt(x['p99'])} | {fmt(x['max'])} | "
              f"{x['errors']} ({errs}) | {fmt(x['cpu_us'])} |")
    memory(results)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("serve", "mirror", "load"):
        sys.exit(__doc__)
    {"serve": serve, "mirror": mirror, "load": load_test}[sys.argv[1]](Path(sys.argv[2]))
