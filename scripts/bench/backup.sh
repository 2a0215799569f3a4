#!/usr/bin/env bash
# Backups against restic, borg and tar+zstd on the same data in the same run, three data
# sets: a go-zenon-like LevelDB written by the C++ LevelDB (plyvel; snappy tables), a
# Besu-like RocksDB written by the C++ RocksDB (rocksdict; LZ4 tables), and the synthetic
# chain-like generator. Each set is backed up, then churned by writing CHURN_PCT % more
# through the engine (its compactions rewrite and delete tables, as a syncing node's do)
# and backed up again; the second snapshot is restored with a final `sync` and diffed
# bit-exact against the data. Then forget+prune of SNAPSHOTS snapshots against restic, and
# node downtime of the freeze against `cp -a`. Tools and data sets take turns in a
# different order every run; medians of RUNS runs; prints markdown tables.
#   scripts/bench/backup.sh          (SIZE_MIB=128 RUNS=3 CHURN_PCT=10 SNAPSHOTS=100
#                                     SETS="leveldb rocksdb synthetic" BENCH_DIR=/var/tmp/x
#                                     TOOLS="nodewarden restic borg tarzstd" to change;
#                                     add nodewarden-plain for an unencrypted repository)
# Every repository tool encrypts (nodewarden and restic with a passphrase, borg
# repokey-blake2) and compresses (nodewarden: its own choice per file, restic: auto, borg
# and tar: zstd level 3); tar+zstd neither encrypts nor deduplicates; its incremental is
# `--listed-incremental` and its restore extracts both archives.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/deps.sh
source scripts/lib/chaindata.sh
apt_install restic borgbackup zstd time python3
install_python_tools

SIZE_MIB=${SIZE_MIB:-128}
RUNS=${RUNS:-3}
CHURN_PCT=${CHURN_PCT:-10}
SNAPSHOTS=${SNAPSHOTS:-100}
SETS=${SETS:-leveldb rocksdb synthetic}
TOOLS=${TOOLS:-nodewarden restic borg tarzstd}
work=${BENCH_DIR:-$(mktemp -d /var/tmp/nodewarden-bench.XXXXXX)}
mkdir -p "$work"
NW=${NODEWARDEN_BIN:-$(release_binary "$work")}
sim_pid=
cleanup() { [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; rm -rf "$work/run" "$work/copy"; }
trap cleanup EXIT
export NODEWARDEN_PASSWORD=bench RESTIC_PASSWORD=bench BORG_PASSPHRASE=bench
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes

# ---- data: DATA/SET/0 the first state, DATA/SET/1 the churned one, hard-linked to 0 where
# the engine left a file alone.
data=$work/data-$SIZE_MIB
: > "$work/sets"
for set in $SETS; do
  d=$data/$set
  mkdir -p "$d"
  if [ ! -f "$d/1.complete" ]; then
    rm -rf "$d/1"
    case $set in
      leveldb) engine_data "$d/0" leveldb "$SIZE_MIB" ;;
      rocksdb) engine_data "$d/0" rocksdb "$SIZE_MIB" ;;
      synthetic) chain_data "$d/0" "$SIZE_MIB" ;;
      *) echo "unknown data set $set" >&2; exit 2 ;;
    esac
    cp -al "$d/0" "$d/1"
    case $set in
      leveldb|rocksdb) engine_churn "$d/1" "$set" "$CHURN_PCT" ;;
      synthetic) churn "$d/1" ;;
    esac
    touch "$d/1.complete"
  fi
  echo "$set $(du -sb "$d/0" | cut -f1) $(find "$d/0" -type f | wc -l) $(python3 - "$d" <<'PY'
import os, sys
d = sys.argv[1]
old = {os.stat(os.path.join(r, f)).st_ino for r, _, fs in os.walk(f"{d}/0") for f in fs}
print(sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(f"{d}/1") for f in fs
          if os.stat(os.path.join(r, f)).st_ino not in old))
