//! Maintenance windows end to end: a sim running a pillar with a production cadence (a
//! momentum every 30 ± 4 heights at 0.2 s a height), stopped and started by its service
//! commands; `backup --node` and `window -- CMD` wait for the pillar's quiet gap, and the
//! sim's own stats (slots missed while it was down) say whether the pillar missed one.
use std::path::Path;
use std::time::{Duration, Instant};

use crate::backup::{ManagedNode, ok};
use crate::support::*;

/// 10 s momentums at speed 50: one every 0.2 s; the pillar's gaps are 5.2 to 6.8 s.
pub const SCENARIO: &str = "kind = \"zenon\"\nseed = 11\nstart_height = 100000\ntip_height = 100000\nblock_time = \"10s\"\n[[phase]]\nuntil = \"tip\"\nrate = 400\n[[pillar]]\nname = \"Mine\"\nevery = 30\nspread = 2\n[[pillar]]\nname = \"Other\"\n";
pub const SPEED: f64 = 50.0;

pub fn pillar_node(tmp: &Path) -> ManagedNode {
    ManagedNode::custom(tmp, SCENARIO, SPEED, "pillar = \"Mine\"\n")
}

/// (produced, expected) as the sim counts them.
pub fn stats(node: &ManagedNode) -> (u64, u64) {
    let p =
        rpc(&node.url, "embedded.pillar.getByName", "[\"Mine\"]")["result"]["currentStats"].clone();
    (
        p["producedMomentums"].as_u64().unwrap(),
        p["expectedMomentums"].as_u64().unwrap(),
    )
}

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&ok(o)).unwrap()
}

/// Runs `backup --node` `runs` times; returns how many froze without the pillar missing a
/// momentum (its own report and the sim's stats agreeing).
pub fn backups_in_window(node: &ManagedNode, runs: usize) -> usize {
    let mut clean = 0;
    for i in 0..runs {
        let before = stats(node);
        // The repository knows no freeze of this node yet: say how long one takes.
        let mut args = vec![
            "backup",
            "--node",
            "znn",
            "--json",
            "--window-timeout",
            "30s",
        ];
        if i == 0 {
            args.extend(["--downtime", "1s"]);
        }
        let v = json(&node.nw(&args));
        let w = &v["window"];
        assert_eq!(w["verdict"]["go"], true, "{v}");
        assert!(
            w["verdict"]["reason"]
                .as_str()
                .unwrap()
                .starts_with("produced at "),
            "{w}"
        );
        node.wait_answering();
        // The slot after the freeze has come and gone by now (check_missed waited for it).
        let after = stats(node);
        let sim_missed = (after.1 - before.1) - (after.0 - before.0);
        assert_eq!(w["missed"].as_u64(), Some(sim_missed), "{w}");
        if sim_missed == 0 {
            clean += 1;
        }
    }
    clean
}

#[test]
fn backup_freezes_in_the_pillars_gap_and_the_pillar_misses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let node = pillar_node(tmp.path());
    ok(&node.nw(&["init"]));
    // scripts/bench/window.sh runs it 20 times.
    let runs = runs();
    let clean = backups_in_window(&node, runs);
    eprintln!("window runs without a missed momentum: {clean} of {runs}");
    assert!(
        clean * 20 >= runs * 19,
        "{clean} of {runs} runs missed nothing"
    );
    let (produced, expected) = stats(&node);
    assert_eq!(
        produced, expected,
        "the pillar missed nothing over the whole test"
    );
    assert!(expected >= runs as u64, "{expected} slots passed");
}

