//! The sim as a process: clean stop on SIGTERM, resume from the stored height, the data-dir
//! lock, and recovery after SIGKILL.
use std::time::Duration;

use crate::support::*;

const SYNCING: &str = "kind = \"zenon\"\nseed = 3\nstart_height = 1\ntip_height = 1000000\nblock_time = \"10s\"\npeers = 12\n[[phase]]\nuntil = \"tip\"\nrate = 40\n";

fn height(url: &str) -> u64 {
    rpc(url, "stats.syncInfo", "[]")["result"]["currentHeight"]
        .as_u64()
        .unwrap()
}

fn start(dir: &std::path::Path) -> SimProc {
    SimProc::start(SimSpec {
        kind: "zenon",
        scenario: Some(SYNCING),
        speed: 50.0,
        data_dir: dir,
        port: 0,
    })
}

#[test]
fn restart_resumes_from_the_stored_height() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("znn");
    let sim = start(&dir);
    wait_until("some blocks", Duration::from_secs(20), || {
        height(&sim.url) > 500
    });
    let (status, lines) = sim.stop();
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
    let stopped: u64 = lines
        .iter()
        .find_map(|l| l.strip_prefix("stopped at height "))
        .and_then(|h| h.trim().parse().ok())
        .unwrap_or_else(|| panic!("no stop line in {lines:?}"));
    assert!(stopped > 500);
    for expected in [
        "nom",
        "consensus",
        "network",
        "network-private-key",
        "config.json",
        "wallet",
        ".lock",
    ] {
        assert!(dir.join(expected).exists(), "zenon layout lacks {expected}");
    }

    let sim = start(&dir);
    let resumed = height(&sim.url);
    assert!(
        resumed >= stopped,
        "resumed at {resumed}, stopped at {stopped}"
    );
    assert!(
        resumed < stopped + 200,
        "resumed at {resumed}, far past {stopped}: not from the DB?"
    );
}

#[test]
fn a_second_sim_on_the_same_dir_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("znn");
    let _first = start(&dir);
    let out = run(&[
        "sim",
        "--kind",
        "zenon",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        dir.to_str().unwrap(),
    ]);
    assert_ne!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(
        err.contains(".lock") && err.contains(dir.to_str().unwrap()),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn sigkill_then_restart_recovers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("znn");
    let sim = start(&dir);
    wait_until("some blocks", Duration::from_secs(20), || {
        height(&sim.url) > 300
    });
    let seen = height(&sim.url);
    sim.signal(libc::SIGKILL);
    drop(sim);
    let sim = start(&dir);
    let h = height(&sim.url);
    // LevelDB replays its log: nothing acknowledged in an earlier batch is lost.
    assert!(
        h + 50 >= seen,
        "after SIGKILL resumed at {h}, had seen {seen}"
    );
}

#[test]
fn every_kind_writes_its_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let layouts: [(&str, &[&str]); 2] = [
        ("ethereum", &["database/CURRENT", "caches", "key"]),
        ("substrate", &[]),
    ];
    for (kind, paths) in layouts {
        let dir = tmp.path().join(kind);
        let sim = SimProc::quick(kind, &dir);
        let (status, _) = sim.stop();
        assert!(status.success());
        for p in paths {
            assert!(dir.join(p).exists(), "{kind} layout lacks {p}");
        }
    }
    let chains = tmp.path().join("substrate/chains");
    let chain = std::fs::read_dir(&chains)
        .unwrap()
        .next()
        .expect("a chain dir")
        .unwrap()
        .path();
    assert!(
        chain.join("db/full/CURRENT").exists(),
        "substrate db at chains/<id>/db/full"
    );
}
