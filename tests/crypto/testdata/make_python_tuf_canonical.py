#!/usr/bin/env python3
"""Regenerates the canonical-JSON test vectors in this directory.

For each python-tuf metadata file used by pkey_test.cc, writes the OLPC canonical JSON of its
"signed" object: the exact bytes its signatures cover.

json.dumps(sort_keys=True, separators=(",", ":")) is NOT enough: it escapes control characters
("\\n" in the PEM keys of root.json becomes backslash-n), while OLPC canonical JSON escapes only
'"' and '\\' and writes every other byte raw. So this script carries a tiny canonical encoder,
following securesystemslib.formats.encode_canonical.

Run from anywhere: python3 tests/crypto/testdata/make_python_tuf_canonical.py
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
METADATA = os.path.join(HERE, "..", "..", "testdata", "python-tuf", "repository", "metadata")


def encode_canonical(obj):
    if isinstance(obj, bool):
        return "true" if obj else "false"
    if obj is None:
        return "null"
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, str):
        return '"' + obj.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(obj, list):
        return "[" + ",".join(encode_canonical(v) for v in obj) + "]"
    if isinstance(obj, dict):
        items = sorted(obj.items(), key=lambda kv: kv[0].encode("utf-8"))
        return "{" + ",".join(encode_canonical(k) + ":" + encode_canonical(v)
                              for k, v in items) + "}"
    raise TypeError("not canonicalizable: %r" % (obj,))


for role in ("root", "timestamp"):
    with open(os.path.join(METADATA, role + ".json"), encoding="utf-8") as f:
        signed = json.load(f)["signed"]
    out = os.path.join(HERE, "python_tuf_%s_signed.canonical.json" % role)
    with open(out, "wb") as f:
        f.write(encode_canonical(signed).encode("utf-8"))  # no trailing newline: signed bytes
