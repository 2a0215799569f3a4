#!/usr/bin/env bash
# Load generators compared on the same targets, same run, same core budget: nodewarden's
# load engine, wrk (Debian) and oha (crates.io). Targets are pinned to CPU 0, each
# generator in turn to CPU 1; runs are interleaved and medians of $RUNS are reported.
# Targets: `canned` (examples/canned_target: one thread answering every POST with the same
# bytes, cheaper per request than any generator, so the generator is the bottleneck) and
# `sim` (the simulated node, a synced ethereum node answering eth_blockNumber: realistic,
# but then the target is the bottleneck and req/s says little about the generators).
#  1. maximum requests/s: 64 keep-alive connections as fast as they go (nodewarden:
#     constant-vus with 64 VUs), plus each generator's CPU time per request (getrusage);
#  2. latency at a fixed rate ($RATE/s; nodewarden constant-arrival-rate, oha -q with
#     --latency-correction; wrk has no fixed-rate mode) against the canned target: p50/p99
#     as each tool reports them, i.e. the generator's own overhead plus loopback.
# nodewarden runs as the `loadgen` example: the library call `nodewarden loadtest` makes, on
# the same runtime, without waiting for the whole workspace to build.
#   scripts/bench/loadtest.sh   (RUNS=5 DURATION=10 CONNECTIONS=64 RATE=2000 PARTS=max,rate)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/deps.sh
apt_install wrk curl python3
install_oha

RUNS=${RUNS:-5}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
RATE=${RATE:-2000}
OUT=${OUT:-bench-out/loadtest}
PORT=${PORT:-48611}
mkdir -p "$OUT"
cargo build --release --locked -q -p nodewarden-load --example loadgen --example canned_target \
  -p nodewarden-sim --example simd
NW=target/release/examples/loadgen
SIMD=target/release/examples/simd
CANNED=target/release/examples/canned_target
SIM_URL=http://127.0.0.1:$PORT
CANNED_URL=http://127.0.0.1:$((PORT + 1))
BODY='{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}'

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

printf 'start_height = 5000000\ntip_height = 5000000\npeers = 16\n' > "$work/synced.toml"
taskset -c 0 "$SIMD" ethereum "$work/synced.toml" "127.0.0.1:$PORT" "$work/eth" >/dev/null & pids+=($!)
taskset -c 0 "$CANNED" "127.0.0.1:$((PORT + 1))" >/dev/null & pids+=($!)
for url in "$SIM_URL" "$CANNED_URL"; do
  for _ in $(seq 100); do
    curl -sf -H 'Content-Type: application/json' -d "$BODY" "$url" | grep -q '"result"' && break
    sleep 0.1
  done
done

cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '$BODY'
LUA
cat > "$work/max.toml" <<TOML
executor = "constant-vus"
vus = $CONNECTIONS
duration = "${DURATION}s"
[[request]]
method = "eth_blockNumber"
TOML
cat > "$work/rate.toml" <<TOML
executor = "constant-arrival-rate"
rate = $RATE
duration = "${DURATION}s"
connections = 16
[[request]]
method = "eth_blockNumber"
TOML

# Runs a command and writes the CPU seconds (user + system) it and its children used.
cat > "$work/cpu.py" <<'PY'
import resource, subprocess, sys
subprocess.run(sys.argv[2:], stdout=open(sys.argv[1] + ".out", "w"), stderr=subprocess.STDOUT)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write(str(r.ru_utime + r.ru_stime))
PY

# measure TARGET NAME CMD...: runs CMD on CPU 1 and records req/s (parsed by NAME) and
# the generator's CPU µs per request.
measure() {
  local target=$1 name=$2; shift 2
  taskset -c 1 python3 "$work/cpu.py" "$work/cpu" "$@"
  cp "$work/cpu.out" "$work/out"
  local rps
  case $name in
    wrk) rps=$(awk '/Requests\/sec/ {print $2}' "$work/out") ;;
    oha) rps=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["requestsPerSec"])' "$work/out") ;;
    nodewarden) rps=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rps"])' "$work/nw.json") ;;
  esac
  echo "$rps" >> "$OUT/max-$target-$name.txt"
  awk -v c="$(cat "$work/cpu")" -v r="$rps" -v d="$DURATION" 'BEGIN {printf "%.2f\n", c * 1e6 / (r * d)}' >> "$OUT/cpu-$target-$name.txt"
  printf '%-7s %-11s %10.0f req/s  %6s CPU µs/req\n' "$target" "$name" "$rps" "$(tail -n1 "$OUT/cpu-$target-$name.txt")"
}

