use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nodewarden_config::{CheckConfig, NodeConfig};
use nodewarden_rpc::zenon::PillarStats;
use nodewarden_rpc::{Head, Kind, KindSpec, Status, SyncState};

use super::*;

fn status(current: u64, target: u64, peers: u32, age: f64, now: SystemTime) -> Status {
    let t = now.duration_since(UNIX_EPOCH).unwrap().as_secs_f64() - age;
    Status {
        kind: Kind::Zenon,
        state: if current >= target {
            SyncState::Done
        } else {
            SyncState::Syncing
        },
        current: Some(current),
        target: Some(target),
        peers: Some(peers),
        head: Some(Head {
            height: current,
            hash: "ab".into(),
            time: Some(t),
        }),
        client_version: None,
    }
}

fn facts(s: Status, later: Option<Status>, now: SystemTime) -> Facts {
    Facts {
        node: "z".into(),
        now,
        rpc: Ok((s, Duration::from_millis(3))),
        observation: later.map(|l| Observation {
            later: l,
            elapsed: Duration::from_secs(4),
        }),
        recording: None,
        disk: None,
        process: None,
        backup: BackupFact::NotConfigured,
        pillar: None,
        memory_available_bytes: None,
    }
}

fn node() -> NodeConfig {
    NodeConfig::new("z", KindSpec::Known(Kind::Zenon), None)
}

fn by_name<'a>(r: &'a [CheckResult], name: &str) -> &'a CheckResult {
    r.iter().find(|c| c.name == name).unwrap()
}

#[test]
fn synced_node_is_ok_and_skips_what_is_not_configured() {
    let now = SystemTime::now();
    let f = facts(
        status(100, 100, 12, 5.0, now),
        Some(status(101, 101, 12, 2.0, now)),
        now,
    );
    let r = evaluate(&node(), &CheckConfig::default(), &f);
    assert_eq!(overall(&r), Level::Ok);
    assert!(by_name(&r, "backup_age").skipped);
    let line = status_line(&r);
    assert!(
        line.starts_with("NODEWARDEN OK - z: synced at 100, 12 peers (minimum 8) | "),
        "{line}"
    );
    assert!(line.contains("'z_peers'=12;8:;1:;0;"), "{line}");
}

#[test]
fn thresholds_and_states() {
    let now = SystemTime::now();
    let cfg = CheckConfig::default();
    // Behind and not moving: synced WARNING, stalled WARNING (4 s < 120 s), head not judged.
    let f = facts(
        status(50, 900, 12, 9000.0, now),
        Some(status(50, 901, 12, 9000.0, now)),
        now,
    );
    let r = evaluate(&node(), &cfg, &f);
    assert_eq!(by_name(&r, "stalled").status, Level::Warning);
    assert_eq!(by_name(&r, "head_age").status, Level::Ok);
    assert_eq!(overall(&r), Level::Warning);
    // No peers: CRITICAL.
    let f = facts(status(50, 50, 0, 5.0, now), None, now);
    let r = evaluate(&node(), &cfg, &f);
    assert_eq!(by_name(&r, "peers").status, Level::Critical);
    assert!(by_name(&r, "stalled").skipped);
    // At the tip with a stale head: head age CRITICAL beyond 3 × max head age.
    let f = facts(status(50, 50, 12, 600.0, now), None, now);
    let r = evaluate(&node(), &cfg, &f);
    assert_eq!(by_name(&r, "head_age").status, Level::Critical);
    // A pillar producing 30 %.
    let mut f = facts(status(50, 50, 12, 1.0, now), None, now);
    f.pillar = Some(Ok(PillarStats {
        name: "P".into(),
        produced: 36,
        expected: 120,
    }));
    let r = evaluate(&node(), &cfg, &f);
    let p = by_name(&r, "pillar");
    assert_eq!((p.status, p.value), (Level::Critical, Some(30.0)));
    assert!(status_line(&r).contains("'z_pillar'=30%;90:;50:;0;100"));
    // RPC down: CRITICAL, dependants UNKNOWN but counted.
    let mut f = facts(status(1, 1, 1, 1.0, now), None, now);
    f.rpc = Err("node `z` at http://x: connection refused".into());
    let r = evaluate(&node(), &cfg, &f);
    assert_eq!(overall(&r), Level::Critical);
    assert_eq!(by_name(&r, "synced").status, Level::Unknown);
    // Backup ages.
    let mut f = facts(status(50, 50, 12, 1.0, now), None, now);
    f.backup = BackupFact::AgeSeconds(30.0 * 3600.0);
    assert_eq!(
        by_name(&evaluate(&node(), &cfg, &f), "backup_age").status,
        Level::Warning
    );
}

