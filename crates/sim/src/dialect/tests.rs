//! Each dialect's answers against the shapes of real nodes' answers
//! (`fixtures/rpc`, copied from the shared reference set).

use serde_json::{Value, json};

use super::Dialect;
use crate::chain::Chain;
use crate::clock::ChainClock;
use crate::jsonrpc;
use crate::scenario::{Pillar, Scenario, StallCause};
use crate::state::Snapshot;
use nodewarden_model::Kind;

macro_rules! fixture {
    ($name:literal) => {
        serde_json::from_str::<Value>(include_str!(concat!("../../fixtures/rpc/", $name, ".json")))
            .unwrap()
    };
}

/// Same keys everywhere, same JSON types, hex strings where the fixture has hex.
fn assert_shape(expected: &Value, actual: &Value, path: &str) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            let mut ek: Vec<_> = e.keys().collect();
            let mut ak: Vec<_> = a.keys().collect();
            ek.sort();
            ak.sort();
            assert_eq!(ek, ak, "keys at {path}");
            for (k, v) in e {
                assert_shape(v, &a[k], &format!("{path}.{k}"));
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if let Some(first) = e.first() {
                for (i, item) in a.iter().enumerate() {
                    assert_shape(first, item, &format!("{path}[{i}]"));
                }
            }
        }
        (Value::String(e), Value::String(a)) => {
            assert_eq!(
                e.starts_with("0x"),
                a.starts_with("0x"),
                "0x prefix at {path}: {a}"
            );
            assert!(
                !e.is_empty() || a.is_empty() || path.ends_with("commit"),
                "{path}"
            );
        }
        (Value::Number(_), Value::Number(_))
        | (Value::Bool(_), Value::Bool(_))
        | (Value::Null, Value::Null) => {}
        _ => panic!("type at {path}: expected {expected}, got {actual}"),
    }
}

fn snap(height: u64, tip: u64, peers: u32) -> Snapshot {
    let chain = Chain::new(7, 1);
    Snapshot {
        height,
        tip,
        starting: 10,
        peers,
        head_hash: chain.hash(height),
        stall: None,
    }
}

fn dialect(kind: Kind, tweak: impl FnOnce(&mut Scenario)) -> Dialect {
    let mut sc = Scenario::default_for(kind);
    tweak(&mut sc);
    let clock = ChainClock {
        anchor_ms: 1_700_000_000_000,
        anchor_tip: 20_000,
        block_time_ms: 10_000,
        speed: 1.0,
    };
    Dialect::new(
        kind,
        &sc,
        Chain::new(sc.seed, sc.chain_id),
        clock,
        Default::default(),
    )
}

fn call(d: &Dialect, s: &Snapshot, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
    let out = jsonrpc::handle(body.as_bytes(), d, s).expect("an answer");
    serde_json::from_slice(&out).unwrap()
}

fn check(d: &Dialect, s: &Snapshot, method: &str, params: Value, fixture: Value) -> Value {
    let got = call(d, s, method, params);
    assert_shape(&fixture, &got, method);
    got["result"].clone()
}

