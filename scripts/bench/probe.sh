#!/usr/bin/env bash
# Accuracy of `nodewarden probe`'s disk figures against fio running the equivalent jobs on
# the same filesystem in the same run. Each probe job (the library code `probe` runs, via
# crates/probe/examples/disk_job.rs) runs right next to its fio twin, in alternating order
# (probe first in odd runs, fio first in even ones), because a shared machine's disk
# changes speed within seconds (fsync: two time-based pairs per run). A full `nodewarden probe --json` runs once at the end for
# the record. Prints the medians and probe/fio ratios (target 0.7-1.3) as Markdown.
#   scripts/bench/probe.sh                  (RUNS=7 DIR=.cache/bench-probe to change)
# fio twins (crates/probe/src/hw/disk.rs):
#   fsync      --rw=write --ioengine=sync --fdatasync=1 --bs=2300   (the etcd recipe)
#   seq write  --rw=write --bs=1M --direct=1 --ioengine=psync --end_fsync=1 --fallocate=none
#              --create_on_open=1 (a fresh file grown by the writes, as the probe does: without
#              it fio first lays the file out with buffered writes whose writeback then
#              competes with the measured job)
#   seq read   --rw=read  --bs=1M --direct=1 --ioengine=psync
#   rand read  --rw=randread --bs=4k --direct=1 --ioengine=psync (queue depth 1), 8 s
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/deps.sh
apt_install fio python3

RUNS=${RUNS:-7}
DIR=${DIR:-$PWD/.cache/bench-probe}
OUT=${OUT:-bench-out/probe}
rm -rf "$OUT"
mkdir -p "$OUT" "$DIR"
work=$(mktemp -d)
cargo build --release --locked -q -p nodewarden
cargo build --release --locked -q -p nodewarden-probe --example disk_job
# Private copies: a concurrent build must not swap a binary under a running benchmark.
T=${CARGO_TARGET_DIR:-$PWD/target}/release
cp "$T/nodewarden" "$work/nodewarden"
cp "$T/examples/disk_job" "$work/disk_job"
cleanup() { rm -rf "$work" "$DIR"/fio.dat "$DIR"/probe.dat "$DIR"/fsync.*; }
trap cleanup EXIT

# The probe's full plan: a 1 GiB file, 8 s of random reads. fsync latency flips between
# regimes within seconds on shared storage (0.07 ms when a host cache absorbs syncs, 3 ms
# when not), so the fsync jobs are time-based and equal in length (the file is appended to,
# never wrapped), two pairs per run, and every one counts as a sample.
SIZE=1G
FSYNC_SECS=${FSYNC_SECS:-3}
fio_json() { fio --output-format=json "$@" 2>/dev/null; }
fio_job() { # NAME RUN
  case $1 in
    fsync*) fio_json --name=fsync --directory="$DIR" --filename=fsync.fio --rw=write --ioengine=sync \
             --fdatasync=1 --bs=2300 --size=1G --runtime="$FSYNC_SECS" --time_based \
             --create_on_open=1 --fallocate=none ; rm -f "$DIR/fsync.fio" ;;
    write) rm -f "$DIR/fio.dat"
           fio_json --name=seqw --filename="$DIR/fio.dat" --rw=write --bs=1M --direct=1 --ioengine=psync \
             --size="$SIZE" --end_fsync=1 --fallocate=none --create_on_open=1 ;;
    read)  fio_json --name=seqr --filename="$DIR/fio.dat" --rw=read --bs=1M --direct=1 --ioengine=psync \
             --size="$SIZE" ;;
    rand)  fio_json --name=randr --filename="$DIR/fio.dat" --rw=randread --bs=4k --direct=1 \
             --ioengine=psync --size="$SIZE" --runtime=8 --time_based --randrepeat=0 ;;
  esac > "$OUT/fio-$1-$2.json"
}
probe_job() { # NAME RUN
  case $1 in
    fsync*) "$work/disk_job" fsync "$DIR" "$FSYNC_SECS" ;;
    write) rm -f "$DIR/probe.dat"; "$work/disk_job" write "$DIR/probe.dat" ;;
    *)     "$work/disk_job" "$1" "$DIR/probe.dat" ;;
  esac > "$OUT/probe-$1-$2.json"
}

for i in $(seq 1 "$RUNS"); do
  nw_log "run $i/$RUNS"
  for job in fsync fsync2 write read rand; do
    flip=$([ $job = fsync2 ] && echo 1 || echo 0)   # ABBA within a run for the two fsync pairs
    if [ $(((i + flip) % 2)) = 1 ]; then probe_job $job "$i"; fio_job $job "$i"
    else fio_job $job "$i"; probe_job $job "$i"; fi
  done
  rm -f "$DIR/fio.dat" "$DIR/probe.dat"
done
nw_log "one full probe, for the record"
"$work/nodewarden" probe --json --data-dir "$DIR" > "$OUT/probe-full.json"

python3 - "$OUT" "$RUNS" <<'PY'
import json, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
def load(name):
    with open(f"{out}/{name}.json") as f:
        return json.load(f)
rows = {k: ([], []) for k in ["fsync_p50_ms", "fsync_p99_ms", "seq_write_mb_s", "seq_read_mb_s", "rand_read_iops"]}
for i in range(1, runs + 1):
    for name in ["fsync", "fsync2"]:
        pf = load(f"probe-{name}-{i}")
        f = load(f"fio-{name}-{i}")["jobs"][0]["sync"]["lat_ns"]["percentile"]
        for k, a, b in [("fsync_p50_ms", pf["fsync_p50_ms"], f["50.000000"] / 1e6),
                        ("fsync_p99_ms", pf["fsync_p99_ms"], f["99.000000"] / 1e6)]:
            rows[k][0].append(a); rows[k][1].append(b)
    pairs = {
        "seq_write_mb_s": (load(f"probe-write-{i}")["seq_write_mb_s"], load(f"fio-write-{i}")["jobs"][0]["write"]["bw_bytes"] / 1e6),
        "seq_read_mb_s": (load(f"probe-read-{i}")["seq_read_mb_s"], load(f"fio-read-{i}")["jobs"][0]["read"]["bw_bytes"] / 1e6),
        "rand_read_iops": (load(f"probe-rand-{i}")["rand_read_iops"], load(f"fio-rand-{i}")["jobs"][0]["read"]["iops"]),
    }
    for k, (a, b) in pairs.items():
        rows[k][0].append(a); rows[k][1].append(b)
print(f"| figure | probe (median) | fio (median) | ratio of medians | median of per-pair ratios | per-pair ratios |")
print("|---|---:|---:|---:|---:|---|")
for k, (a, b) in rows.items():
    ma, mb = statistics.median(a), statistics.median(b)
    ratios = [x / y for x, y in zip(a, b)]
    per = ", ".join(f"{r:.2f}" for r in ratios)
    print(f"| {k} | {ma:.2f} | {mb:.2f} | {ma / mb:.2f} | {statistics.median(ratios):.2f} | {per} |")
d = load("probe-full")["disk"]
print()
print("Full `nodewarden probe` in the same run: " + ", ".join(
    f"{k} {d[k]:.2f}" for k in ["fsync_p50_ms", "fsync_p99_ms", "seq_write_mb_s", "seq_read_mb_s", "rand_read_iops"]
) + f" (direct_io {str(d['direct_io']).lower()}).")
PY
