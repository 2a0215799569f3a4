//! The engine on its own: a real simulated node on loopback, a dead port, and a slot fed
//! readings directly where only the rules are under test.
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nodewarden_analyze::{AnalyzeOptions, StallAfter};
use nodewarden_config::{NodeArg, NodeConfig};
use nodewarden_model::{BackupInfo, Health, Kind, SyncState};
use nodewarden_rpc::{ErrorKind, Head, RpcError, Status};
use nodewarden_sim::{Scenario, Sim, SimOptions};

use crate::engine::LocalSample;
use crate::{WatchOptions, Watcher};

fn node(spec: &str) -> NodeConfig {
    spec.parse::<NodeArg>().unwrap().to_config()
}

fn opts(interval_ms: u64) -> WatchOptions {
    WatchOptions {
        interval: Duration::from_millis(interval_ms),
        analyze: AnalyzeOptions::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polls_a_real_sim_and_follows_its_sync() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::start(SimOptions {
        kind: None,
        scenario: Scenario::default_for(Kind::Ethereum),
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("eth"),
        speed: 10.0,
    })
    .await
    .unwrap();
    let spec = format!("eth=ethereum@http://{}", sim.local_addr());
    let mut w = Watcher::new(&[node(&spec)], opts(200));
    let backups = w.backups();
    backups.write().unwrap().insert(
        "eth".into(),
        BackupInfo {
            name: "eth-h1".into(),
            time_ms: 0,
            duration_seconds: None,
            height: Some(1),
        },
    );
    let mut heights = Vec::new();
    for _ in 0..8 {
        let rows = w.tick().await;
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(row.sample.node, "eth");
        assert!(row.error.is_none(), "{:?}", row.error);
        assert_ne!(row.sample.state, SyncState::Error);
        assert!(row.latency_ms.is_some());
        heights.push(row.sample.current.unwrap());
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert!(
        heights.windows(2).all(|p| p[0] <= p[1]) && heights.last() > heights.first(),
        "the sim syncs: {heights:?}"
    );
    let state = w.state();
    assert_eq!(state.ticks, 8);
    let v = &state.nodes[0];
    assert!(v.rpc_up);
    assert_eq!(v.samples, 8);
    assert_eq!(v.report.kind, "ethereum");
    assert!(v.rate_blocks_per_second.is_some_and(|r| r > 0.0), "{v:?}");
    assert_eq!(v.latency.count, 8);
    assert_eq!(v.backup.as_ref().map(|b| b.name.as_str()), Some("eth-h1"));
    assert!(v.backup_age_seconds.is_some_and(|a| a > 0.0));
    // Nothing configured about the process: the one listening on the RPC port (here, this
    // test process, which runs the sim in-process) is sampled.
    let p = v.process.expect("the process behind the RPC port");
    assert_eq!(p.pid, std::process::id());
    assert!(p.rss_bytes.is_some_and(|r| r > 0));
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_dead_node_is_an_error_sample_not_a_gap() {
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let spec = format!("dead=zenon@http://127.0.0.1:{port}");
    let mut w = Watcher::new(&[node(&spec)], opts(500));
    assert_eq!(w.state().nodes.len(), 1, "listed before the first poll");
    for _ in 0..2 {
        let rows = w.tick().await;
        let row = &rows[0];
        assert_eq!(row.sample.state, SyncState::Error);
        assert!(row.sample.current.is_none(), "no heights invented");
        assert!(row.error.as_deref().unwrap().contains("dead"), "{row:?}");
    }
    let v = &w.state().nodes[0];
    assert!(!v.rpc_up);
    assert_eq!(v.rpc_errors_total.values().sum::<u64>(), 2);
    assert_eq!(v.health, Health::Critical);
    assert!(
        v.health_reason.starts_with("RPC down"),
        "{}",
        v.health_reason
    );
}

fn status(current: u64, target: u64, now: SystemTime) -> Status {
    let head_time = now.duration_since(UNIX_EPOCH).unwrap().as_secs_f64() - 3600.0;
    Status {
        kind: Kind::Zenon,
        state: SyncState::Syncing,
        current: Some(current),
        target: Some(target),
        peers: Some(12),
        head: Some(Head {
            height: current,
            hash: format!("{current:064x}"),
            time: Some(head_time),
        }),
        client_version: None,
    }
}

#[test]
fn a_flat_height_while_behind_becomes_a_stall_and_recovers() {
    let mut o = opts(1000);
    o.analyze.stall_after = StallAfter::Fixed(Duration::from_secs(10));
    let mut w = Watcher::new(&[node("z=zenon@http://127.0.0.1:1")], o);
    let slot = w.slot_mut(0);
    let now = SystemTime::now();
    let mut t = 1_700_000_000_000i64;
    let mut feed = |slot: &mut crate::engine::Slot, current: u64| {
        t += 1000;
        slot.update(
            t,
            now,
            Ok(status(current, 10_000, now)),
            Duration::from_millis(3),
            LocalSample::default(),
            None,
        )
    };
    for h in 0..30 {
        feed(slot, 100 + h * 10);
    }
    assert!(!slot.view().stalled);
    assert_eq!(slot.view().health, Health::Warning, "syncing");
    for _ in 0..20 {
        feed(slot, 400);
    }
    let v = slot.view();
    assert!(v.stalled, "20 s flat while 9,600 behind");
    assert_eq!(v.stall_height, Some(400));
    assert!(v.stalled_for_seconds.unwrap() >= 10.0);
    assert!(!v.report.synced);
    assert_eq!(
        (v.health, v.health_reason.as_str()),
        (Health::Critical, "stalled")
    );
    for h in 1..5 {
        feed(slot, 400 + h * 10);
    }
    let v = slot.view();
    assert!(!v.stalled, "advancing again");
    assert_eq!(v.stalls_total, 1);
}

#[test]
fn a_timeout_is_counted_under_its_reason() {
    let mut w = Watcher::new(&[node("z=zenon@http://127.0.0.1:1")], opts(1000));
    let slot = w.slot_mut(0);
    let err = RpcError {
        node: "z".into(),
        url: "http://127.0.0.1:1".into(),
        kind: ErrorKind::Timeout(Duration::from_millis(800)),
    };
    let row = slot.update(
        1,
        SystemTime::now(),
        Err(err),
        Duration::from_millis(800),
        LocalSample::default(),
        Some(1.5),
    );
    assert_eq!(row.steal_percent, Some(1.5));
    assert_eq!(row.sample.state, SyncState::Error);
    let v = slot.view();
    assert_eq!(v.rpc_errors_total.get("timeout"), Some(&1));
    assert_eq!(v.report.error_reason, Some("timeout"));
}

#[test]
fn a_one_shot_report_derives_synced_and_progress() {
    let cfg = node("z=zenon@http://127.0.0.1:1");
    let now = SystemTime::now();
    let mut s = status(500, 1000, now);
    let r = crate::from_status(&cfg, "u".into(), s.clone(), Duration::from_millis(2), now);
    assert_eq!(r.progress_percent, Some(50.0));
    assert!(!r.synced, "behind");
    assert_eq!(r.latency_ms, Some(2.0));
    s.current = Some(1000);
    if let Some(h) = &mut s.head {
        h.time = Some(now.duration_since(UNIX_EPOCH).unwrap().as_secs_f64() - 5.0);
    }
    let r = crate::from_status(&cfg, "u".into(), s.clone(), Duration::ZERO, now);
    assert!(r.synced, "caught up, peers, fresh head");
    s.peers = Some(0);
    let r = crate::from_status(&cfg, "u".into(), s, Duration::ZERO, now);
    assert!(!r.synced, "no peers is never synced");
}