#[test]
fn zenon_answers_match_go_zenon_shapes() {
    let d = dialect(Kind::Zenon, |_| {});
    let synced = snap(20_000, 20_000, 12);
    let syncing = snap(4_000, 20_000, 12);
    let r = check(
        &d,
        &synced,
        "stats.syncInfo",
        json!([]),
        fixture!("zenon.stats.syncInfo.done"),
    );
    assert_eq!(
        r,
        json!({"state": 2, "currentHeight": 20_000, "targetHeight": 20_000})
    );
    let r = check(
        &d,
        &syncing,
        "stats.syncInfo",
        json!([]),
        fixture!("zenon.stats.syncInfo.syncing"),
    );
    assert_eq!(r["state"], 1);
    // Few peers: state 3 overrides; no peers: the target is unknown.
    let r = call(&d, &snap(20_000, 20_000, 5), "stats.syncInfo", json!([]))["result"].clone();
    assert_eq!(
        (r["state"].as_u64(), r["targetHeight"].as_u64()),
        (Some(3), Some(20_000))
    );
    let mut none = snap(20_000, 20_000, 0);
    none.stall = Some(StallCause::Peers);
    check(
        &d,
        &none,
        "stats.syncInfo",
        json!([]),
        fixture!("zenon.stats.syncInfo.not-enough-peers"),
    );

    let m = check(
        &d,
        &syncing,
        "ledger.getFrontierMomentum",
        json!([]),
        fixture!("zenon.ledger.getFrontierMomentum"),
    );
    assert_eq!(m["height"], 4_000);
    let hash = m["hash"].as_str().unwrap();
    assert_eq!(hash.len(), 64);
    assert_eq!(m["timestamp"], 1_700_000_000 - 16_000 * 10);
    assert!(m["producer"].as_str().unwrap().starts_with("z1"));
    // Lookups by hash invert the hash; heights not yet synced are unknown.
    let by_hash = call(&d, &syncing, "ledger.getMomentumByHash", json!([hash]));
    assert_eq!(by_hash["result"]["height"], 4_000);
    let future = Chain::new(7, 1).hash(4_001);
    let r = call(
        &d,
        &syncing,
        "ledger.getMomentumByHash",
        json!([crate::encode::hex(&future)]),
    );
    assert_eq!(r["result"], Value::Null);

    let n = check(
        &d,
        &synced,
        "stats.networkInfo",
        json!([]),
        fixture!("zenon.stats.networkInfo"),
    );
    assert_eq!(n["numPeers"], 12);
    assert_eq!(n["peers"].as_array().unwrap().len(), 12);
    for p in n["peers"].as_array().unwrap() {
        let ip = p["ip"].as_str().unwrap();
        assert!(
            ["192.0.2.", "198.51.100.", "203.0.113."]
                .iter()
                .any(|r| ip.starts_with(r)),
            "{ip}"
        );
    }
    check(
        &d,
        &synced,
        "stats.processInfo",
        json!([]),
        fixture!("zenon.stats.processInfo"),
    );
}

