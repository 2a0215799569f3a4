//! Ethereum execution clients (geth, Besu, Nethermind, reth; anvil quirks optional).

use serde::Serialize;
use serde_json::Value;

use super::{Context, go_type};
use crate::encode::{hex0x, unhex};
use crate::jsonrpc::{MethodError, Params, emit};
use crate::scenario::Scenario;
use crate::state::Snapshot;

/// Roots of an empty trie and of an empty uncle list: blocks carry no transactions.
const EMPTY_ROOT: &str = "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421";
const EMPTY_UNCLES: &str = "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347";
const GAS_LIMIT: u64 = 30_000_000;
/// How far behind the head the `safe` and `finalized` tags are.
const SAFE_LAG: u64 = 32;
const FINALIZED_LAG: u64 = 64;

pub struct Ethereum {
    ctx: Context,
    syncing_false_while_behind: bool,
    net_peer_count: bool,
    logs_bloom: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Block<'a> {
    base_fee_per_gas: String,
    difficulty: &'a str,
    extra_data: &'a str,
    gas_limit: String,
    gas_used: String,
    hash: String,
    logs_bloom: &'a str,
    miner: String,
    mix_hash: String,
    nonce: &'a str,
    number: String,
    parent_hash: String,
    receipts_root: &'a str,
    sha3_uncles: &'a str,
    size: String,
    state_root: String,
    timestamp: String,
    total_difficulty: &'a str,
    transactions: &'a [u8],
    transactions_root: &'a str,
    uncles: &'a [u8],
    withdrawals: &'a [u8],
    withdrawals_root: &'a str,
}

fn hex_q(n: u64) -> String {
    format!("0x{n:x}")
}

impl Ethereum {
    pub fn new(ctx: Context, scenario: &Scenario) -> Ethereum {
        Ethereum {
            ctx,
            syncing_false_while_behind: scenario.eth_syncing_false_while_behind,
            net_peer_count: scenario.net_peer_count,
            logs_bloom: format!("0x{}", "0".repeat(512)),
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
            "eth_blockNumber" => emit::u64_hex(out, snap.height),
            "eth_syncing" => self.syncing(snap, out),
            "eth_getBlockByNumber" => {
                let args = params.at_most(2)?;
                full_tx_flag(&args[1])?;
                match block_number(&args[0], snap)? {
                    Some(h) if self.ctx.has(h, snap) => self.block(h, out),
                    _ => emit::raw(out, "null"),
                }
            }
            "eth_getBlockByHash" => {
                let args = params.at_most(2)?;
                full_tx_flag(&args[1])?;
                match self.height_of(&args[0])? {
                    Some(h) if self.ctx.has(h, snap) => self.block(h, out),
                    _ => emit::raw(out, "null"),
                }
            }
            "net_peerCount" if self.net_peer_count => emit::u64_hex(out, snap.peers.into()),
            "web3_clientVersion" => emit::json(out, &self.ctx.client_version),
            "eth_chainId" => emit::u64_hex(out, self.ctx.chain_id),
            "net_version" => emit::json(out, &self.ctx.chain_id.to_string()),
            "net_listening" => emit::raw(out, "true"),
            _ => return Err(MethodError::MethodNotFound),
        }
        Ok(())
    }

    fn syncing(&self, snap: &Snapshot, out: &mut Vec<u8>) {
        if !snap.syncing() || self.syncing_false_while_behind {
            emit::raw(out, "false");
            return;
        }
        // Besu's SyncingResult shape, state counters included.
        let pulled = snap.height / 4;
        let _ = std::io::Write::write_fmt(
            out,
            format_args!(
                "{{\"startingBlock\":\"0x{:x}\",\"currentBlock\":\"0x{:x}\",\"highestBlock\":\"0x{:x}\",\"pulledStates\":\"0x{:x}\",\"knownStates\":\"0x{:x}\"}}",
                snap.starting,
                snap.height,
                snap.tip,
                pulled,
                pulled + pulled / 3 + 1
            ),
        );
    }

