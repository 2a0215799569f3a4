#!/usr/bin/env bash
# Load generators compared on one fast local target, same run, same core budget:
# nodewarden's load engine, wrk (Debian) and oha (crates.io). The target (the sim, a synced
# ethereum node answering eth_blockNumber) is pinned to CPU 0, each generator in turn to
# CPU 1; runs are interleaved and medians of $RUNS are reported.
#  1. maximum requests/s: 64 keep-alive connections as fast as they go (nodewarden:
#     constant-vus with 64 VUs), plus each generator's CPU time per request (/proc), which
#     says more than req/s when the target, not the generator, is the limit;
#  2. latency at a fixed rate ($RATE/s; nodewarden constant-arrival-rate, oha -q with
#     --latency-correction; wrk has no fixed-rate mode): p50/p99 as each tool reports them.
# nodewarden runs as the `loadgen` example: the library call `nodewarden loadtest` makes, on
# the same runtime, without waiting for the whole workspace to build.
#   scripts/bench/loadtest.sh          (RUNS=5 DURATION=10 CONNECTIONS=64 RATE=2000)
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
cargo build --release --locked -q -p nodewarden-load --example loadgen -p nodewarden-sim --example simd
NW=target/release/examples/loadgen
SIMD=target/release/examples/simd
URL=http://127.0.0.1:$PORT
BODY='{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}'

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

printf 'start_height = 5000000\ntip_height = 5000000\npeers = 16\n' > "$work/synced.toml"
taskset -c 0 "$SIMD" ethereum "$work/synced.toml" "127.0.0.1:$PORT" "$work/eth" >/dev/null & pids+=($!)
for _ in $(seq 100); do
  curl -sf -H 'Content-Type: application/json' -d "$BODY" "$URL" | grep -q '"result"' && break
  sleep 0.1
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

# measure NAME CMD...: runs CMD on CPU 1 and records req/s (parsed by NAME) and the
# generator's CPU µs per request.
measure() {
  local name=$1; shift
  taskset -c 1 python3 "$work/cpu.py" "$work/cpu" "$@"
  cp "$work/cpu.out" "$work/out"
  local rps
  case $name in
    wrk) rps=$(awk '/Requests\/sec/ {print $2}' "$work/out") ;;
    oha) rps=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["requestsPerSec"])' "$work/out") ;;
    nodewarden) rps=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rps"])' "$work/nw.json") ;;
  esac
  echo "$rps" >> "$OUT/max-$name.txt"
  awk -v c="$(cat "$work/cpu")" -v r="$rps" -v d="$DURATION" 'BEGIN {printf "%.2f\n", c * 1e6 / (r * d)}' >> "$OUT/cpu-$name.txt"
  printf '%-11s %10.0f req/s  %6s CPU µs/req\n' "$name" "$rps" "$(tail -n1 "$OUT/cpu-$name.txt")"
}

rm -f "$OUT"/*.txt
for i in $(seq "$RUNS"); do
  echo "-- max rate, run $i/$RUNS"
  measure wrk wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s "$work/post.lua" "$URL"
  measure oha "$NODEWARDEN_OHA" -z "${DURATION}s" -c "$CONNECTIONS" --no-tui --output-format json \
    -m POST -T application/json -d "$BODY" "$URL"
  measure nodewarden "$NW" "$work/max.toml" "$URL" "$work/nw.json"
done

for i in $(seq "$RUNS"); do
  echo "-- fixed rate $RATE/s, run $i/$RUNS"
  taskset -c 1 "$NW" "$work/rate.toml" "$URL" "$work/nw.json" > /dev/null
  python3 - "$work/nw.json" >> "$OUT/rate-nodewarden.txt" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(r["latency_ms"]["p50"], r["latency_ms"]["p99"], r["schedule_lag_ms"]["p50"], r["rps"])
PY
  taskset -c 1 "$NODEWARDEN_OHA" -z "${DURATION}s" -c 16 -q "$RATE" --latency-correction --no-tui \
    --output-format json -m POST -T application/json -d "$BODY" "$URL" > "$work/oha.json"
  python3 - "$work/oha.json" >> "$OUT/rate-oha.txt" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
p = r["latencyPercentiles"]
print(p["p50"] * 1e3, p["p99"] * 1e3, 0, r["summary"]["requestsPerSec"])
PY
  tail -qn1 "$OUT/rate-nodewarden.txt" "$OUT/rate-oha.txt"
done

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
col() { awk -v c="$2" '{print $c}' "$1" | median; }
w=$(median < "$OUT/max-wrk.txt"); o=$(median < "$OUT/max-oha.txt"); n=$(median < "$OUT/max-nodewarden.txt")
echo
echo "median of $RUNS runs, ${DURATION}s each; target on CPU 0, generator on CPU 1"
echo "maximum rate, $CONNECTIONS connections:"
printf '  wrk         %9.0f req/s  %6.2f CPU µs/req\n' "$w" "$(median < "$OUT/cpu-wrk.txt")"
printf '  oha         %9.0f req/s  %6.2f CPU µs/req\n' "$o" "$(median < "$OUT/cpu-oha.txt")"
printf '  nodewarden  %9.0f req/s  %6.2f CPU µs/req   %.2fx wrk, %.2fx oha\n' "$n" \
  "$(median < "$OUT/cpu-nodewarden.txt")" "$(awk -v a="$n" -v b="$w" 'BEGIN{print a/b}')" \
  "$(awk -v a="$n" -v b="$o" 'BEGIN{print a/b}')"
echo "fixed rate $RATE/s (latency as each tool reports it, ms):"
printf '  nodewarden  p50 %.3f  p99 %.3f  (send delay p50 %.3f)  achieved %.0f/s\n' \
  "$(col "$OUT/rate-nodewarden.txt" 1)" "$(col "$OUT/rate-nodewarden.txt" 2)" \
  "$(col "$OUT/rate-nodewarden.txt" 3)" "$(col "$OUT/rate-nodewarden.txt" 4)"
printf '  oha         p50 %.3f  p99 %.3f  achieved %.0f/s\n' \
  "$(col "$OUT/rate-oha.txt" 1)" "$(col "$OUT/rate-oha.txt" 2)" "$(col "$OUT/rate-oha.txt" 4)"
