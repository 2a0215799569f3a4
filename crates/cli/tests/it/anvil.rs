//! The ethereum client against a real Ethereum node: anvil answers `eth_syncing = false`
//! and has no `net_peerCount`.
use std::time::Duration;

use serde_json::Value;

use crate::support::*;

#[test]
fn anvil_is_read_correctly() {
    let anvil = Anvil::start(&["--block-time", "1"]);
    let url = anvil.url.clone();
    // Wait for a mined block so the head is young and non-genesis.
    wait_until("anvil to mine", Duration::from_secs(10), || {
        rpc(&url, "eth_blockNumber", "[]")["result"] != "0x0"
    });

    let out = run(&[
        "watch",
        "--once",
        "--json",
        "--node",
        &format!("anvil=auto@{url}"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let v = &v[0];
    assert_eq!(v["kind"], "ethereum", "{v}");
    assert_eq!(v["state"], "done");
    assert_eq!(
        v["peers"],
        Value::Null,
        "no net_peerCount: unknown, not an error"
    );
    assert_eq!(v["target"], Value::Null);
    assert_eq!(v["synced"], true, "fresh head, eth_syncing false: {v}");
    assert!(
        v["client_version"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("anvil"),
        "{v}"
    );
    let head = u64::from_str_radix(
        rpc(&url, "eth_blockNumber", "[]")["result"]
            .as_str()
            .unwrap()
            .trim_start_matches("0x"),
        16,
    )
    .unwrap();
    let current = v["current"].as_u64().unwrap();
    assert!(current >= 1 && current <= head, "{current} vs {head}");
}
