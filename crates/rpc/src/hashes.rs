//! Block hashes by height, for comparing two nodes' chains: zenon
//! `ledger.getMomentumsByHeight` in pages of at most 1024 (go-zenon's cap), ethereum
//! `eth_getBlockByNumber` in JSON-RPC batches, substrate `chain_getBlockHash` with a list
//! of numbers. Answers are checked height by height: a node that skips, repeats or invents
//! heights, or sends something that is not a 32-byte hash, is an error naming the node.
use std::fmt;

use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

use crate::error::{ErrorKind, RpcError};
use crate::json::{hex_quantity, type_name};
use crate::transport::{CallResult, Transport};
use crate::{ChainClient, Kind};

pub const ZENON_BY_HEIGHT: &str = "ledger.getMomentumsByHeight";
pub const ETH_BY_NUMBER: &str = "eth_getBlockByNumber";
pub const SUBSTRATE_HASH: &str = "chain_getBlockHash";

/// go-zenon's RpcMaxCountSize: a larger `count` is refused.
pub const ZENON_PAGE: u64 = 1024;
/// Calls per ethereum batch: far below geth's 1000-call and 25 MB batch limits.
pub const ETH_BATCH: u64 = 128;
/// Numbers per substrate `chain_getBlockHash` list.
pub const SUBSTRATE_LIST: u64 = 1024;
/// Requests in flight per node while fetching one span.
pub const IN_FLIGHT: usize = 4;
/// The most heights one [`block_hashes`] call fetches, so a caller's memory stays bounded.
pub const MAX_SPAN: u64 = 1 << 16;

/// A 32-byte block hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockHash(pub [u8; 32]);

