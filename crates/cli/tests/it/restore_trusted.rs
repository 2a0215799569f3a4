//! `restore --check-against`: a snapshot whose head is on the trusted node's chain is
//! restored; one from another branch is refused with both hashes, before anything is written.
use std::time::Duration;

use crate::backup::{ManagedNode, ok, snapshots_json};
use crate::support::*;

/// A zenon sim on the managed node's chain (seed 5) standing at 100,000, forked or not.
fn trusted(dir: &std::path::Path, extra: &str) -> SimProc {
    let scenario = format!(
        "seed = 5\nstart_height = 100000\ntip_height = 100000\nblock_time = \"1h\"\n{extra}"
    );
    SimProc::start(SimSpec {
        kind: "zenon",
        scenario: Some(&scenario),
        speed: 1.0,
        data_dir: dir,
        port: 0,
    })
}

#[test]
fn restore_refuses_a_snapshot_from_another_branch_and_accepts_the_trusted_one() {
    let tmp = tempfile::tempdir().unwrap();
    let node = ManagedNode::new(tmp.path());
    wait_until("some blocks", Duration::from_secs(30), || {
        node.height() > 50
    });
    ok(&node.nw(&["init"]));
    ok(&node.nw(&["backup", "--node", "znn"]));
    let snap = snapshots_json(&node)[0].clone();
    let (height, hash) = (
        snap["height"].as_u64().unwrap(),
        snap["head_hash"].as_str().unwrap().to_string(),
    );
    let good = trusted(&tmp.path().join("good"), "");
    let forked = trusted(
        &tmp.path().join("forked"),
        &format!("fork_at = {}\n", height / 2),
    );
    let target = tmp.path().join("restored");
    let t = target.to_str().unwrap();

    let out = node.nw(&[
        "restore",
        "latest",
        "--target",
        t,
        "--check-against",
        &format!("zenon@{}", forked.url),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("refused") && err.contains(&hash) && err.contains(&format!("height {height}")),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!target.exists(), "nothing written before the check");

    // A bare URL speaks the snapshot's kind.
    let out = ok(&node.nw(&[
        "restore",
        "latest",
        "--target",
        t,
        "--check-against",
        &good.url,
    ]));
    assert!(
        out.contains(&format!("same block {hash} at height {height}")),
        "{out}"
    );
    assert!(target.join("nom").is_dir(), "restored");

    // A trusted node below the snapshot's height cannot vouch for it.
    let low = SimProc::start(SimSpec {
        kind: "zenon",
        scenario: Some("seed = 5\nstart_height = 10\ntip_height = 10\nblock_time = \"1h\"\n"),
        speed: 1.0,
        data_dir: &tmp.path().join("low"),
        port: 0,
    });
    let out = node.nw(&[
        "restore",
        "latest",
        "--target",
        &format!("{t}-2"),
        "--check-against",
        &low.url,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!("has no block at height {height}")),
        "{}",
        stderr(&out)
    );
}
