//! go-zenon / znnd. Quirks: state 3 (not enough peers) overrides the others and
//! `targetHeight` is 0 with no peers; timestamps are unix seconds; hashes are bare hex.
use futures::future::BoxFuture;
use serde_json::{Value, json};

use crate::error::{ErrorKind, RpcError};
use crate::json::Fields;
use crate::transport::{CallResult, Transport};
use crate::{ChainClient, Head, Kind, Status, SyncState};

pub const SYNC_INFO: &str = "stats.syncInfo";
pub const FRONTIER: &str = "ledger.getFrontierMomentum";
pub const NETWORK_INFO: &str = "stats.networkInfo";
pub const PROCESS_INFO: &str = "stats.processInfo";

pub struct Zenon {
    t: Transport,
}

impl Zenon {
    pub fn new(t: Transport) -> Zenon {
        Zenon { t }
    }

    async fn fetch(&self) -> Result<Status, RpcError> {
        let (sync, frontier, network, process) = futures::join!(
            self.t.call_required(Kind::Zenon, SYNC_INFO, json!([])),
            self.t.call_required(Kind::Zenon, FRONTIER, json!([])),
            self.t.call(NETWORK_INFO, json!([])),
            self.t.call(PROCESS_INFO, json!([])),
        );
        let (sync, frontier) = (sync?, frontier?);
        parse(&sync, &frontier, &network?, &process?).map_err(|k| self.t.error(k))
    }
}

impl ChainClient for Zenon {
    fn kind(&self) -> Kind {
        Kind::Zenon
    }
    fn transport(&self) -> &Transport {
        &self.t
    }
    fn status(&self) -> BoxFuture<'_, Result<Status, RpcError>> {
        Box::pin(self.fetch())
    }
}

/// Normalise the four answers. `networkInfo` and `processInfo` may fail without failing
/// the status: peers and version are then unknown.
pub fn parse(
    sync: &Value,
    frontier: &Value,
    network: &CallResult,
    process: &CallResult,
) -> Result<Status, ErrorKind> {
    let f = Fields::new(SYNC_INFO, sync);
    let state = match f.num("state")? {
        1 => SyncState::Syncing,
        2 => SyncState::Done,
        3 => SyncState::NotEnoughPeers,
        _ => SyncState::Unknown,
    };
    let current = f.num("currentHeight")?;
    let target = Some(f.num("targetHeight")?).filter(|&t| t > 0);
    let peers = match network {
        Ok(v) => {
            Some(u32::try_from(Fields::new(NETWORK_INFO, v).num("numPeers")?).unwrap_or(u32::MAX))
        }
        Err(_) => None,
    };
    let client_version = process
        .as_ref()
        .ok()
        .and_then(|v| v.get("version"))
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(Status {
        kind: Kind::Zenon,
        state,
        current: Some(current),
        target,
        peers,
        head: Some(momentum(frontier)?),
        // Node-chosen text reaches terminals: no control characters, no novels.
        client_version: client_version.map(|v| crate::error::one_line(&v, 120)),
    })
}

pub fn momentum(v: &Value) -> Result<Head, ErrorKind> {
    let f = Fields::new(FRONTIER, v);
    Ok(Head {
        height: f.num("height")?,
        hash: f.str("hash")?.to_string(),
        time: Some(f.num("timestamp")? as f64),
    })
}

pub const PILLAR_BY_NAME: &str = "embedded.pillar.getByName";

/// A pillar's momentum production in the current epoch (`currentStats`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PillarStats {
    pub name: String,
    pub produced: u64,
    pub expected: u64,
}

/// `embedded.pillar.getByName [name]`; an unknown pillar is the node's JSON-RPC error
/// (`data non existent`), reported as such with the node and URL.
pub async fn pillar(t: &Transport, name: &str) -> Result<PillarStats, RpcError> {
    let v = t
        .call_required(Kind::Zenon, PILLAR_BY_NAME, json!([name]))
        .await?;
    parse_pillar(&v).map_err(|k| t.error(k))
}

pub fn parse_pillar(v: &Value) -> Result<PillarStats, ErrorKind> {
    let f = Fields::new(PILLAR_BY_NAME, v);
    let name = f.str("name")?.to_string();
    let stats = v.get("currentStats").cloned().unwrap_or(Value::Null);
    let s = Fields::new(PILLAR_BY_NAME, &stats);
    Ok(PillarStats {
        name,
        produced: s.num("producedMomentums")?,
        expected: s.num("expectedMomentums")?,
    })
}

#[cfg(test)]
mod pillar_tests {
    use super::*;

    #[test]
    fn pillar_stats_parse_and_shape_errors_name_the_method() {
        let v = json!({"name": "P", "currentStats": {"producedMomentums": 36, "expectedMomentums": 120}});
        let p = parse_pillar(&v).unwrap();
        assert_eq!((p.name.as_str(), p.produced, p.expected), ("P", 36, 120));
        let e = parse_pillar(&json!({"name": "P"})).unwrap_err();
        assert!(format!("{e}").contains(PILLAR_BY_NAME), "{e}");
    }
}
