//! History calls on a forked chain and with heights left unserved, in every dialect.

use serde_json::{Value, json};

use super::Dialect;
use crate::chain::Chain;
use crate::clock::ChainClock;
use crate::encode::{hex, hex0x};
use crate::jsonrpc;
use crate::scenario::Scenario;
use crate::state::Snapshot;
use nodewarden_model::Kind;

fn dialect(kind: Kind, sc: &Scenario) -> Dialect {
    let clock = ChainClock {
        anchor_ms: 1_700_000_000_000,
        anchor_tip: 20_000,
        block_time_ms: 10_000,
        speed: 1.0,
    };
    Dialect::new(kind, sc, Chain::for_scenario(sc), clock, Default::default())
}

fn snap(height: u64) -> Snapshot {
    Snapshot {
        height,
        tip: height,
        starting: 1,
        peers: 12,
        head_hash: [0; 32],
        stall: None,
    }
}

fn result(d: &Dialect, s: &Snapshot, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
    let out = jsonrpc::handle(body.as_bytes(), d, s).expect("an answer");
    let v: Value = serde_json::from_slice(&out).unwrap();
    v["result"].clone()
}

/// The hash each dialect serves at `h`, `None` for null.
fn served(kind: Kind, d: &Dialect, s: &Snapshot, h: u64) -> Option<String> {
    let v = match kind {
        Kind::Zenon => {
            let r = result(d, s, "ledger.getMomentumsByHeight", json!([h, 1]));
            r["list"]
                .get(0)
                .map(|m| m["hash"].clone())
                .unwrap_or(Value::Null)
        }
        Kind::Ethereum => result(
            d,
            s,
            "eth_getBlockByNumber",
            json!([format!("0x{h:x}"), false]),
        )["hash"]
            .clone(),
        Kind::Substrate => result(d, s, "chain_getBlockHash", json!([[h]]))[0].clone(),
    };
    v.as_str().map(str::to_string)
}

#[test]
fn a_forked_node_serves_the_trunk_below_the_fork_and_its_branch_from_it() {
    for kind in [Kind::Zenon, Kind::Ethereum, Kind::Substrate] {
        let honest = Scenario::default_for(kind);
        let forked = Scenario {
            fork_at: Some(1_234),
            ..Scenario::default_for(kind)
        };
        let (a, b, s) = (dialect(kind, &honest), dialect(kind, &forked), snap(5_000));
        let trunk = Chain::for_scenario(&honest);
        let text = |h: u64| match kind {
            Kind::Zenon => hex(&trunk.hash(h)),
            _ => hex0x(&trunk.hash(h)),
        };
        for h in [1, 1_000, 1_233] {
            assert_eq!(served(kind, &a, &s, h), Some(text(h)), "{kind} {h}");
            assert_eq!(served(kind, &b, &s, h), Some(text(h)), "{kind} {h}");
        }
        for h in [1_234, 1_235, 5_000] {
            let fork = served(kind, &b, &s, h);
            assert!(fork.is_some(), "{kind} {h}");
            assert_ne!(fork, Some(text(h)), "{kind} {h}");
        }
        assert_eq!(served(kind, &b, &s, 5_001), None, "above the head");
    }
}

#[test]
fn missing_ranges_are_left_out_of_every_history_answer() {
    for kind in [Kind::Zenon, Kind::Ethereum, Kind::Substrate] {
        let sc = Scenario {
            missing: vec![[100, 199], [300, 300]],
            ..Scenario::default_for(kind)
        };
        let (d, s) = (dialect(kind, &sc), snap(1_000));
        for (h, has) in [
            (99, true),
            (100, false),
            (199, false),
            (200, true),
            (300, false),
            (301, true),
        ] {
            assert_eq!(served(kind, &d, &s, h).is_some(), has, "{kind} {h}");
        }
    }
    let sc = Scenario {
        missing: vec![[100, 199]],
        ..Scenario::default_for(Kind::Zenon)
    };
    let d = dialect(Kind::Zenon, &sc);
    let r = result(
        &d,
        &snap(1_000),
        "ledger.getMomentumsByHeight",
        json!([90, 120]),
    );
    let heights: Vec<u64> = r["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["height"].as_u64().unwrap())
        .collect();
    assert_eq!(heights, (90..100).chain(200..210).collect::<Vec<_>>());
}
