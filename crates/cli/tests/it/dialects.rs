//! The three dialects against live sims: `watch --once --json` agrees with the node's own
//! answers, read here with a separate minimal client.
use serde_json::Value;

use crate::support::*;

fn once_json(node: &str) -> Value {
    let out = run(&["watch", "--once", "--json", "--node", node]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    v[0].clone()
}

fn num(v: &Value) -> u64 {
    match v {
        Value::Number(n) => n.as_u64().unwrap(),
        Value::String(s) => u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap(),
        other => panic!("not a number: {other}"),
    }
}

const CONTRACT_KEYS: [&str; 13] = [
    "name",
    "kind",
    "url",
    "ok",
    "error",
    "state",
    "current",
    "target",
    "peers",
    "synced",
    "head_hash",
    "head_time",
    "client_version",
];

#[test]
fn zenon_sim_and_watch_agree() {
    let dir = tempfile::tempdir().unwrap();
    let sim = SimProc::quick("zenon", &dir.path().join("znn"));
    let before = num(&rpc(&sim.url, "stats.syncInfo", "[]")["result"]["currentHeight"]);
    let v = once_json(&format!("znn=zenon@{}", sim.url));
    let after = num(&rpc(&sim.url, "stats.syncInfo", "[]")["result"]["currentHeight"]);
    for key in CONTRACT_KEYS {
        assert!(v.get(key).is_some(), "missing key {key}: {v}");
    }
    assert_eq!(
        (v["name"].as_str(), v["kind"].as_str(), v["ok"].as_bool()),
        (Some("znn"), Some("zenon"), Some(true))
    );
    let current = num(&v["current"]);
    assert!(
        before <= current && current <= after,
        "{before} <= {current} <= {after}"
    );
    let target = num(&v["target"]);
    assert!(target >= current);
    // The head hash is the one the node gives for that height.
    let h = num(&v["head_height"]);
    let m = rpc(&sim.url, "ledger.getMomentumsByHeight", &format!("[{h},1]"));
    assert_eq!(m["result"]["list"][0]["hash"], v["head_hash"], "{m}");
    assert!(v["peers"].as_u64().unwrap() > 0);
    assert!(v["client_version"].as_str().unwrap().contains("sim"));
}

#[test]
fn ethereum_sim_and_watch_agree() {
    let dir = tempfile::tempdir().unwrap();
    let sim = SimProc::quick("ethereum", &dir.path().join("eth"));
    let v = once_json(&format!("eth=ethereum@{}", sim.url));
    let h = num(&v["head_height"]);
    let block = rpc(
        &sim.url,
        "eth_getBlockByNumber",
        &format!("[\"0x{h:x}\", false]"),
    );
    assert_eq!(block["result"]["hash"], v["head_hash"]);
    assert_eq!(
        num(&block["result"]["timestamp"]) as f64,
        v["head_time"].as_f64().unwrap()
    );
    let syncing = &rpc(&sim.url, "eth_syncing", "[]")["result"];
    if syncing.is_object() {
        assert!(num(&syncing["highestBlock"]) >= num(&v["target"]));
    }
    assert!(v["peers"].as_u64().is_some());
}

#[test]
fn substrate_sim_and_watch_agree() {
    let dir = tempfile::tempdir().unwrap();
    let sim = SimProc::quick("substrate", &dir.path().join("sub"));
    let v = once_json(&format!("xx=substrate@{}", sim.url));
    let h = num(&v["head_height"]);
    let hash = rpc(&sim.url, "chain_getBlockHash", &format!("[{h}]"));
    assert_eq!(hash["result"], v["head_hash"]);
    let header = rpc(
        &sim.url,
        "chain_getHeader",
        &format!("[{}]", hash["result"]),
    );
    assert_eq!(num(&header["result"]["number"]), h, "hex header number");
    assert!(
        v["head_time"].as_f64().is_some(),
        "timestamp from Timestamp::Now storage"
    );
    let state = rpc(&sim.url, "system_syncState", "[]");
    assert!(
        state["result"]["currentBlock"].is_u64(),
        "plain numbers: {state}"
    );
}

#[test]
fn auto_detects_every_dialect() {
    let dir = tempfile::tempdir().unwrap();
    for kind in ["zenon", "ethereum", "substrate"] {
        let sim = SimProc::quick(kind, &dir.path().join(kind));
        let v = once_json(&format!("n=auto@{}", sim.url));
        assert_eq!(v["kind"], kind, "{v}");
    }
}

/// A node that has reached the tip is synced; one kept below it with no peers is not,
/// whatever it says.
#[test]
fn synced_is_derived() {
    let dir = tempfile::tempdir().unwrap();
    let synced = "kind = \"zenon\"\nstart_height = 1000\ntip_height = 1000\nblock_time = \"10s\"\npeers = 12\n";
    let sim = SimProc::start(SimSpec {
        kind: "zenon",
        scenario: Some(synced),
        speed: 1.0,
        data_dir: &dir.path().join("a"),
        port: 0,
    });
    let v = once_json(&format!("a=zenon@{}", sim.url));
    assert_eq!(
        (v["state"].as_str(), v["synced"].as_bool()),
        (Some("done"), Some(true)),
        "{v}"
    );

    let lonely = "kind = \"zenon\"\nstart_height = 1000\ntip_height = 1000\nblock_time = \"10s\"\npeers = 0\n";
    let sim = SimProc::start(SimSpec {
        kind: "zenon",
        scenario: Some(lonely),
        speed: 1.0,
        data_dir: &dir.path().join("b"),
        port: 0,
    });
    let v = once_json(&format!("b=zenon@{}", sim.url));
    assert_eq!(v["state"], "not-enough-peers", "{v}");
    assert_eq!(v["synced"], false);
    assert_eq!(
        v["target"],
        Value::Null,
        "target 0 without peers reads as unknown"
    );
}
