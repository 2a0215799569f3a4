//! One line per node for the live view (terminal) and the periodic log (not a terminal).
use nodewarden_model::NodeView;

use crate::format::{age, bytes, count, percent};

/// `znn-a  syncing  1,234,567/2,000,000 61.73%  412 blk/s  ETA 31m00s (25m00s–40m00s)  peers 12  cpu 95%  rss 512 MiB`
pub fn live_line(n: &NodeView, name_width: usize) -> String {
    let r = &n.report;
    let name = format!("{:<name_width$}", r.name);
    if !r.ok {
        return format!(
            "{name}  DOWN  {}",
            r.error.as_deref().unwrap_or("not polled yet")
        );
    }
    let state = if r.synced {
        "synced".to_string()
    } else {
        r.state.map(|s| s.as_str().to_string()).unwrap_or_default()
    };
    let target = n.last_target.or(r.target);
    let heights = match (r.current, target) {
        (Some(c), Some(t)) => format!(
            "{}/{} {:>7}",
            count(c),
            count(t),
            percent((c as f64 / t as f64 * 100.0).min(100.0))
        ),
        (Some(c), None) => count(c),
        _ => "-".into(),
    };
    let rate = n
        .rate_blocks_per_second
        .map(|r| format!("{} blk/s", rate_text(r)))
        .unwrap_or_default();
    let eta = if r.synced { String::new() } else { eta_text(n) };
    // Fixed columns so that lines of different nodes line up while numbers change.
    let mut line = format!("{name}  {state:<16} {heights:>28}  {rate:>12}  {eta:<26}");
    if n.stalled {
        line.push_str(&format!(
            "  STALLED {} at {}",
            n.stalled_for_seconds.map(age).unwrap_or_default(),
            n.stall_height.map(count).unwrap_or_default()
        ));
    }
    if n.fork_detected == Some(true) {
        match (n.fork_height, n.fork_checked_height) {
            (Some(h), _) => line.push_str(&format!("  FORKED at {h}")),
            (None, Some(c)) => line.push_str(&format!("  FORKED (block {c} differs)")),
            (None, None) => line.push_str("  FORKED"),
        }
    }
    line.push_str(&format!(
        "  peers {:>3}",
        r.peers.map(|p| p.to_string()).unwrap_or_else(|| "?".into())
    ));
    if let Some(p) = &n.process {
        if let Some(c) = p.cpu_percent {
            line.push_str(&format!("  cpu {c:>3.0}%"));
        }
        if let Some(rss) = p.rss_bytes {
            line.push_str(&format!("  rss {:>9}", bytes(rss)));
        }
    }
    line
}

fn rate_text(rate: f64) -> String {
    if rate >= 100.0 {
        format!("{rate:.0}")
    } else {
        format!("{rate:.1}")
    }
}

fn eta_text(n: &NodeView) -> String {
    if n.eta_stalled {
        // An estimate would only say how long the rest takes once the node moves again.
        return "ETA stalled".into();
    }
    match (n.eta_seconds, n.eta_low_seconds, n.eta_high_seconds) {
        (Some(e), Some(lo), Some(hi)) => format!("ETA {} ({}–{})", age(e), age(lo), age(hi)),
        (Some(e), Some(lo), None) => format!("ETA {} (≥{})", age(e), age(lo)),
        (Some(e), _, _) => format!("ETA {}", age(e)),
        _ => "ETA ?".into(),
    }
}

