//! The monitoring-plugin output: `NODEWARDEN STATE - summary | perfdata` on the first
//! line (what Nagios/Icinga show and graph), one line per check after it (long output).
use serde_json::{Value, json};

use super::{CheckResult, Direction, Level, overall};

pub fn status_line(results: &[CheckResult]) -> String {
    let state = overall(results);
    let problems: Vec<String> = results
        .iter()
        .filter(|r| !r.skipped && r.status != Level::Ok)
        .map(|r| format!("{} {} {}: {}", r.node, r.name, r.status.as_str(), r.message))
        .collect();
    let summary = if problems.is_empty() {
        ok_summary(results)
    } else {
        problems.join("; ")
    };
    let perf: Vec<String> = results.iter().filter_map(perfdata).collect();
    let mut out = format!("NODEWARDEN {} - {}", state.as_str(), sanitize(&summary));
    if !perf.is_empty() {
        out.push_str(" | ");
        out.push_str(&perf.join(" "));
    }
    out.push('\n');
    for r in results {
        let status = if r.skipped {
            "SKIPPED"
        } else {
            r.status.as_str()
        };
        out.push_str(&format!(
            "{}: {} {} - {}\n",
            r.node,
            r.name,
            status,
            sanitize(&r.message)
        ));
    }
    out
}

fn ok_summary(results: &[CheckResult]) -> String {
    let mut nodes: Vec<&str> = results.iter().map(|r| r.node.as_str()).collect();
    nodes.dedup();
    let parts: Vec<String> = nodes
        .iter()
        .map(|n| {
            let msg = |name: &str| {
                results
                    .iter()
                    .find(|r| r.node == *n && r.name == name && !r.skipped)
                    .map(|r| r.message.clone())
            };
            let mut s = format!("{n}: {}", msg("synced").unwrap_or_else(|| "ok".into()));
            if let Some(p) = msg("peers") {
                s.push_str(&format!(", {p}"));
            }
            s
        })
        .collect();
    parts.join("; ")
}

/// `'label'=value[UOM];warn;crit;min;max`; a "below" threshold is the Nagios range `N:`
/// ("alert outside N..∞").
fn perfdata(r: &CheckResult) -> Option<String> {
    let v = r.value?;
    let range = |t: Option<f64>, dir: Direction| match (t, dir) {
        (Some(t), Direction::Above) => num(t),
        (Some(t), Direction::Below) => format!("{}:", num(t)),
        (None, _) => String::new(),
    };
    let (w, c) = match r.thresholds {
        Some(t) => (
            range(t.warning, t.direction),
            range(t.critical, t.direction),
        ),
        None => (String::new(), String::new()),
    };
    let (min, max) = match r.unit {
        "%" => ("0", "100"),
        _ => ("0", ""),
    };
    let label = format!("{}_{}", r.node, r.name).replace(['\'', '='], "_");
    Some(format!(
        "'{label}'={}{};{w};{c};{min};{max}",
        num(v),
        r.unit
    ))
}

fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.3}")
    }
}

/// A `|` in text would start the perfdata part; newlines would end the first line.
fn sanitize(s: &str) -> String {
    s.replace('|', "/").replace(['\n', '\r'], " ")
}

pub fn json_report(results: &[CheckResult]) -> Value {
    let state = overall(results);
    json!({
        "status": state.as_str(),
        "exit_code": state.exit_code(),
        "checks": results,
    })
}
