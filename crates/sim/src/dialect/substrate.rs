//! Substrate nodes (incl. xx network): `system_*` and `chain_*`.

use serde::Serialize;
use serde_json::Value;

use super::Context;
use crate::encode::{hex0x, unhex};
use crate::jsonrpc::{MethodError, Params, emit};
use crate::scenario::Scenario;
use crate::state::Snapshot;

/// twox128("Timestamp") ++ twox128("Now"): where a block's time lives in state, the only
/// place a substrate client can read it (headers carry none).
const TIMESTAMP_NOW_KEY: &str =
    "0xf0c365c3cf59d671eb72da0e7a4113c49f1f0515f462cdcf84e0f1d6045dfcbb";

/// GRANDPA finality trails the best block by a couple of blocks.
const FINALITY_LAG: u64 = 2;

const METHODS: &[&str] = &[
    "chain_getBlockHash",
    "chain_getFinalizedHead",
    "chain_getHeader",
    "rpc_methods",
    "state_getStorage",
    "system_chain",
    "system_health",
    "system_name",
    "system_syncState",
    "system_version",
];

pub struct Substrate {
    ctx: Context,
    chain_name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Header {
    parent_hash: String,
    number: String,
    state_root: String,
    extrinsics_root: String,
    digest: Digest,
}

#[derive(Serialize)]
struct Digest {
    logs: [u8; 0],
}

impl Substrate {
    pub fn new(ctx: Context, scenario: &Scenario) -> Substrate {
        Substrate {
            ctx,
            chain_name: scenario.chain_name.clone(),
        }
    }

    pub fn call(
        &self,
        method: &str,
        params: &Params,
        snap: &Snapshot,
        out: &mut Vec<u8>,
    ) -> Result<(), MethodError> {
        match method {
            "system_syncState" => {
                let _ = std::io::Write::write_fmt(
                    out,
                    format_args!(
                        "{{\"startingBlock\":{},\"currentBlock\":{},\"highestBlock\":{}}}",
                        snap.starting, snap.height, snap.tip
                    ),
                );
            }
            "system_health" => {
                let _ = std::io::Write::write_fmt(
                    out,
                    format_args!(
                        "{{\"peers\":{},\"isSyncing\":{},\"shouldHavePeers\":true}}",
                        snap.peers,
                        snap.syncing()
                    ),
                );
            }
            "chain_getHeader" => {
                let args = params.at_most(1)?;
                let h = match &args[0] {
                    Value::Null => Some(snap.height),
                    v => self.height_of(v)?.filter(|&h| self.ctx.has(h, snap)),
                };
                match h {
                    Some(h) => emit::json(out, &self.header(h)),
                    None => emit::raw(out, "null"),
                }
            }
            "chain_getBlockHash" | "chain_getHead" => {
                let args = params.at_most(1)?;
                match &args[0] {
                    Value::Array(items) => {
                        out.push(b'[');
                        for (i, item) in items.iter().enumerate() {
                            if i > 0 {
                                out.push(b',');
                            }
                            self.block_hash(number(item)?, snap, out);
                        }
                        out.push(b']');
                    }
                    Value::Null => emit::json(out, &hex0x(&self.ctx.chain.hash(snap.height))),
                    v => self.block_hash(number(v)?, snap, out),
                }
            }
            "chain_getFinalizedHead" | "chain_getFinalisedHead" => {
                let h = snap.height.saturating_sub(FINALITY_LAG);
                emit::json(out, &hex0x(&self.ctx.chain.hash(h)));
            }
            "state_getStorage" => {
                let args = params.at_most(2)?;
                let key = args[0]
                    .as_str()
                    .ok_or_else(|| MethodError::invalid("storage key must be a hex string"))?;
                let h = match &args[1] {
                    Value::Null => Some(snap.height),
                    v => self.height_of(v)?.filter(|&h| h <= snap.height),
                };
                match h {
                    // SCALE encodes the u64 milliseconds little-endian.
                    Some(h) if key.eq_ignore_ascii_case(TIMESTAMP_NOW_KEY) => {
                        let ms = self.ctx.clock.time_ms(h).max(0) as u64;
                        emit::json(out, &hex0x(&ms.to_le_bytes()));
                    }
                    _ => emit::raw(out, "null"),
                }
            }
            "system_version" => emit::json(out, &self.ctx.client_version),
            "system_name" => emit::raw(out, "\"nodewarden-sim\""),
            "system_chain" => emit::json(out, &self.chain_name),
            "rpc_methods" => emit::json(out, &serde_json::json!({"methods": METHODS})),
            _ => return Err(MethodError::MethodNotFound),
        }
        Ok(())
    }

    fn header(&self, h: u64) -> Header {
        let c = &self.ctx.chain;
        Header {
            parent_hash: hex0x(&c.parent_hash(h)),
            number: format!("0x{h:x}"),
            state_root: hex0x(&c.derive("state", h)),
            extrinsics_root: hex0x(&c.derive("extrinsics", h)),
            digest: Digest { logs: [] },
        }
    }

    fn block_hash(&self, h: Option<u64>, snap: &Snapshot, out: &mut Vec<u8>) {
        match h.filter(|&h| self.ctx.has(h, snap)) {
            Some(h) => emit::json(out, &hex0x(&self.ctx.chain.hash(h))),
            None => emit::raw(out, "null"),
        }
    }

    fn height_of(&self, v: &Value) -> Result<Option<u64>, MethodError> {
        let bytes = v
            .as_str()
            .filter(|s| s.starts_with("0x"))
            .and_then(unhex)
            .filter(|b| b.len() == 32)
            .ok_or_else(|| MethodError::invalid("invalid block hash"))?;
        Ok(self.ctx.chain.height_of(&bytes))
    }
}

/// Substrate's `NumberOrHex`: a JSON number or a 0x-prefixed hex string.
/// `None` for a number too large to be a block.
fn number(v: &Value) -> Result<Option<u64>, MethodError> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| MethodError::invalid("invalid block number")),
        Value::String(s) => {
            let digits = s
                .strip_prefix("0x")
                .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_hexdigit()))
                .ok_or_else(|| MethodError::invalid("invalid block number"))?;
            Ok(u64::from_str_radix(digits, 16).ok())
        }
        _ => Err(MethodError::invalid("invalid block number")),
    }
}
