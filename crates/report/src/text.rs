//! Terminal summaries of an analysis and of an A/B comparison: what an operator reads
//! first, with the numbers lined up. The JSON carries everything else.

use nodewarden_analyze::{Analysis, Comparison, HeightCost, RunSummary, Stall};
use nodewarden_model::{DbPoint, db_pressure};
use serde::Serialize;

use crate::format::{age, bytes, count, opt, percent, utc};

/// The serialised name of an enum value (`cpu`, `height-model`, `b-faster`).
pub fn name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn rate(r: f64) -> String {
    if r >= 100.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.2}")
    }
}

/// "48s (40s – 1m05s) [height-model]"; an ongoing stall has no upper bound.
pub fn eta_range(a: &Analysis) -> String {
    if a.eta_stalled {
        return format!(
            "stalled (then at least {} once it moves again) [{}]",
            opt(a.eta_low_seconds, age),
            name(&a.eta_method)
        );
    }
    match a.eta_seconds {
        None if a.synced => "none (synced)".into(),
        None => "unknown (no progress or no target)".into(),
        Some(e) => format!(
            "{} ({} – {}) [{}]",
            age(e),
            opt(a.eta_low_seconds, age),
            a.eta_high_seconds.map(age).unwrap_or_else(|| "open".into()),
            name(&a.eta_method)
        ),
    }
}

/// A table with a header row, columns padded; `right` marks right-aligned columns.
pub fn table(header: &[&str], rows: &[Vec<String>], right: &[usize]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let head: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    let mut out = String::new();
    for row in std::iter::once(&head).chain(rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, &w))| {
                let pad = w.saturating_sub(c.chars().count());
                if right.contains(&i) {
                    format!("{}{c}", " ".repeat(pad))
                } else {
                    format!("{c}{}", " ".repeat(pad))
                }
            })
            .collect();
        out.push_str("  ");
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// One row per stall: when (from the run's start), height, duration, cause, resources.
pub fn stall_rows(stalls: &[Stall], first_ms: i64, db: &[DbPoint]) -> Vec<Vec<String>> {
    stalls
        .iter()
        .enumerate()
        .map(|(i, s)| {
            vec![
                (i + 1).to_string(),
                format!("+{}", age((s.start_ms - first_ms) as f64 / 1000.0)),
                if s.end_height > s.height {
                    format!("{}→{}", count(s.height), count(s.end_height))
                } else {
                    count(s.height)
                },
                format!(
                    "{}{}",
                    age(s.duration_seconds),
                    if s.ongoing { " (ongoing)" } else { "" }
                ),
                // The database often says why: "io: L0 at 36 files, compaction score 9.0".
                match db_pressure(db, s.start_ms, s.end_ms) {
                    Some(why) => format!("{}: {why}", name(&s.cause)),
                    None => name(&s.cause),
                },
                opt(s.cpu_cores, |c| format!("{c:.2}")),
                opt(s.read_bytes_per_second, |b| {
                    format!("{}/s", bytes(b as u64))
                }),
                opt(s.write_bytes_per_second, |b| {
                    format!("{}/s", bytes(b as u64))
                }),
                opt(s.peers_zero_fraction, |f| format!("{:.0}%", f * 100.0)),
            ]
        })
        .collect()
}

pub const STALL_HEADER: [&str; 9] = [
    "#", "START", "HEIGHT", "DURATION", "CAUSE", "CPU", "READ", "WRITE", "NO PEERS",
];

pub const OUTAGE_HEADER: [&str; 5] = ["#", "START", "DURATION", "FAILED POLLS", "RESTART"];

/// One row per outage (the last 20): when, how long, failed polls, restart or not.
pub fn outage_rows(a: &Analysis) -> Vec<Vec<String>> {
    let skip = a.outages.len().saturating_sub(20);
    a.outages
        .iter()
        .enumerate()
        .skip(skip)
        .map(|(i, o)| {
            vec![
                (i + 1).to_string(),
                format!("+{}", age((o.start_ms - a.first_ms) as f64 / 1000.0)),
                format!(
                    "{}{}",
                    age(o.duration_seconds),
                    if o.ongoing { " (ongoing)" } else { "" }
                ),
                count(o.failed_polls),
                if o.restart { "yes" } else { "no" }.into(),
            ]
        })
        .collect()
}

