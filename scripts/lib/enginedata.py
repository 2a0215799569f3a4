"""Chain data written by the real engines, for the backup benchmark and the table tests.

  enginedata.py leveldb DIR MIB   a go-zenon-like LevelDB (plyvel: the C++ LevelDB, snappy)
  enginedata.py rocksdb DIR MIB   a Besu-like RocksDB (rocksdict: the C++ RocksDB, lz4)
  enginedata.py churn-leveldb DIR PCT / churn-rocksdb DIR PCT
                                  PCT % more blocks written through the engine, so its
                                  compactions rewrite tables the way a syncing node does

Records are momentum/block-like: 32-byte hashes (incompressible), heights, addresses,
small counters and some repeated text, so snappy/lz4 save a little and zstd a bit more.
Deterministic for a given size (seeded), apart from the engines' own timing.
"""
import hashlib
import os
import random
import struct
import sys


def h(*parts):
    return hashlib.sha256(b"".join(parts)).digest()


ADDRESSES = [h(b"addr", struct.pack(">I", i))[:20] for i in range(2000)]
PUBKEYS = [h(b"pub", a) for a in ADDRESSES]
TOKENS = [b"zts1znnxxxxxxxxxxxxx9z4ulx", b"zts1qsrxxxxxxxxxxxxxmrhjll"]


def account_block(rnd, mh, height, i):
    """go-zenon's account block, roughly: its hash, the previous one, the momentum it
    acknowledges, address, token, amount, nonce, public key and signature."""
    a = rnd.randrange(len(ADDRESSES)) if rnd.random() < 0.5 else rnd.randrange(40)
    ab = h(b"ab", mh, bytes([i]))
    return ab, b"".join([ab, h(b"prev", ab), mh, ADDRESSES[a], rnd.choice(TOKENS),
                         struct.pack(">QQQ", rnd.randrange(10**12), height * 8 + i, height),
                         PUBKEYS[a], os.urandom(64)])


def batch_momentums(db_put, start, count, rnd):
    for height in range(start, start + count):
        mh = h(b"m", struct.pack(">Q", height))
        p = rnd.randrange(30)
        abs_ = [account_block(rnd, mh, height, i) for i in range(rnd.randrange(1, 6))]
        body = b"".join([mh, h(b"m", struct.pack(">Q", height - 1)),
                         struct.pack(">QQI", height, 1700000000 + height * 10, len(abs_)),
                         ADDRESSES[p], PUBKEYS[p], b"".join(ab for ab, _ in abs_), os.urandom(64)])
        db_put(b"\x01" + mh, body)                                 # momentum by hash
        db_put(b"\x02" + struct.pack(">Q", height), mh)            # height -> hash
        for ab, raw in abs_:                                        # account blocks
            db_put(b"\x03" + ab, raw)
        if height % 50 == 0:                                        # state: balances
            for _ in range(20):
                a = rnd.randrange(len(ADDRESSES))
                db_put(b"\x04" + ADDRESSES[a] + TOKENS[a % 2][:10], struct.pack(">QQ", rnd.randrange(10**15), height))


PER_MOMENTUM = 1100  # bytes written per momentum, roughly


def leveldb(path, mib, churn_pct=None):
    import plyvel
    os.makedirs(path, exist_ok=True)
    db = plyvel.DB(os.path.join(path, "nom"), create_if_missing=True, compression="snappy",
                   write_buffer_size=2 << 20, max_file_size=2 << 20)
    done = db.get(b"\x00height")
    start = int(done) + 1 if done else 1
    total = int((mib << 20) * (churn_pct / 100 if churn_pct else 1)) // PER_MOMENTUM
    rnd = random.Random(start)
    step = 2000
    for s in range(start, start + total, step):
        with db.write_batch() as wb:
            batch_momentums(wb.put, s, min(step, start + total - s), rnd)
            wb.put(b"\x00height", str(s + min(step, start + total - s) - 1).encode())
    db.close()
    # Non-table files a node keeps beside its database: compressible JSON and a log.
    if churn_pct is None:
        with open(os.path.join(path, "config.json"), "w") as f:
            f.write('{"Name": "bench", "DataPath": "%s", "LogLevel": "info"}\n' % path)
    with open(os.path.join(path, "znnd.log"), "a") as f:
        for i in range(total // 20):
            f.write('t=2025-05-01T12:00:%02dZ lvl=info module=consensus msg="inserted momentum" height=%d\n' % (i % 60, start + i * 20))


def rocksdb(path, mib, churn_pct=None):
    from rocksdict import Rdict, Options, DBCompressionType
    os.makedirs(path, exist_ok=True)
    opt = Options(raw_mode=True)
    opt.create_if_missing(True)
    opt.set_compression_type(DBCompressionType.lz4())
    opt.set_write_buffer_size(8 << 20)
    opt.set_target_file_size_base(16 << 20)
    db = Rdict(os.path.join(path, "database"), opt)
    done = db.get(b"\x00height")
    start = int(done) + 1 if done else 1
    total = int((mib << 20) * (churn_pct / 100 if churn_pct else 1)) // PER_MOMENTUM
    rnd = random.Random(start + 1)
    for s in range(start, start + total, 2000):
        n = min(2000, start + total - s)
        batch_momentums(db.put, s, n, rnd)
        db.put(b"\x00height", str(s + n - 1).encode())
    db.flush()
    db.close()


def unshare(path):
    """Gives every non-table file its own inode (copy, rename over): the churn runs on a
    hard-linked copy of the data set, and an engine or this script may write such a file
    in place (a log appended to, a config rewritten). Tables are never written in place."""
    for d, _, files in os.walk(path):
        for f in files:
            if not f.endswith((".ldb", ".sst")):
                p = os.path.join(d, f)
                with open(p, "rb") as src, open(p + ".unshare", "wb") as dst:
                    dst.write(src.read())
                os.rename(p + ".unshare", p)


def main():
    what, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if what == "leveldb":
        leveldb(path, n)
    elif what == "rocksdb":
        rocksdb(path, n)
    elif what in ("churn-leveldb", "churn-rocksdb"):
        size = _size(path)
        unshare(path)
        (leveldb if what == "churn-leveldb" else rocksdb)(path, size, n)
    else:
        sys.exit(f"unknown command {what}")


def _size(path):
    total = 0
    for d, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(d, f)) for f in files)
    return max(1, total >> 20)


if __name__ == "__main__":
    main()
