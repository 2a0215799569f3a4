#!/usr/bin/env bash
# The maintenance window's figure: RUNS (default 20) `backup --node` runs against a sim
# running a pillar that produces every 30 ± 4 momentums (0.2 s each), counting the runs whose
# freeze fell inside the predicted gap so that the pillar missed no momentum (the backup's
# own `window.missed` and the sim's produced/expected agreeing); then the control, the same
# backups with --no-window. Figures in
# docs/MAINTENANCE.md and docs/BENCHMARKS.md.
#
#   scripts/bench/window.sh
#   RUNS=50 scripts/bench/window.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
NODEWARDEN_WINDOW_RUNS="${RUNS:-20}" cargo test --quiet -p nodewarden --test it \
    window::backup_freezes_in_the_pillars_gap -- --nocapture 2>&1 |
    grep -E "^window runs|test result|panicked"
# The control: the same backups with --no-window (CONTROL=0 skips it).
if [ "${CONTROL:-1}" != 0 ]; then
    NODEWARDEN_WINDOW_RUNS="${RUNS:-20}" cargo test --quiet -p nodewarden --test it \
        window::control_backups_without_the_window -- --ignored --nocapture 2>&1 |
        grep -E "^control|test result|panicked"
fi
