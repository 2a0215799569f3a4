#!/usr/bin/env bash
# The ground-truth harness for the sync analysis: seeded traces (three dialects, steady and
# batch progress, heavier blocks with height, flat spots, stalls and crawls, peer loss, RPC
# outages, restarts with counter resets, a growing chain, leaking / flat / sawtooth RSS),
# scored against their truth with the naive baselines beside: a tuning set and an
# independent set, TRACES each (default 40). Figures in docs/ANALYSIS.md.
#
#   scripts/bench/analysis.sh
#   TRACES=100 scripts/bench/analysis.sh
#   WRITE=/tmp/gt scripts/bench/analysis.sh     # also leave each trace's CSV and truth JSON
set -euo pipefail
cd "$(dirname "$0")/../.."
args=(--traces "${TRACES:-40}")
[ -n "${WRITE:-}" ] && args+=(--write "$WRITE")
cargo build --release --quiet -p nodewarden-analyze --example harness
target/release/examples/harness "${args[@]}"
