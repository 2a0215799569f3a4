# Builds LevelDB (plyvel) and RocksDB (rocksdict) databases of several shapes with the real
# C++ engines and, for each, while the engine still holds the database open, runs
# `nodewarden db inspect --json` and prints one JSON line with the engine's own
# num-files-at-level<N> counts beside nodewarden's. Usage: engines.py NODEWARDEN WORKDIR
import json, os, subprocess, sys, time

import plyvel
from rocksdict import Options, Rdict

nodewarden, work = sys.argv[1], sys.argv[2]
LEVELS = 7


def inspect(path):
    out = subprocess.run([nodewarden, "db", "inspect", path, "--json"], capture_output=True, text=True)
    if out.returncode not in (0, 1):
        raise SystemExit(f"nodewarden failed on {path}: {out.stderr}")
    return json.loads(out.stdout)


def settle(counts):
    """Counts that hold still for a moment: no background compaction mid-way."""
    last = counts()
    for _ in range(50):
        time.sleep(0.2)
        now = counts()
        if now == last:
            return now
        last = now
    return last


def compare(shape, counts, path, family=None):
    # A background compaction may finish between the two reads: retry until both agree
    # with the engine before and after.
    for _ in range(5):
        before = settle(counts)
        got = inspect(path)
        after = counts()
        if before == after:
            break
    db = got["databases"][0]
    cfs = {c["name"]: c for c in db["column_families"]}
    levels = cfs[family or "default"]["levels"]
    mine = [0] * LEVELS
    for l in levels:
        mine[l["level"]] = l["files"]
    print(json.dumps({"shape": shape, "engine": got["engine"], "expected": before, "got": mine,
                      "families": sorted(cfs)}), flush=True)


def leveldb_counts(db):
    return [int(db.get_property(f"leveldb.num-files-at-level{n}".encode())) for n in range(LEVELS)]


def value(i):
    # Varied, partly compressible values, like chain records.
    return (i.to_bytes(8, "big") * 16) + os.urandom(64)


def leveldb_shapes():
    path = os.path.join(work, "leveldb")
    db = plyvel.DB(path, create_if_missing=True, write_buffer_size=64 * 1024)
    for i in range(100):
        db.put(b"h%08d" % i, value(i))
    compare("leveldb fresh", lambda: leveldb_counts(db), path)
    # One write at a time, as a syncing node does: the memtable fills and flushes to L0 and
    # compactions push tables down while writes go on.
    for i in range(100, 60000):
        db.put(b"h%08d" % i, value(i))
    compare("leveldb bulk load", lambda: leveldb_counts(db), path)
    for i in range(0, 60000, 7):
        db.delete(b"h%08d" % i)
    compare("leveldb churn", lambda: leveldb_counts(db), path)
    db.compact_range()
    compare("leveldb compacted", lambda: leveldb_counts(db), path)
    db.close()


def rocks_counts(db):
    return [int(db.property_int_value(f"rocksdb.num-files-at-level{n}")) for n in range(LEVELS)]


def rocksdb_shapes():
    path = os.path.join(work, "rocksdb")
    opts = Options()
    opts.create_if_missing(True)
    opts.set_write_buffer_size(64 * 1024)
    # Keep flushed tables in L0 for a while: the "many L0 files" shape.
    opts.set_level_zero_file_num_compaction_trigger(64)
    opts.set_level_zero_slowdown_writes_trigger(80)
    opts.set_level_zero_stop_writes_trigger(100)
    db = Rdict(path, opts)
    for i in range(30000):
        db[b"b%08d" % i] = value(i)
    db.flush()
    compare("rocksdb many L0 files", lambda: rocks_counts(db), path)
    db.compact_range(None, None)
    compare("rocksdb compacted", lambda: rocks_counts(db), path)
    blocks = db.create_column_family("blocks", opts)
    for i in range(20000):
        blocks[b"x%08d" % i] = value(i)
    blocks.flush()
    compare("rocksdb column family", lambda: rocks_counts(blocks), path, "blocks")
    blocks.close()
    db.close()


leveldb_shapes()
rocksdb_shapes()