#[test]
fn perfdata_and_overall_ranks() {
    assert_eq!(Level::Unknown.worst(Level::Warning), Level::Warning);
    assert_eq!(Level::Ok.worst(Level::Unknown), Level::Unknown);
    assert_eq!(overall(&[]), Level::Unknown);
    let t = Thresholds::below(10.0, 5.0);
    assert_eq!(t.judge(4.0), Level::Critical);
    assert_eq!(t.judge(7.0), Level::Warning);
    assert_eq!(t.judge(10.0), Level::Ok);
    let r = CheckResult::new("a|b", "rpc", Level::Critical, "x | y\nz".into());
    let line = status_line(&[r]);
    assert_eq!(
        line.lines().next().unwrap(),
        "NODEWARDEN CRITICAL - a/b rpc CRITICAL: x / y z"
    );
}

#[test]
fn memory_warns_on_a_leak_and_never_on_a_flat_trend() {
    let now = SystemTime::now();
    let cfg = CheckConfig::default();
    let mut f = facts(status(50, 50, 12, 1.0, now), None, now);
    assert!(by_name(&evaluate(&node(), &cfg, &f), "memory").skipped);
    let rec = |growth: Option<(f64, bool)>| RecordingFacts {
        run: "r".into(),
        live: true,
        unchanged_behind_s: None,
        stalled: None,
        stall_after_s: 30.0,
        growth_bytes_per_s: None,
        span_s: 3600.0,
        memory_growth: growth,
        rss_bytes: Some(2 << 30),
    };
    // 1 MB/s with 36 GB available: 10 h left, below the 12 h critical line.
    f.memory_available_bytes = Some(36_000_000_000);
    f.recording = Some(rec(Some((1e6, true))));
    let m = evaluate(&node(), &cfg, &f);
    let m = by_name(&m, "memory");
    assert_eq!(m.status, Level::Critical);
    assert!((m.value.unwrap() - 10.0).abs() < 1e-9, "{m:?}");
    // 100 kB/s: 100 h, above the warning line.
    f.recording = Some(rec(Some((1e5, true))));
    assert_eq!(
        by_name(&evaluate(&node(), &cfg, &f), "memory").status,
        Level::Ok
    );
    // The same slope but not significant (sawtooth): OK whatever the forecast would say.
    f.recording = Some(rec(Some((1e6, false))));
    assert_eq!(
        by_name(&evaluate(&node(), &cfg, &f), "memory").status,
        Level::Ok
    );
}

#[test]
fn a_live_recording_judges_stalls_with_the_watch_tracker() {
    let now = SystemTime::now();
    let cfg = CheckConfig::default();
    let mut f = facts(status(50, 900, 12, 1.0, now), None, now);
    let rec = |unchanged: Option<f64>, stalled: Option<(f64, u64)>| RecordingFacts {
        run: "r".into(),
        live: true,
        unchanged_behind_s: unchanged,
        stalled,
        stall_after_s: 45.0,
        growth_bytes_per_s: None,
        span_s: 3600.0,
        memory_growth: None,
        rss_bytes: None,
    };
    // Flat for 20 s while the tracker's threshold at this pace is 45 s: a flat spot, OK.
    f.recording = Some(rec(Some(20.0), None));
    let r = evaluate(&node(), &cfg, &f);
    let s = by_name(&r, "stalled");
    assert_eq!(s.status, Level::Ok, "{s:?}");
    assert!(s.message.contains("not yet a stall") && s.message.contains("45s"));
    // The tracker's open stall: WARNING below stall_critical (120 s), CRITICAL beyond.
    f.recording = Some(rec(Some(100.0), Some((60.0, 50))));
    let r = evaluate(&node(), &cfg, &f);
    let s = by_name(&r, "stalled");
    assert_eq!(s.status, Level::Warning, "{s:?}");
    assert_eq!(s.value, Some(60.0));
    assert!(
        s.message.starts_with("stalled for 60s at height 50"),
        "{s:?}"
    );
    f.recording = Some(rec(Some(400.0), Some((300.0, 50))));
    let r = evaluate(&node(), &cfg, &f);
    assert_eq!(by_name(&r, "stalled").status, Level::Critical);
}
