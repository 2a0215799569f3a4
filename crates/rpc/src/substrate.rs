//! Substrate nodes (xx network included). Quirks: `system_syncState` uses plain numbers while
//! `chain_getHeader.number` is hex; headers carry no timestamp, which lives in storage
//! (`Timestamp::Now`, milliseconds, SCALE little-endian u64).
use futures::future::BoxFuture;
use serde_json::{Value, json};

use crate::error::{ErrorKind, RpcError};
use crate::json::Fields;
use crate::transport::{CallResult, Transport};
use crate::{ChainClient, Head, Kind, Status, SyncState};

pub const SYNC_STATE: &str = "system_syncState";
pub const HEALTH: &str = "system_health";
pub const BLOCK_HASH: &str = "chain_getBlockHash";
pub const HEADER: &str = "chain_getHeader";
pub const STORAGE: &str = "state_getStorage";
pub const VERSION: &str = "system_version";
pub const NAME: &str = "system_name";

/// twox128("Timestamp") ++ twox128("Now"): the storage key of the block's timestamp.
pub const TIMESTAMP_NOW_KEY: &str =
    "0xf0c365c3cf59d671eb72da0e7a4113c49f1f0515f462cdcf84e0f1d6045dfcbb";

pub struct Substrate {
    t: Transport,
}

impl Substrate {
    pub fn new(t: Transport) -> Substrate {
        Substrate { t }
    }

    async fn fetch(&self) -> Result<Status, RpcError> {
        let k = Kind::Substrate;
        let (sync, health, hash, version, name) = futures::join!(
            self.t.call_required(k, SYNC_STATE, json!([])),
            self.t.call_required(k, HEALTH, json!([])),
            self.t.call_required(k, BLOCK_HASH, json!([])),
            self.t.call(VERSION, json!([])),
            self.t.call(NAME, json!([])),
        );
        let (sync, health, hash) = (sync?, health?, hash?);
        let Some(hash_str) = hash.as_str() else {
            return Err(self.t.error(
                Fields::new(BLOCK_HASH, &hash).err(format!("expected a hash string, got {hash}")),
            ));
        };
        let (header, stamp) = futures::join!(
            self.t.call_required(k, HEADER, json!([hash_str])),
            self.t.call(STORAGE, json!([TIMESTAMP_NOW_KEY, hash_str])),
        );
        let head = head(hash_str, &header?, &stamp?).map_err(|e| self.t.error(e))?;
        parse(&sync, &health, head, &version?, &name?).map_err(|e| self.t.error(e))
    }
}

impl ChainClient for Substrate {
    fn kind(&self) -> Kind {
        Kind::Substrate
    }
    fn transport(&self) -> &Transport {
        &self.t
    }
    fn status(&self) -> BoxFuture<'_, Result<Status, RpcError>> {
        Box::pin(self.fetch())
    }
}

pub fn parse(
    sync: &Value,
    health: &Value,
    head: Head,
    version: &CallResult,
    name: &CallResult,
) -> Result<Status, ErrorKind> {
    let s = Fields::new(SYNC_STATE, sync);
    let h = Fields::new(HEALTH, health);
    let peers = u32::try_from(h.num("peers")?).unwrap_or(u32::MAX);
    let should_have_peers = h.bool("shouldHavePeers").unwrap_or(true);
    let state = if peers == 0 && should_have_peers {
        SyncState::NotEnoughPeers
    } else if h.bool("isSyncing")? {
        SyncState::Syncing
    } else {
        SyncState::Done
    };
    let text = |r: &CallResult| r.as_ref().ok().and_then(Value::as_str).map(str::to_string);
    let client_version = match (text(name), text(version)) {
        (Some(n), Some(v)) => Some(format!("{n}/{v}")),
        (n, v) => n.or(v),
    };
    Ok(Status {
        kind: Kind::Substrate,
        state,
        current: Some(s.num("currentBlock")?),
        // Newer nodes report `highestBlock: null` when no peer has announced a best block.
        target: s.opt_num("highestBlock")?.filter(|&t| t > 0),
        peers: Some(peers),
        head: Some(head),
        // Node-chosen text reaches terminals: no control characters, no novels.
        client_version: client_version.map(|v| crate::error::one_line(&v, 120)),
    })
}

/// The best block: its hash (asked for first, so header and timestamp refer to one block),
/// its header and, when the chain has the timestamp pallet, its time.
pub fn head(hash: &str, header: &Value, stamp: &CallResult) -> Result<Head, ErrorKind> {
    let f = Fields::new(HEADER, header);
    let time = match stamp {
        Ok(v) => timestamp_ms(v).map(|ms| ms as f64 / 1000.0),
        Err(_) => None,
    };
    Ok(Head {
        height: f.hex("number")?,
        hash: hash.to_string(),
        time,
    })
}

/// Decode a SCALE-encoded little-endian u64 from a `0x…` storage value.
pub fn timestamp_ms(v: &Value) -> Option<u64> {
    let s = v.as_str()?.strip_prefix("0x")?;
    if s.len() != 16 {
        return None;
    }
    let mut bytes = [0u8; 8];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(u64::from_le_bytes(bytes))
}
