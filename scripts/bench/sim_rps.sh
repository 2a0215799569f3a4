#!/usr/bin/env bash
# Requests/s the sim serves vs anvil (a real Ethereum dev node), same machine, same run.
# Servers are pinned to CPU 0 and wrk to CPU 1 so both servers get the same core budget;
# runs are interleaved and the median of $RUNS is reported.
#   scripts/bench/sim_rps.sh            (RUNS=5 DURATION=10s CONNECTIONS=64 to change)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/deps.sh
apt_install wrk curl
install_anvil

RUNS=${RUNS:-5}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
OUT=${OUT:-bench-out/sim_rps}
mkdir -p "$OUT"
work=$(mktemp -d)
NW=$(release_binary "$work")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# A node that is synced and stays so: the steady state a load test sees.
cat > "$work/synced.toml" <<'TOML'
start_height = 5000000
tip_height = 5000000
peers = 16
TOML

taskset -c 0 "$NW" sim --kind zenon --scenario "$work/synced.toml" --listen 127.0.0.1:45997 --data-dir "$work/znn" >/dev/null & pids+=($!); zpid=$!
taskset -c 0 "$NW" sim --kind ethereum --scenario "$work/synced.toml" --listen 127.0.0.1:48545 --data-dir "$work/eth" >/dev/null & pids+=($!); epid=$!
taskset -c 0 "$NODEWARDEN_ANVIL" --host 127.0.0.1 --port 48546 --silent >/dev/null & pids+=($!); apid=$!

body() { printf '{"jsonrpc":"2.0","id":1,"method":"%s","params":[]}' "$1"; }
wait_rpc() {
  for _ in $(seq 100); do
    if curl -sf -H 'Content-Type: application/json' -d "$(body "$2")" "$1" | grep -q '"result"'; then return 0; fi
    sleep 0.1
  done
  echo "no answer from $1 ($2)" >&2; exit 1
}
wait_rpc http://127.0.0.1:45997 stats.syncInfo
wait_rpc http://127.0.0.1:48545 eth_blockNumber
wait_rpc http://127.0.0.1:48546 eth_blockNumber

cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BODY")
LUA

# CPU ticks (user+system) a process has used: throughput swings with whatever else the
# machine runs, CPU time per request much less.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

# run NAME URL METHOD PID → appends requests/s and server CPU µs/request to $OUT/NAME*.txt
run() {
  local rps errors t0 t1 requests us
  t0=$(ticks "$4")
  BODY=$(body "$3") taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" -s "$work/post.lua" "$2" > "$work/wrk.txt"
  t1=$(ticks "$4")
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
  requests=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
  errors=$(awk '/Non-2xx/ {print $NF}' "$work/wrk.txt")
  [ -z "$errors" ] || { echo "$1: $errors non-2xx answers" >&2; exit 1; }
  us=$(awk -v t="$((t1 - t0))" -v hz="$HZ" -v n="$requests" 'BEGIN{printf "%.2f", t / hz * 1e6 / n}')
  echo "$rps" >> "$OUT/$1.txt"
  echo "$us" >> "$OUT/$1.cpu.txt"
  printf '%-28s %12s req/s %8s µs CPU/req\n' "$1" "$rps" "$us"
}

rm -f "$OUT"/*.txt
for i in $(seq "$RUNS"); do
  echo "-- run $i/$RUNS"
  run sim-zenon-stats.syncInfo http://127.0.0.1:45997 stats.syncInfo "$zpid"
  run sim-eth_blockNumber http://127.0.0.1:48545 eth_blockNumber "$epid"
  run anvil-eth_blockNumber http://127.0.0.1:48546 eth_blockNumber "$apid"
done

median() { sort -g "$1" | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
z=$(median "$OUT/sim-zenon-stats.syncInfo.txt")
s=$(median "$OUT/sim-eth_blockNumber.txt")
a=$(median "$OUT/anvil-eth_blockNumber.txt")
echo
echo "median of $RUNS runs, $DURATION each, $CONNECTIONS connections, server on 1 core, wrk on the other"
printf 'sim zenon stats.syncInfo    %10.0f req/s  (%.2fx anvil eth_blockNumber)\n' "$z" "$(awk -v x="$z" -v y="$a" 'BEGIN{print x/y}')"
printf 'sim ethereum eth_blockNumber %9.0f req/s  (%.2fx anvil)\n' "$s" "$(awk -v x="$s" -v y="$a" 'BEGIN{print x/y}')"
printf 'anvil eth_blockNumber       %10.0f req/s\n' "$a"
zc=$(median "$OUT/sim-zenon-stats.syncInfo.cpu.txt")
sc=$(median "$OUT/sim-eth_blockNumber.cpu.txt")
ac=$(median "$OUT/anvil-eth_blockNumber.cpu.txt")
echo "server CPU per request (lower is better):"
printf '  sim zenon %s µs, sim ethereum %s µs, anvil %s µs  (anvil/sim ethereum: %.2fx)\n' "$zc" "$sc" "$ac" "$(awk -v x="$ac" -v y="$sc" 'BEGIN{print x/y}')"
