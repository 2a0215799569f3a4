//! `--kind auto`: which dialect a node speaks, found by calls only one dialect answers.

use serde_json::json;

use crate::Kind;
use crate::error::{ErrorKind, RpcError};
use crate::transport::Transport;

/// Probe calls that only one dialect answers, tried together.
const PROBES: [(Kind, &str); 3] = [
    (Kind::Zenon, "stats.syncInfo"),
    (Kind::Ethereum, "eth_blockNumber"),
    (Kind::Substrate, "system_health"),
];

/// Find the dialect a node speaks. Transport failures (refused, timeout, 403) are returned
/// as they are: they say more than "unknown dialect" would.
pub async fn detect(t: &Transport) -> Result<Kind, RpcError> {
    let answers = futures::future::join_all(PROBES.iter().map(|(_, m)| t.call(m, json!([])))).await;
    let mut first_transport_error = None;
    for ((kind, _), answer) in PROBES.iter().zip(answers) {
        match answer {
            Ok(Ok(_)) => return Ok(*kind),
            Ok(Err(_)) => {}
            Err(e) => {
                first_transport_error.get_or_insert(e);
            }
        }
    }
    Err(first_transport_error.unwrap_or_else(|| t.error(ErrorKind::UnknownDialect)))
}
