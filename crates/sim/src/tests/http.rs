//! The HTTP surface over a real socket: go-zenon's 403/405/415 quirks,
//! batches and notifications.

use super::{TempDir, request, rpc};
use crate::{Kind, Scenario, Sim, SimOptions};

async fn start(kind: Kind, dir: &TempDir) -> Sim {
    Sim::start(SimOptions {
        kind: Some(kind),
        scenario: Scenario::default_for(kind),
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        speed: 1.0,
    })
    .await
    .unwrap()
}

const SYNC_INFO: &str = r#"{"jsonrpc":"2.0","id":1,"method":"stats.syncInfo","params":[]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zenon_refuses_hostnames_other_methods_and_content_types() {
    let tmp = TempDir::new("http-zenon");
    let sim = start(Kind::Zenon, &tmp).await;
    let addr = sim.local_addr();
    let port = addr.port();

    let ok = rpc(addr, SYNC_INFO).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["id"], 1);

    let host = format!("localhost:{port}");
    let a = request(
        addr,
        "POST",
        Some(&host),
        Some("application/json"),
        SYNC_INFO,
    )
    .await;
    assert_eq!(
        (a.status, a.body.as_str()),
        (403, "invalid host specified\n")
    );
    let a = request(addr, "POST", None, Some("application/json"), SYNC_INFO).await;
    assert_eq!(a.status, 403, "no Host at all");
    let v6 = format!("[::1]:{port}");
    let a = request(addr, "POST", Some(&v6), Some("application/json"), SYNC_INFO).await;
    assert_eq!(a.status, 200, "IPv6 literal");

    let ip = addr.to_string();
    let a = request(addr, "POST", Some(&ip), Some("text/plain"), SYNC_INFO).await;
    assert_eq!(a.status, 415);
    let a = request(addr, "POST", Some(&ip), None, SYNC_INFO).await;
    assert_eq!(a.status, 415, "zenon needs a content type");
    let a = request(
        addr,
        "POST",
        Some(&ip),
        Some("application/json; charset=utf-8"),
        SYNC_INFO,
    )
    .await;
    assert_eq!(a.status, 200);
    let a = request(addr, "GET", Some(&ip), None, "").await;
    assert_eq!(a.status, 405);
    // The host check comes first, as in go-ethereum's handler chain.
    let a = request(addr, "GET", Some(&host), None, "").await;
    assert_eq!(a.status, 403);
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ethereum_batches_errors_and_notifications_over_http() {
    let tmp = TempDir::new("http-eth");
    let sim = start(Kind::Ethereum, &tmp).await;
    let addr = sim.local_addr();

    // Hostnames and a missing content type are fine outside zenon (anvil-like).
    let a = request(
        addr,
        "POST",
        Some("localhost"),
        None,
        r#"{"jsonrpc":"2.0","id":"a","method":"eth_chainId"}"#,
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["result"], "0x1");
    let a = request(addr, "POST", Some("localhost"), Some("text/html"), "{}").await;
    assert_eq!(a.status, 415);

    let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"},
                    {"jsonrpc":"2.0","method":"eth_blockNumber"},
                    {"jsonrpc":"2.0","id":"x","method":"nope"},
                    5]"#;
    let a = rpc(addr, batch).await;
    assert_eq!(a.status, 200);
    let v = a.json();
    let items = v.as_array().unwrap();
    assert_eq!(items.len(), 3, "the notification gets no answer: {v}");
    assert_eq!(items[0]["id"], 1);
    assert!(items[0]["result"].as_str().unwrap().starts_with("0x"));
    assert_eq!(items[1]["id"], "x");
    assert_eq!(items[1]["error"]["code"], -32601);
    assert_eq!(items[2]["error"]["code"], -32600);

    let a = rpc(addr, r#"{"jsonrpc":"2.0","method":"eth_blockNumber"}"#).await;
    assert_eq!((a.status, a.body.as_str()), (200, ""));
    let a = rpc(addr, "{not json").await;
    assert_eq!(a.json()["error"]["code"], -32700);
    sim.shutdown().await.unwrap();
}
