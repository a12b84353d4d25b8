#!/usr/bin/env bash
# The Ferry network on 127.0.0.1, end to end (run through scripts/demo.sh, which builds first):
# an origin, two tier-1 mirrors and a tier-2 mirror behind one of them; a plugin author
# publishing two consecutive versions of a real artifact; a user downloading through the
# redirector and from a mirror with signatures verified; the bytes the second version's sync
# moved; a clean shutdown. Works again on a second run (each run uses a fresh directory).
#
# Usage: scripts/network-demo.sh [DIR]     (DIR: where everything lives; default: a temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/build/bin
WORK=${1:-$(mktemp -d /tmp/ferry-demo-XXXXXX)}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
rm -rf "${WORK:?}/"{origin,mirror-*,author,user,artifacts,logs}
mkdir -p "$WORK"/{logs,artifacts,author}
PIDS=()
# Stops every server with SIGTERM (a graceful shutdown) and returns 1 if any exited otherwise
# than cleanly.
cleanup() {
  local pid rc=0
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || { echo "process $pid exited with status $? on SIGTERM" >&2; rc=1; }
  done
  PIDS=()
  return $rc
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
note() { printf '   %s\n' "$*"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_http() {  # URL
  for _ in $(seq 1 100); do curl -fsS "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "timed out waiting for $1" >&2; return 1
}
# Waits until a mirror serves the origin's current timestamp version.
wait_synced() {  # MIRROR_URL
  local want got
  want=$(curl -fsS "$ORIGIN/metadata/timestamp.json" | json 'd["signed"]["version"]')
  for _ in $(seq 1 300); do
    got=$(curl -fsS "$1/metadata/timestamp.json" 2>/dev/null | json 'd["signed"]["version"]' 2>/dev/null || echo 0)
    [ "$got" -ge "$want" ] && return 0
    sleep 0.2
  done
  echo "mirror $1 did not reach timestamp v$want (has v$got)" >&2; return 1
}

say "1. The artifact: two consecutive versions of a real release"
CORPUS=${FERRY_CORPUS:-$HOME/.cache/ferry-corpus}
if [ -s "$CORPUS/typescript/tgz/5.4.2.tgz" ] && [ -s "$CORPUS/typescript/tgz/5.4.3.tgz" ]; then
  cp "$CORPUS/typescript/tgz/5.4.2.tgz" "$WORK/artifacts/typescript-5.4.2.tgz"
  cp "$CORPUS/typescript/tgz/5.4.3.tgz" "$WORK/artifacts/typescript-5.4.3.tgz"
  NAME=typescript V1=5.4.2 V2=5.4.3 EXT=tgz
  note "from the corpus cache: npm's typescript 5.4.2 and 5.4.3 (.tgz, ~5.6 MiB each)"
else
  # No network needed: a generated 'release' whose second version changes a small part.
  python3 - "$WORK/artifacts" <<'PY'
import os, random, sys, tarfile, io, gzip
out = sys.argv[1]
random.seed(7)
files = {f"pkg/lib/module{i}.js": ("// module %d\n" % i + "".join(
    f"export function f{i}_{j}(x) {{ return x * {random.randint(1, 999)} + {j}; }}\n" for j in range(400))).encode()
    for i in range(60)}
def build(version, files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name); info.size = len(data); info.mtime = 1700000000
            t.addfile(info, io.BytesIO(data))
    return gzip.compress(buf.getvalue(), compresslevel=6, mtime=0)
open(f"{out}/demo-1.0.tgz", "wb").write(build("1.0", files))
files["pkg/lib/module7.js"] += b"export const fixed = true;\n"
files["pkg/lib/module42.js"] = files["pkg/lib/module42.js"].replace(b"return x", b"return 2 * x", 3)
open(f"{out}/demo-1.1.tgz", "wb").write(build("1.1", files))
PY
  NAME=demo V1=1.0 V2=1.1 EXT=tgz
  note "no corpus cache ($CORPUS; fill it with ../shared/corpus/fetch.sh): using a generated"
  note "release, demo 1.0 and 1.1 (.tgz); the second changes two of sixty files"
fi
F1=$WORK/artifacts/$NAME-$V1.$EXT
F2=$WORK/artifacts/$NAME-$V2.$EXT

say "2. The origin: keys, catalog, signed repository version 1"
"$BIN/ferry-origin" init --data "$WORK/origin" --root-keys 2 --root-threshold 1 | sed 's/^/   /'
OPORT=$(free_port)
cat > "$WORK/origin.conf" <<CONF
data_dir = $WORK/origin
[http]
listen = 127.0.0.1:$OPORT
[mirrors]
probe_every = 5s
CONF
"$BIN/ferry-origin" serve --config "$WORK/origin.conf" > "$WORK/logs/origin.out" 2> "$WORK/logs/origin.log" &
PIDS+=($!)
ORIGIN=http://127.0.0.1:$OPORT
wait_http "$ORIGIN/healthz"
note "origin serving on $ORIGIN (status: $ORIGIN/status, metrics: $ORIGIN/metrics)"
ROOT=$WORK/origin/repo/metadata/1.root.json

say "3. Three mirrors: two tier-1 (syncing from the origin), one tier-2 (syncing from mirror A)"
MTOKEN=$("$BIN/ferry-origin" token issue --data "$WORK/origin" --scope mirror --description demo 2>/dev/null)
echo "$MTOKEN" > "$WORK/mirror-token" && chmod 600 "$WORK/mirror-token"
start_mirror() {  # NAME UPSTREAM REGION
  local name=$1 upstream=$2 region=$3 port
  port=$(free_port)
  cat > "$WORK/mirror-$name.conf" <<CONF
data_dir = $WORK/mirror-$name
[mirror]
name = $name
region = $region
capacity_mbps = 100
[upstream]
url = $upstream
root = $ROOT
subscribe = $([ "$upstream" = "$ORIGIN" ] && echo false || echo true)
[http]
listen = 127.0.0.1:$port
public_url = http://127.0.0.1:$port
[sync]
# The default poll (a safety net: the origin's push notices drive the syncs).
poll_interval = 5m
min_interval = 1s
[origin]
url = $ORIGIN
token_file = $WORK/mirror-token
heartbeat_interval = 30s
CONF
  "$BIN/ferry-mirror" serve --config "$WORK/mirror-$name.conf" > "$WORK/logs/mirror-$name.out" 2> "$WORK/logs/mirror-$name.log" &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$port/healthz" || wait_http "http://127.0.0.1:$port/status"
  echo "http://127.0.0.1:$port"
}
MA=$(start_mirror eu-a "$ORIGIN" eu)
MB=$(start_mirror na-b "$ORIGIN" na)
MC=$(start_mirror eu-c "$MA" eu)
note "mirror eu-a  $MA   (upstream: origin)"
note "mirror na-b  $MB   (upstream: origin)"
note "mirror eu-c  $MC   (upstream: mirror eu-a, tier 2)"
note "each registers with the origin and sends signed heartbeats; status pages at MIRROR/status"

say "4. A plugin author: a key, the plugin registered, an upload token"
FERRY_HOME=$WORK/author "$BIN/ferry" keygen -o "$WORK/author/author.key" | sed 's/^/   /'
"$BIN/ferry-origin" plugin add "$NAME" --data "$WORK/origin" --author-key "$WORK/author/author.key.pub" \
  --targets-key "$WORK/origin/offline-keys/targets.key" | sed 's/^/   /'
TOKEN=$("$BIN/ferry-origin" token issue --data "$WORK/origin" --scope "plugin:$NAME" --description author 2>/dev/null)
FERRY_HOME=$WORK/author "$BIN/ferry" init "$ORIGIN" --root "$ROOT" > /dev/null

say "5. Publish $NAME $V1: upload, sign the plugin's metadata on the author's machine, submit"
FERRY_HOME=$WORK/author "$BIN/ferry" publish "$F1" --plugin "$NAME" --version "$V1" \
  --key "$WORK/author/author.key" --token "$TOKEN" | sed 's/^/   /'
for m in "$MA" "$MB" "$MC"; do wait_synced "$m"; done
note "all three mirrors synced (the origin pushed a signed notice; eu-a forwarded it to eu-c)"

say "6. A user: trust only root.json, download through the redirector and from a mirror"
export FERRY_HOME=$WORK/user
"$BIN/ferry" init "$ORIGIN" --root "$ROOT" --region eu | sed 's/^/   /'
# Wait until the origin has probed the mirrors and signed them into mirrors.json.
for i in $(seq 1 150); do
  [ "$(curl -fsS "$ORIGIN/api/v1/mirrors" | json 'sum(1 for m in d if m["state"]=="healthy")')" -ge 3 ] && break
  [ "$i" -lt 150 ] || { echo "FAILURE: the origin did not find three healthy mirrors within 30 s" >&2; exit 1; }
  sleep 0.2
done
note "origin's view of the mirrors:"
curl -fsS "$ORIGIN/api/v1/mirrors" | json '"\n".join("     %-6s %-8s %s" % (m["name"], m["state"], m["url"]) for m in d)'
LOC=""
for _ in $(seq 1 100); do  # until the prober has seen a mirror holding the new file
  LOC=$(curl -sS -o /dev/null -w '%{redirect_url}' "$ORIGIN/download/plugins/$NAME/$NAME-$V1.$EXT?region=eu")
  [ -n "$LOC" ] && break
  sleep 0.2
done
[ -n "$LOC" ] || { echo "FAILURE: the redirector sent no download to a mirror within 20 s" >&2; exit 1; }
note "a browser or curl: GET $ORIGIN/download/plugins/$NAME/$NAME-$V1.$EXT?region=eu"
note "  -> 302 $LOC"
curl -fsSL -o "$WORK/user/redirected.$EXT" "$ORIGIN/download/plugins/$NAME/$NAME-$V1.$EXT?region=eu"
note "  downloaded $(stat -c %s "$WORK/user/redirected.$EXT") bytes from the mirror; ferry verify FILE alone finds which signed file it is:"
"$BIN/ferry" verify "$WORK/user/redirected.$EXT" | sed 's/^/   /'
note "the ferry CLI: mirrors from the signed mirrors.json, every download verified:"
cd "$WORK/user"
"$BIN/ferry" get "$NAME@$V1" -o "$WORK/user/$NAME.$EXT" | sed 's/^/   /'
cd - > /dev/null
note "a tampered copy is refused:"
cp "$WORK/user/$NAME.$EXT" "$WORK/user/tampered.$EXT"
printf 'X' | dd of="$WORK/user/tampered.$EXT" bs=1 seek=1000 conv=notrunc 2>/dev/null
if "$BIN/ferry" verify "$WORK/user/tampered.$EXT" "$NAME@$V1" 2>&1 | sed 's/^/   /'; then
  echo "FAILURE: a tampered file verified" >&2; exit 1
fi

say "7. Publish $NAME $V2: patches from $V1 are built and signed, then the mirrors sync through them"
BEFORE_A=$(curl -fsS "$MA/status?format=json" | json 'd["sync"]["sync_bytes_total"]')
FERRY_HOME=$WORK/author "$BIN/ferry" publish "$F2" --plugin "$NAME" --version "$V2" \
  --key "$WORK/author/author.key" --token "$TOKEN" | sed 's/^/   /'
for i in $(seq 1 300); do
  grep -q "published .* patches" "$WORK/logs/origin.log" && break
  [ "$i" -lt 300 ] || { echo "FAILURE: the origin published no patches within 60 s (see $WORK/logs/origin.log)" >&2; exit 1; }
  sleep 0.2
done
for m in "$MA" "$MB" "$MC"; do wait_synced "$m"; done
sleep 1
AFTER_A=$(curl -fsS "$MA/status?format=json" | json 'd["sync"]["sync_bytes_total"]')
SIZE2=$(stat -c %s "$F2")
MOVED=$((AFTER_A - BEFORE_A))
note "$NAME-$V2.$EXT is $SIZE2 bytes; mirror eu-a's sync of it moved $MOVED bytes"
note "($(python3 -c "print(f'{100*$MOVED/$SIZE2:.2f}')")% of the file, metadata included): the origin's notice waited for"
note "the patch, and the mirror rebuilt $V2 from $V1 with it"
grep -h "rebuilt from patches" "$WORK/logs/mirror-eu-a.log" | tail -1 | sed 's/^.*ferry-mirror: /   eu-a: /'
grep "published .* patches" "$WORK/logs/origin.log" | tail -1 | sed 's/^.*ferry-origin: /   origin: /'

say "8. The user updates: a signed patch from the installed version, verified before use"
"$BIN/ferry" update "$NAME" | sed 's/^/   /'
"$BIN/ferry" verify "$WORK/user/$NAME.$EXT" "$NAME@$V2" | sed 's/^/   /'

say "9. Shutting everything down cleanly"
cleanup || { echo "FAILURE: a server did not shut down cleanly (logs in $WORK/logs)" >&2; exit 1; }
note "origin and mirrors stopped on SIGTERM, each with exit status 0 (logs in $WORK/logs)"
printf '\n\033[1mSUCCESS\033[0m: origin + 3 mirrors on 127.0.0.1; %s %s and %s published, synced, downloaded\nand verified; tampering refused. Everything is in %s\n' "$NAME" "$V1" "$V2" "$WORK"