    fn block(&self, h: u64, out: &mut Vec<u8>) {
        let c = &self.ctx.chain;
        let used = u64::from_be_bytes(c.derive("gas-used", h)[..8].try_into().unwrap_or([0; 8]))
            % GAS_LIMIT;
        emit::json(
            out,
            &Block {
                base_fee_per_gas: hex_q(7 + h % 50),
                difficulty: "0x0",
                extra_data: "0x",
                gas_limit: hex_q(GAS_LIMIT),
                gas_used: hex_q(used),
                hash: hex0x(&c.hash(h)),
                logs_bloom: &self.logs_bloom,
                miner: hex0x(&c.derive("miner", h % 16)[..20]),
                mix_hash: hex0x(&c.derive("mix", h)),
                nonce: "0x0000000000000000",
                number: hex_q(h),
                parent_hash: hex0x(&c.parent_hash(h)),
                receipts_root: EMPTY_ROOT,
                sha3_uncles: EMPTY_UNCLES,
                size: hex_q(600 + h % 400),
                state_root: hex0x(&c.derive("state", h)),
                timestamp: hex_q(self.ctx.clock.time_s(h).max(0) as u64),
                total_difficulty: "0x0",
                transactions: &[],
                transactions_root: EMPTY_ROOT,
                uncles: &[],
                withdrawals: &[],
                withdrawals_root: EMPTY_ROOT,
            },
        );
    }

    fn height_of(&self, v: &Value) -> Result<Option<u64>, MethodError> {
        let Value::String(s) = v else {
            return Err(MethodError::invalid(format!(
                "invalid argument 0: json: cannot unmarshal {} into Go value of type common.Hash",
                go_type(v)
            )));
        };
        match unhex(s).filter(|b| b.len() == 32 && s.starts_with("0x")) {
            Some(bytes) => Ok(self.ctx.chain.height_of(&bytes)),
            None => Err(MethodError::invalid(
                "invalid argument 0: hex string has length other than 64 or lacks 0x prefix",
            )),
        }
    }
}

/// geth requires the second argument (full transactions) to be a boolean.
fn full_tx_flag(v: &Value) -> Result<(), MethodError> {
    match v {
        Value::Bool(_) | Value::Null => Ok(()),
        other => Err(MethodError::invalid(format!(
            "invalid argument 1: json: cannot unmarshal {} into Go value of type bool",
            go_type(other)
        ))),
    }
}

/// A block tag or hex quantity; `None` for a number that cannot exist.
fn block_number(v: &Value, snap: &Snapshot) -> Result<Option<u64>, MethodError> {
    let s = match v {
        Value::String(s) => s.as_str(),
        Value::Null => {
            return Err(MethodError::invalid(
                "missing value for required argument 0",
            ));
        }
        other => {
            return Err(MethodError::invalid(format!(
                "invalid argument 0: json: cannot unmarshal {} into Go value of type string",
                go_type(other)
            )));
        }
    };
    Ok(Some(match s {
        "latest" | "pending" => snap.height,
        "earliest" => 0,
        "safe" => snap.height.saturating_sub(SAFE_LAG),
        "finalized" => snap.height.saturating_sub(FINALIZED_LAG),
        _ => {
            let digits = s.strip_prefix("0x").ok_or_else(|| {
                MethodError::invalid("invalid argument 0: hex string without 0x prefix")
            })?;
            if digits.is_empty() || digits.len() > 1 && digits.starts_with('0') {
                return Err(MethodError::invalid(
                    "invalid argument 0: hex number with leading zero digits",
                ));
            }
            match u64::from_str_radix(digits, 16) {
                Ok(n) => n,
                Err(_) if digits.bytes().all(|b| b.is_ascii_hexdigit()) => return Ok(None),
                Err(_) => {
                    return Err(MethodError::invalid(
                        "invalid argument 0: invalid hex string",
                    ));
                }
            }
        }
    }))
}
