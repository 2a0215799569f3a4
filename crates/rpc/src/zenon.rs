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

/// A pillar's producer address and stats, for the maintenance window.
#[derive(Debug, Clone, PartialEq)]
pub struct PillarProducer {
    pub stats: PillarStats,
    /// `producerAddress`: the `producer` of the momentums the pillar makes.
    pub producer: String,
}

pub async fn pillar_producer(t: &Transport, name: &str) -> Result<PillarProducer, RpcError> {
    let v = t
        .call_required(Kind::Zenon, PILLAR_BY_NAME, json!([name]))
        .await?;
    parse_pillar_producer(&v).map_err(|k| t.error(k))
}

pub fn parse_pillar_producer(v: &Value) -> Result<PillarProducer, ErrorKind> {
    Ok(PillarProducer {
        stats: parse_pillar(v)?,
        producer: Fields::new(PILLAR_BY_NAME, v)
            .str("producerAddress")?
            .to_string(),
    })
}

/// One momentum's height, producer and unix time.
#[derive(Debug, Clone, PartialEq)]
pub struct Produced {
    pub height: u64,
    pub producer: String,
    pub timestamp: u64,
}

/// `ledger.getMomentumsByHeight [from, count]` (count ≤ 1024), reduced to producers.
pub async fn momentum_producers(
    t: &Transport,
    from: u64,
    count: u64,
) -> Result<Vec<Produced>, RpcError> {
    let method = crate::hashes::ZENON_BY_HEIGHT;
    let v = t
        .call_required(Kind::Zenon, method, json!([from.max(1), count.min(1024)]))
        .await?;
    parse_producers(&v).map_err(|k| t.error(k))
}

pub fn parse_producers(v: &Value) -> Result<Vec<Produced>, ErrorKind> {
    let method = crate::hashes::ZENON_BY_HEIGHT;
    let list = match v.get("list") {
        Some(Value::Array(l)) => l.as_slice(),
        Some(Value::Null) | None => &[],
        Some(_) => {
            return Err(ErrorKind::Malformed {
                method: method.into(),
                detail: "`list` is not an array".into(),
            });
        }
    };
    list.iter()
        .map(|m| {
            let f = Fields::new(method, m);
            Ok(Produced {
                height: f.num("height")?,
                producer: f.str("producer")?.to_string(),
                timestamp: f.num("timestamp")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod producer_tests {
    use super::*;

    #[test]
    fn producers_and_the_pillar_address_parse() {
        let v = json!({"list": [
            {"height": 7, "producer": "z1a", "timestamp": 100, "hash": "x"},
            {"height": 8, "producer": "z1b", "timestamp": 110}
        ], "count": 8});
        let p = parse_producers(&v).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(
            (p[1].height, p[1].producer.as_str(), p[1].timestamp),
            (8, "z1b", 110)
        );
        assert!(parse_producers(&json!({"list": [{"height": 1}]})).is_err());
        let v = json!({"name": "P", "producerAddress": "z1p", "currentStats": {"producedMomentums": 3, "expectedMomentums": 4}});
        let p = parse_pillar_producer(&v).unwrap();
        assert_eq!((p.producer.as_str(), p.stats.produced), ("z1p", 3));
    }
}

/// What the maintenance window reads from a zenon node about its pillar: the pillar, the
/// heights of its momentums among the newest `lookback`, the head and the measured
/// seconds per momentum (`None` when the timestamps cannot tell).
#[derive(Debug, Clone, PartialEq)]
pub struct PillarHistory {
    pub pillar: PillarProducer,
    pub produced: Vec<u64>,
    pub looked_at: u64,
    pub head: u64,
    /// Unix time of the head momentum, when it was listed.
    pub head_time: Option<u64>,
    pub block_time: Option<f64>,
}

pub async fn pillar_history(
    t: &Transport,
    name: &str,
    lookback: u64,
) -> Result<PillarHistory, RpcError> {
    let (pillar, frontier) = futures::join!(
        pillar_producer(t, name),
        t.call_required(Kind::Zenon, FRONTIER, json!([]))
    );
    let (pillar, frontier) = (pillar?, frontier?);
    let head = momentum(&frontier).map_err(|k| t.error(k))?.height;
    let lookback = lookback.clamp(2, 1024);
    let from = head.saturating_sub(lookback - 1).max(1);
    let list = momentum_producers(t, from, head - from + 1).await?;
    Ok(history_of(pillar, &list, head))
}

pub fn history_of(pillar: PillarProducer, list: &[Produced], head: u64) -> PillarHistory {
    let produced = list
        .iter()
        .filter(|m| m.producer == pillar.producer)
        .map(|m| m.height)
        .collect();
    let block_time = match (list.first(), list.last()) {
        (Some(a), Some(b)) if b.height > a.height && b.timestamp > a.timestamp => {
            Some((b.timestamp - a.timestamp) as f64 / (b.height - a.height) as f64)
        }
        _ => None,
    };
    PillarHistory {
        pillar,
        produced,
        looked_at: list.len() as u64,
        head,
        head_time: list
            .last()
            .filter(|m| m.height == head)
            .map(|m| m.timestamp),
        block_time,
    }
}
