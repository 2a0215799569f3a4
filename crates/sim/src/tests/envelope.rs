//! JSON-RPC 2.0 envelope semantics, without a server.

use serde_json::{Value, json};

use crate::chain::Chain;
use crate::clock::ChainClock;
use crate::dialect::Dialect;
use crate::jsonrpc::{MAX_BATCH, handle};
use crate::scenario::Scenario;
use crate::state::Snapshot;
use nodewarden_model::Kind;

fn setup(kind: Kind) -> (Dialect, Snapshot) {
    let sc = Scenario::default_for(kind);
    let clock = ChainClock {
        anchor_ms: 0,
        anchor_tip: 100,
        block_time_ms: 1000,
        speed: 1.0,
    };
    let chain = Chain::new(sc.seed, sc.chain_id);
    let snap = Snapshot {
        height: 50,
        tip: 100,
        starting: 1,
        peers: 12,
        head_hash: chain.hash(50),
        stall: None,
    };
    (
        Dialect::new(kind, &sc, chain, clock, Default::default()),
        snap,
    )
}

fn answer(kind: Kind, body: &str) -> Option<Value> {
    let (d, s) = setup(kind);
    handle(body.as_bytes(), &d, &s).map(|b| serde_json::from_slice(&b).expect("valid JSON answer"))
}

#[test]
fn ids_are_echoed_verbatim() {
    for id in [r#"1"#, r#""abc""#, r#"null"#, r#"-7"#, r#"1.5"#] {
        let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"eth_blockNumber"}}"#);
        let v = answer(Kind::Ethereum, &body).unwrap();
        assert_eq!(v["id"], serde_json::from_str::<Value>(id).unwrap());
        assert_eq!(v["result"], "0x32");
        assert_eq!(v["jsonrpc"], "2.0");
    }
}

#[test]
fn error_codes_follow_json_rpc_and_each_server_family() {
    let e = |kind, body| answer(kind, body).unwrap()["error"].clone();
    assert_eq!(
        e(Kind::Zenon, "{"),
        json!({"code": -32700, "message": "parse error"})
    );
    assert_eq!(
        e(Kind::Substrate, "[1,"),
        json!({"code": -32700, "message": "Parse error"})
    );
    assert_eq!(e(Kind::Zenon, "7")["code"], -32600);
    assert_eq!(
        e(Kind::Zenon, r#"{"jsonrpc":"2.0","id":1}"#)["code"],
        -32600
    );
    assert_eq!(
        e(
            Kind::Zenon,
            r#"{"jsonrpc":"1.0","id":1,"method":"stats.syncInfo"}"#
        )["code"],
        -32600
    );
    assert_eq!(
        e(
            Kind::Zenon,
            r#"{"jsonrpc":"2.0","id":{},"method":"stats.syncInfo"}"#
        )["code"],
        -32600
    );
    assert_eq!(
        e(
            Kind::Zenon,
            r#"{"jsonrpc":"2.0","id":1,"method":"ledger.nope"}"#
        ),
        json!({"code": -32601, "message": "the method ledger.nope does not exist/is not available"})
    );
    assert_eq!(
        e(Kind::Substrate, r#"{"jsonrpc":"2.0","id":1,"method":"x"}"#)["message"],
        "Method not found"
    );
    assert_eq!(
        e(
            Kind::Ethereum,
            r#"{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":{"a":1}}"#
        )["code"],
        -32602
    );
    assert_eq!(
        e(
            Kind::Ethereum,
            r#"{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["latest",false,3]}"#
        )["message"],
        "too many arguments, want at most 2"
    );
}

#[test]
fn batches_answer_in_order_and_skip_notifications() {
    let v = answer(
        Kind::Zenon,
        r#"[{"jsonrpc":"2.0","id":2,"method":"stats.syncInfo"},
            {"jsonrpc":"2.0","method":"stats.syncInfo"},
            {"jsonrpc":"2.0","id":3,"method":"nope"},
            {"bad":true}]"#,
    )
    .unwrap();
    let items = v.as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["id"], 2);
    assert_eq!(items[0]["result"]["currentHeight"], 50);
    assert_eq!(items[1]["error"]["code"], -32601);
    assert_eq!(items[2]["error"]["code"], -32600);
    assert_eq!(items[2]["id"], Value::Null);

    assert_eq!(answer(Kind::Zenon, "[]").unwrap()["error"]["code"], -32600);
    assert!(
        answer(
            Kind::Zenon,
            r#"[{"jsonrpc":"2.0","method":"stats.syncInfo"}]"#
        )
        .is_none()
    );
    assert!(
        answer(
            Kind::Zenon,
            r#"{"jsonrpc":"2.0","method":"stats.syncInfo"}"#
        )
        .is_none()
    );
    let big = format!(
        "[{}]",
        vec![r#"{"jsonrpc":"2.0","id":1,"method":"x"}"#; MAX_BATCH + 1].join(",")
    );
    assert_eq!(
        answer(Kind::Ethereum, &big).unwrap()["error"]["message"],
        "batch too large"
    );
}
