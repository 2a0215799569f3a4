#!/usr/bin/env bash
# Chain-like benchmark data, shared by the backup benchmarks (sourced).
# ---- data: LevelDB-like tables (snappy-like blocks: mostly incompressible with some
# structure), a freezer of large files (FastCDC territory), logs and JSON (compressible).
gen() {
  python3 - "$1" "$2" "$3" <<'PY'
import os, sys, random
root, size, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(seed)
def block(n):
    # 70 % random bytes, 30 % repeated record text: zstd saves ~25 %, like snappy'd tables.
    r = int(n * 0.7)
    text = (b"momentum %d hash %016x producer z1qqjnwjjpnue8xmmpanz6csze6tcmtzzdtfsww7 " % (rnd.randrange(10**9), rnd.getrandbits(64))) * 64
    return os.urandom(r) + text[: n - r]
def table(path, n):
    with open(path, "wb") as f:
        for _ in range(n // 4096):
            f.write(block(4096))
os.makedirs(f"{root}/db", exist_ok=True)
os.makedirs(f"{root}/ancient", exist_ok=True)
os.makedirs(f"{root}/state", exist_ok=True)
tables = int(size * 0.82) // (2 << 20)
for i in range(tables):
    table(f"{root}/db/{i + 100:06d}.ldb", 2 << 20)
for i in range(max(1, int(size * 0.08) // (64 << 20))):
    with open(f"{root}/ancient/bodies.{i:04d}.cdat", "wb") as f:
        for _ in range(64):
            f.write(os.urandom(1 << 20))
lines = [b'{"height": %d, "hash": "%064x", "txs": %d, "state": "ok"}\n' % (h, rnd.getrandbits(256), rnd.randrange(50)) for h in range(int(size * 0.08) // 120)]
with open(f"{root}/state/journal.json", "wb") as f:
    f.writelines(lines)
with open(f"{root}/db/000099.log", "wb") as f:
    f.writelines(lines[: len(lines) // 8])
open(f"{root}/db/CURRENT", "w").write("MANIFEST-000098\n")
open(f"{root}/db/MANIFEST-000098", "wb").write(os.urandom(65536))
PY
}

churn() { # 5 % new table files, 3 % of the oldest deleted, the log and manifest rewritten
  python3 - "$1" <<'PY'
import os, sys, glob
root = sys.argv[1]
tables = sorted(glob.glob(f"{root}/db/*.ldb"))
new = max(1, len(tables) * 5 // 100)
for p in tables[: max(1, len(tables) * 3 // 100)]:
    os.remove(p)
last = int(os.path.basename(tables[-1])[:6])
for i in range(new):
    with open(f"{root}/db/{last + 1 + i:06d}.ldb", "wb") as f:
        f.write(os.urandom(2 << 20))
for name in ("000099.log", "MANIFEST-000098"):
    p = f"{root}/db/{name}"
    data = open(p, "rb").read()
    os.remove(p)  # a new inode, as LevelDB writes a new file; the original stays linked
    open(p, "wb").write(data + os.urandom(4096))
PY
}


# chain_data DIR SIZE_MIB: generates DIR once (seed 7) and reuses it on later runs.
chain_data() {
  if [ ! -f "$1/db/CURRENT" ]; then
    nw_log "generating a $2 MiB chain-like data dir in $1"
    rm -rf "$1"
    gen "$1" $(($2 << 20)) 7
  fi
}

# ---- data written by the real engines (scripts/lib/enginedata.py; needs install_python_tools)
# engine_data DIR KIND MIB: a go-zenon-like LevelDB (KIND=leveldb, snappy tables) or a
# Besu-like RocksDB (KIND=rocksdb, LZ4 tables), once; reused on later runs.
engine_data() {
  if [ ! -f "$1/.complete" ]; then
    nw_log "writing a $3 MiB $2 data dir in $1 through the engine"
    rm -rf "$1"
    "$NODEWARDEN_PYTHON" "$NW_ROOT/scripts/lib/enginedata.py" "$2" "$1" "$3"
    touch "$1/.complete"
  fi
}

# engine_churn DIR KIND PCT: PCT % more blocks written through the engine (its compactions
# rewrite and delete tables as a syncing node's do).
engine_churn() {
  "$NODEWARDEN_PYTHON" "$NW_ROOT/scripts/lib/enginedata.py" "churn-$2" "$1" "$3"
}

# link_sync FROM TO: makes TO the same tree as FROM by hard links, keeping every file of TO
# that already is FROM's inode (untouched tables keep their inode, as on a real node).
link_sync() {
  python3 - "$1" "$2" <<'PY'
import os, sys
src, dst = sys.argv[1], sys.argv[2]
want = set()
for d, dirs, files in os.walk(src):
    rel = os.path.relpath(d, src)
    os.makedirs(os.path.join(dst, rel), exist_ok=True)
    for f in files:
        r = os.path.normpath(os.path.join(rel, f))
        want.add(r)
        s, t = os.path.join(src, r), os.path.join(dst, r)
        if os.path.lexists(t):
            if os.lstat(t).st_ino == os.lstat(s).st_ino:
                continue
            os.remove(t)
        os.link(s, t)
for d, dirs, files in os.walk(dst, topdown=False):
    for f in files:
        r = os.path.normpath(os.path.relpath(os.path.join(d, f), dst))
        if r not in want:
            os.remove(os.path.join(d, f))
PY
}