/// logfmt: one line a machine and a person can both read.
pub fn log_line(n: &NodeView) -> String {
    let r = &n.report;
    let mut kv: Vec<String> = vec![
        format!("node={}", quote(&r.name)),
        format!("kind={}", r.kind),
    ];
    if !r.ok {
        kv.push("up=0".into());
        kv.push(format!("error={}", quote(r.error.as_deref().unwrap_or(""))));
        return kv.join(" ");
    }
    let opt = |k: &str, v: Option<String>| v.map(|v| format!("{k}={v}"));
    kv.extend(
        [
            Some("up=1".to_string()),
            opt("state", r.state.map(|s| s.as_str().to_string())),
            opt("current", r.current.map(|v| v.to_string())),
            opt("target", n.last_target.or(r.target).map(|v| v.to_string())),
            Some(format!("synced={}", u8::from(r.synced))),
            opt("rate", n.rate_blocks_per_second.map(|v| format!("{v:.2}"))),
            n.eta_stalled.then(|| "eta=stalled".to_string()),
            opt(
                "eta_s",
                n.eta_seconds
                    .filter(|_| !n.eta_stalled)
                    .map(|v| format!("{v:.0}")),
            ),
            opt(
                "eta_low_s",
                n.eta_low_seconds
                    .filter(|_| !n.eta_stalled)
                    .map(|v| format!("{v:.0}")),
            ),
            opt(
                "eta_high_s",
                n.eta_high_seconds
                    .filter(|_| !n.eta_stalled)
                    .map(|v| format!("{v:.0}")),
            ),
            Some(format!("stalled={}", u8::from(n.stalled))),
            opt("stall_height", n.stall_height.map(|v| v.to_string())),
            opt(
                "stalled_s",
                n.stalled_for_seconds.map(|v| format!("{v:.0}")),
            ),
            opt("forked", n.fork_detected.map(|f| u8::from(f).to_string())),
            opt(
                "fork_height",
                n.fork_height
                    .filter(|_| n.fork_detected == Some(true))
                    .map(|v| v.to_string()),
            ),
            opt("peers", r.peers.map(|v| v.to_string())),
            opt(
                "cpu_pct",
                n.process
                    .and_then(|p| p.cpu_percent)
                    .map(|v| format!("{v:.1}")),
            ),
            opt(
                "rss",
                n.process.and_then(|p| p.rss_bytes).map(|v| v.to_string()),
            ),
        ]
        .into_iter()
        .flatten(),
    );
    kv.join(" ")
}

fn quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.:/".contains(c))
        && !s.is_empty()
    {
        s.to_string()
    } else {
        format!("{:?}", s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nodewarden_model::{NodeReport, NodeView, SyncState};

    fn syncing() -> NodeView {
        let mut n = NodeView::new(NodeReport {
            name: "znn".into(),
            kind: "zenon".into(),
            url: "http://127.0.0.1:35997".into(),
            ok: true,
            error: None,
            error_reason: None,
            state: Some(SyncState::Syncing),
            current: Some(500),
            target: Some(1000),
            peers: Some(8),
            synced: false,
            progress_percent: Some(50.0),
            head_height: Some(500),
            head_hash: None,
            head_time: None,
            head_age_seconds: None,
            client_version: None,
            latency_ms: Some(3.0),
        });
        n.eta_seconds = Some(120.0);
        n.eta_low_seconds = Some(100.0);
        n.eta_high_seconds = Some(200.0);
        n
    }

    #[test]
    fn a_stalled_node_shows_stalled_instead_of_an_eta() {
        let n = syncing();
        assert!(
            live_line(&n, 4).contains("ETA 2m00s"),
            "{}",
            live_line(&n, 4)
        );
        assert!(log_line(&n).contains("eta_s=120"));
        let mut n = syncing();
        n.eta_stalled = true;
        n.eta_high_seconds = None;
        let line = live_line(&n, 4);
        assert!(
            line.contains("ETA stalled") && !line.contains("2m00s"),
            "{line}"
        );
        let log = log_line(&n);
        assert!(
            log.contains("eta=stalled") && !log.contains("eta_s="),
            "{log}"
        );
    }

    fn view(forked: Option<bool>) -> NodeView {
        let mut n = NodeView::new(NodeReport {
            name: "znn".into(),
            kind: "zenon".into(),
            url: "http://127.0.0.1:35997".into(),
            ok: true,
            error: None,
            error_reason: None,
            state: None,
            current: Some(100),
            target: Some(100),
            peers: Some(9),
            synced: true,
            progress_percent: None,
            head_height: None,
            head_hash: None,
            head_time: None,
            head_age_seconds: None,
            client_version: None,
            latency_ms: None,
        });
        n.fork_detected = forked;
        n.fork_height = Some(42);
        n.fork_checked_height = Some(100);
        n
    }

    #[test]
    fn a_forked_node_says_where_in_both_lines() {
        let n = view(Some(true));
        assert!(live_line(&n, 4).contains("FORKED at 42"));
        assert!(log_line(&n).contains("forked=1 fork_height=42"));
        let ok = view(Some(false));
        assert!(!live_line(&ok, 4).contains("FORKED"));
        assert!(log_line(&ok).contains("forked=0 ") && !log_line(&ok).contains("fork_height"));
        let never = view(None);
        assert!(!log_line(&never).contains("forked"));
    }
}
