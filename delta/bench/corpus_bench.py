#!/usr/bin/env python3
"""Ferry delta benchmark over the shared corpus (issue 6 item 7, measurement part).

For each consecutive version pair of each series, in both forms (.tar and the published .tgz),
prints the bytes a receiver holding the previous version must fetch, with create and apply
times (wall seconds) and peak memory, for Ferry's patch and the anchor tools:

  zstd --patch-from -19 (and --ultra -22), xdelta3 -9 -S djw, bsdiff, rsync --no-whole-file
  (with and without -z: "Total bytes sent"), zsync (bytes served by a local HTTP server: the
  .zsync control file plus the ranges), casync (index plus missing chunks) and zchunk (what
  zck_delta_size reports); for .tgz also zsync's gzip-aware mode (zsync-gz, seeded
  with the base .tar), which rebuilds the decompressed .tar rather than the published file and
  so is shown for reference but not counted as an anchor.

Every patch is applied and compared with the target; a mismatch aborts the run.

Usage:
  /work/shared/corpus/fetch.sh ~/.cache/ferry-corpus        # once; needs the npm registry
  cmake --build BUILD --target ferry-delta
  delta/bench/corpus_bench.py --ferry BUILD/bin/ferry-delta [--corpus DIR] [--levels 19,22]
                              [--skip zsync,bsdiff,...] [--cache ANCHORS.json]
                              [--markdown OUT.md] [--json OUT.json]
  (--levels "" runs only the anchors, e.g. to fill the cache.)
"""

import argparse
import csv
import functools
import http.server
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

SERIES = ["typescript", "esbuild-linux-x64"]
FORMS = ["tar", "tgz"]


def run(cmd, cwd=None, timeout=None):
    """Runs cmd under /usr/bin/time; returns (stdout, wall seconds, peak RSS MiB)."""
    full = ["/usr/bin/time", "-f", "@@RSS %M"] + cmd
    t0 = time.perf_counter()
    p = subprocess.run(full, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr[-2000:]))
    m = re.search(r"@@RSS (\d+)", p.stderr)
    rss = int(m.group(1)) / 1024.0 if m else 0.0
    return p.stdout, wall, rss