PY
)" >> "$work/sets"
done

# t SET TOOL WHAT CMD...: runs CMD under GNU time, appends "SET TOOL WHAT s maxrss_kib cpu_s".
t() {
  local set=$1 tool=$2 what=$3; shift 3
  /usr/bin/time -f "%e %M %U %S" -o "$work/run/time" "$@" >/dev/null 2>"$work/run/err" || {
    cat "$work/run/err" >&2; return 1; }
  read -r e m u s < "$work/run/time"
  echo "$set $tool $what $e $m $(python3 -c "print($u + $s)")" >> "$work/results"
}
note() { echo "$1 $2 $3 $4 0 0" >> "$work/results"; }

# rotate N WORDS...: WORDS starting at the N-th (so every run has another order).
rotate() { local n=$1; shift; local a=("$@"); local i; for i in "${!a[@]}"; do echo "${a[$(((i + n) % ${#a[@]}))]}"; done; }

: > "$work/results"
for run in $(seq "$RUNS"); do
  for set in $(rotate "$run" $SETS); do
    for tool in $(rotate "$run" $TOOLS); do
      nw_log "run $run/$RUNS: $set, $tool"
      rm -rf "$work/run"; mkdir -p "$work/run"
      src=$work/run/data repo=$work/run/repo out=$work/run/out
      cp -al "$data/$set/0" "$src"
      sync
      case $tool in
        nodewarden|nodewarden-plain)
          if [ "$tool" = nodewarden-plain ]; then unset NODEWARDEN_PASSWORD; fi
          "$NW" init --repo "$repo" >/dev/null
          t "$set" "$tool" first "$NW" backup --hot "$src" --node bench --repo "$repo"
          note "$set" "$tool" size1 "$(du -sb "$repo" | cut -f1)"
          link_sync "$data/$set/1" "$src"
          t "$set" "$tool" incr "$NW" backup --hot "$src" --node bench --repo "$repo"
          t "$set" "$tool" restore sh -c "'$NW' restore latest --target '$out' --repo '$repo' && sync"
          restored=$out
          export NODEWARDEN_PASSWORD=bench ;;
        restic)
          restic init -q -r "$repo" >/dev/null
          t "$set" "$tool" first restic -q -r "$repo" backup "$src"
          note "$set" "$tool" size1 "$(du -sb "$repo" | cut -f1)"
          link_sync "$data/$set/1" "$src"
          t "$set" "$tool" incr restic -q -r "$repo" backup "$src"
          t "$set" "$tool" restore sh -c "restic -q -r '$repo' restore latest --target '$out' && sync"
          restored=$out$src ;;
        borg)
          borg init -e repokey-blake2 "$repo"
          t "$set" "$tool" first borg create --compression zstd,3 "$repo::a" "$src"
          note "$set" "$tool" size1 "$(du -sb "$repo" | cut -f1)"
          link_sync "$data/$set/1" "$src"
          t "$set" "$tool" incr borg create --compression zstd,3 "$repo::b" "$src"
          mkdir -p "$out"
          t "$set" "$tool" restore sh -c "cd '$out' && borg extract '$repo::b' && sync"
          restored=$out$src ;;
        tarzstd)
          mkdir -p "$repo" "$out"
          t "$set" "$tool" first sh -c "tar -C '$src' --listed-incremental='$repo/snar' -cf - . | zstd -T0 -3 -q -o '$repo/0.tar.zst'"
          note "$set" "$tool" size1 "$(du -sb "$repo" | cut -f1)"
          link_sync "$data/$set/1" "$src"
          t "$set" "$tool" incr sh -c "tar -C '$src' --listed-incremental='$repo/snar' -cf - . | zstd -T0 -3 -q -o '$repo/1.tar.zst'"
          t "$set" "$tool" restore sh -c "for a in 0 1; do zstd -dc '$repo/'\$a.tar.zst | tar -C '$out' --listed-incremental=/dev/null -xf - || exit 1; done; sync"
          restored=$out ;;
      esac
      note "$set" "$tool" size "$(du -sb "$repo" | cut -f1)"
      # Bit-exact: contents, and every file present on both sides.
      diff -r --no-dereference "$data/$set/1" "$restored" >&2 || { echo "$tool restored $set wrongly" >&2; exit 1; }
    done
  done
