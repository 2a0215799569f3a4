//! A whole `Sim` in process: start, sync, stop, restart, locks and bad options.

use std::path::Path;
use std::time::Duration;

use super::{TempDir, rpc, wait_until};
use crate::chain::Chain;
use crate::store::ChainDb;
use crate::{Kind, Phase, Scenario, Sim, SimError, SimOptions, Stall, StallCause, Until};

fn scenario(kind: Kind, rate: f64) -> Scenario {
    Scenario {
        kind,
        tip_height: 1_000_000,
        phases: vec![Phase {
            until: Until::Tip,
            rate,
            batch: 1,
        }],
        ..Scenario::default()
    }
}

fn opts(dir: &Path, scenario: Scenario, speed: f64) -> SimOptions {
    SimOptions {
        kind: None,
        scenario,
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_path_buf(),
        speed,
    }
}

fn stored_height(kind: Kind, dir: &Path, sc: &Scenario) -> u64 {
    let chain = Chain::new(sc.seed, sc.chain_id);
    let mut store = ChainDb::open(kind, dir, &sc.chain_name, chain, 512).unwrap();
    let h = store.meta().height.unwrap();
    store.close(h).unwrap();
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_resumes_at_the_stored_height_and_the_tip_keeps_moving() {
    let tmp = TempDir::new("restart");
    let fast = scenario(Kind::Zenon, 100_000.0);
    let sim = Sim::start(opts(tmp.path(), fast.clone(), 1.0))
        .await
        .unwrap();
    assert_eq!(sim.kind(), Kind::Zenon);
    wait_until(20, "2000 blocks", || sim.height() > 2_000).await;
    let tip_before = sim.tip();
    sim.shutdown().await.unwrap();

    let stored = stored_height(Kind::Zenon, tmp.path(), &fast);
    assert!(stored > 2_000, "stored {stored}");
    // A crawling rate keeps the height where the database says it is.
    let slow = scenario(Kind::Zenon, 0.001);
    let sim = Sim::start(opts(tmp.path(), slow, 1.0)).await.unwrap();
    assert_eq!(sim.height(), stored);
    assert!(sim.tip() >= tip_before);
    let a = rpc(
        sim.local_addr(),
        r#"{"jsonrpc":"2.0","id":1,"method":"stats.syncInfo","params":[]}"#,
    )
    .await
    .json();
    assert_eq!(a["result"]["currentHeight"], stored);
    assert_eq!(a["result"]["state"], 1);
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sim_on_the_same_dir_is_refused_until_the_first_stops() {
    let tmp = TempDir::new("lock");
    let sc = scenario(Kind::Ethereum, 10.0);
    let first = Sim::start(opts(tmp.path(), sc.clone(), 1.0)).await.unwrap();
    let err = Sim::start(opts(tmp.path(), sc.clone(), 1.0))
        .await
        .err()
        .expect("second sim refused");
    assert!(matches!(err, SimError::Locked { .. }), "{err}");
    let d = tmp.path().display();
    assert_eq!(
        err.to_string(),
        format!("data dir {d} is in use: {d}/.lock is held by another process")
    );
    first.shutdown().await.unwrap();
    let again = Sim::start(opts(tmp.path(), sc, 1.0)).await.unwrap();
    again.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_options_fail_with_one_line_errors_naming_the_culprit() {
    let tmp = TempDir::new("bad-opts");
    let sc = scenario(Kind::Zenon, 10.0);
    let a = Sim::start(opts(&tmp.path().join("a"), sc.clone(), 1.0))
        .await
        .unwrap();

    let mut busy = opts(&tmp.path().join("b"), sc.clone(), 1.0);
    busy.listen = a.local_addr();
    let err = Sim::start(busy).await.err().unwrap();
    let msg = err.to_string();
    assert!(
        msg.contains(&a.local_addr().to_string()) && msg.contains("in use"),
        "{msg}"
    );
    // The failed start released its data dir.
    let b = Sim::start(opts(&tmp.path().join("b"), sc.clone(), 1.0))
        .await
        .unwrap();
    b.shutdown().await.unwrap();
    a.shutdown().await.unwrap();

    let err = Sim::start(opts(tmp.path(), sc.clone(), 0.0))
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("speed"), "{err}");

    std::fs::write(tmp.path().join("file"), b"x").unwrap();
    let under_file = tmp.path().join("file").join("dir");
    let err = Sim::start(opts(&under_file, sc.clone(), 1.0))
        .await
        .err()
        .unwrap();
    assert!(matches!(err, SimError::DataDir { .. }));
    assert!(err.to_string().contains(&under_file.display().to_string()));

    let mut bad = sc;
    bad.phases[0].rate = 0.0;
    let err = Sim::start(opts(tmp.path(), bad, 1.0)).await.err().unwrap();
    assert!(err.to_string().contains("phase[0].rate"), "{err}");
    assert!(!err.to_string().contains('\n'));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peers_stall_drops_peers_then_does_not_repeat_after_restart() {
    let tmp = TempDir::new("stall");
    let mut sc = scenario(Kind::Zenon, 20_000.0);
    sc.stalls = vec![Stall {
        at: 500,
        duration: Duration::from_secs(10),
        cause: StallCause::Peers,
    }];
    // 10 s of sim time at speed 10: one real second.
    let sim = Sim::start(opts(tmp.path(), sc.clone(), 10.0))
        .await
        .unwrap();
    let addr = sim.local_addr();
    wait_until(10, "the stall height", || sim.height() == 500).await;
    let a = rpc(
        addr,
        r#"{"jsonrpc":"2.0","id":7,"method":"stats.syncInfo"}"#,
    )
    .await
    .json();
    assert_eq!(a["result"]["state"], 3);
    assert_eq!(a["result"]["targetHeight"], 0);
    let n = rpc(
        addr,
        r#"{"jsonrpc":"2.0","id":8,"method":"stats.networkInfo"}"#,
    )
    .await
    .json();
    assert_eq!(n["result"]["numPeers"], 0);
    wait_until(10, "the stall to end", || sim.height() > 500).await;
    sim.shutdown().await.unwrap();

    let sim = Sim::start(opts(tmp.path(), sc, 10.0)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let a = rpc(
        sim.local_addr(),
        r#"{"jsonrpc":"2.0","id":1,"method":"stats.syncInfo"}"#,
    )
    .await
    .json();
    assert_ne!(a["result"]["state"], 3);
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_writes_its_layout_and_answers_in_its_dialect() {
    let tmp = TempDir::new("layouts");
    let cases = [
        (Kind::Zenon, "nom/CURRENT", "ledger.getFrontierMomentum"),
        (Kind::Ethereum, "database/CURRENT", "eth_blockNumber"),
        (
            Kind::Substrate,
            "chains/simnet/db/full/CURRENT",
            "system_syncState",
        ),
    ];
    for (kind, db_file, method) in cases {
        let dir = tmp.path().join(kind.as_str());
        let mut o = opts(&dir, scenario(Kind::Zenon, 500.0), 1.0);
        o.kind = Some(kind);
        let sim = Sim::start(o).await.unwrap();
        assert_eq!(sim.kind(), kind);
        let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}"}}"#);
        let a = rpc(sim.local_addr(), &body).await.json();
        assert!(a.get("result").is_some(), "{kind}: {a}");
        sim.shutdown().await.unwrap();
        assert!(dir.join(db_file).exists(), "{kind}: {db_file}");
        assert!(dir.join(".lock").exists());
    }
    let z = tmp.path().join("zenon");
    for f in [
        "network-private-key",
        "config.json",
        "genesis.json",
        "network",
        "cache/CURRENT",
        "consensus/CURRENT",
    ] {
        assert!(z.join(f).exists(), "zenon {f}");
    }
    assert_eq!(std::fs::read_dir(z.join("wallet")).unwrap().count(), 1);
    let e = tmp.path().join("ethereum");
    assert!(e.join("key").is_file() && e.join("caches").is_dir());
    let s = tmp.path().join("substrate/chains/simnet");
    assert_eq!(
        std::fs::read(s.join("network/secret_ed25519"))
            .unwrap()
            .len(),
        32
    );
    assert_eq!(std::fs::read_dir(s.join("keystore")).unwrap().count(), 1);
}
