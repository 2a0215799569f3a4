//! Every parser against the reference answers in `testdata/` (copied from the shared fixtures).
use serde_json::{Value, json};

use crate::error::ErrorKind;
use crate::transport::{JsonRpcError, parse_envelope};
use crate::{Kind, SyncState, ethereum, substrate, zenon};

fn fixture(name: &str) -> Value {
    let path = format!("{}/testdata/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    parse_envelope(name, &bytes)
        .expect("envelope")
        .expect("result")
}

fn not_found() -> Result<Value, JsonRpcError> {
    Err(JsonRpcError {
        code: -32601,
        message: "the method does not exist/is not available".into(),
    })
}

#[test]
fn zenon_syncing() {
    let s = zenon::parse(
        &fixture("zenon.stats.syncInfo.syncing"),
        &fixture("zenon.ledger.getFrontierMomentum"),
        &Ok(fixture("zenon.stats.networkInfo")),
        &Ok(fixture("zenon.stats.processInfo")),
    )
    .unwrap();
    assert_eq!(s.kind, Kind::Zenon);
    assert_eq!(s.state, SyncState::Syncing);
    assert_eq!(
        (s.current, s.target, s.peers),
        (Some(4218812), Some(9871455), Some(2))
    );
    let head = s.head.unwrap();
    assert_eq!(head.height, 4218812);
    assert!(head.hash.starts_with("3c1f5a0e"));
    assert_eq!(head.time, Some(1672531200.0));
    assert_eq!(s.client_version.as_deref(), Some("v0.0.8"));
}

#[test]
fn zenon_done_and_not_enough_peers() {
    let frontier = fixture("zenon.ledger.getFrontierMomentum");
    let done = zenon::parse(
        &fixture("zenon.stats.syncInfo.done"),
        &frontier,
        &not_found(),
        &not_found(),
    )
    .unwrap();
    assert_eq!(done.state, SyncState::Done);
    assert_eq!(done.target, Some(9871455));
    assert_eq!(done.peers, None, "networkInfo failing leaves peers unknown");
    let nep = zenon::parse(
        &fixture("zenon.stats.syncInfo.not-enough-peers"),
        &frontier,
        &not_found(),
        &not_found(),
    )
    .unwrap();
    assert_eq!(nep.state, SyncState::NotEnoughPeers);
    assert_eq!(nep.target, None, "target 0 without peers means unknown");
    assert!(!nep.synced(
        std::time::SystemTime::now(),
        std::time::Duration::from_secs(1 << 40)
    ));
}

#[test]
fn ethereum_syncing_and_done() {
    let latest = json!({"number": "0x1a2b3c", "hash": "0xabc", "timestamp": "0x64b0f0a0"});
    let syncing = ethereum::parse(
        &fixture("ethereum.eth_syncing.syncing"),
        &latest,
        &Ok(fixture("ethereum.net_peerCount")),
        &Ok(fixture("ethereum.web3_clientVersion")),
    )
    .unwrap();
    assert_eq!(syncing.state, SyncState::Syncing);
    assert_eq!(
        (syncing.current, syncing.target, syncing.peers),
        (Some(0x1a2b3c), Some(0x14d3f5a), Some(25))
    );
    assert_eq!(syncing.head.as_ref().unwrap().time, Some(0x64b0f0a0 as f64));
    assert!(syncing.client_version.unwrap().starts_with("besu/"));

    let done = ethereum::parse(
        &fixture("ethereum.eth_syncing.done"),
        &latest,
        &not_found(),
        &not_found(),
    )
    .unwrap();
    assert_eq!(done.state, SyncState::Done);
    assert_eq!(
        done.current,
        Some(fixture_number("ethereum.eth_blockNumber"))
    );
    assert_eq!(
        done.target, None,
        "eth_syncing=false says nothing about the chain tip"
    );
    assert_eq!(
        done.peers, None,
        "anvil has no net_peerCount: unknown, not an error"
    );
}

fn fixture_number(name: &str) -> u64 {
    let v = fixture(name);
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

#[test]
fn substrate_numbers_and_hex_header() {
    let hash = "0x55aa";
    let stamp = Ok(json!("0xa086010000000000"));
    let head = substrate::head(hash, &fixture("substrate.chain_getHeader"), &stamp).unwrap();
    assert_eq!(head.height, 0x125c90, "header numbers are hex");
    assert_eq!(
        head.time,
        Some(100.0),
        "timestamp storage is LE milliseconds"
    );
    let s = substrate::parse(
        &fixture("substrate.system_syncState"),
        &fixture("substrate.system_health"),
        head,
        &Ok(json!("0.2.5")),
        &Ok(json!("xxnetwork")),
    )
    .unwrap();
    assert_eq!(s.state, SyncState::Syncing);
    assert_eq!(
        (s.current, s.target, s.peers),
        (Some(1203344), Some(17344021), Some(14))
    );
    assert_eq!(s.client_version.as_deref(), Some("xxnetwork/0.2.5"));
}

#[test]
fn substrate_without_peers_or_target() {
    let head = substrate::head("0x1", &json!({"number": "0x10"}), &not_found()).unwrap();
    assert_eq!(head.time, None);
    let s = substrate::parse(
        &json!({"startingBlock": 0, "currentBlock": 16, "highestBlock": null}),
        &json!({"peers": 0, "isSyncing": false, "shouldHavePeers": true}),
        head,
        &not_found(),
        &not_found(),
    )
    .unwrap();
    assert_eq!(s.state, SyncState::NotEnoughPeers);
    assert_eq!(s.target, None);
}

#[test]
fn shape_errors_name_method_and_field() {
    let e = zenon::parse(
        &json!({"state": 1, "currentHeight": "12"}),
        &json!({}),
        &not_found(),
        &not_found(),
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("stats.syncInfo") && msg.contains("currentHeight"),
        "{msg}"
    );
    let e = ethereum::parse(
        &json!("yes"),
        &json!({"number": "0x1", "hash": "0x", "timestamp": "0x1"}),
        &not_found(),
        &not_found(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("eth_syncing"), "{e}");
    let e =
        ethereum::block(&json!({"number": "12", "hash": "0x", "timestamp": "0x1"})).unwrap_err();
    assert!(
        e.to_string().contains("`number` should be a hex quantity"),
        "{e}"
    );
}

#[test]
fn envelopes() {
    assert!(matches!(
        parse_envelope("m", b"<html>oops"),
        Err(ErrorKind::Malformed { .. })
    ));
    assert!(matches!(
        parse_envelope("m", b"[1,2]"),
        Err(ErrorKind::Malformed { .. })
    ));
    assert!(matches!(
        parse_envelope("m", br#"{"jsonrpc":"2.0","id":1}"#),
        Err(ErrorKind::Malformed { .. })
    ));
    let e = parse_envelope("m", br#"{"id":1,"error":{"code":-32601,"message":"nope"}}"#)
        .unwrap()
        .unwrap_err();
    assert!(e.is_method_not_found());
    let ok = parse_envelope("m", br#"{"id":1,"result":null,"error":null}"#).unwrap();
    assert_eq!(ok, Ok(Value::Null));
}
