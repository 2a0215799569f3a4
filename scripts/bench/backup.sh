#!/usr/bin/env bash
# Backups against restic, borg and tar+zstd on the same generated chain-like data dir:
# first backup, incremental after a "compaction churn" (5 % new table files, some deleted,
# the log rewritten), repository size, restore time, peak RSS; and node downtime of the
# freeze against a stop/copy/start. Medians of $RUNS runs; prints a markdown table.
#   scripts/bench/backup.sh                 (SIZE_MIB=4096 RUNS=3 BENCH_DIR=/var/tmp/x to change)
# Every repository tool encrypts (nodewarden and restic always with a passphrase here, borg
# repokey-blake2) and compresses with zstd level 3 where it can; tar+zstd does neither
# encryption nor deduplication, and its "incremental" is a second full archive.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/deps.sh
source scripts/lib/chaindata.sh
apt_install restic borgbackup zstd time python3

SIZE_MIB=${SIZE_MIB:-4096}
RUNS=${RUNS:-3}
work=${BENCH_DIR:-$(mktemp -d /var/tmp/nodewarden-bench.XXXXXX)}
mkdir -p "$work"
NW=${NODEWARDEN_BIN:-$(release_binary "$work")}
sim_pid=
cleanup() { [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; rm -rf "$work/run" "$work/copy"; }
trap cleanup EXIT
export NODEWARDEN_PASSWORD=bench RESTIC_PASSWORD=bench BORG_PASSPHRASE=bench
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes

chain_data "$work/data0" "$SIZE_MIB"
data_bytes=$(du -sb "$work/data0" | cut -f1)
data_files=$(find "$work/data0" -type f | wc -l)

# t LABEL CMD...: runs CMD under GNU time, appends "LABEL seconds maxrss_kib cpu_seconds".
t() {
  local label=$1; shift
  /usr/bin/time -f "%e %M %U %S" -o "$work/run/time" "$@" >/dev/null 2>"$work/run/err" || {
    cat "$work/run/err" >&2; return 1; }
  read -r e m u s < "$work/run/time"
  echo "$label $e $m $(python3 -c "print($u + $s)")" >> "$work/results"
}

: > "$work/results"
for run in $(seq "$RUNS"); do
  for tool in nodewarden nodewarden-plain restic borg tarzstd; do
    nw_log "run $run/$RUNS: $tool"
    rm -rf "$work/run"; mkdir -p "$work/run"
    cp -al "$work/data0" "$work/run/data"   # links: the churn below never touches data0
    repo=$work/run/repo out=$work/run/out
    sync
    case $tool in
      nodewarden|nodewarden-plain)
        if [ "$tool" = nodewarden-plain ]; then unset NODEWARDEN_PASSWORD; fi
        "$NW" init --repo "$repo" >/dev/null
        t "$tool first" "$NW" backup --hot "$work/run/data" --node bench --repo "$repo"
        echo "$tool size1 $(du -sb "$repo" | cut -f1) 0 0" >> "$work/results"
        churn "$work/run/data"
        t "$tool incr" "$NW" backup --hot "$work/run/data" --node bench --repo "$repo"
        t "$tool restore" "$NW" restore latest --target "$out" --repo "$repo"
        export NODEWARDEN_PASSWORD=bench ;;
      restic)
        restic init -q -r "$repo" >/dev/null
        t "$tool first" restic -q -r "$repo" backup "$work/run/data"
        echo "$tool size1 $(du -sb "$repo" | cut -f1) 0 0" >> "$work/results"
        churn "$work/run/data"
        t "$tool incr" restic -q -r "$repo" backup "$work/run/data"
        t "$tool restore" restic -q -r "$repo" restore latest --target "$out" ;;
      borg)
        borg init -e repokey-blake2 "$repo"
        t "$tool first" borg create --compression zstd,3 "$repo::a" "$work/run/data"
        echo "$tool size1 $(du -sb "$repo" | cut -f1) 0 0" >> "$work/results"
        churn "$work/run/data"
        t "$tool incr" borg create --compression zstd,3 "$repo::b" "$work/run/data"
        mkdir -p "$out"
        t "$tool restore" sh -c "cd '$out' && borg extract '$repo::b'" ;;
      tarzstd)
        mkdir -p "$repo"
        t "$tool first" sh -c "tar -C '$work/run/data' -cf - . | zstd -T0 -3 -q -o '$repo/a.tar.zst'"
        echo "$tool size1 $(du -sb "$repo" | cut -f1) 0 0" >> "$work/results"
        churn "$work/run/data"
        t "$tool incr" sh -c "tar -C '$work/run/data' -cf - . | zstd -T0 -3 -q -o '$repo/b.tar.zst'"
        mkdir -p "$out"
        t "$tool restore" sh -c "zstd -dc '$repo/b.tar.zst' | tar -C '$out' -xf -"
        # nodewarden fsyncs what it restores; tar does not. The same with a final sync:
        rm -rf "$out"; mkdir -p "$out"; sync
        t "$tool restore+sync" sh -c "zstd -dc '$repo/b.tar.zst' | tar -C '$out' -xf - && sync" ;;
    esac
    echo "$tool size $(du -sb "$repo" | cut -f1) 0 0" >> "$work/results"
  done
