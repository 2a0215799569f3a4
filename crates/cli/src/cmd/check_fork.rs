//! The `fork` check of `nodewarden check`: a checked node with `chain = "NAME"` is compared
//! with every configured node of its chain by the watch's rule (majority or reference), so
//! a forked node is CRITICAL in the monitoring system too.
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use nodewarden_config::{Config, NodeConfig};
use nodewarden_probe::health::{CheckResult, Level};
use nodewarden_rpc::ChainClient;
use nodewarden_rpc::crosscheck::head_of;
use nodewarden_watch::forks::{self, Member};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn fork_checks(config: &Config, checked: &[NodeConfig]) -> Vec<CheckResult> {
    let chains: BTreeSet<&str> = checked.iter().filter_map(|n| n.chain.as_deref()).collect();
    if chains.is_empty() {
        return Vec::new();
    }
    let group: Vec<&NodeConfig> = config
        .nodes
        .iter()
        .filter(|n| n.chain.as_deref().is_some_and(|c| chains.contains(c)))
        .collect();
    let timeout = checked
        .iter()
        .filter_map(|n| n.timeout)
        .max()
        .unwrap_or(DEFAULT_TIMEOUT);
    let members = futures::future::join_all(group.iter().map(|n| member(n, timeout))).await;
    let verdicts = forks::check(&members, timeout).await;
    let wanted: BTreeSet<&str> = checked.iter().map(|n| n.name.as_str()).collect();
    group
        .iter()
        .zip(verdicts)
        .filter(|(n, _)| wanted.contains(n.name.as_str()))
        .map(|(n, v)| {
            let chain = n.chain.as_deref().unwrap_or_default();
            match (v.forked, v.checked_height) {
                (Some(true), Some(h)) => {
                    let message = match v.fork_height {
                        Some(at) => {
                            format!("forked at {at}: its block at {h} differs from chain {chain}'s")
                        }
                        None => format!("forked: its block at {h} differs from chain {chain}'s"),
                    };
                    let r = CheckResult::new(&n.name, "fork", Level::Critical, message);
                    match v.fork_height {
                        Some(at) => r.with_value(at as f64, ""),
                        None => r,
                    }
                }
                (Some(false), Some(h)) => CheckResult::new(
                    &n.name,
                    "fork",
                    Level::Ok,
                    format!("same block at {h} as chain {chain}"),
                ),
                _ => CheckResult::new(
                    &n.name,
                    "fork",
                    Level::Unknown,
                    format!("not compared: fewer than two nodes of chain {chain} answered"),
                ),
            }
        })
        .collect()
}

async fn member(n: &NodeConfig, timeout: Duration) -> Member {
    let client: Option<Arc<dyn ChainClient>> = match n.rpc_url() {
        Ok(url) => nodewarden_rpc::connect(&n.name, n.kind, &url, timeout)
            .await
            .ok()
            .map(Arc::from),
        Err(_) => None,
    };
    let height = match &client {
        Some(c) => head_of(c.as_ref()).await.ok(),
        None => None,
    };
    Member {
        chain: n.chain.clone(),
        reference: n.reference,
        client,
        height,
        known_fork: None,
    }
}
