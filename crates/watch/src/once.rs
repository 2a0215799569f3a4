use std::time::{Duration, SystemTime};

use nodewarden_config::NodeConfig;
use nodewarden_rpc::{Kind, KindSpec, RpcError, Status, SyncState, connect, timed_status};
use serde::Serialize;

/// The default per-node RPC timeout for one-shot reads.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// One node's status as `watch --once --json` prints it. Field names are a contract.
#[derive(Debug, Clone, Serialize)]
pub struct NodeReport {
    pub name: String,
    /// The configured kind, or the detected one when it was `auto`.
    pub kind: String,
    pub url: String,
    pub ok: bool,
    pub error: Option<String>,
    /// A short label for the error (`refused`, `timeout`, `http`, `jsonrpc`, `malformed`, `dialect`).
    pub error_reason: Option<&'static str>,
    pub state: Option<SyncState>,
    pub current: Option<u64>,
    pub target: Option<u64>,
    pub peers: Option<u32>,
    pub synced: bool,
    pub progress_percent: Option<f64>,
    pub head_height: Option<u64>,
    pub head_hash: Option<String>,
    /// Unix seconds.
    pub head_time: Option<f64>,
    pub head_age_seconds: Option<f64>,
    pub client_version: Option<String>,
    pub latency_ms: Option<f64>,
}

impl NodeReport {
    /// Before the first poll: nothing known yet.
    pub(crate) fn pending(node: &NodeConfig, url: String) -> NodeReport {
        let mut r = NodeReport::failed_with(
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
        NodeReport::failed_with(node, url, kind, e.to_string(), Some(e.reason()))
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
            url,
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
            url,
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
    let client = match connect(&node.name, node.kind, &url, timeout).await {
        Ok(c) => c,
        Err(e) => return NodeReport::failed(node, url, configured_kind, &e),
    };
    let (result, latency) = timed_status(client.as_ref()).await;
    match result {
        Ok(status) => NodeReport::from_status(node, url, status, latency, SystemTime::now()),
        Err(e) => NodeReport::failed(node, url, kind_name(node.kind, client.kind()), &e),
    }
}

fn kind_name(spec: KindSpec, detected: Kind) -> String {
    match spec {
        KindSpec::Known(k) => k.to_string(),
        KindSpec::Auto => detected.to_string(),
    }
}
