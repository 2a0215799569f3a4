//! The watchdog end to end: a sim that stalls for good at height 1100 (a restart serves the
//! stall again), run by shell service commands and watched with `[node.remedy]`. It is
//! restarted after `after`, no more than `max` times, not at all in `dry_run`; each restart
//! is in the recording, the metrics and `report`.
use std::time::Duration;

use nodewarden_record::Recording;

use crate::backup::ManagedNode;
use crate::support::*;

const STALLING: &str = "kind = \"zenon\"\nseed = 3\nstart_height = 1000\ntip_height = 1000000\nblock_time = \"10s\"\n[[phase]]\nuntil = \"tip\"\nrate = 50\n[[stall]]\nat = 1100\nduration = \"10h\"\ncause = \"peers\"\n";

fn remedy_node(tmp: &std::path::Path, dry_run: bool) -> ManagedNode {
    rules_node(
        tmp,
        &format!("after = \"3s\"\nmax = 2\nper = \"1h\"\nbackoff = \"2s\"\ndry_run = {dry_run}\n"),
    )
}

fn rules_node(tmp: &std::path::Path, rules: &str) -> ManagedNode {
    let extra = format!("[node.remedy]\n{rules}[watch]\nstall_after = \"2s\"\n");
    ManagedNode::custom(tmp, STALLING, 1.0, &extra)
}

fn ok_run(args: &[&str]) {
    let o = run(args);
    assert!(o.status.success(), "{}", stderr(&o));
}

fn pid(tmp: &std::path::Path) -> String {
    std::fs::read_to_string(tmp.join("sim.pid")).unwrap()
}

/// Watches for `secs`, recording; returns the recorded restarts, watch's log lines and
/// the restarts metric for `reason`.
fn watch(
    node: &ManagedNode,
    db: &std::path::Path,
    secs: u64,
    reason: &str,
) -> (Vec<nodewarden_model::RemedyEvent>, Vec<String>, f64, usize) {
    let mut w = Spawned::start(&[
        "--config",
        node.config.to_str().unwrap(),
        "watch",
        "--listen",
        "127.0.0.1:0",
        "--record",
        db.to_str().unwrap(),
        "--interval",
        "500ms",
        "--duration",
        &format!("{secs}s"),
    ]);
    let base = w.http_base();
    std::thread::sleep(Duration::from_secs(secs - 2));
    let (_, text) = http_get(&format!("{base}/metrics"));
    let counted = metric(
        &text,
        "nodewarden_remedy_restarts_total",
        &format!("reason=\"{reason}\""),
    )
    .unwrap_or(-1.0);
    // The dashboard's node page lists the restarts the recording holds so far.
    let (_, page) = http_get(&format!("{base}/api/nodes/znn/section"));
    let listed = page.matches("<td>znn</td>").count();
    let (status, lines) = w.finish(Duration::from_secs(30));
    assert!(status.success(), "{lines:?}");
    let rec = Recording::open(db).unwrap();
    let run = rec.resolve("latest").unwrap();
    (
        rec.remedies(run.id, Some("znn")).unwrap(),
        lines,
        counted,
        listed,
    )
}

#[test]
fn a_stalled_node_is_restarted_after_after_at_most_max_times_and_each_restart_is_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let node = remedy_node(tmp.path(), false);
    let first = pid(tmp.path());
    let db = tmp.path().join("rec.db");
    let (events, lines, counted, listed) = watch(&node, &db, 26, "stalled");
    let restarts: Vec<_> = events.iter().filter(|e| e.action == "restart").collect();
    assert_eq!(
        restarts.len(),
        2,
        "max = 2 per hour: {events:#?}\n{lines:?}"
    );
    assert_eq!(counted, 2.0, "nodewarden_remedy_restarts_total");
    assert!(listed >= 1, "the node page lists the watchdog's restarts");
    assert_ne!(pid(tmp.path()), first, "the sim was restarted");
    for e in &restarts {
        assert_eq!(e.reason, "stalled");
        assert_eq!(e.ok, Some(true), "{e:?}");
        assert!(e.height.unwrap() >= 1100, "{e:?}");
        assert!(e.detail.starts_with("stalled for "), "{e:?}");
    }
    // The stall is served again after a restart: the rate after is judged, and it did not help.
    assert_eq!(restarts[0].helped, Some(false), "{:?}", restarts[0]);
    assert!(restarts[0].rate_after.is_some());
    // Backoff: the second restart came at least `backoff` after the first.
    assert!(restarts[1].t_ms - restarts[0].t_ms >= 2_000, "{restarts:?}");
    let o = run(&["report", db.to_str().unwrap()]);
    let text = stdout(&o);
    assert!(text.contains("Watchdog: 2 restart(s), 0 helped"), "{text}");
    assert!(text.contains("znn stalled at "), "{text}");
    // On the sync graph (a band per restart) and in a table of the HTML report.
    let html_path = tmp.path().join("r.html");
    ok_run(&[
        "report",
        db.to_str().unwrap(),
        "--html",
        html_path.to_str().unwrap(),
    ]);
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(html.contains("<h2>Watchdog restarts</h2>"), "table");
    assert_eq!(
        html.matches("stalled: restarted; did not help").count(),
        2,
        "two bands"
    );
    node.wait_answering();
}

#[test]
fn in_dry_run_the_watchdog_only_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let node = remedy_node(tmp.path(), true);
    let first = pid(tmp.path());
    let db = tmp.path().join("rec.db");
    let (events, lines, counted, _) = watch(&node, &db, 16, "stalled");
    assert_eq!(pid(tmp.path()), first, "never restarted");
    assert!(!events.is_empty(), "{lines:?}");
    assert!(
        events
            .iter()
            .all(|e| e.action == "dry_run" && e.ok.is_none()),
        "{events:?}"
    );
    assert!(events.len() <= 2, "{events:?}");
    assert!(events[0].detail.ends_with("; dry_run)"), "{events:?}");
    assert_eq!(counted, 0.0);
}

#[test]
fn a_node_without_peers_is_restarted_for_that_once_with_max_1() {
    let tmp = tempfile::tempdir().unwrap();
    let node = rules_node(
        tmp.path(),
        "no_peers_after = \"2s\"\nmax = 1\nbackoff = \"1s\"\n",
    );
    let db = tmp.path().join("rec.db");
    let (events, lines, counted, _) = watch(&node, &db, 14, "no_peers");
    assert_eq!(events.len(), 1, "{events:#?}\n{lines:?}");
    assert_eq!(
        (events[0].reason.as_str(), events[0].ok),
        ("no_peers", Some(true))
    );
    assert!(
        events[0].detail.starts_with("no peers for "),
        "{:?}",
        events[0]
    );
    assert_eq!(counted, 1.0);
    node.wait_answering();
}