#[test]
fn zenon_momentum_lists_and_pillars() {
    let d = dialect(Kind::Zenon, |sc| {
        sc.pillars = vec![Pillar {
            name: "Pillar1".into(),
            expected: 120,
            produced_ratio: 0.5,
            every: None,
            spread: 0,
        }];
    });
    let s = snap(100, 200, 12);
    let r = call(&d, &s, "ledger.getMomentumsByHeight", json!([95, 10]))["result"].clone();
    let heights: Vec<_> = r["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["height"].as_u64().unwrap())
        .collect();
    assert_eq!(
        heights,
        (95..=100).collect::<Vec<_>>(),
        "shorter list above the current height"
    );
    assert_eq!(r["count"], 100);
    assert_eq!(
        call(&d, &s, "ledger.getMomentumsByHeight", json!([1, 1025]))["error"]["code"],
        -32000
    );
    assert_eq!(
        call(&d, &s, "ledger.getMomentumsByHeight", json!([0, 1]))["error"]["code"],
        -32000
    );
    let e = call(&d, &s, "ledger.getMomentumsByHeight", json!(["x", 1]));
    assert_eq!(e["error"]["code"], -32602);

    let p = call(&d, &s, "embedded.pillar.getByName", json!(["Pillar1"]))["result"].clone();
    assert_eq!(p["name"], "Pillar1");
    assert_eq!(
        p["currentStats"],
        json!({"producedMomentums": 60, "expectedMomentums": 120})
    );
    for k in ["ownerAddress", "producerAddress", "withdrawAddress"] {
        assert_eq!(p[k].as_str().unwrap().len(), 40, "{k}");
    }
    let e = call(&d, &s, "embedded.pillar.getByName", json!(["Nobody"]));
    assert_eq!(e["error"]["code"], -32000);
    // With pillars named, they produce the momentums.
    let m = call(&d, &s, "ledger.getFrontierMomentum", json!([]))["result"].clone();
    assert_eq!(m["producer"], p["producerAddress"]);
}

#[test]
fn a_cadenced_pillar_produces_in_its_slots_only_and_counts_them() {
    let d = dialect(Kind::Zenon, |sc| {
        sc.start_height = 1;
        sc.pillars[0].every = Some(10);
        sc.pillars[0].spread = 2;
    });
    let s = snap(1_000, 1_000, 12);
    let p = call(&d, &s, "embedded.pillar.getByName", json!(["Pillar1"]))["result"].clone();
    let other = call(&d, &s, "embedded.pillar.getByName", json!(["Pillar2"]))["result"].clone();
    let r = call(&d, &s, "ledger.getMomentumsByHeight", json!([1, 1000]))["result"].clone();
    let mine: Vec<u64> = r["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["producer"] == p["producerAddress"])
        .map(|m| m["height"].as_u64().unwrap())
        .collect();
    assert_eq!(mine.len(), 100, "one slot in every 10 heights");
    assert!(mine.windows(2).all(|w| (6..=14).contains(&(w[1] - w[0]))));
    assert_eq!(
        p["currentStats"],
        json!({"producedMomentums": 100, "expectedMomentums": 100})
    );
    let theirs = r["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["producer"] == other["producerAddress"])
        .count();
    assert!(
        theirs > 800,
        "the plain pillar takes the other heights: {theirs}"
    );
}

#[test]
fn ethereum_answers_match_execution_client_shapes() {
    let d = dialect(Kind::Ethereum, |_| {});
    let synced = snap(20_000, 20_000, 25);
    let syncing = snap(4_000, 20_000, 25);
    let r = check(
        &d,
        &syncing,
        "eth_blockNumber",
        json!([]),
        fixture!("ethereum.eth_blockNumber"),
    );
    assert_eq!(r, "0xfa0");
    check(
        &d,
        &synced,
        "eth_syncing",
        json!([]),
        fixture!("ethereum.eth_syncing.done"),
    );
    let r = check(
        &d,
        &syncing,
        "eth_syncing",
        json!([]),
        fixture!("ethereum.eth_syncing.syncing"),
    );
    assert_eq!(
        (
            r["startingBlock"].as_str(),
            r["currentBlock"].as_str(),
            r["highestBlock"].as_str()
        ),
        (Some("0xa"), Some("0xfa0"), Some("0x4e20"))
    );
    let r = check(
        &d,
        &synced,
        "net_peerCount",
        json!([]),
        fixture!("ethereum.net_peerCount"),
    );
    assert_eq!(r, "0x19");
    let r = check(
        &d,
        &synced,
        "web3_clientVersion",
        json!([]),
        fixture!("ethereum.web3_clientVersion"),
    );
    assert!(r.as_str().unwrap().starts_with("nodewarden-sim/v"));
    assert_eq!(call(&d, &synced, "eth_chainId", json!([]))["result"], "0x1");
    assert_eq!(call(&d, &synced, "net_version", json!([]))["result"], "1");

    let b = call(
        &d,
        &syncing,
        "eth_getBlockByNumber",
        json!(["latest", false]),
    )["result"]
        .clone();
    assert_eq!(b["number"], "0xfa0");
    assert_eq!(b["transactions"], json!([]));
    let hash = b["hash"].as_str().unwrap();
    assert_eq!(hash.len(), 66);
    assert_eq!(
        b["timestamp"],
        format!("0x{:x}", 1_700_000_000u64 - 160_000)
    );
    let parent =
        call(&d, &syncing, "eth_getBlockByNumber", json!(["0xf9f", true]))["result"].clone();
    assert_eq!(b["parentHash"], parent["hash"]);
    assert_eq!(
        call(&d, &syncing, "eth_getBlockByHash", json!([hash, false]))["result"]["number"],
        "0xfa0"
    );
    assert_eq!(
        call(
            &d,
            &syncing,
            "eth_getBlockByNumber",
            json!(["0xfa1", false])
        )["result"],
        Value::Null
    );
    assert_eq!(
        call(
            &d,
            &syncing,
            "eth_getBlockByNumber",
            json!(["earliest", false])
        )["result"]["number"],
        "0x0"
    );
    assert_eq!(
        call(
            &d,
            &syncing,
            "eth_getBlockByNumber",
            json!(["finalized", false])
        )["result"]["number"],
        "0xf60"
    );
    assert_eq!(
        call(&d, &syncing, "eth_getBlockByNumber", json!(["12", false]))["error"]["code"],
        -32602
    );
    assert_eq!(
        call(&d, &syncing, "eth_getBlockByHash", json!(["0x12", false]))["error"]["code"],
        -32602
    );
}

#[test]
fn ethereum_quirks() {
    let d = dialect(Kind::Ethereum, |sc| {
        sc.eth_syncing_false_while_behind = true;
        sc.net_peer_count = false;
    });
    let syncing = snap(4_000, 20_000, 25);
    assert_eq!(
        call(&d, &syncing, "eth_syncing", json!([]))["result"],
        false
    );
    let e = call(&d, &syncing, "net_peerCount", json!([]));
    assert_eq!(e["error"]["code"], -32601);
    assert_eq!(
        e["error"]["message"],
        "the method net_peerCount does not exist/is not available"
    );
}

#[test]
fn substrate_answers_match_substrate_shapes() {
    let d = dialect(Kind::Substrate, |_| {});
    let syncing = snap(4_000, 20_000, 14);
    let r = check(
        &d,
        &syncing,
        "system_syncState",
        json!([]),
        fixture!("substrate.system_syncState"),
    );
    assert_eq!(
        r,
        json!({"startingBlock": 10, "currentBlock": 4_000, "highestBlock": 20_000})
    );
    let r = check(
        &d,
        &syncing,
        "system_health",
        json!([]),
        fixture!("substrate.system_health"),
    );
    assert_eq!(
        r,
        json!({"peers": 14, "isSyncing": true, "shouldHavePeers": true})
    );
    let h = check(
        &d,
        &syncing,
        "chain_getHeader",
        json!([]),
        fixture!("substrate.chain_getHeader"),
    );
    assert_eq!(h["number"], "0xfa0");

    let hash = call(&d, &syncing, "chain_getBlockHash", json!([3_999]))["result"].clone();
    assert_eq!(hash, h["parentHash"]);
    assert_eq!(
        call(&d, &syncing, "chain_getBlockHash", json!(["0xf9f"]))["result"],
        hash
    );
    assert_eq!(
        call(&d, &syncing, "chain_getBlockHash", json!([4_001]))["result"],
        Value::Null
    );
    let both = call(&d, &syncing, "chain_getBlockHash", json!([[3_999, 4_001]]))["result"].clone();
    assert_eq!(both, json!([hash, null]));
    let by_hash = call(&d, &syncing, "chain_getHeader", json!([hash]))["result"].clone();
    assert_eq!(by_hash["number"], "0xf9f");
    let fin = call(&d, &syncing, "chain_getFinalizedHead", json!([]))["result"].clone();
    let fin_header = call(&d, &syncing, "chain_getHeader", json!([fin]))["result"].clone();
    assert_eq!(fin_header["number"], "0xf9e");
    assert_eq!(
        call(&d, &syncing, "system_chain", json!([]))["result"],
        "simnet"
    );
    assert!(call(&d, &syncing, "system_version", json!([]))["result"].is_string());
    assert!(call(&d, &syncing, "system_name", json!([]))["result"].is_string());
    let e = call(&d, &syncing, "nope_nope", json!([]));
    assert_eq!(
        e["error"],
        json!({"code": -32601, "message": "Method not found"})
    );
    let e = call(&d, &syncing, "chain_getHeader", json!(["0xzz"]));
    assert_eq!(
        e["error"],
        json!({"code": -32602, "message": "Invalid params"})
    );
}
