//! The exposition text, and the router served on a real loopback socket: auth, the JSON API,
//! the repository endpoints before and after a follower publishes.
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use nodewarden_model::{NodeReport, NodeView, WatchState};

use crate::{ServeOptions, Shared, read_token, render_metrics};

fn report(name: &str) -> NodeReport {
    NodeReport {
        name: name.into(),
        kind: "zenon".into(),
        url: "http://127.0.0.1:35997".into(),
        ok: true,
        error: None,
        error_reason: None,
        state: None,
        current: Some(100),
        target: Some(200),
        peers: Some(9),
        synced: false,
        progress_percent: Some(50.0),
        head_height: Some(100),
        head_hash: None,
        head_time: None,
        head_age_seconds: None,
        client_version: None,
        latency_ms: Some(1.0),
    }
}

fn state() -> WatchState {
    let mut syncing = NodeView::new(report("a \"quoted\"\nname"));
    syncing.samples = 3;
    syncing.rpc_up = true;
    syncing.eta_seconds = Some(120.0);
    syncing.latency.observe(0.003);
    syncing.latency.observe(0.7);
    let mut synced = NodeView::new(report("b"));
    synced.report.synced = true;
    synced.report.current = Some(200);
    synced.report.peers = None;
    synced.eta_seconds = Some(50.0);
    WatchState {
        nodes: vec![syncing, synced],
        ..WatchState::default()
    }
}

fn lines_of<'a>(text: &'a str, metric: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| l.starts_with(metric) && l[metric.len()..].starts_with('{'))
        .collect()
}

#[test]
fn metrics_escape_labels_omit_the_unknown_and_say_done_as_zero() {
    let text = render_metrics(&state());
    let escaped = "node=\"a \\\"quoted\\\"\\nname\"";
    assert!(text.contains(escaped), "{text}");
    for family in ["nodewarden_sync_current_height", "nodewarden_peers"] {
        let help = format!("# HELP {family} ");
        assert_eq!(text.matches(&help).count(), 1, "one HELP for {family}");
    }
    // A peer count nobody reported is a missing series, never a 0.
    let peers = lines_of(&text, "nodewarden_peers");
    assert_eq!(peers.len(), 1, "{peers:?}");
    // A synced node's ETA is 0, the syncing one's its estimate.
    let eta = lines_of(&text, "nodewarden_sync_eta_seconds");
    assert!(
        eta.iter()
            .any(|l| l.contains("node=\"b\"") && l.ends_with(" 0"))
    );
    assert!(
        eta.iter()
            .any(|l| l.contains(escaped) && l.ends_with(" 120"))
    );
    // The latency histogram is cumulative and ends in +Inf = count.
    let buckets = lines_of(&text, "nodewarden_rpc_latency_seconds_bucket");
    let counts: Vec<u64> = buckets
        .iter()
        .filter(|l| l.contains(escaped))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
    assert_eq!(counts.last(), Some(&2));
    assert!(buckets.iter().any(|l| l.contains("le=\"+Inf\"")));
}

#[test]
fn a_peer_loss_under_way_is_counted_and_timed() {
    let mut st = state();
    st.nodes[0].peer_losses_total = 3;
    st.nodes[0].peer_loss_since_ms = Some(10_000);
    st.nodes[0].last_sample_ms = 250_000;
    let text = render_metrics(&st);
    let total = lines_of(&text, "nodewarden_peer_losses_total");
    assert!(
        total
            .iter()
            .any(|l| l.contains("quoted") && l.ends_with(" 3")),
        "{total:?}"
    );
    let secs = lines_of(&text, "nodewarden_peer_loss_seconds");
    assert!(
        secs.iter()
            .any(|l| l.contains("quoted") && l.ends_with(" 240")),
        "{secs:?}"
    );
    assert!(
        secs.iter()
            .any(|l| l.contains("node=\"b\"") && l.ends_with(" 0")),
        "{secs:?}"
    );
}

/// One HTTP/1.1 request with `Connection: close`: status, headers, body.
fn get(addr: SocketAddr, path: &str, extra: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_string(), body.to_string())
}

