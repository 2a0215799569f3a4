//! Plain-text renderings for the terminal: the library returns strings, the CLI prints.
use std::fmt::Write;

use crate::baseline::Check;
use crate::report::{Report, Summary};
use crate::run::LiveTick;

fn f(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2}s", ms / 1000.0)
    } else if ms >= 10.0 {
        format!("{ms:.1}ms")
    } else {
        format!("{ms:.2}ms")
    }
}

fn row(out: &mut String, name: &str, s: &Summary) {
    let l = &s.latency_ms;
    let _ = writeln!(
        out,
        "{name:<28} {:>9} {:>9.1} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        s.requests,
        s.rps,
        s.errors,
        f(l.min),
        f(l.p50),
        f(l.p90),
        f(l.p95),
        f(l.p99),
        f(l.max)
    );
}

/// The end-of-run summary: a table per method, errors by kind, schedule health,
/// thresholds and (in equality mode) the differing methods.
/// One line on what the run did to the target's process.
pub fn target_line(t: &crate::TargetProcess) -> String {
    let mib = |b: Option<u64>| b.map_or("?".into(), |b| format!("{:.0} MiB", b as f64 / 1048576.0));
    let mut s = format!("target process {} ({})", t.pid, t.found_by);
    if let Some(c) = t.cpu_seconds {
        let _ = write!(s, ": {c:.2} s CPU");
    }
    if let Some(c) = t.cpu_ms_per_request {
        let _ = write!(s, ", {c:.3} ms CPU per request");
    }
    let _ = write!(
        s,
        "; RSS {} at start, {} at peak, {} at the end",
        mib(t.rss_start_bytes),
        mib(t.rss_peak_bytes),
        mib(t.rss_end_bytes)
    );
    if let Some(g) = t.rss_growth_bytes {
        let _ = write!(s, " ({:+.0} MiB)", g as f64 / 1048576.0);
    }
    if t.restarted {
        s.push_str("; it RESTARTED during the run");
    } else if t.died {
        s.push_str("; it DIED during the run");
    }
    s
}

pub fn summary(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<28} {:>9} {:>9} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "method", "calls", "rps", "errors", "min", "p50", "p90", "p95", "p99", "max"
    );
    for (name, s) in &r.methods {
        row(&mut out, name, s);
    }
    row(&mut out, "all", &r.overall);
    for (name, m) in r
        .methods
        .iter()
        .filter(|(_, m)| !m.errors_by_kind.is_empty())
    {
        let kinds: Vec<String> = m
            .errors_by_kind
            .iter()
            .map(|(k, n)| format!("{k}: {n}"))
            .collect();
        let _ = writeln!(out, "errors of {name}: {}", kinds.join(", "));
    }
    let _ = writeln!(
        out,
        "{} calls in {} HTTP requests over {:.1}s to {}; {} connections at most",
        r.overall.requests, r.http_requests, r.duration_s, r.target, r.peak_connections
    );
    if r.schedule_lag_ms.max > 0.0 || r.overall.dropped > 0 {
        let _ = writeln!(
            out,
            "schedule: send delay p50 {} p99 {} max {}; {} late (>10ms), {} dropped (later than the timeout)",
            f(r.schedule_lag_ms.p50),
            f(r.schedule_lag_ms.p99),
            f(r.schedule_lag_ms.max),
            r.late,
            r.overall.dropped
        );
    }
    if let Some(c) = &r.compare {
        let diff = r.differing();
        let compared: u64 = r
            .methods
            .values()
            .filter_map(|s| s.equality.as_ref().map(|e| e.compared))
            .sum();
        if diff.is_empty() {
            let _ = writeln!(
                out,
                "equality: all {compared} answers from {c} equal those from {}",
                r.target
            );
        } else {
            let _ = writeln!(
                out,
                "equality: answers differ between {} and {c}:",
                r.target
            );
            for (name, e) in diff {
                let _ = writeln!(
                    out,
                    "  {name}: {}/{} differ, e.g. {}",
                    e.differing,
                    e.compared,
                    e.example.as_deref().unwrap_or("?")
                );
            }
        }
    }
    for t in &r.thresholds {
        let _ = writeln!(
            out,
            "threshold {} {}  (observed {:.3})",
            if t.pass { "ok  " } else { "FAIL" },
            t.expr,
            t.observed
        );
    }
    if let Some(t) = &r.target_process {
        let _ = writeln!(out, "{}", target_line(t));
    }
    out
}

/// One line of live progress (also the plain-text log line off a terminal).
pub fn progress_line(p: &LiveTick) -> String {
    format!(
        "{}{:>5.1}s/{:.0}s  {} calls  {:.0}/s  {} errors  p50 {}  p99 {}  {} conns",
        if p.stage.is_empty() {
            String::new()
        } else {
            format!("[{}] ", p.stage)
        },
        p.elapsed.as_secs_f64(),
        p.planned.as_secs_f64(),
        p.calls,
        p.rps,
        p.errors,
        f(p.p50_ms),
        f(p.p99_ms),
        p.connections
    )
}

/// The sweep table: one row per rate, to find the knee.
pub fn sweep(rates: &[f64], reports: &[Report]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>10} {:>10} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9}  thresholds",
        "rate", "achieved", "errors", "dropped", "p50", "p95", "p99", "max"
    );
    for (rate, r) in rates.iter().zip(reports) {
        let l = &r.overall.latency_ms;
        let _ = writeln!(
            out,
            "{rate:>10.0} {:>10.1} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9}  {}",
            r.overall.rps,
            r.overall.errors,
            r.overall.dropped,
            f(l.p50),
            f(l.p95),
            f(l.p99),
            f(l.max),
            if r.thresholds.is_empty() {
                "-"
            } else if r.passed() {
                "pass"
            } else {
                "FAIL"
            }
        );
    }
    if let Some((rate, _)) = rates
        .iter()
        .zip(reports)
        .rfind(|(_, r)| !r.thresholds.is_empty() && r.passed())
    {
        let _ = writeln!(out, "highest rate passing every threshold: {rate}/s");
    }
    out
}

/// The baseline delta table.
pub fn baseline(c: &Check, tolerance_pct: f64, floor_ms: f64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "baseline comparison (tolerance {tolerance_pct:.0}%, latency floor {floor_ms}ms):"
    );
    let _ = writeln!(
        out,
        "{:<28} {:<9} {:>12} {:>12} {:>9}",
        "scope", "metric", "baseline", "now", "change"
    );
    for d in &c.rows {
        let change = d
            .change_pct()
            .map(|p| format!("{p:+.1}%"))
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "{:<28} {:<9} {:>12.3} {:>12.3} {:>9}{}",
            d.scope,
            d.metric,
            d.old,
            d.new,
            change,
            if d.regression { "  REGRESSION" } else { "" }
        );
    }
    for m in &c.only_new {
        let _ = writeln!(out, "{m}: not in the baseline");
    }
    for m in &c.only_old {
        let _ = writeln!(out, "{m}: in the baseline only");
    }
    let _ = writeln!(out, "{} regression(s)", c.regressions());
    out
}