/// The control for scripts/bench/window.sh: the same backups with `--no-window`, each
/// followed by a wait past the next slot; prints how many missed nothing.
#[test]
#[ignore = "a measurement, run by scripts/bench/window.sh"]
fn control_backups_without_the_window() {
    let tmp = tempfile::tempdir().unwrap();
    let node = pillar_node(tmp.path());
    ok(&node.nw(&["init"]));
    let runs = runs();
    let mut clean = 0;
    for _ in 0..runs {
        let before = stats(&node);
        ok(&node.nw(&["backup", "--node", "znn", "--no-window"]));
        node.wait_answering();
        // Past the longest gap (6.8 s), so the slot after the freeze is counted.
        std::thread::sleep(Duration::from_secs(7));
        let after = stats(&node);
        if (after.1 - before.1) == (after.0 - before.0) {
            clean += 1;
        }
    }
    eprintln!("control without the window: {clean} of {runs} runs missed nothing");
}

fn runs() -> usize {
    std::env::var("NODEWARDEN_WINDOW_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
}

#[test]
fn the_wait_times_out_cleanly_when_the_gap_is_too_short() {
    let tmp = tempfile::tempdir().unwrap();
    let node = pillar_node(tmp.path());
    ok(&node.nw(&["init"]));
    let pid = std::fs::read_to_string(tmp.path().join("sim.pid")).unwrap();
    let started = Instant::now();
    let o = node.nw(&[
        "backup",
        "--node",
        "znn",
        "--downtime",
        "30s",
        "--window-timeout",
        "2s",
    ]);
    let took = started.elapsed();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    let last = err.lines().last().unwrap();
    assert!(
        last.starts_with("nodewarden: node `znn`: no maintenance window within 2.0s")
            && last.contains("the whole gap (~")
            && last.ends_with("the node was not touched"),
        "{err}"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    let pid_after = std::fs::read_to_string(tmp.path().join("sim.pid")).unwrap();
    assert_eq!(pid, pid_after, "the node was not restarted");
    let snaps = crate::backup::snapshots_json(&node);
    assert!(snaps.is_empty(), "{snaps:?}");
    // `window` gives up the same way and never runs its command.
    let marker = tmp.path().join("ran");
    let o = node.nw(&[
        "window",
        "--node",
        "znn",
        "--downtime",
        "30s",
        "--window-timeout",
        "1s",
        "--",
        "touch",
        marker.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!marker.exists());
}

/// `window --node znn --downtime 500ms --json -- COMMAND…`
fn window(node: &ManagedNode, command: &[&str]) -> std::process::Output {
    let mut args = vec![
        "window",
        "--node",
        "znn",
        "--downtime",
        "500ms",
        "--json",
        "--",
    ];
    args.extend_from_slice(command);
    node.nw(&args)
}

#[test]
fn window_runs_any_command_in_the_gap_and_sees_a_miss_when_the_node_stays_down() {
    let tmp = tempfile::tempdir().unwrap();
    let node = pillar_node(tmp.path());
    let marker = tmp.path().join("ran");
    let o = window(&node, &["touch", marker.to_str().unwrap()]);
    let v = json(&o);
    assert!(marker.exists());
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["window"]["verdict"]["go"], true, "{v}");
    assert_eq!(v["window"]["missed"], 0, "{v}");
    assert!(stderr(&o).contains("node `znn` pillar `Mine`: produced at "));
    // The command's exit code is the command's.
    let o = window(&node, &["sh", "-c", "exit 3"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    // A command that keeps the node down past the next slot: the miss is seen and reported.
    let long = format!("{}; sleep 7; {}", node.stop_command(), node.start);
    let o = window(&node, &["sh", "-c", &long]);
    let v = json(&o);
    let missed = v["window"]["missed"].as_u64().unwrap();
    assert!(missed >= 1, "{v}");
    assert!(stderr(&o).contains(&format!("pillar `Mine` missed {missed} momentum(s)")));
}

#[test]
fn without_a_pillar_window_runs_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let node = ManagedNode::custom(tmp.path(), SCENARIO, SPEED, "");
    let started = Instant::now();
    let o = node.nw(&["window", "--node", "znn", "--json", "--", "true"]);
    let v = json(&o);
    assert_eq!(
        v["window"]["verdict"]["reason"],
        "no pillar configured: at once"
    );
    assert_eq!(v["window"]["waited_ms"], 0);
    assert!(started.elapsed() < Duration::from_secs(5));
}
