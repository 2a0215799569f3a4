#!/usr/bin/env bash
# What watching costs: nodewarden watching 10 sims at 1 Hz for $SECONDS_RUN s, against
# Debian's prometheus-process-exporter watching the same processes (it only reads /proc; no
# RPC, no analysis, no recording) and scraped at the same 1 Hz. Then /metrics latency under
# 50 concurrent scrapers (wrk).
#   scripts/bench/watch.sh          (SECONDS_RUN=60 NODES=10 to change)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/deps.sh
apt_install wrk curl prometheus-process-exporter
install_oha

SECONDS_RUN=${SECONDS_RUN:-60}
NODES=${NODES:-10}
work=$(mktemp -d)
NW=$(release_binary "$work")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

printf 'start_height = 1\ntip_height = 2000000\npeers = 12\n[[phase]]\nuntil = "tip"\nrate = 20\n' > "$work/s.toml"
: > "$work/nodewarden.toml"
for i in $(seq "$NODES"); do
  port=$((46000 + i))
  "$NW" sim --kind zenon --scenario "$work/s.toml" --listen "127.0.0.1:$port" --data-dir "$work/n$i" >/dev/null &
  pids+=($!); echo $! > "$work/n$i.pid"
  cat >> "$work/nodewarden.toml" <<TOML
[[node]]
name = "n$i"
kind = "zenon"
rpc = "http://127.0.0.1:$port"
pid_file = "$work/n$i.pid"
data_dir = "$work/n$i"
TOML
done
sleep 2

taskset -c 0 "$NW" --config "$work/nodewarden.toml" watch --interval 1s --listen 127.0.0.1:46100 --record "$work/rec.db" --log-every 1h >/dev/null &
nw=$!; pids+=($nw)
# process-exporter groups processes by name; every sim is a `nodewarden` process.
printf 'process_names:\n  - name: "{{.Comm}}"\n    cmdline:\n    - "sim"\n' > "$work/pe.yml"
taskset -c 0 prometheus-process-exporter -config.path "$work/pe.yml" -web.listen-address 127.0.0.1:46101 >/dev/null 2>&1 &
pe=$!; pids+=($pe)
sleep 2

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
HZ=$(getconf CLK_TCK)
n0=$(ticks $nw); p0=$(ticks $pe)
for _ in $(seq "$SECONDS_RUN"); do
  curl -sf -o /dev/null http://127.0.0.1:46100/metrics &
  curl -sf -o /dev/null http://127.0.0.1:46101/metrics &
  sleep 1
done
wait_scrapes() { sleep 1; }
wait_scrapes
n1=$(ticks $nw); p1=$(ticks $pe)
cpu() { awk -v t="$1" -v hz="$HZ" -v s="$SECONDS_RUN" 'BEGIN{printf "%.2f", t / hz / s * 100}'; }
echo "over ${SECONDS_RUN}s, $NODES nodes at 1 Hz, each scraped once a second:"
printf '  nodewarden watch:             CPU %s%% of a core, peak RSS %s KiB\n' "$(cpu $((n1 - n0)))" "$(hwm $nw)"
printf '  prometheus-process-exporter:  CPU %s%% of a core, peak RSS %s KiB\n' "$(cpu $((p1 - p0)))" "$(hwm $pe)"
samples=$(curl -s http://127.0.0.1:46100/api/nodes | grep -o '"samples":[0-9]*' | head -1)
echo "  ($samples per node in the recording so far)"

# Scrapers do not saturate a server: 50 of them at 20 scrapes/s each (1,000/s, far above any
# Prometheus setup), the load generator pinned to the other core from the servers.
echo "/metrics, 50 concurrent scrapers at 1,000 scrapes/s in all (oha -q, 10 s):"
for target in "nodewarden 46100" "process-exporter 46101"; do
  set -- $target
  [ "$1" = process-exporter ] && q=40 || q=1000   # it answers about 80/s at most
  taskset -c 1 "$NODEWARDEN_OHA" --no-tui -c 50 -q "$q" -z 10s --output-format json \
    "http://127.0.0.1:$2/metrics" > "$work/oha.json"
  python3 - "$1" "$q" "$work/oha.json" <<'PY'
import json, sys
name, q, path = sys.argv[1], sys.argv[2], sys.argv[3]
r = json.load(open(path))
p = r["latencyPercentiles"]
print(f"  {name:<18} {q}/s offered, {r['summary']['requestsPerSec']:.0f}/s served, "
      f"p50 {p['p50']*1000:.2f} ms, p99 {p['p99']*1000:.2f} ms, success {r['summary']['successRate']:.3f}")
PY
done

echo "/metrics under 50 concurrent scrapers at saturation (wrk closed loop, 10 s):"
for target in "nodewarden 46100" "process-exporter 46101"; do
  set -- $target
  taskset -c 1 wrk -t1 -c50 -d10s --latency "http://127.0.0.1:$2/metrics" > "$work/wrk.txt"
  printf '  %-18s %s req/s, p50 %s, p99 %s\n' "$1" "$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")" \
    "$(awk '$1=="50%" {print $2}' "$work/wrk.txt")" "$(awk '$1=="99%" {print $2}' "$work/wrk.txt")"
done
