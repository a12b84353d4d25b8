#!/usr/bin/env python3
"""Rewrites the generated tables in docs/benchmarks.md from the results of the benchmark scripts.

  bench/update_docs.py [--results BUILD/bench-results] [--doc docs/benchmarks.md] [NAME...]

docs/benchmarks.md holds, for each benchmark, a block between the lines

  <!-- generated:NAME -->
  <!-- /generated:NAME -->

This script replaces what is between them with the benchmark's latest table (and the date,
commit and load of the run, from its machine.txt); the hand-written analysis around the blocks
is left alone. A benchmark whose results are missing keeps its old block (and is reported).
With NAMEs, only those blocks are rewritten.

NAME       results read                                  written by
compare    compare-table.md, machine.txt                 bench/compare.sh --cpu-time
download   download/table.md, download/machine.txt       bench/download.sh
serve      serve/table.md, serve/machine.txt             bench/serve.sh
mirror     mirror/table.md, mirror/machine.txt           bench/mirror.sh
publish    publish/table.md, publish/machine.txt         bench/publish.sh
delta      delta/results.md, delta/machine.txt           delta/bench/corpus_bench.py
load       load-test/table.md, load-test/machine.txt     tools/load-test.sh
"""
import argparse
import re
import sys
from pathlib import Path

SOURCES = {
    "compare": ("compare-table.md", "machine.txt", "bench/compare.sh --cpu-time build"),
    "download": ("download/table.md", "download/machine.txt", "bench/download.sh build"),
    "serve": ("serve/table.md", "serve/machine.txt", "bench/serve.sh build"),
    "mirror": ("mirror/table.md", "mirror/machine.txt", "bench/mirror.sh build"),
    "publish": ("publish/table.md", "publish/machine.txt", "bench/publish.sh build"),
    "delta": ("delta/results.md", "delta/machine.txt",
              "delta/bench/corpus_bench.py --ferry build/bin/ferry-delta"),
    "load": ("load-test/table.md", "load-test/machine.txt", "tools/load-test.sh build"),
}


def machine_line(path):
    if not path.exists():
        return ""
    kv = {}
    for line in path.read_text().splitlines():
        if ": " in line:
            k, v = line.split(": ", 1)
            kv.setdefault(k.strip(), v.strip())
    parts = []
    for key, label in (("date", "run"), ("ferry", "commit"), ("load_before", "load before"),
                       ("load_after", "load after")):
        if key in kv:
            parts.append(f"{label} {kv[key]}")
    return "; ".join(parts)


def block(name, results):
    table, machine, command = SOURCES[name]
    tpath = results / table
    if not tpath.exists():
        return None
    text = tpath.read_text().rstrip()
    # Tables printed for a terminal start sections with "== title ==": make them bold lines.
    text = re.sub(r"^== (.*) ==$", r"**\1**\n", text, flags=re.M)
    head = f"Command: `{command}`"
    m = machine_line(results / machine)
    if m:
        head += f" ({m})"
    return head + ".\n\n" + text + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", default="build/bench-results")
    ap.add_argument("--doc", default="docs/benchmarks.md")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    names = args.names or list(SOURCES)
    for n in names:
        if n not in SOURCES:
            sys.exit(f"unknown benchmark {n}; one of {', '.join(SOURCES)}")
    doc = Path(args.doc)
    text = doc.read_text()
    results = Path(args.results)
    for n in names:
        begin, end = f"<!-- generated:{n} -->", f"<!-- /generated:{n} -->"
        if begin not in text or end not in text:
            print(f"{n}: no {begin} block in {doc}; skipped", file=sys.stderr)
            continue
        b = block(n, results)
        if b is None:
            print(f"{n}: no results in {results / SOURCES[n][0]}; block kept", file=sys.stderr)
            continue
        i, j = text.index(begin) + len(begin), text.index(end)
        text = text[:i] + "\n" + b + text[j:]
        print(f"{n}: block rewritten")
    doc.write_text(text)


if __name__ == "__main__":
    main()
