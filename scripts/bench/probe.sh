#!/usr/bin/env bash
# Accuracy of `nodewarden probe`'s disk figures against fio running the equivalent jobs on
# the same filesystem in the same run (interleaved: probe, then fio, RUNS times). Prints
# the medians of both and their ratio (probe / fio; 0.7-1.3 is the target) as Markdown.
#   scripts/bench/probe.sh                  (RUNS=5 DIR=.cache/bench-probe to change)
# fio jobs, each the twin of a probe stage (crates/probe/src/hw/disk.rs):
#   fsync      --rw=write --ioengine=sync --fdatasync=1 --bs=2300   (the etcd recipe)
#   seq write  --rw=write --bs=1M --direct=1 --ioengine=psync --end_fsync=1 --fallocate=none
#   seq read   --rw=read  --bs=1M --direct=1 --ioengine=psync
#   rand read  --rw=randread --bs=4k --direct=1 --ioengine=psync (queue depth 1), 8 s
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/deps.sh
apt_install fio python3

RUNS=${RUNS:-5}
DIR=${DIR:-$PWD/.cache/bench-probe}
OUT=${OUT:-bench-out/probe}
mkdir -p "$OUT" "$DIR"
work=$(mktemp -d)
cargo build --release --locked -q -p nodewarden
# A private copy: a concurrent build must not swap the binary under a running benchmark.
cp "${CARGO_TARGET_DIR:-$PWD/target}/release/nodewarden" "$work/nodewarden"
NW=$work/nodewarden
cleanup() { rm -rf "$work" "$DIR/fio.dat" "$DIR"/fsync.*; }
trap cleanup EXIT

# The probe's full plan: up to 4000 fsyncs, a 512 MiB file, 8 s of random reads.
SIZE=512M
FSYNC_BYTES=$((4000 * 2300))
fio_json() { fio --output-format=json "$@" 2>/dev/null; }

for i in $(seq 1 "$RUNS"); do
  nw_log "run $i/$RUNS: probe"
  "$NW" probe --json --data-dir "$DIR" > "$OUT/probe-$i.json"
  nw_log "run $i/$RUNS: fio"
  fio_json --name=fsync --directory="$DIR" --filename=fsync.dat --rw=write --ioengine=sync \
    --fdatasync=1 --bs=2300 --size="$FSYNC_BYTES" --runtime=8 > "$OUT/fio-fsync-$i.json"
  rm -f "$DIR/fsync.dat"
  fio_json --name=seqw --filename="$DIR/fio.dat" --rw=write --bs=1M --direct=1 --ioengine=psync \
    --size="$SIZE" --end_fsync=1 --fallocate=none > "$OUT/fio-seqw-$i.json"
  fio_json --name=seqr --filename="$DIR/fio.dat" --rw=read --bs=1M --direct=1 --ioengine=psync \
    --size="$SIZE" > "$OUT/fio-seqr-$i.json"
  fio_json --name=randr --filename="$DIR/fio.dat" --rw=randread --bs=4k --direct=1 \
    --ioengine=psync --size="$SIZE" --runtime=8 --time_based --randrepeat=0 > "$OUT/fio-randr-$i.json"
  rm -f "$DIR/fio.dat"
done

python3 - "$OUT" "$RUNS" <<'PY'
import json, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
def load(name, i):
    with open(f"{out}/{name}-{i}.json") as f:
        return json.load(f)
rows = {k: ([], []) for k in ["fsync_p50_ms", "fsync_p99_ms", "seq_write_mb_s", "seq_read_mb_s", "rand_read_iops"]}
for i in range(1, runs + 1):
    p = load("probe", i)["disk"]
    f = load("fio-fsync", i)["jobs"][0]["sync"]["lat_ns"]["percentile"]
    fio = {
        "fsync_p50_ms": f["50.000000"] / 1e6,
        "fsync_p99_ms": f["99.000000"] / 1e6,
        "seq_write_mb_s": load("fio-seqw", i)["jobs"][0]["write"]["bw_bytes"] / 1e6,
        "seq_read_mb_s": load("fio-seqr", i)["jobs"][0]["read"]["bw_bytes"] / 1e6,
        "rand_read_iops": load("fio-randr", i)["jobs"][0]["read"]["iops"],
    }
    for k in rows:
        rows[k][0].append(p[k]); rows[k][1].append(fio[k])
print(f"| figure | probe (median of {runs}) | fio (median of {runs}) | ratio | per-run ratios |")
print("|---|---:|---:|---:|---|")
for k, (a, b) in rows.items():
    ma, mb = statistics.median(a), statistics.median(b)
    per = ", ".join(f"{x / y:.2f}" for x, y in zip(a, b))
    print(f"| {k} | {ma:.2f} | {mb:.2f} | {ma / mb:.2f} | {per} |")
PY
