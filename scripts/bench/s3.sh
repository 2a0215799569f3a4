#!/usr/bin/env bash
# Backup to and restore from an S3-compatible server on loopback: nodewarden against restic,
# same data, same server, same run. Reports time, requests the server answered and bytes
# stored; the nodewarden restore time is the RTO (a new host: binary, passphrase, keys).
#   scripts/bench/s3.sh                 (SIZE_MIB=4096 RUNS=3 BENCH_DIR=/var/tmp/x to change)
# The server is s3s-fs (Rust, objects as files on the local disk): moto would be the
# bottleneck for both tools. Both tools encrypt with a passphrase; nodewarden uses its
# defaults (32 MiB packs, one PUT each, 8 connections), restic 0.14 its own (16 MiB packs).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/deps.sh
source scripts/lib/chaindata.sh
apt_install restic time python3
install_s3s_fs

SIZE_MIB=${SIZE_MIB:-4096}
RUNS=${RUNS:-3}
work=${BENCH_DIR:-$(mktemp -d /var/tmp/nodewarden-s3bench.XXXXXX)}
mkdir -p "$work"
NW=${NODEWARDEN_BIN:-$(release_binary "$work")}
port=$((46100 + RANDOM % 800))
endpoint=http://127.0.0.1:$port
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work/run" "$work/s3"; }
trap cleanup EXIT
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret AWS_REGION=us-east-1
export NODEWARDEN_PASSWORD=bench RESTIC_PASSWORD=bench

chain_data "$work/data0" "$SIZE_MIB"
data_bytes=$(du -sb "$work/data0" | cut -f1)
data_files=$(find "$work/data0" -type f | wc -l)

# The server logs one "resolved route, op: X" line per request at debug level: that is
# how requests are counted, for both tools alike.
rm -rf "$work/s3"; mkdir -p "$work/s3/bench"
RUST_LOG=s3s::ops=debug "$NODEWARDEN_S3S_FS" --host 127.0.0.1 --port "$port" \
  --access-key "$AWS_ACCESS_KEY_ID" --secret-key "$AWS_SECRET_ACCESS_KEY" "$work/s3" \
  > "$work/s3.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do curl -s -o /dev/null "$endpoint" && break; sleep 0.2; done

requests() { grep -c "resolved route" "$work/s3.log" || true; }

# t LABEL CMD...: runs CMD under GNU time; appends "LABEL seconds cpu_seconds requests".
t() {
  local label=$1; shift
  local before; before=$(requests)
  /usr/bin/time -f "%e %U %S" -o "$work/run/time" "$@" >/dev/null 2>"$work/run/err" || {
    cat "$work/run/err" >&2; return 1; }
  read -r e u s < "$work/run/time"
  echo "$label $e $(python3 -c "print($u + $s)") $(( $(requests) - before ))" >> "$work/results"
}

: > "$work/results"
for run in $(seq "$RUNS"); do
  for tool in nodewarden restic; do
    nw_log "run $run/$RUNS: $tool"
    rm -rf "$work/run" "$work/s3/bench/$tool"; mkdir -p "$work/run"
    sync
    case $tool in
      nodewarden)
        repo=(--repo "s3://bench/$tool" --s3-endpoint "$endpoint")
        "$NW" init "${repo[@]}" >/dev/null
        t "$tool backup" "$NW" backup --hot "$work/data0" --node bench "${repo[@]}"
        sync
        t "$tool restore" "$NW" restore latest --target "$work/run/out" "${repo[@]}" ;;
      restic)
        repo=(-r "s3:$endpoint/bench/$tool")
        restic init -q "${repo[@]}" >/dev/null
        t "$tool backup" restic -q "${repo[@]}" backup "$work/data0"
        sync
        t "$tool restore" restic -q "${repo[@]}" restore latest --target "$work/run/out" ;;
    esac
    echo "$tool stored $(du -sb "$work/s3/bench/$tool" | cut -f1) 0 0" >> "$work/results"
    rm -rf "$work/run/out"
  done
done

python3 - "$work/results" "$data_bytes" "$data_files" "$SIZE_MIB" "$RUNS" <<'PY'
import sys, statistics
from collections import defaultdict
rows = defaultdict(list)
for line in open(sys.argv[1]):
    tool, what, a, b, c = line.split()
    rows[(tool, what)].append((float(a), float(b), int(c)))
med = lambda k, i: statistics.median(v[i] for v in rows[k])
data, files, mib, runs = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
print(f"Data: {data / 2**30:.2f} GiB in {files} files (SIZE_MIB={mib}); medians of {runs} runs.\n")
print("| tool | backup s (CPU s) | requests | restore s (CPU s) | requests | stored MiB |")
print("|---|---:|---:|---:|---:|---:|")
for t in ("nodewarden", "restic"):
    f = lambda w: f"{med((t, w), 0):.2f} ({med((t, w), 1):.1f})"
    print(f"| {t} | {f('backup')} | {med((t,'backup'),2):.0f} | {f('restore')} | {med((t,'restore'),2):.0f} | {med((t,'stored'),0)/2**20:.0f} |")
n = lambda w, i=0: med(("nodewarden", w), i)
r = lambda w, i=0: med(("restic", w), i)
print(f"\nrestic ÷ nodewarden (> 1: nodewarden faster or fewer): backup {r('backup')/n('backup'):.2f}, "
      f"restore {r('restore')/n('restore'):.2f}; requests: backup {r('backup',2)/n('backup',2):.1f}, "
      f"restore {r('restore',2)/n('restore',2):.1f}; stored bytes {r('stored')/n('stored'):.2f}.")
print(f"RTO (nodewarden restore of the whole data dir from S3): {n('restore'):.1f} s.")
PY
