//! Ethereum execution clients (Besu, geth, reth, Nethermind, anvil). Quirks: quantities are
//! hex; `eth_syncing` is `false` when the node believes it is done, which it may while still
//! behind, so the head's age decides; `net_peerCount` may not exist (-32601 on anvil).
use futures::future::BoxFuture;
use serde_json::{Value, json};

use crate::error::{ErrorKind, RpcError};
use crate::json::{Fields, type_name};
use crate::transport::{CallResult, Transport};
use crate::{ChainClient, Head, Kind, Status, SyncState};

pub const SYNCING: &str = "eth_syncing";
pub const BLOCK_BY_NUMBER: &str = "eth_getBlockByNumber";
pub const PEER_COUNT: &str = "net_peerCount";
pub const CLIENT_VERSION: &str = "web3_clientVersion";

pub struct Ethereum {
    t: Transport,
}

impl Ethereum {
    pub fn new(t: Transport) -> Ethereum {
        Ethereum { t }
    }

    async fn fetch(&self) -> Result<Status, RpcError> {
        let (syncing, latest, peers, version) = futures::join!(
            self.t.call_required(Kind::Ethereum, SYNCING, json!([])),
            self.t
                .call_required(Kind::Ethereum, BLOCK_BY_NUMBER, json!(["latest", false])),
            self.t.call(PEER_COUNT, json!([])),
            self.t.call(CLIENT_VERSION, json!([])),
        );
        let (syncing, latest) = (syncing?, latest?);
        parse(&syncing, &latest, &peers?, &version?).map_err(|k| self.t.error(k))
    }
}

impl ChainClient for Ethereum {
    fn kind(&self) -> Kind {
        Kind::Ethereum
    }
    fn transport(&self) -> &Transport {
        &self.t
    }
    fn status(&self) -> BoxFuture<'_, Result<Status, RpcError>> {
        Box::pin(self.fetch())
    }
}

pub fn parse(
    syncing: &Value,
    latest: &Value,
    peers: &CallResult,
    version: &CallResult,
) -> Result<Status, ErrorKind> {
    let head = block(latest)?;
    let (state, current, target) = match syncing {
        Value::Bool(false) => (SyncState::Done, head.height, None),
        Value::Object(_) => {
            let f = Fields::new(SYNCING, syncing);
            (
                SyncState::Syncing,
                f.hex("currentBlock")?,
                Some(f.hex("highestBlock")?).filter(|&t| t > 0),
            )
        }
        other => {
            return Err(Fields::new(SYNCING, other).err(format!(
                "expected false or a sync object, got {}",
                type_name(other)
            )));
        }
    };
    let peers = match peers {
        Ok(v) => Some(peer_count(v)?),
        Err(e) if e.is_method_not_found() => None,
        // Besu answers -32000 when its P2P network is disabled: no peers to speak of.
        Err(_) => None,
    };
    let client_version = version
        .as_ref()
        .ok()
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(Status {
        kind: Kind::Ethereum,
        state,
        current: Some(current),
        target,
        peers,
        head: Some(head),
        // Node-chosen text reaches terminals: no control characters, no novels.
        client_version: client_version.map(|v| crate::error::one_line(&v, 120)),
    })
}

pub fn peer_count(v: &Value) -> Result<u32, ErrorKind> {
    crate::json::hex_quantity(v)
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
        .ok_or_else(|| Fields::new(PEER_COUNT, v).err(format!("expected a hex quantity, got {v}")))
}

pub fn block(v: &Value) -> Result<Head, ErrorKind> {
    let f = Fields::new(BLOCK_BY_NUMBER, v);
    if v.is_null() {
        return Err(f.err("the node has no latest block"));
    }
    Ok(Head {
        height: f.hex("number")?,
        hash: f.str("hash")?.to_string(),
        time: Some(f.hex("timestamp")? as f64),
    })
}