pub const PEER_HEADER: [&str; 6] = ["#", "START", "DURATION", "FROM", "MIN", "AT 0"];

/// One row per peer-loss event (the last 20).
pub fn peer_rows(a: &Analysis) -> Vec<Vec<String>> {
    let skip = a.peer_losses.len().saturating_sub(20);
    a.peer_losses
        .iter()
        .enumerate()
        .skip(skip)
        .map(|(i, p)| {
            vec![
                (i + 1).to_string(),
                format!("+{}", age((p.start_ms - a.first_ms) as f64 / 1000.0)),
                format!(
                    "{}{}",
                    age((p.end_ms - p.start_ms) as f64 / 1000.0),
                    if p.ongoing { " (ongoing)" } else { "" }
                ),
                p.from.to_string(),
                p.min.to_string(),
                age(p.zero_seconds),
            ]
        })
        .collect()
}

/// The buckets that took longest per block: the "problem block ranges". Ranges reached
/// after the node first synced are left out: there it waits for the chain's next block.
pub fn slowest(a: &Analysis, n: usize) -> Vec<&HeightCost> {
    let syncing = |c: &HeightCost| match (a.first_synced_ms, c.reached_ms) {
        (Some(done), Some(t)) => t < done,
        _ => true,
    };
    let mut v: Vec<&HeightCost> = a
        .cost_by_height
        .iter()
        .filter(|c| c.blocks > 0 && syncing(c))
        .collect();
    v.sort_by(|a, b| {
        let per = |c: &HeightCost| c.wall_seconds / c.blocks as f64;
        per(b).total_cmp(&per(a))
    });
    v.truncate(n);
    v
}

/// The summary of one node's analysis; `source` names the file or run.
pub fn analysis_text(a: &Analysis, source: &str) -> String {
    analysis_text_db(a, source, &[])
}

