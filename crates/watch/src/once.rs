//! One poll of every node (`watch --once`), and the report a poll makes.

use std::time::{Duration, SystemTime};

use nodewarden_config::NodeConfig;
use nodewarden_model::{Kind, NodeReport};
use nodewarden_rpc::{KindSpec, RpcError, Status, connect_limited, redact_url, timed_status};

/// The default per-node RPC timeout for one-shot reads.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Before the first poll: nothing known yet.
pub(crate) fn pending(node: &NodeConfig, url: String) -> NodeReport {
    let mut r = failed_with(
        node,
        url,
        node.kind.to_string(),
        "not polled yet".into(),
        None,
    );
    r.error = None;
    r
}

pub(crate) fn failed(node: &NodeConfig, url: String, kind: String, e: &RpcError) -> NodeReport {
    failed_with(node, url, kind, e.to_string(), Some(e.reason()))
}

fn failed_with(
    node: &NodeConfig,
    url: String,
    kind: String,
    error: String,
    reason: Option<&'static str>,
) -> NodeReport {
    NodeReport {
        name: node.name.clone(),
        kind,
        url: redact_url(&url),
        ok: false,
        error: Some(error),
        error_reason: reason,
        state: None,
        current: None,
        target: None,
        peers: None,
        synced: false,
        progress_percent: None,
        head_height: None,
        head_hash: None,
        head_time: None,
        head_age_seconds: None,
        client_version: None,
        latency_ms: None,
    }
}

/// The report of a successful poll; "synced" is derived here from heights, peers and the
/// head's age, never taken from the node's word.
pub fn from_status(
    node: &NodeConfig,
    url: String,
    s: Status,
    latency: Duration,
    now: SystemTime,
) -> NodeReport {
    let max_age = node.max_head_age(s.kind);
    let progress_percent = match (s.current, s.target) {
        (Some(c), Some(t)) if t > 0 => Some((c as f64 / t as f64 * 100.0).min(100.0)),
        _ => None,
    };
    NodeReport {
        name: node.name.clone(),
        kind: s.kind.to_string(),
        url: redact_url(&url),
        ok: true,
        error: None,
        error_reason: None,
        synced: s.synced(now, max_age),
        head_age_seconds: s.head_age(now),
        progress_percent,
        state: Some(s.state),
        current: s.current,
        target: s.target,
        peers: s.peers,
        head_height: s.head.as_ref().map(|h| h.height),
        head_hash: s.head.as_ref().map(|h| h.hash.clone()),
        head_time: s.head.as_ref().and_then(|h| h.time),
        client_version: s.client_version,
        latency_ms: Some(latency.as_secs_f64() * 1000.0),
    }
}

/// Read every node once, concurrently; the result is in the order of `nodes`.
pub async fn poll_once(nodes: &[NodeConfig]) -> Vec<NodeReport> {
    futures::future::join_all(nodes.iter().map(poll_node)).await
}

async fn poll_node(node: &NodeConfig) -> NodeReport {
    // Config validation guarantees a URL; the fallback only keeps this total.
    let url = node.rpc_url().unwrap_or_default();
    let timeout = node.timeout.unwrap_or(DEFAULT_TIMEOUT);
    let configured_kind = node.kind.to_string();
    let client = match connect_limited(
        &node.name,
        node.kind,
        &url,
        timeout,
        node.max_answer_bytes(),
    )
    .await
    {
        Ok(c) => c,
        Err(e) => return failed(node, url, configured_kind, &e),
    };
    let (result, latency) = timed_status(client.as_ref()).await;
    match result {
        Ok(status) => from_status(node, url, status, latency, SystemTime::now()),
        Err(e) => failed(node, url, kind_name(node.kind, client.kind()), &e),
    }
}

fn kind_name(spec: KindSpec, detected: Kind) -> String {
    match spec {
        KindSpec::Known(k) => k.to_string(),
        KindSpec::Auto => detected.to_string(),
    }
}
