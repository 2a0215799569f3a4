//! Parsers for hash-by-height answers: real shapes, and hostile ones that must be errors.
use serde_json::json;

use super::*;
use crate::transport::{JsonRpcError, parse_batch};

const H1: &str = "5b6c8e4bf4a1d8d5e1f3c0b2a49d7e6f8091a2b3c4d5e6f708192a3b4c5d6e7f";
const H2: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";

fn h(s: &str) -> Option<BlockHash> {
    parse_hash(s)
}

#[test]
fn hashes_parse_with_or_without_prefix_and_refuse_anything_else() {
    assert_eq!(parse_hash(H1), parse_hash(&format!("0x{H1}")));
    assert_eq!(parse_hash(H1).map(|b| b.to_string()).as_deref(), Some(H1));
    assert!(parse_hash(&H1[..62]).is_none());
    assert!(parse_hash(&format!("{}zz", &H1[..62])).is_none());
    assert!(parse_hash("").is_none());
    // Multi-byte characters must not be split into a panic.
    assert!(parse_hash(&"é".repeat(32)).is_none());
}

#[test]
fn zenon_pages_map_heights_and_leave_gaps_empty() {
    // go-zenon's shape: full momentums, `count` the frontier height.
    let v = json!({"list": [
        {"version": 1, "chainIdentifier": 1, "hash": H1, "previousHash": H2, "height": 10, "timestamp": 1700000000},
        {"version": 1, "chainIdentifier": 1, "hash": H2, "previousHash": H1, "height": 12, "timestamp": 1700000010}
    ], "count": 12});
    let got = parse_momentums(&v, 10, 4).unwrap();
    assert_eq!(got, vec![h(H1), None, h(H2), None]);
    assert_eq!(
        parse_momentums(&json!({"list": null, "count": 3}), 10, 4).unwrap(),
        vec![None; 4]
    );
}

#[test]
fn zenon_hostile_pages_are_errors() {
    let item = |height: u64, hash: &str| json!({"height": height, "hash": hash});
    let cases = [
        (json!({"list": [item(9, H1)]}), "outside"),
        (
            json!({"list": [item(11, H1), item(10, H2)]}),
            "out of order",
        ),
        (
            json!({"list": [item(10, H1), item(10, H2)]}),
            "out of order",
        ),
        (json!({"list": [item(10, "0xnothex")]}), "not 32 bytes"),
        (
            json!({"list": [{"height": 10, "hash": 5}]}),
            "should be a string",
        ),
        (json!({"list": [{"hash": H1}]}), "height"),
        (
            json!({"list": [item(10, H1), item(11, H1), item(12, H1)]}),
            "3 momentums for a count of 2",
        ),
        (json!({"list": "x"}), "should be an array"),
        (json!({"count": 1}), "missing"),
        (json!([1, 2]), "expected an object"),
    ];
    for (v, want) in cases {
        let n = if want.starts_with('3') { 2 } else { 4 };
        let e = parse_momentums(&v, 10, n).unwrap_err().to_string();
        assert!(e.contains(want) && e.contains(ZENON_BY_HEIGHT), "{v}: {e}");
    }
}

#[test]
fn ethereum_batch_answers_come_back_in_call_order() {
    // Out of order on the wire, as some proxies answer.
    let body = format!(
        r#"[{{"jsonrpc":"2.0","id":8,"result":null}},
            {{"jsonrpc":"2.0","id":7,"result":{{"number":"0x1f","hash":"0x{H1}","parentHash":"0x{H2}"}}}}]"#
    );
    let answers = parse_batch(ETH_BY_NUMBER, body.as_bytes(), 7, 2).unwrap();
    let got: Vec<_> = answers
        .iter()
        .zip(31..)
        .map(|(a, h)| parse_eth_block(a, h).unwrap())
        .collect();
    assert_eq!(got, vec![h(H1), None]);
}

#[test]
fn ethereum_hostile_answers_are_errors() {
    for (body, n, want) in [
        (
            r#"[{"jsonrpc":"2.0","id":1,"result":null}]"#,
            2,
            "1 answers to a batch of 2",
        ),
        (
            r#"[{"jsonrpc":"2.0","id":1,"result":null},{"jsonrpc":"2.0","id":1,"result":null}]"#,
            2,
            "two answers",
        ),
        (
            r#"[{"jsonrpc":"2.0","id":99,"result":null}]"#,
            1,
            "unknown id",
        ),
        (
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"batch too large"}}"#,
            1,
            "batch refused",
        ),
        (r#"{"x":1}"#, 1, "neither `result` nor `error`"),
        ("nope", 1, "not JSON"),
    ] {
        let e = parse_batch(ETH_BY_NUMBER, body.as_bytes(), 1, n)
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{body}: {e}");
    }
    let block = |number: &str, hash: &str| Ok(json!({"number": number, "hash": hash}));
    let cases = [
        (block("0x2", &format!("0x{H1}")), "got number Some(2)"),
        (block("0x1", "0x1234"), "not 32 bytes"),
        (Ok(json!("0xabc")), "expected a block"),
        (
            Err(JsonRpcError {
                code: -32000,
                message: "header not found".into(),
            }),
            "header not found",
        ),
    ];
    for (a, want) in cases {
        let e = parse_eth_block(&a, 1).unwrap_err().to_string();
        assert!(e.contains(want), "{e}");
    }
}

#[test]
fn substrate_lists_need_one_entry_per_number() {
    let v = json!([format!("0x{H1}"), null, format!("0x{H2}")]);
    assert_eq!(
        parse_substrate_hashes(&v, 5, 3).unwrap(),
        vec![h(H1), None, h(H2)]
    );
    for (v, want) in [
        (json!([format!("0x{H1}")]), "1 hashes for 3"),
        (json!(format!("0x{H1}")), "expected a list"),
        (json!(["0x12", null, null]), "height 5"),
        (json!([null, 7, null]), "height 6"),
    ] {
        let e = parse_substrate_hashes(&v, 5, 3).unwrap_err().to_string();
        assert!(e.contains(want) && e.contains(SUBSTRATE_HASH), "{v}: {e}");
    }
}