/// [`analysis_text`] with the node's recorded database points: stall causes say what the
/// database was doing, and a line sums up its worst moment.
pub fn analysis_text_db(a: &Analysis, source: &str, db: &[DbPoint]) -> String {
    let mut o = String::new();
    let synced = if a.synced { "synced" } else { "not synced" };
    o.push_str(&format!(
        "{}  ({source}; {} samples, {} → {}, {})\n",
        a.node,
        count(a.samples),
        utc(a.first_ms),
        utc(a.last_ms),
        age(a.duration_seconds)
    ));
    let progress = opt(a.progress, |p| percent(p * 100.0));
    let mut kv = vec![
        ("state", format!("{} ({synced})", name(&a.state))),
        (
            "height",
            format!(
                "{} / {} ({progress})",
                opt(a.current, count),
                opt(a.target, count)
            ),
        ),
        (
            "sync time",
            a.sync_duration_seconds
                .map(|s| format!("{} to reach the target", age(s)))
                .unwrap_or_else(|| "not reached".into()),
        ),
        (
            "rate",
            format!(
                "{} blocks/s now, {} mean",
                opt(a.rate_blocks_per_second, rate),
                opt(a.mean_rate_blocks_per_second, rate)
            ),
        ),
        ("ETA", eta_range(a)),
        (
            "stalls",
            format!(
                "{}, {} in total (threshold {}{})",
                a.stalls_total,
                age(a.stalled_seconds),
                age(a.stall_after_seconds),
                if a.stall_after_auto { ", auto" } else { "" }
            ),
        ),
        (
            "CPU",
            format!(
                "{} cores mean, {} peak, {} s in total",
                opt(a.mean_cpu_cores, |c| format!("{c:.2}")),
                opt(a.peak_cpu_cores, |c| format!("{c:.2}")),
                opt(a.cpu_seconds, |c| format!("{c:.0}"))
            ),
        ),
        (
            "memory",
            format!(
                "RSS {} mean, {} peak{}",
                opt(a.mean_rss_bytes, |b| bytes(b as u64)),
                opt(a.peak_rss_bytes, bytes),
                match a.memory_growth_bytes_per_second {
                    Some(g) if a.memory_growth_significant => {
                        format!(", growing {}/h", bytes(g.max(0.0) as u64 * 3600))
                    }
                    Some(_) => ", no trend".into(),
                    None => String::new(),
                }
            ),
        ),
        (
            "disk",
            format!(
                "read {}, written {}, data dir {} ({} growth)",
                opt(a.read_bytes, bytes),
                opt(a.written_bytes, bytes),
                opt(a.data_dir_bytes, bytes),
                opt(a.data_dir_growth_bytes, |g| format!(
                    "{}{}",
                    if g < 0 { "-" } else { "+" },
                    bytes(g.unsigned_abs())
                ))
            ),
        ),
    ];
    if a.error_samples + a.restarts > 0 {
        kv.push((
            "trouble",
            format!("{} RPC errors, {} restarts", a.error_samples, a.restarts),
        ));
    }
    if a.outages_total > 0 {
        kv.push((
            "outages",
            format!(
                "{}, {} in total (failed polls and restarts; not stalls)",
                a.outages_total,
                age(a.outage_seconds)
            ),
        ));
    }
    if a.peer_losses_total > 0 {
        kv.push((
            "peer loss",
            format!(
                "{} drops to half the usual peers or fewer, {} at 0 peers",
                a.peer_losses_total,
                age(a.peer_losses.iter().map(|p| p.zero_seconds).sum())
            ),
        ));
    }
    if let Some(worst) = db.iter().max_by(|x, y| x.max_score.total_cmp(&y.max_score)) {
        kv.push((
            "database",
            format!(
                "worst at +{}: L0 {} files, compaction score {:.1}, WAL {}",
                age((worst.t_ms - a.first_ms).max(0) as f64 / 1000.0),
                worst.l0_files,
                worst.max_score,
                bytes(worst.wal_bytes)
            ),
        ));
    }
    for (k, v) in kv {
        o.push_str(&format!("  {k:<10} {v}\n"));
    }
    if !a.stalls.is_empty() {
        o.push('\n');
        o.push_str(&table(
            &STALL_HEADER,
            &stall_rows(&a.stalls, a.first_ms, db),
            &[0, 1, 2, 5, 6, 7, 8],
        ));
    }
    if !a.outages.is_empty() {
        o.push_str("\n  outages:\n");
        o.push_str(&table(&OUTAGE_HEADER, &outage_rows(a), &[0, 1, 2, 3]));
    }
    if !a.peer_losses.is_empty() {
        o.push_str("\n  peer losses:\n");
        o.push_str(&table(&PEER_HEADER, &peer_rows(a), &[0, 1, 2, 3, 4]));
    }
    let worst = slowest(a, 5);
    if !worst.is_empty() {
        o.push_str("\n  slowest height ranges (wall time per block):\n");
        let rows: Vec<Vec<String>> = worst
            .iter()
            .map(|c| {
                vec![
                    format!("{}–{}", count(c.from), count(c.to)),
                    format!("{:.2} s/block", c.wall_seconds / c.blocks as f64),
                    age(c.wall_seconds),
                    format!("stalled {}", age(c.stalled_seconds)),
                    format!("CPU {:.0} s", c.cpu_seconds),
                ]
            })
            .collect();
        o.push_str(&table(
            &["HEIGHTS", "PER BLOCK", "WALL", "", ""],
            &rows,
            &[1, 2],
        ));
    }
    o
}

