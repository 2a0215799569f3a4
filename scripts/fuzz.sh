#!/usr/bin/env bash
# Runs the repository decoders' property tests (crates/backup/src/tests/fuzz*.rs) for a
# while each, with fresh random seeds, memory capped, and reports the crashes found.
#
#   scripts/fuzz.sh                      every target, 10 minutes each
#   FUZZ_MINUTES=1 scripts/fuzz.sh       shorter
#   FUZZ_TARGETS="fuzz_config_decoder fuzz_restore_paths" scripts/fuzz.sh
#
# FUZZ_CASES sets the cases per round (default 2000), FUZZ_MEM_KIB the address-space cap
# (ulimit -v, default 4 GiB). A failing round's output, with proptest's minimal failing
# input, is kept in target/fuzz/<target>-<round>.log: each becomes a regression test.
set -uo pipefail
cd "$(dirname "$0")/.."

minutes=${FUZZ_MINUTES:-10}
cases=${FUZZ_CASES:-2000}
mem_kib=${FUZZ_MEM_KIB:-4194304}
targets=${FUZZ_TARGETS:-"fuzz_blob_decoder fuzz_pack_header fuzz_index_decoder fuzz_snapshot_decoder fuzz_config_decoder fuzz_lock_decoder fuzz_restore_paths"}
logs=target/fuzz
mkdir -p "$logs"

cargo test --release -p nodewarden-backup --lib --no-run >/dev/null 2>&1 || {
  echo "fuzz: the test binary does not build" >&2
  exit 2
}
bin=$(cargo test --release -p nodewarden-backup --lib --no-run --message-format=json 2>/dev/null |
  sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
[ -x "$bin" ] || { echo "fuzz: no test binary found" >&2; exit 2; }

total_crashes=0
for t in $targets; do
  deadline=$(($(date +%s) + minutes * 60))
  rounds=0 crashes=0
  while [ "$(date +%s)" -lt "$deadline" ]; do
    rounds=$((rounds + 1))
    log="$logs/$t-$rounds.log"
    # A subshell, so the memory cap applies to the test binary only.
    if (ulimit -v "$mem_kib"; PROPTEST_CASES=$cases "$bin" --exact "tests::fuzz::$t" "tests::fuzz_restore::$t" \
      --test-threads 1 >"$log" 2>&1); then
      rm -f "$log"
    else
      crashes=$((crashes + 1))
      echo "fuzz: $t round $rounds failed, see $log" >&2
    fi
  done
  echo "$t: $rounds rounds of $cases cases, $crashes crashes"
  total_crashes=$((total_crashes + crashes))
done
echo "fuzz: $total_crashes crashes"
[ "$total_crashes" -eq 0 ]