done

# ---- downtime: freeze (no-op stop/start; a sim answers the RPC) against stop/copy/start.
port=$((47000 + RANDOM % 1000))
"$NW" sim --kind zenon --listen "127.0.0.1:$port" --data-dir "$work/run/sim" >/dev/null &
sim_pid=$!
sleep 2
rm -rf "$work/run/data"; cp -al "$work/data0" "$work/run/data"
cat > "$work/run/nodewarden.toml" <<TOML
[[node]]
name = "bench"
kind = "zenon"
rpc = "http://127.0.0.1:$port"
data_dir = "$work/run/data"
service = { stop = "true", start = "true" }
[repository]
url = "$work/run/repo-freeze"
TOML
"$NW" init --repo "$work/run/repo-freeze" >/dev/null
for run in $(seq "$RUNS"); do
  ms=$("$NW" --config "$work/run/nodewarden.toml" backup --node bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["downtime_ms"])')
  echo "freeze downtime $(python3 -c "print($ms/1000)") 0 0" >> "$work/results"
  rm -rf "$work/copy"; sync
  s=$(date +%s.%N); cp -a "$work/run/data" "$work/copy"; e=$(date +%s.%N)
  echo "copy downtime $(python3 -c "print($e-$s)") 0 0" >> "$work/results"
done

python3 - "$work/results" "$data_bytes" "$data_files" "$SIZE_MIB" "$RUNS" <<'PY'
import sys, statistics
from collections import defaultdict
rows = defaultdict(list)
for line in open(sys.argv[1]):
    tool, what, a, b, c = line.split()
    rows[(tool, what)].append((float(a), int(float(b)), float(c)))
def med(k, i):
    return statistics.median(v[i] for v in rows[k]) if rows.get(k) else float("nan")
data, files, mib, runs = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
print(f"Data: {data / 2**30:.2f} GiB in {files} files (SIZE_MIB={mib}); medians of {runs} runs.\n")
print("| tool | first backup s (CPU s) | incremental s (CPU s) | size after first MiB | size after both MiB | restore s (CPU s) | peak RSS MiB |")
print("|---|---:|---:|---:|---:|---:|---:|")
tools = ["nodewarden", "nodewarden-plain", "restic", "borg", "tarzstd"]
for t in tools:
    rss = max(med((t, w), 1) for w in ("first", "incr", "restore")) / 1024
    f = lambda w: f"{med((t, w), 0):.2f} ({med((t, w), 2):.1f})"
    print(f"| {t} | {f('first')} | {f('incr')} | {med((t,'size1'),0)/2**20:.0f} | {med((t,'size'),0)/2**20:.0f} | {f('restore')} | {rss:.0f} |")
if rows.get(("tarzstd", "restore+sync")):
    print(f"| tarzstd, restore with a final `sync` | | | | | {med(('tarzstd','restore+sync'),0):.2f} | |")
print("\n| other ÷ nodewarden (> 1: nodewarden faster or smaller) | first | incremental | restore | size after first |")
print("|---|---:|---:|---:|---:|")
for base in ("nodewarden", "nodewarden-plain"):
    n = lambda w: med((base, w), 0)
    for t in tools[2:]:
        print(f"| {t} vs {base} | {med((t,'first'),0)/n('first'):.2f} | {med((t,'incr'),0)/n('incr'):.2f} | {med((t,'restore'),0)/n('restore'):.2f} | {med((t,'size1'),0)/n('size1'):.2f} |")
    if rows.get(("tarzstd", "restore+sync")):
        print(f"| tarzstd (restore + sync) vs {base} | | | {med(('tarzstd','restore+sync'),0)/n('restore'):.2f} | |")
print(f"\nNode downtime: freeze {med(('freeze','downtime'),0):.2f} s vs stop/copy/start {med(('copy','downtime'),0):.2f} s (the node's own stop/start excluded: no-ops here).")
PY