def same(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


class Result:
    def __init__(self, tool, size, create=None, apply=None, rss=None, note=""):
        self.tool, self.size, self.create, self.apply, self.rss, self.note = (
            tool, size, create, apply, rss, note)


def bench_ferry(ferry, level, base, target, tmp):
    patch = os.path.join(tmp, "ferry.fdt")
    out = os.path.join(tmp, "ferry.out")
    stdout, c_wall, c_rss = run([ferry, "create", base, target, patch, "--level", str(level)])
    _, a_wall, a_rss = run([ferry, "apply", base, patch, out])
    if not same(out, target):
        raise RuntimeError("ferry apply mismatch for %s" % target)
    method = stdout.split()[0]
    return Result("ferry-%d" % level, os.path.getsize(patch), c_wall, a_wall, max(c_rss, a_rss),
                  method)


def bench_zstd(opts, name, base, target, tmp):
    patch = os.path.join(tmp, "p.zst")
    out = os.path.join(tmp, "zstd.out")
    _, c_wall, c_rss = run(["zstd", "-q", "-f"] + opts + ["--patch-from=" + base, target, "-o",
                                                          patch])
    _, a_wall, a_rss = run(["zstd", "-q", "-d", "-f", "--long=31", "--memory=2048MB",
                            "--patch-from=" + base, patch, "-o", out])
    if not same(out, target):
        raise RuntimeError("zstd mismatch")
    return Result(name, os.path.getsize(patch), c_wall, a_wall, max(c_rss, a_rss))


def bench_xdelta(base, target, tmp):
    patch = os.path.join(tmp, "p.xd3")
    out = os.path.join(tmp, "xd.out")
    _, c_wall, c_rss = run(["xdelta3", "-e", "-f", "-D", "-9", "-S", "djw", "-s", base, target, patch])
    _, a_wall, a_rss = run(["xdelta3", "-d", "-f", "-D", "-s", base, patch, out])
    if not same(out, target):
        raise RuntimeError("xdelta3 mismatch")
    return Result("xdelta3-9-djw", os.path.getsize(patch), c_wall, a_wall, max(c_rss, a_rss))


def bench_bsdiff(base, target, tmp):
    patch = os.path.join(tmp, "p.bsdiff")
    out = os.path.join(tmp, "bs.out")
    _, c_wall, c_rss = run(["bsdiff", base, target, patch])
    _, a_wall, a_rss = run(["bspatch", base, out, patch])
    if not same(out, target):
        raise RuntimeError("bsdiff mismatch")
    return Result("bsdiff", os.path.getsize(patch), c_wall, a_wall, max(c_rss, a_rss))


def bench_rsync(compress, base, target, tmp):
    src = os.path.join(tmp, "rs-src")
    dst = os.path.join(tmp, "rs-dst")
    for d in (src, dst):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    shutil.copyfile(target, os.path.join(src, "f"))
    shutil.copyfile(base, os.path.join(dst, "f"))
    cmd = ["rsync", "--no-whole-file", "--stats", "-t", "-I"] + (["-z"] if compress else [])
    stdout, wall, rss = run(cmd + [os.path.join(src, "f"), os.path.join(dst, "f")])
    if not same(os.path.join(dst, "f"), target):
        raise RuntimeError("rsync mismatch")
    sent = int(re.search(r"Total bytes sent: ([\d,]+)", stdout).group(1).replace(",", ""))
    literal = int(re.search(r"Literal data: ([\d,]+)", stdout).group(1).replace(",", ""))
    name = "rsync-z" if compress else "rsync"
    return Result(name, sent, wall, None, rss, "literal %d" % literal)



def store_sizes(store):
    """Chunk file name -> size for a casync chunk store."""
    sizes = {}
    for d, _, files in os.walk(store):
        for f in files:
            sizes[f] = os.path.getsize(os.path.join(d, f))
    return sizes


def bench_casync(base, target, tmp):
    """casync (content-defined chunks, default 64 KiB average, zstd-compressed chunks): the
    receiver holds the base's chunks and fetches the target's index plus every chunk it lacks."""
    bstore, tstore = os.path.join(tmp, "ca-base"), os.path.join(tmp, "ca-target")
    for d in (bstore, tstore):
        shutil.rmtree(d, ignore_errors=True)
    bidx, tidx = os.path.join(tmp, "base.caibx"), os.path.join(tmp, "target.caibx")
    out = os.path.join(tmp, "ca.out")
    run(["casync", "make", "--store=" + bstore, bidx, base])
    _, c_wall, c_rss = run(["casync", "make", "--store=" + tstore, tidx, target])
    have = store_sizes(bstore)
    need = store_sizes(tstore)
    moved = os.path.getsize(tidx) + sum(v for k, v in need.items() if k not in have)
    if os.path.exists(out):
        os.unlink(out)
    _, a_wall, a_rss = run(["casync", "extract", "--store=" + tstore, "--seed=" + base, tidx,
                            out])
    if not same(out, target):
        raise RuntimeError("casync mismatch")
    return Result("casync", moved, c_wall, a_wall, max(c_rss, a_rss),
                  "%d of %d chunks" % (len([k for k in need if k not in have]), len(need)))


def bench_zchunk(base, target, tmp):
    """zchunk (content-defined chunks, zstd-compressed each): both versions as .zck files, the
    receiver holds the base's; bytes as `zck_delta_size` reports them (target header plus the
    chunks the base lacks). Apply: `unzck` of the target .zck (the reassembly itself needs an
    HTTP server; zckdl)."""
    bz, tz = os.path.join(tmp, "base.zck"), os.path.join(tmp, "target.zck")
    run(["zck", "-o", bz, base])
    _, c_wall, c_rss = run(["zck", "-o", tz, target])
    stdout, _, _ = run(["zck_delta_size", bz, tz])
    moved = int(re.search(r"Would download (\d+) of", stdout).group(1))
    out = os.path.join(tmp, "zck.out")
    _, a_wall, a_rss = run(["sh", "-c", 'unzck --stdout "$1" > "$2"', "sh", tz, out])
    if not same(out, target):
        raise RuntimeError("zchunk mismatch")
    matched = re.search(r"Matched (\d+) of (\d+) chunks", stdout)
    note = "%s of %s chunks matched" % matched.groups() if matched else ""
    return Result("zchunk", moved, c_wall, a_wall, max(c_rss, a_rss), note)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def bench_zsync_counted(base, target, tmp, gzip_aware=False):
    """zsync through a counting HTTP server: bytes served (control file + ranges).

    Opaque mode (zsyncmake -Z) rebuilds the exact file. gzip-aware mode (zsyncmake's default
    for a .gz input) rebuilds the *decompressed* content (the .tar), not the published file, and
    is reported for comparison with the issue's bar only."""
    www = os.path.join(tmp, "www")
    shutil.rmtree(www, ignore_errors=True)
    os.makedirs(www)
    name = os.path.basename(target)
    shutil.copyfile(target, os.path.join(www, name))
    served = [0]
    with open(os.path.join(www, name), "rb") as f:
        blob = f.read()

    class Counting(QuietHandler):
        def copyfile(self, source, outputfile):
            data = source.read()
            served[0] += len(data)
            outputfile.write(data)

        def send_head(self):
            # Minimal Range support (zsync fetches byte ranges of the target).
            rng = self.headers.get("Range")
            if not rng or not self.path.endswith("/" + name):
                return super().send_head()
            parts = []
            for spec in rng.replace("bytes=", "").split(","):
                a, b = spec.strip().split("-")
                parts.append((int(a), min(int(b), len(blob) - 1)))
            import io
            if len(parts) == 1:
                a, b = parts[0]
                body = blob[a:b + 1]
                self.send_response(206)
                self.send_header("Content-Range", "bytes %d-%d/%d" % (a, b, len(blob)))
                self.send_header("Content-Type", "application/octet-stream")
            else:
                boundary = "ferrybench"
                chunks = []
                # Apache's framing: CRLF before every boundary line (zsync expects it).
                for a, b in parts:
                    chunks.append(("\r\n--%s\r\nContent-Type: application/octet-stream\r\n"
                                   "Content-Range: bytes %d-%d/%d\r\n\r\n" %
                                   (boundary, a, b, len(blob))).encode() + blob[a:b + 1])
                chunks.append(("\r\n--%s--\r\n" % boundary).encode())
                body = b"".join(chunks)
                self.send_response(206)
                self.send_header("Content-Type", "multipart/byteranges; boundary=" + boundary)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return io.BytesIO(body)

    handler = functools.partial(Counting, directory=www)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        control = os.path.join(www, name + ".zsync")
        _, c_wall, c_rss = run(["zsyncmake"] + ([] if gzip_aware else ["-Z"]) +
                               ["-u", "http://127.0.0.1:%d/%s" % (port, name), "-o", control,
                                os.path.join(www, name)])
        out = os.path.join(tmp, "zs.out")
        for f in (out, out + ".part"):
            if os.path.exists(f):
                os.remove(f)
        served[0] = 0
        try:
            _, a_wall, a_rss = run(["zsync", "-q", "-i", base, "-o", out,
                                    "http://127.0.0.1:%d/%s.zsync" % (port, name)], cwd=tmp,
                                   timeout=600)
        except subprocess.TimeoutExpired:
            return Result("zsync-gz" if gzip_aware else "zsync", None, c_wall, None, None,
                          "timed out after 600 s")
    finally:
        server.shutdown()
    expected = target
    if gzip_aware:
        expected = os.path.join(tmp, "zs.expected")
        with open(expected, "wb") as f:
            subprocess.run(["gzip", "-dc", target], stdout=f, check=True)
    if not same(out, expected):
        raise RuntimeError("zsync mismatch")
    return Result("zsync-gz" if gzip_aware else "zsync", served[0], c_wall, a_wall,
                  max(c_rss, a_rss), "rebuilds the .tar" if gzip_aware else "")


def pairs(corpus):
    with open(os.path.join(corpus, "manifest.csv")) as f:
        rows = list(csv.DictReader(f))
    for series in SERIES:
        versions = [r["version"] for r in rows if r["series"] == series and r["form"] == "tar"]
        for form in FORMS:
            for a, b in zip(versions, versions[1:]):
                yield (series, form, a, b,
                       os.path.join(corpus, series, form, "%s.%s" % (a, form)),
                       os.path.join(corpus, series, form, "%s.%s" % (b, form)))


def fmt_bytes(n):
    return "-" if n is None else "{:,}".format(n)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ferry", required=True)
    ap.add_argument("--corpus", default=os.path.expanduser("~/.cache/ferry-corpus"))
    ap.add_argument("--levels", default="19")
    ap.add_argument("--skip", default="")
    ap.add_argument("--only", default="", help="series/form filter, e.g. typescript/tgz")
    ap.add_argument("--cache", help="JSON file caching anchor results between runs (anchors "
                    "are rerun only for pairs or tools missing from it)")
    ap.add_argument("--markdown")
    ap.add_argument("--json")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    levels = [int(x) for x in args.levels.split(",") if x]

    cache = {}
    if args.cache and os.path.exists(args.cache):
        with open(args.cache) as f:
            cache = json.load(f)
    rows = []
    with tempfile.TemporaryDirectory(prefix="ferry-bench-") as tmp:
        for series, form, a, b, base, target in pairs(args.corpus):
            if args.only and args.only != "%s/%s" % (series, form):
                continue
            results = []
            for level in levels:
                results.append(bench_ferry(args.ferry, level, base, target, tmp))
            key = "%s/%s/%s->%s" % (series, form, a, b)
            cached = {r["tool"]: r for r in cache.get(key, [])}

            def anchor(tool, fn):
                if tool in skip or tool.split("-")[0] in skip:
                    return
                if tool in cached:
                    results.append(Result(**cached[tool]))
                    return
                r = fn()
                results.append(r)
                cache.setdefault(key, []).append(r.__dict__)
                if args.cache:
                    with open(args.cache, "w") as f:
                        json.dump(cache, f, indent=1)

            anchor("zstd-19", lambda: bench_zstd(["-19"], "zstd-19", base, target, tmp))
            anchor("zstd-22", lambda: bench_zstd(["--ultra", "-22"], "zstd-22", base, target, tmp))
            anchor("xdelta3-9-djw", lambda: bench_xdelta(base, target, tmp))
            anchor("bsdiff", lambda: bench_bsdiff(base, target, tmp))
            anchor("rsync", lambda: bench_rsync(False, base, target, tmp))
            anchor("rsync-z", lambda: bench_rsync(True, base, target, tmp))
            anchor("zsync", lambda: bench_zsync_counted(base, target, tmp))
            anchor("casync", lambda: bench_casync(base, target, tmp))
            anchor("zchunk", lambda: bench_zchunk(base, target, tmp))
            if form == "tgz":
                tar_base = base.replace("/tgz/", "/tar/")[:-len(".tgz")] + ".tar"
                anchor("zsync-gz",
                       lambda: bench_zsync_counted(tar_base, target, tmp, gzip_aware=True))
            size = os.path.getsize(target)
            row = {"series": series, "form": form, "pair": "%s->%s" % (a, b), "target": size,
                   "results": [r.__dict__ for r in results]}
            rows.append(row)
            line = "%-18s %-4s %-14s %12s" % (series, form, row["pair"], fmt_bytes(size))
            for r in results:
                line += "  %s=%s" % (r.tool, fmt_bytes(r.size))
            print(line, flush=True)

    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    if args.markdown and levels:
        write_markdown(rows, levels, args.markdown)


def write_markdown(rows, levels, path):
    tools = []
    for row in rows:
        for r in row["results"]:
            if r["tool"] not in tools:
                tools.append(r["tool"])
    ferry = "ferry-%d" % levels[0]
    # zsync-gz rebuilds a different file (the .tar), so it is not a like-for-like anchor.
    anchors = [t for t in tools if not t.startswith("ferry-") and t != "zsync-gz"]
    out = []
    for series in SERIES:
        for form in FORMS:
            sel = [r for r in rows if r["series"] == series and r["form"] == form]
            if not sel:
                continue
            out.append("#### %s, .%s (bytes to fetch; %% of the target file)\n" % (series, form))
            out.append("| pair | target | " + " | ".join(tools) + " |")
            out.append("|---|---:|" + "---:|" * len(tools))
            per_tool = {t: [] for t in tools}
            for row in sel:
                cells = []
                for t in tools:
                    r = next((x for x in row["results"] if x["tool"] == t), None)
                    if r is None or r["size"] is None:
                        cells.append("-")
                        continue
                    per_tool[t].append(r["size"] / row["target"])
                    cells.append("%s (%.2f%%)" % (fmt_bytes(r["size"]), 100.0 * r["size"] /
                                                 row["target"]))
                out.append("| %s | %s | %s |" % (row["pair"], fmt_bytes(row["target"]),
                                                 " | ".join(cells)))
            med = ["%.2f%%" % (100 * statistics.median(v)) if v else "-"
                   for v in (per_tool[t] for t in tools)]
            out.append("| **median** | | " + " | ".join(med) + " |")
            # Ferry / best anchor per pair, then the median ratio.
            ratios = []
            for row in sel:
                f = next(x for x in row["results"] if x["tool"] == ferry)
                best = min((x for x in row["results"] if x["tool"] in anchors and x["size"]),
                           key=lambda x: x["size"])
                z19 = next((x for x in row["results"] if x["tool"] == "zstd-19"), None)
                ratios.append((f["size"] / best["size"], best["tool"],
                               f["size"] / z19["size"] if z19 else None))
            out.append("")
            out.append("%s / best anchor per pair: %s; median %.3f." % (
                ferry, ", ".join("%.3f (%s)" % (r, t) for r, t, _ in ratios),
                statistics.median(r for r, _, _ in ratios)))
            z = [z for _, _, z in ratios if z]
            if z:
                out.append("%s / zstd-19: median %.3f (max %.3f)." % (
                    ferry, statistics.median(z), max(z)))
            out.append("")
            out.append("| pair | " + " | ".join("%s create/apply s, MiB" % t for t in tools
                                                if not t.startswith("rsync")) + " |")
            timed = [t for t in tools if not t.startswith("rsync")]
            out.append("|---|" + "---:|" * len(timed))
            for row in sel:
                cells = []
                for t in timed:
                    r = next((x for x in row["results"] if x["tool"] == t), None)
                    if r is None:
                        cells.append("-")
                        continue
                    cells.append("%.1f / %.2f, %d" % (r["create"] or 0, r["apply"] or 0,
                                                      r["rss"] or 0))
                out.append("| %s | %s |" % (row["pair"], " | ".join(cells)))
            out.append("")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    sys.exit(main())
