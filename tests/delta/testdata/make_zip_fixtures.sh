#!/usr/bin/env bash
# Regenerates the zip-family fixtures (pairs of versions of a small archive):
#   py-1.zip, py-2.zip           Python zipfile (system zlib, level 6 and 9 entries, one stored)
#   jar-1.jar, jar-2.jar         the JDK's `jar` tool (java.util.zip over zlib)
#   infozip-1.zip, infozip-2.zip Info-ZIP `zip -9` (its own deflate: not zlib-reproducible)
# Usage: cd tests/delta/testdata && ./make_zip_fixtures.sh
set -euo pipefail
here=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work" <<'PY'
import os, sys, zipfile
work = sys.argv[1]
def text(seed, n):
    words = ["alpha ", "beta ", "gamma ", "delta\n", "class Foo { }\n", "import x.y.z;\n"]
    s, out = seed, []
    while sum(map(len, out)) < n:
        s = (s * 1664525 + 1013904223) % (1 << 32)
        out.append(words[s % len(words)])
    return "".join(out)[:n].encode()
v1 = {"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\nCreated-By: fixture\n",
      "org/example/A.class": text(1, 9000), "org/example/B.class": text(2, 7000),
      "org/example/data.bin": bytes(range(256)) * 8, "README.txt": text(3, 3000)}
v2 = dict(v1)
v2["org/example/A.class"] = v1["org/example/A.class"][:4000] + b"// v2\n" + v1["org/example/A.class"][4000:]
v2["org/example/C.class"] = text(4, 2000)
for version, files in ((1, v1), (2, v2)):
    d = os.path.join(work, "v%d" % version)
    for name, data in files.items():
        p = os.path.join(d, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        os.utime(p, (1700000000, 1700000000))
    with zipfile.ZipFile(os.path.join(work, "py-%d.zip" % version), "w") as z:
        for i, (name, data) in enumerate(sorted(files.items())):
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 2, 3, 4, 6))
            if name.endswith(".bin"):
                info.compress_type = zipfile.ZIP_STORED
                z.writestr(info, data)
            else:
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, data, compresslevel=9 if i % 2 else 6)
PY
for v in 1 2; do
  cp "$work/py-$v.zip" "$here/py-$v.zip"
  (cd "$work/v$v" && find . -type f | sort | sed 's|^\./||' > ../list$v \
     && jar --create --file "$here/jar-$v.jar" --no-manifest @../list$v)
  (cd "$work/v$v" && rm -f "$here/infozip-$v.zip" && zip -q -X -9 -r "$here/infozip-$v.zip" .)
done
ls -l "$here"/*.zip "$here"/*.jar