impl fmt::Display for BlockHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for BlockHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// 64 hex digits, with or without `0x` (zenon writes none, the others do).
pub fn parse_hash(s: &str) -> Option<BlockHash> {
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if digits.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in digits.as_bytes().chunks(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(BlockHash(out))
}

fn malformed(method: &str, detail: String) -> ErrorKind {
    ErrorKind::Malformed {
        method: method.to_string(),
        detail,
    }
}

fn hash_field(method: &str, height: u64, v: Option<&Value>) -> Result<BlockHash, ErrorKind> {
    match v {
        Some(Value::String(s)) => parse_hash(s).ok_or_else(|| {
            malformed(
                method,
                format!(
                    "height {height}: hash {:?} is not 32 bytes of hex",
                    s.chars().take(80).collect::<String>()
                ),
            )
        }),
        Some(other) => Err(malformed(
            method,
            format!(
                "height {height}: hash should be a string, got {}",
                type_name(other)
            ),
        )),
        None => Err(malformed(method, format!("height {height}: no hash"))),
    }
}

/// The hashes at `from..from + count` (at most [`MAX_SPAN`]); `None` where the node has
/// no block at that height (above its head, pruned, or never stored).
pub async fn block_hashes(
    client: &dyn ChainClient,
    from: u64,
    count: u64,
) -> Result<Vec<Option<BlockHash>>, RpcError> {
    let count = count.min(MAX_SPAN);
    let t = client.transport();
    let kind = client.kind();
    let step = match kind {
        Kind::Zenon => ZENON_PAGE,
        Kind::Ethereum => ETH_BATCH,
        Kind::Substrate => SUBSTRATE_LIST,
    };
    let end = from.saturating_add(count);
    let pieces = (from..end)
        .step_by(step as usize)
        .map(|h| (h, step.min(end - h)));
    let parts: Vec<Vec<Option<BlockHash>>> = futures::stream::iter(pieces)
        .map(|(h, n)| piece(t, kind, h, n))
        .buffered(IN_FLIGHT)
        .try_collect()
        .await?;
    Ok(parts.into_iter().flatten().collect())
}

/// The hash of one block, `None` when the node has no block at `height`.
pub async fn hash_at(client: &dyn ChainClient, height: u64) -> Result<Option<BlockHash>, RpcError> {
    Ok(block_hashes(client, height, 1)
        .await?
        .first()
        .copied()
        .flatten())
}

async fn piece(
    t: &Transport,
    kind: Kind,
    from: u64,
    n: u64,
) -> Result<Vec<Option<BlockHash>>, RpcError> {
    match kind {
        Kind::Zenon => {
            // go-zenon refuses height 0: there is no momentum below genesis (height 1).
            let (skip, start) = if from == 0 { (1, 1) } else { (0, from) };
            let count = n - skip;
            let mut out = vec![None; skip as usize];
            if count > 0 {
                let v = t
                    .call_required(Kind::Zenon, ZENON_BY_HEIGHT, json!([start, count]))
                    .await?;
                out.extend(parse_momentums(&v, start, count).map_err(|k| t.error(k))?);
            }
            Ok(out)
        }
        Kind::Ethereum => {
            let params = (from..from + n)
                .map(|h| json!([format!("0x{h:x}"), false]))
                .collect();
            let answers = t.batch(ETH_BY_NUMBER, params).await?;
            answers
                .iter()
                .zip(from..)
                .map(|(a, h)| parse_eth_block(a, h))
                .collect::<Result<_, _>>()
                .map_err(|k| t.error(k))
        }
        Kind::Substrate => {
            let numbers: Vec<u64> = (from..from + n).collect();
            let v = t
                .call_required(Kind::Substrate, SUBSTRATE_HASH, json!([numbers]))
                .await?;
            parse_substrate_hashes(&v, from, n).map_err(|k| t.error(k))
        }
    }
}

/// `{list: [momentum…], count}` for `[from, n]`: the list holds the momentums the node has
/// from `from` on, in increasing height; heights it leaves out are `None`.
pub fn parse_momentums(v: &Value, from: u64, n: u64) -> Result<Vec<Option<BlockHash>>, ErrorKind> {
    let m = ZENON_BY_HEIGHT;
    let list = match v.get("list") {
        Some(Value::Array(list)) => list.as_slice(),
        // go-zenon answers a null list when nothing exists from `from` on.
        Some(Value::Null) => &[],
        Some(other) => {
            return Err(malformed(
                m,
                format!("`list` should be an array, got {}", type_name(other)),
            ));
        }
        None if v.is_object() => return Err(malformed(m, "field `list` is missing".into())),
        None => {
            return Err(malformed(
                m,
                format!("expected an object, got {}", type_name(v)),
            ));
        }
    };
    if list.len() as u64 > n {
        return Err(malformed(
            m,
            format!("{} momentums for a count of {n}", list.len()),
        ));
    }
    let mut out = vec![None; n as usize];
    let mut last: Option<u64> = None;
    for item in list {
        let height = item
            .get("height")
            .and_then(Value::as_u64)
            .ok_or_else(|| malformed(m, "a momentum without a numeric `height`".into()))?;
        if height < from || height >= from + n || last.is_some_and(|l| height <= l) {
            return Err(malformed(
                m,
                format!(
                    "momentum height {height} out of order or outside the asked {from}..{}",
                    from + n - 1
                ),
            ));
        }
        last = Some(height);
        out[(height - from) as usize] = Some(hash_field(m, height, item.get("hash"))?);
    }
    Ok(out)
}

/// One answer of an `eth_getBlockByNumber` batch: `null` is a block the node lacks.
pub fn parse_eth_block(a: &CallResult, height: u64) -> Result<Option<BlockHash>, ErrorKind> {
    let m = ETH_BY_NUMBER;
    let v = match a {
        Ok(v) => v,
        Err(e) => {
            return Err(ErrorKind::JsonRpc {
                method: format!("{m} 0x{height:x}"),
                code: e.code,
                message: e.message.clone(),
            });
        }
    };
    if v.is_null() {
        return Ok(None);
    }
    if !v.is_object() {
        return Err(malformed(
            m,
            format!("height {height}: expected a block, got {}", type_name(v)),
        ));
    }
    match v.get("number").and_then(hex_quantity) {
        Some(n) if n == height => {}
        other => {
            return Err(malformed(
                m,
                format!("asked for block {height}, got number {other:?}"),
            ));
        }
    }
    hash_field(m, height, v.get("hash")).map(Some)
}

/// The list answer to `chain_getBlockHash [[from, …]]`: one hash or `null` per number.
pub fn parse_substrate_hashes(
    v: &Value,
    from: u64,
    n: u64,
) -> Result<Vec<Option<BlockHash>>, ErrorKind> {
    let m = SUBSTRATE_HASH;
    let Value::Array(items) = v else {
        return Err(malformed(
            m,
            format!("expected a list of hashes, got {}", type_name(v)),
        ));
    };
    if items.len() as u64 != n {
        return Err(malformed(
            m,
            format!("{} hashes for {n} block numbers", items.len()),
        ));
    }
    items
        .iter()
        .zip(from..)
        .map(|(item, h)| match item {
            Value::Null => Ok(None),
            other => hash_field(m, h, Some(other)).map(Some),
        })
        .collect()
}

#[cfg(test)]
#[path = "hashes_tests.rs"]
mod tests;