PARTS=${PARTS:-max,rate}
rm -f "$OUT"/*.txt
for i in $(seq "$RUNS"); do
  [[ $PARTS == *max* ]] || break
  echo "-- max rate, run $i/$RUNS"
  for t in canned sim; do
    [ $t = sim ] && URL=$SIM_URL || URL=$CANNED_URL
    measure $t wrk wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s "$work/post.lua" "$URL"
    measure $t oha "$NODEWARDEN_OHA" -z "${DURATION}s" -c "$CONNECTIONS" --no-tui --output-format json \
      -m POST -T application/json -d "$BODY" "$URL"
    measure $t nodewarden "$NW" "$work/max.toml" "$URL" "$work/nw.json"
  done
done
URL=$CANNED_URL

for i in $(seq "$RUNS"); do
  [[ $PARTS == *rate* ]] || break
  echo "-- fixed rate $RATE/s, run $i/$RUNS"
  taskset -c 1 "$NW" "$work/rate.toml" "$URL" "$work/nw.json" > /dev/null
  python3 - "$work/nw.json" >> "$OUT/rate-nodewarden.txt" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(r["latency_ms"]["p50"], r["latency_ms"]["p99"], r["schedule_lag_ms"]["p50"], r["rps"], r["schedule_lag_ms"]["p99"])
PY
  taskset -c 1 "$NODEWARDEN_OHA" -z "${DURATION}s" -c 16 -q "$RATE" --latency-correction --no-tui \
    --output-format json -m POST -T application/json -d "$BODY" "$URL" > "$work/oha.json"
  python3 - "$work/oha.json" >> "$OUT/rate-oha.txt" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
p = r["latencyPercentiles"]
print(p["p50"] * 1e3, p["p99"] * 1e3, 0, r["summary"]["requestsPerSec"], 0)
PY
  tail -qn1 "$OUT/rate-nodewarden.txt" "$OUT/rate-oha.txt"
done

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
col() { awk -v c="$2" '{print $c}' "$1" | median; }
echo
echo "median of $RUNS runs, ${DURATION}s each; target on CPU 0, generator on CPU 1"
[[ $PARTS == *max* ]] && echo "maximum rate, $CONNECTIONS connections:"
for t in canned sim; do
  [[ $PARTS == *max* ]] || break
  w=$(median < "$OUT/max-$t-wrk.txt"); o=$(median < "$OUT/max-$t-oha.txt"); n=$(median < "$OUT/max-$t-nodewarden.txt")
  printf '  %-7s wrk         %9.0f req/s  %6.2f CPU µs/req\n' $t "$w" "$(median < "$OUT/cpu-$t-wrk.txt")"
  printf '  %-7s oha         %9.0f req/s  %6.2f CPU µs/req\n' $t "$o" "$(median < "$OUT/cpu-$t-oha.txt")"
  printf '  %-7s nodewarden  %9.0f req/s  %6.2f CPU µs/req   %.2fx wrk, %.2fx oha\n' $t "$n" \
    "$(median < "$OUT/cpu-$t-nodewarden.txt")" "$(awk -v a="$n" -v b="$w" 'BEGIN{print a/b}')" \
    "$(awk -v a="$n" -v b="$o" 'BEGIN{print a/b}')"
done
[[ $PARTS == *rate* ]] || exit 0
echo "fixed rate $RATE/s, canned target (latency as each tool reports it, ms):"
printf '  nodewarden  p50 %.3f  p99 %.3f  (send delay p50 %.3f p99 %.3f)  achieved %.0f/s\n' \
  "$(col "$OUT/rate-nodewarden.txt" 1)" "$(col "$OUT/rate-nodewarden.txt" 2)" \
  "$(col "$OUT/rate-nodewarden.txt" 3)" "$(col "$OUT/rate-nodewarden.txt" 5)" \
  "$(col "$OUT/rate-nodewarden.txt" 4)"
printf '  oha         p50 %.3f  p99 %.3f  achieved %.0f/s\n' \
  "$(col "$OUT/rate-oha.txt" 1)" "$(col "$OUT/rate-oha.txt" 2)" "$(col "$OUT/rate-oha.txt" 4)"
