//! The watchdog's restarts in a run, for the terminal and the HTML report: when, why,
//! whether the commands worked, and whether the node moved faster afterwards.
use std::fmt::Write as _;

use nodewarden_model::RemedyEvent;
use nodewarden_svg::{Band, PURPLE, escape};

use crate::format::utc;

fn rate(r: Option<f64>) -> String {
    r.map_or_else(|| "?".into(), |r| format!("{r:.2}/s"))
}

/// What happened: `restarted`, `restart failed: …`, `dry run` or `restarting`.
fn outcome(e: &RemedyEvent) -> String {
    match (e.action.as_str(), e.ok, &e.error) {
        ("dry_run", _, _) => "dry run, not restarted".into(),
        (_, Some(true), _) => "restarted".into(),
        (_, Some(false), err) => format!("restart failed: {}", err.as_deref().unwrap_or("?")),
        _ => "restarting".into(),
    }
}

fn helped(e: &RemedyEvent) -> &'static str {
    match e.helped {
        Some(true) => "helped",
        Some(false) => "did not help",
        None => "not judged yet",
    }
}

pub fn remedies_text(items: &[RemedyEvent]) -> String {
    let mut s = String::new();
    if items.is_empty() {
        return s;
    }
    let restarts = items.iter().filter(|e| e.action == "restart").count();
    let helped_n = items.iter().filter(|e| e.helped == Some(true)).count();
    let _ = writeln!(
        s,
        "\nWatchdog: {restarts} restart(s), {helped_n} helped (rate after vs before):"
    );
    for e in items {
        let _ = writeln!(
            s,
            "  {} {} at {} (height {}): {}; {} → {}, {}\n    {}",
            e.node,
            e.reason,
            utc(e.t_ms),
            e.height.map_or_else(|| "?".into(), |h| h.to_string()),
            outcome(e),
            rate(e.rate_before),
            rate(e.rate_after),
            helped(e),
            e.detail
        );
    }
    s
}

/// A restart as a band on a time axis (seconds since `first_ms`): from the decision to
/// the first rate window after it, at least a second wide so it shows.
pub(crate) fn restart_bands(items: &[&RemedyEvent], first_ms: i64) -> Vec<Band> {
    items
        .iter()
        .map(|e| {
            let from = (e.t_ms - first_ms) as f64 / 1000.0;
            let label = if e.action == "dry_run" {
                "restart (dry run)"
            } else {
                "restart"
            };
            let mut b = Band::new(from, from + 1.0, label).detail(format!(
                "{}: {}; {}",
                e.reason,
                outcome(e),
                helped(e)
            ));
            b.color = PURPLE.into();
            b
        })
        .collect()
}

/// A table of restarts for the end of a report page.
pub fn remedies_html(items: &[RemedyEvent]) -> String {
    if items.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "<section><h2>Watchdog restarts</h2><table><tr><th>node</th><th>time</th><th>reason</th><th>height</th><th>outcome</th><th>rate before</th><th>rate after</th><th>helped</th><th>rule</th></tr>",
    );
    for e in items {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&e.node),
            utc(e.t_ms),
            escape(&e.reason),
            e.height.map_or_else(|| "?".into(), |h| h.to_string()),
            escape(&outcome(e)),
            rate(e.rate_before),
            rate(e.rate_after),
            helped(e),
            escape(&e.detail)
        );
    }
    s.push_str("</table></section>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restarts_read_as_what_happened_and_whether_it_helped() {
        let e = RemedyEvent {
            node: "znn<1>".into(),
            t_ms: 1_700_000_000_000,
            reason: "stalled".into(),
            action: "restart".into(),
            detail: "stalled for 3.0s (after = 3.0s): restart (1 of max 2)".into(),
            ok: Some(true),
            error: None,
            height: Some(1100),
            rate_before: Some(0.0),
            rate_after: Some(4.5),
            helped: Some(true),
        };
        let t = remedies_text(std::slice::from_ref(&e));
        assert!(t.contains("Watchdog: 1 restart(s), 1 helped"), "{t}");
        assert!(t.contains("stalled at 2023-11-14 22:13:20 UTC (height 1100): restarted; 0.00/s → 4.50/s, helped"), "{t}");
        let h = remedies_html(&[e]);
        assert!(
            h.contains("<td>znn&lt;1&gt;</td>") && h.contains("<td>helped</td>"),
            "{h}"
        );
        assert_eq!(remedies_text(&[]), "");
    }
}
