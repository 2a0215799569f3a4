"""Markdown tables from scripts/bench/backup.sh's results (medians of the runs).

Lines of results: SET TOOL WHAT seconds maxrss_kib cpu_seconds (sizes in the seconds
column for WHAT = size1/size/before/after). Lines of sets: SET bytes files churned_bytes.
"""
import statistics
import sys
from collections import defaultdict

results, sets_file, mib, runs, churn, snapshots, tools = sys.argv[1:8]
tools = tools.split()
rows = defaultdict(list)
for line in open(results):
    s, tool, what, a, b, c = line.split()
    rows[(s, tool, what)].append((float(a), int(float(b)), float(c)))


def med(s, tool, what, i=0):
    v = rows.get((s, tool, what))
    return statistics.median(x[i] for x in v) if v else float("nan")


TARGETS = {  # other ÷ nodewarden, at least
    ("restic", "first"): 2.0, ("borg", "first"): 1.5, ("tarzstd", "first"): 1.2,
    ("restic", "incr"): 2.5, ("borg", "incr"): 1.5, ("tarzstd", "incr"): 1.0,
    ("restic", "restore"): 1.5, ("tarzstd", "restore"): 1.2,
}
print(f"SIZE_MIB={mib} per data set, churn {churn} %, medians of {runs} runs. "
      "Seconds are wall time, CPU seconds (user + sys) in brackets; restores end with `sync`.\n")
for line in open(sets_file):
    s, size, files, churned = line.split()
    print(f"### {s}: {int(size) / 2**20:.0f} MiB in {files} files, "
          f"{int(churned) / 2**20:.0f} MiB new or rewritten by the churn\n")
    print("| tool | first backup s (CPU s) | incremental s (CPU s) | restore s (CPU s) "
          "| size after first MiB | size after both MiB | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for t in tools:
        f = lambda w: f"{med(s, t, w):.2f} ({med(s, t, w, 2):.1f})"
        rss = max(med(s, t, w, 1) for w in ("first", "incr", "restore")) / 1024
        print(f"| {t} | {f('first')} | {f('incr')} | {f('restore')} | "
              f"{med(s, t, 'size1') / 2**20:.1f} | {med(s, t, 'size') / 2**20:.1f} | {rss:.0f} |")
    print()
    print("| other ÷ nodewarden (> 1: nodewarden faster or smaller) | first | incremental "
          "| restore | size after first | size after both |")
    print("|---|---:|---:|---:|---:|---:|")
    for t in tools:
        if t.startswith("nodewarden"):
            continue
        cells = []
        for w in ("first", "incr", "restore"):
            r = med(s, t, w) / med(s, "nodewarden", w)
            goal = TARGETS.get((t, w))
            mark = "" if goal is None else (" ✓" if r >= goal else f" ✗ (≥ {goal})")
            cells.append(f"{r:.2f}{mark}")
        for w in ("size1", "size"):
            r = med(s, t, w) / med(s, "nodewarden", w)
            mark = (" ✓" if r >= 1 / 1.02 else " ✗ (≥ 0.98)") if t == "restic" else ""
            cells.append(f"{r:.3f}{mark}")
        print(f"| {t} | " + " | ".join(cells) + " |")
    print()
    # Wall time on a shared machine swings with everyone's disk and CPU; CPU seconds do not.
    print("| CPU seconds, other ÷ nodewarden | first | incremental | restore |")
    print("|---|---:|---:|---:|")
    for t in tools:
        if not t.startswith("nodewarden"):
            print(f"| {t} | " + " | ".join(
                f"{med(s, t, w, 2) / med(s, 'nodewarden', w, 2):.2f}"
                for w in ("first", "incr", "restore")) + " |")
    print()

if rows.get(("prune", "nodewarden", "both")):
    print(f"### forget --keep-last 10 and prune, {snapshots} snapshots\n")
    print("| tool | open (list snapshots) s | forget s | prune s | forget --prune s (CPU s) "
          "| peak RSS MiB | repository before → after MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for t in ("nodewarden", "restic"):
        rss = max(med("prune", t, w, 1) for w in ("forget", "prune", "both")) / 1024
        print(f"| {t} | {med('prune', t, 'open'):.2f} | {med('prune', t, 'forget'):.2f} | "
              f"{med('prune', t, 'prune'):.2f} | {med('prune', t, 'both'):.2f} "
              f"({med('prune', t, 'both', 2):.1f}) | {rss:.0f} | "
              f"{med('prune', t, 'before') / 2**20:.0f} → {med('prune', t, 'after') / 2**20:.0f} |")
    r = med("prune", "restic", "both") / med("prune", "nodewarden", "both")
    m = max(med("prune", "restic", w, 1) for w in ("forget", "prune", "both")) / max(
        med("prune", "nodewarden", w, 1) for w in ("forget", "prune", "both"))
    print(f"\nrestic ÷ nodewarden: time {r:.2f} ({'✓' if r >= 5 else '✗'} ≥ 5), "
          f"peak memory {m:.2f} ({'✓' if m >= 4 else '✗'} ≥ 4)\n")

if rows.get(("down", "freeze", "s")):
    print(f"Node downtime: freeze {med('down', 'freeze', 's'):.2f} s vs `cp -a` of the same dir "
          f"{med('down', 'copy', 's'):.2f} s (the node's own stop/start excluded: no-ops here).")