done

# ---- forget + prune: SNAPSHOTS snapshots of a small dir (1 MiB files, one replaced before
# each backup), then keep the last 10 and prune; forget and prune timed apart.
nw_log "forget+prune: $SNAPSHOTS snapshots per tool"
rm -rf "$work/run"; mkdir -p "$work/run"
p=$work/run/p
mkdir -p "$p/data"
step() { python3 -c "import os,sys; open(sys.argv[1],'wb').write(os.urandom(1 << 20))" "$p/data/f$1"; rm -f "$p/data/f$(($1 - 32))"; }
for i in $(seq 1 32); do step "$i"; done
"$NW" init --repo "$p/nw" >/dev/null
restic init -q -r "$p/restic" >/dev/null
for i in $(seq 33 $((32 + SNAPSHOTS))); do
  step "$i"
  "$NW" backup --hot "$p/data" --node bench --repo "$p/nw" >/dev/null
  restic -q -r "$p/restic" backup "$p/data" >/dev/null
done
note prune nodewarden before "$(du -sb "$p/nw" | cut -f1)"
note prune restic before "$(du -sb "$p/restic" | cut -f1)"
mv "$p/nw" "$p/nw0"; mv "$p/restic" "$p/restic0"
# fresh TOOL: a fresh copy of TOOL's repository with the SNAPSHOTS snapshots.
fresh() { rm -rf "${p:?}/$1"; cp -a "$p/${1}0" "$p/$1"; sync; }
for run in $(seq "$RUNS"); do
  for tool in $(rotate "$run" nodewarden restic); do
    case $tool in
      nodewarden)
        fresh nw
        t prune nodewarden open "$NW" snapshots --repo "$p/nw"
        t prune nodewarden forget "$NW" forget --keep-last 10 --repo "$p/nw"
        t prune nodewarden prune "$NW" prune --repo "$p/nw"
        note prune nodewarden after "$(du -sb "$p/nw" | cut -f1)"
        fresh nw
        t prune nodewarden both "$NW" forget --keep-last 10 --prune --repo "$p/nw" ;;
      restic)
        fresh restic
        t prune restic open restic -q -r "$p/restic" snapshots
        t prune restic forget restic -q -r "$p/restic" forget --keep-last 10
        t prune restic prune restic -q -r "$p/restic" prune
        note prune restic after "$(du -sb "$p/restic" | cut -f1)"
        fresh restic
        t prune restic both restic -q -r "$p/restic" forget --keep-last 10 --prune ;;
    esac
  done
done

# ---- downtime: freeze (no-op stop/start; a sim answers the RPC) against `cp -a`, on the
# first data set.
first_set=$(echo $SETS | cut -d' ' -f1)
if [ -n "$first_set" ]; then
  port=$((47000 + RANDOM % 1000))
  "$NW" sim --kind zenon --listen "127.0.0.1:$port" --data-dir "$work/run/sim" >/dev/null &
  sim_pid=$!
  sleep 2
  rm -rf "$work/run/data"; cp -al "$data/$first_set/0" "$work/run/data"
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
    note down freeze s "$(python3 -c "print($ms/1000)")"
    rm -rf "$work/copy"; sync
    s=$(date +%s.%N); cp -a "$work/run/data" "$work/copy"; e=$(date +%s.%N)
    note down copy s "$(python3 -c "print($e-$s)")"
  done
fi

python3 scripts/bench/backup_report.py "$work/results" "$work/sets" "$SIZE_MIB" "$RUNS" "$CHURN_PCT" "$SNAPSHOTS" "$TOOLS"