fn side(s: &RunSummary) -> [String; 8] {
    [
        format!("{} ({})", s.node, s.label),
        format!(
            "{} – {}",
            opt(s.start_height, count),
            opt(s.end_height, count)
        ),
        opt(s.sync_duration_seconds, age),
        opt(s.mean_rate_blocks_per_second, rate),
        format!("{} ({})", s.stalls_total, age(s.stalled_seconds)),
        format!(
            "{} / {}",
            opt(s.mean_cpu_cores, |c| format!("{c:.2}")),
            opt(s.peak_cpu_cores, |c| format!("{c:.2}"))
        ),
        format!(
            "{} / {}",
            opt(s.mean_rss_bytes, |b| bytes(b as u64)),
            opt(s.peak_rss_bytes, bytes)
        ),
        format!(
            "{} / {}",
            opt(s.read_bytes, bytes),
            opt(s.written_bytes, bytes)
        ),
    ]
}

/// Durations under a minute with a decimal: bucket times of fast syncs are seconds.
fn secs(s: f64) -> String {
    if s < 60.0 { format!("{s:.1}s") } else { age(s) }
}

/// One line: who is faster over which heights, and by how much.
pub fn verdict_line(c: &Comparison) -> String {
    match (c.speedup, c.common_from_height, c.common_to_height) {
        (Some(s), Some(from), Some(to)) => {
            let who = match name(&c.verdict).as_str() {
                "b-faster" => format!("B is faster: {s:.2}× (A's time / B's time)"),
                "a-faster" => format!(
                    "A is faster: {:.2}× (B's time / A's time; speedup {s:.2})",
                    1.0 / s
                ),
                _ => format!("about the same (speedup {s:.2})"),
            };
            format!(
                "heights {} – {}: A took {}, B took {} → {who}",
                count(from),
                count(to),
                opt(c.a_seconds, age),
                opt(c.b_seconds, age)
            )
        }
        _ => "no common height range: the runs cannot be compared by height".into(),
    }
}

/// The A/B summary: both sides, the verdict, and speedup over up to 10 height ranges.
pub fn comparison_text(c: &Comparison) -> String {
    let labels = [
        "run",
        "heights",
        "sync time",
        "mean rate",
        "stalls",
        "CPU mean/peak",
        "RSS mean/peak",
        "read/written",
    ];
    let (a, b) = (side(&c.a), side(&c.b));
    let rows: Vec<Vec<String>> = labels
        .iter()
        .zip(a.into_iter().zip(b))
        .map(|(l, (x, y))| vec![(*l).to_owned(), x, y])
        .collect();
    let mut o = table(&["", "A", "B"], &rows, &[]);
    o.push('\n');
    o.push_str("  ");
    o.push_str(&verdict_line(c));
    o.push('\n');
    let groups = c.buckets.len().div_ceil(10).max(1);
    let rows: Vec<Vec<String>> = c
        .buckets
        .chunks(groups)
        .map(|g| {
            let (sa, sb) = g
                .iter()
                .fold((0.0, 0.0), |(x, y), b| (x + b.a_seconds, y + b.b_seconds));
            vec![
                format!("{}–{}", count(g[0].from), count(g[g.len() - 1].to)),
                secs(sa),
                secs(sb),
                if sb > 0.0 {
                    format!("{:.2}×", sa / sb)
                } else {
                    "-".into()
                },
            ]
        })
        .collect();
    if !rows.is_empty() {
        o.push('\n');
        o.push_str(&table(&["HEIGHTS", "A", "B", "SPEEDUP"], &rows, &[1, 2, 3]));
    }
    for (tag, s) in [("A", &c.a), ("B", &c.b)] {
        if !s.stalls.is_empty() {
            o.push_str(&format!("\n  stalls in {tag} ({}):\n", s.node));
            o.push_str(&table(
                &STALL_HEADER[..5],
                &s.stalls
                    .iter()
                    .enumerate()
                    .map(|(i, st)| {
                        vec![
                            (i + 1).to_string(),
                            utc(st.start_ms),
                            count(st.height),
                            age(st.duration_seconds),
                            name(&st.cause),
                        ]
                    })
                    .collect::<Vec<_>>(),
                &[0, 2],
            ));
        }
    }
    o
}
