#!/usr/bin/env bash
# The recovery time of a node from an S3 repository on loopback, measured by the failover
# drill itself: restore into a fresh dir, start through the service, catch up with the
# running original, compare the last 1000 hashes. The node's data dir is a sim's chain
# database plus SIZE_MIB of state written by the C++ LevelDB (plyvel): real tables, snappy
# blocks, 1 KiB random values (a state trie's leaves do not compress either).
#   scripts/bench/failover.sh              (SIZE_MIB=4096 RUNS=3 BENCH_DIR=/var/tmp/x to change)
# The server is s3s-fs (objects as files on the local disk), as in scripts/bench/s3.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/deps.sh
apt_install python3 curl
install_python_tools
install_s3s_fs

SIZE_MIB=${SIZE_MIB:-4096}
RUNS=${RUNS:-3}
work=${BENCH_DIR:-$(mktemp -d /var/tmp/nodewarden-failover.XXXXXX)}
mkdir -p "$work"
NW=${NODEWARDEN_BIN:-$(release_binary "$work")}
port=$((46100 + RANDOM % 800))
main_port=$((47000 + RANDOM % 400))
standby_port=$((main_port + 500))
endpoint=http://127.0.0.1:$port
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  [ -f "$work/main.stop" ] && sh "$work/main.stop"
  [ -f "$work/standby.stop" ] && sh "$work/standby.stop"
  rm -rf "$work/s3" "$work/standby"
}
trap cleanup EXIT
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret AWS_REGION=us-east-1
export NODEWARDEN_PASSWORD=failover-bench-passphrase

cat > "$work/scenario.toml" <<'EOF'
kind = "zenon"
seed = 21
start_height = 1
tip_height = 20000
block_time = "10s"
peers = 9
[[phase]]
until = "tip"
rate = 2000
EOF
service() { # service NAME PORT: start/stop scripts for a sim, and its [[node]] table
  local name=$1 p=$2
  printf '%s sim --kind zenon --listen 127.0.0.1:%s --speed 5 --scenario %s --data-dir %s >>%s 2>&1 &\necho $! > %s\n' \
    "$NW" "$p" "$work/scenario.toml" "$work/$name" "$work/$name.log" "$work/$name.pid" > "$work/$name.start"
  printf 'p=$(cat %s 2>/dev/null) || exit 0\nkill $p 2>/dev/null\nwhile kill -0 $p 2>/dev/null; do sleep 0.02; done\n' \
    "$work/$name.pid" > "$work/$name.stop"
  printf '[[node]]\nname = "%s"\nkind = "zenon"\nrpc = "http://127.0.0.1:%s"\ndata_dir = "%s"\nservice = { stop = "sh %s", start = "sh %s" }\n\n' \
    "$name" "$p" "$work/$name" "$work/$name.stop" "$work/$name.start"
}
{
  printf '[repository]\nurl = "s3://bench/drill"\ns3_endpoint = "%s"\n\n' "$endpoint"
  service main "$main_port"
  service standby "$standby_port"
} > "$work/nodewarden.toml"
cat > "$work/drill.toml" <<EOF
output = "drills"
node = "standby"
from = "main"
reference = "main"
within = 5
crosscheck = 1000
timeout = "10m"
EOF
nw() { "$NW" --config "$work/nodewarden.toml" "$@"; }
height() { curl -s -m 2 -H 'content-type: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"stats.syncInfo","params":[]}' "http://127.0.0.1:$1" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["currentHeight"])' 2>/dev/null || echo 0; }

# The original: the sim's chain to its tip, then the state LevelDB beside it (kept between
# runs of the script in BENCH_DIR: writing it takes a while).
if [ ! -f "$work/main/state.done" ]; then
  rm -rf "$work/main"
  nw_log "syncing the original sim, then writing ${SIZE_MIB} MiB of state with plyvel"
  sh "$work/main.start"
  until [ "$(height "$main_port")" -ge 20000 ]; do sleep 0.5; done
  sh "$work/main.stop"
  "$NODEWARDEN_PYTHON" - "$work/main/state" "$SIZE_MIB" <<'PY'
import os, sys, plyvel
path, mib = sys.argv[1], int(sys.argv[2])
db = plyvel.DB(path, create_if_missing=True, write_buffer_size=64 << 20, compression="snappy")
n = (mib << 20) // 1056
for start in range(0, n, 10000):
    with db.write_batch() as b:
        for i in range(start, min(n, start + 10000)):
            b.put(i.to_bytes(8, "big") + os.urandom(24), os.urandom(1024))
db.close()
PY
  touch "$work/main/state.done"
fi
data_bytes=$(du -sb "$work/main" | cut -f1)

rm -rf "$work/s3"; mkdir -p "$work/s3/bench"
"$NODEWARDEN_S3S_FS" --host 127.0.0.1 --port "$port" --access-key "$AWS_ACCESS_KEY_ID" \
  --secret-key "$AWS_SECRET_ACCESS_KEY" "$work/s3" > "$work/s3.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do curl -s -o /dev/null "$endpoint" && break; sleep 0.2; done

sh "$work/main.start"
until [ "$(height "$main_port")" -ge 20000 ]; do sleep 0.2; done
nw init >/dev/null
nw_log "backing up the original ($((data_bytes >> 20)) MiB) into s3s-fs"
nw backup --node main >/dev/null
rm -rf "$work/drills"
for run in $(seq "$RUNS"); do
  nw_log "drill $run/$RUNS"
  sync; echo 3 | nw_sudo tee /proc/sys/vm/drop_caches >/dev/null 2>&1 || true
  nw experiment failover "$work/drill.toml" --json > "$work/drill-$run.json"
done

python3 - "$work" "$RUNS" "$data_bytes" <<'PY'
import json, statistics, sys
work, runs, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
drills = [json.load(open(f"{work}/drill-{i}.json")) for i in range(1, runs + 1)]
assert all(d["ok"] for d in drills), [d["error"] for d in drills]
legs = [d["failover"] for d in drills]
names = [p["name"] for p in legs[0]["phases"]]
print(f"data dir {size / 2**30:.2f} GiB, {legs[0]['files']} files; {runs} drills; medians:")
for n in names:
    v = [next(p["seconds"] for p in l["phases"] if p["name"] == n) for l in legs]
    print(f"  {n:<11} {statistics.median(v):7.2f} s   (runs: {', '.join(f'{x:.2f}' for x in v)})")
rec = [l["recovery_seconds"] for l in legs]
print(f"  recovery    {statistics.median(rec):7.2f} s   (restore + start + catch-up; goal < 60 s)")
print(f"  compared    {legs[0]['compared']} heights with the original, agree: {all(l['agree'] for l in legs)}")
PY
