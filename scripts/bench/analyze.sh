#!/usr/bin/env bash
# `nodewarden analyze` on synthetic sample CSVs of 1, 3 and 10 million rows: the median
# wall time of RUNS runs (default 5) and the peak RSS (/usr/bin/time -v), as a Markdown
# table for docs/BENCHMARKS.md. The CSVs (a slowing sync with stalls, one sample a second)
# are generated once into BENCH_DIR (default $TMPDIR/nodewarden-bench; 10M rows ≈ 2 GB).
#
#   scripts/bench/analyze.sh                 # 1M 3M 10M
#   RUNS=9 SIZES="10000000" scripts/bench/analyze.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-5}
SIZES=${SIZES:-"1000000 3000000 10000000"}
DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/nodewarden-bench}
mkdir -p "$DIR"
source scripts/lib/deps.sh
[ -x /usr/bin/time ] || apt_install time

# A private copy of the binary: a concurrent build must not swap it mid-benchmark.
BIN=$(release_binary "$DIR")
cargo build --release --quiet -p nodewarden-analyze --example bench

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| samples | CSV size | median | min | max | ns/sample | CPU (user+sys, median) | peak RSS |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
for rows in $SIZES; do
  csv="$DIR/samples-$rows.csv"
  [ -s "$csv" ] || target/release/examples/bench "$rows" "$csv" >/dev/null 2>&1
  cat "$csv" >/dev/null # from the page cache, like a file just exported
  times=()
  cpus=()
  rss=0
  for _ in $(seq "$RUNS"); do
    out=$( { /usr/bin/time -v "$BIN" analyze "$csv" --json >/dev/null; } 2>&1 )
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; print s}' <<<"$out")
    kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' <<<"$out")
    cpu=$(awk -F': ' '/User time|System time/ {s+=$2} END {print s}' <<<"$out")
    times+=("$wall")
    cpus+=("$cpu")
    [ "$kb" -gt "$rss" ] && rss=$kb
  done
  sorted=$(printf '%s\n' "${times[@]}" | sort -g)
  median=$(awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}' <<<"$sorted")
  min=$(head -1 <<<"$sorted")
  max=$(tail -1 <<<"$sorted")
  cpu_median=$(printf '%s\n' "${cpus[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')
  size=$(stat -L -c %s "$csv")
  awk -v r="$rows" -v s="$size" -v m="$median" -v lo="$min" -v hi="$max" -v k="$rss" -v c="$cpu_median" 'BEGIN {
    printf "| %.0fM | %.0f MB | %.2f s | %.2f s | %.2f s | %.0f | %.2f s | %.0f MiB |\n", r/1e6, s/1e6, m, lo, hi, m*1e9/r, c, k/1024 }'
done