async fn start(shared: Arc<Shared>, token: Option<&str>) -> SocketAddr {
    let listener = crate::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let opts = ServeOptions {
        auth_token: token.map(str::to_owned),
        ..Default::default()
    };
    tokio::spawn(crate::serve(listener, shared, opts, std::future::pending()));
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_from_the_published_state() {
    let shared = Shared::new();
    shared.publish(&state());
    let addr = start(shared.clone(), None).await;
    let got = tokio::task::spawn_blocking(move || {
        let nodes = get(addr, "/api/nodes", "");
        let snapshots_before = get(addr, "/api/snapshots", "");
        shared.publish_snapshots(b"[{\"name\":\"s1\"}]".to_vec());
        let snapshots_after = get(addr, "/api/snapshots", "");
        let metrics = get(addr, "/metrics", "");
        let section = get(addr, "/api/nodes/b/section", "");
        (nodes, snapshots_before, snapshots_after, metrics, section)
    })
    .await
    .unwrap();
    let (nodes, before, after, metrics, section) = got;
    assert_eq!(nodes.0, 200);
    let json: serde_json::Value = serde_json::from_str(&nodes.2).unwrap();
    assert_eq!(json[1]["name"], "b");
    assert_eq!(json[0]["eta_seconds"], 120.0);
    assert_eq!(before.0, 404, "no repository yet");
    assert_eq!((after.0, after.2.as_str()), (200, "[{\"name\":\"s1\"}]"));
    assert_eq!(metrics.0, 200);
    assert!(metrics.1.contains("text/plain; version=0.0.4"));
    assert!(metrics.2.contains("nodewarden_synced{node=\"b\""));
    assert_eq!(section.0, 404, "node pages need a recording");
    assert!(section.2.contains("no recording"), "{}", section.2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_guards_everything_but_healthz() {
    let token = "0123456789abcdef0123";
    let addr = start(Shared::new(), Some(token)).await;
    let got = tokio::task::spawn_blocking(move || {
        [
            get(addr, "/healthz", ""),
            get(addr, "/metrics", ""),
            get(
                addr,
                "/metrics",
                "Authorization: Bearer wrong-token-wrong-token\r\n",
            ),
            get(
                addr,
                "/metrics",
                &format!("Authorization: Bearer {token}\r\n"),
            ),
            get(addr, &format!("/api/nodes?token={token}"), ""),
            get(
                addr,
                "/api/nodes",
                &format!("Cookie: x=1; nodewarden_token={token}\r\n"),
            ),
        ]
    })
    .await
    .unwrap();
    let codes: Vec<u16> = got.iter().map(|g| g.0).collect();
    assert_eq!(codes, [200, 401, 401, 200, 200, 200]);
    assert!(got[1].1.contains("WWW-Authenticate") || got[1].1.contains("www-authenticate"));
    assert!(
        got[4]
            .1
            .to_ascii_lowercase()
            .contains("set-cookie: nodewarden_token="),
        "a token in the URL becomes a cookie: {}",
        got[4].1
    );
}

#[test]
fn weak_or_missing_token_files_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short");
    std::fs::write(&short, "abc\n").unwrap();
    let odd = dir.path().join("odd");
    std::fs::write(&odd, "0123456789abcdef;x\n").unwrap();
    let good = dir.path().join("good");
    std::fs::write(&good, "0123456789abcdef0123\nignored\n").unwrap();
    let e = read_token(&short).unwrap_err().to_string();
    assert!(e.contains("short") && e.contains("16 characters"), "{e}");
    let e = read_token(&odd).unwrap_err().to_string();
    assert!(e.contains("odd") && e.contains("printable ASCII"), "{e}");
    let e = read_token(&dir.path().join("missing")).unwrap_err();
    assert!(
        std::error::Error::source(&e).is_some(),
        "the io cause is kept"
    );
    assert_eq!(read_token(&good).unwrap(), "0123456789abcdef0123");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebound_host_name_is_refused_on_loopback() {
    let addr = start(Shared::new(), None).await;
    let (evil, ok) = tokio::task::spawn_blocking(move || {
        let raw = |host: &str| {
            let mut s = TcpStream::connect(addr).unwrap();
            write!(
                s,
                "GET /api/nodes HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            out
        };
        (
            raw(&format!("rebind.example:{}", addr.port())),
            raw(&format!("localhost:{}", addr.port())),
        )
    })
    .await
    .unwrap();
    assert!(evil.starts_with("HTTP/1.1 421"), "{evil}");
    assert!(evil.contains("rebind.example"), "names the host: {evil}");
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
}
