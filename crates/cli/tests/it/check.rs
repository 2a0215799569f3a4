//! `nodewarden check` against real sims in every state, with exact plugin exit codes.
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::*;

/// A config with one `[[node]]` per (name, url, extra lines) and a `[check]` table.
fn config(dir: &Path, nodes: &[(&str, &str, &str)], check: &str) -> PathBuf {
    let mut text = String::new();
    for (name, url, extra) in nodes {
        text.push_str(&format!(
            "[[node]]\nname = \"{name}\"\nkind = \"zenon\"\nrpc = \"{url}\"\n{extra}\n"
        ));
    }
    text.push_str(&format!("[check]\n{check}\n"));
    let path = dir.join("nodewarden.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `check` and returns (exit code, stdout).
fn check(cfg: &Path, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["--config", cfg.to_str().unwrap(), "check"];
    args.extend_from_slice(extra);
    let o = run(&args);
    let out = stdout(&o);
    (o.status.code().unwrap_or(-1), out)
}

fn sim(dir: &Path, scenario: &str, speed: f64) -> SimProc {
    std::fs::create_dir_all(dir).unwrap();
    SimProc::start(SimSpec {
        kind: "zenon",
        scenario: Some(scenario),
        speed,
        data_dir: &dir.join("data"),
        port: 0,
    })
}

fn height(url: &str) -> (u64, u64) {
    let r = rpc(url, "stats.syncInfo", "[]");
    (
        r["result"]["currentHeight"].as_u64().unwrap_or(0),
        r["result"]["targetHeight"].as_u64().unwrap_or(0),
    )
}

const PILLARS: &str = r#"
tip_height = 300
[[phase]]
until = "tip"
rate = 1000
[[pillar]]
name = "Good"
[[pillar]]
name = "Meh"
produced_ratio = 0.8
[[pillar]]
name = "Lazy"
produced_ratio = 0.3
"#;

#[test]
fn synced_ok_and_pillar_momentums_grade_warning_and_critical() {
    let tmp = tempfile::tempdir().unwrap();
    let s = sim(tmp.path(), PILLARS, 10.0);
    wait_until("sim at the tip", Duration::from_secs(20), || {
        let (c, t) = height(&s.url);
        t > 0 && c >= t
    });
    let data = tmp.path().join("data");
    let dd = format!("data_dir = \"{}\"\n", data.display());
    let cfg = config(
        tmp.path(),
        &[
            ("good", &s.url, &format!("{dd}pillar = \"Good\"")),
            ("meh", &s.url, "pillar = \"Meh\""),
            ("lazy", &s.url, "pillar = \"Lazy\""),
            ("ghost", &s.url, "pillar = \"Nobody\""),
        ],
        // The data dir sits on the host's own disk, whose fullness this test does not
        // control: thresholds any host passes keep the grade about the node and pillars.
        "observe = \"1s\"\ndisk_free_warning_percent = 0.0\ndisk_free_critical_percent = 0.0\ndays_until_full_warning = 0.0\ndays_until_full_critical = 0.0",
    );
    let (code, out) = check(&cfg, &["--node", "good"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("NODEWARDEN OK - good: synced at "), "{out}");
    let first = out.lines().next().unwrap();
    assert!(
        first.contains("'good_pillar'=100%;90:;50:;0;100"),
        "{first}"
    );
    assert!(first.contains("'good_disk_free'="), "{first}");
    assert!(
        out.contains("good: backup_age SKIPPED - no repository configured"),
        "{out}"
    );

    let (code, out) = check(&cfg, &["--node", "meh", "--observe", "0s"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("NODEWARDEN WARNING - meh pillar WARNING: pillar Meh produced 96 of 120"),
        "{out}"
    );

    let (code, out) = check(&cfg, &["--node", "lazy", "--observe", "0s", "--json"]);
    assert_eq!(code, 2, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], "CRITICAL");
    let pillar = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "pillar")
        .unwrap();
    assert_eq!(pillar["status"], "CRITICAL");
    assert_eq!(pillar["value"], 30.0);
    assert_eq!(pillar["thresholds"]["warning"], 90.0);
    assert_eq!(pillar["thresholds"]["direction"], "below");
    assert!(pillar["message"].as_str().unwrap().contains("36 of 120"));

    // A pillar the node does not know is the node's own error, named.
    let (code, out) = check(&cfg, &["--node", "ghost", "--observe", "0s"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("ghost pillar CRITICAL") && out.contains("embedded.pillar.getByName"),
        "{out}"
    );

    // Every node at once: the worst wins.
    let (code, out) = check(&cfg, &["--observe", "0s", "-q"]);
    assert_eq!((code, out.lines().count()), (2, 1), "{out}");
}

#[test]
fn syncing_is_warning_and_no_peers_is_critical() {
    let tmp = tempfile::tempdir().unwrap();
    let syncing = sim(
        &tmp.path().join("a"),
        "tip_height = 100000\n[[phase]]\nuntil = \"tip\"\nrate = 40\n",
        1.0,
    );
    let lonely = sim(
        &tmp.path().join("b"),
        "tip_height = 100000\n[[phase]]\nuntil = \"tip\"\nrate = 2000\n[[stall]]\nat = 20\nduration = \"1h\"\ncause = \"peers\"\n",
        1.0,
    );
    wait_until(
        "the lonely sim at its stall",
        Duration::from_secs(20),
        || height(&lonely.url).0 >= 20,
    );
    let cfg = config(
        tmp.path(),
        &[("syncing", &syncing.url, ""), ("lonely", &lonely.url, "")],
        "observe = \"2s\"",
    );
    let (code, out) = check(&cfg, &["--node", "syncing"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("NODEWARDEN WARNING - syncing synced WARNING: syncing: "),
        "{out}"
    );
    assert!(
        out.contains("syncing: stalled OK - "),
        "progress seen: {out}"
    );
    assert!(
        out.contains("syncing: head_age OK - ") && out.contains("(not judged)"),
        "{out}"
    );

    let (code, out) = check(&cfg, &["--node", "lonely", "--observe", "0s"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("lonely peers CRITICAL: 0 peers"), "{out}");
    assert!(
        out.contains("not synced: no (or not enough) peers"),
        "{out}"
    );
    assert!(
        out.lines()
            .next()
            .unwrap()
            .contains("'lonely_peers'=0;8:;1:;0;"),
        "{out}"
    );
}

#[test]
fn stalled_by_observation_and_by_recording() {
    let tmp = tempfile::tempdir().unwrap();
    let s = sim(
        tmp.path(),
        "tip_height = 100000\n[[phase]]\nuntil = \"tip\"\nrate = 2000\n[[stall]]\nat = 30\nduration = \"1h\"\ncause = \"cpu\"\n",
        1.0,
    );
    wait_until("the sim at its stall", Duration::from_secs(20), || {
        height(&s.url).0 >= 30
    });
    let cfg = config(tmp.path(), &[("stuck", &s.url, "")], "observe = \"2s\"");
    let (code, out) = check(&cfg, &["--record", "/nonexistent/none.db"]);
    assert_eq!(code, 1, "a short no-progress window is a warning: {out}");
    assert!(
        out.contains("stuck stalled WARNING: height 30 did not move in 2s while"),
        "{out}"
    );

    // A live `watch` recording has seen it for longer: CRITICAL beyond stall_critical,
    // without waiting for an observation.
    let db = tmp.path().join("rec.db");
    let node = format!("stuck=zenon@{}", s.url);
    let mut watch = Spawned::start(&[
        "watch",
        "--node",
        &node,
        "--record",
        db.to_str().unwrap(),
        "--no-listen",
        "--interval",
        "300ms",
        "--stall-after",
        "1s",
    ]);
    watch.wait_line("recording run", Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(2500));
    // The check reads the same `[watch] stall_after` the watch was given: one tracker,
    // one verdict.
    let cfg = config(
        tmp.path(),
        &[("stuck", &s.url, "")],
        "observe = \"30s\"\nstall_critical = \"1s\"\n[watch]\nstall_after = \"1s\"",
    );
    let started = std::time::Instant::now();
    let (code, out) = check(&cfg, &["--record", db.to_str().unwrap()]);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the recording replaced the 30 s observation"
    );
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("stuck stalled CRITICAL: stalled for")
            && out.contains("at height 30 while behind (recording `"),
        "{out}"
    );
    watch.signal(libc::SIGTERM);
    let _ = watch.finish(Duration::from_secs(20));
}

#[test]
fn rpc_down_is_critical_and_bad_input_is_unknown() {
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{}", dead_port());
    let cfg = config(tmp.path(), &[("gone", &url, "")], "");
    let (code, out) = check(&cfg, &["--observe", "0s", "--timeout", "1s"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.starts_with("NODEWARDEN CRITICAL - gone rpc CRITICAL: "),
        "{out}"
    );
    assert!(out.contains(&url), "names the URL: {out}");
    assert!(
        out.contains("gone: synced UNKNOWN - RPC unreachable"),
        "{out}"
    );

    let cfg = config(tmp.path(), &[("gone", &url, "")], "peers_warnin = 3");
    let (code, out) = check(&cfg, &[]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.starts_with("NODEWARDEN UNKNOWN - config file ") && out.contains("peers_warnin"),
        "{out}"
    );
    assert_eq!(out.lines().count(), 1);

    let cfg = config(tmp.path(), &[("gone", &url, "")], "not_synced = \"maybe\"");
    let (code, out) = check(&cfg, &["--json"]);
    assert_eq!(code, 3, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["error"].as_str().unwrap().contains("check.not_synced"),
        "{v}"
    );

    let cfg = config(tmp.path(), &[("gone", &url, "")], "");
    let (code, out) = check(&cfg, &["--node", "nosuch"]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("no node named `nosuch` (configured: gone)"),
        "{out}"
    );
}
