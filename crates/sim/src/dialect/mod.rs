//! The three JSON-RPC dialects. Each answers from the snapshot and the
//! deterministic chain, without touching the database.

mod ethereum;
#[cfg(test)]
mod history_tests;
mod substrate;
#[cfg(test)]
mod tests;
mod zenon;

use nodewarden_model::Kind;
use serde_json::Value;

use crate::chain::Chain;
use crate::clock::ChainClock;
use crate::jsonrpc::{MethodError, Params, Style};
use crate::pillar::Missed;
use crate::scenario::Scenario;
use crate::state::Snapshot;
use std::sync::Arc;

/// What every dialect needs to know about the chain it serves.
pub struct Context {
    pub chain: Chain,
    pub clock: ChainClock,
    pub chain_id: u64,
    pub client_version: String,
    /// Height ranges not served (`missing` in the scenario).
    pub missing: Vec<[u64; 2]>,
}

impl Context {
    /// Whether a history call answers the block at `h`: stored and not in a missing range.
    pub fn has(&self, h: u64, snap: &Snapshot) -> bool {
        h <= snap.height && !self.missing.iter().any(|[a, b]| (*a..=*b).contains(&h))
    }
}

pub enum Dialect {
    Zenon(zenon::Zenon),
    Ethereum(ethereum::Ethereum),
    Substrate(substrate::Substrate),
}

impl Dialect {
    pub fn new(
        kind: Kind,
        scenario: &Scenario,
        chain: Chain,
        clock: ChainClock,
        missed: Arc<Missed>,
    ) -> Dialect {
        let ctx = Context {
            chain,
            clock,
            chain_id: scenario.chain_id,
            client_version: scenario.client_version_for(kind),
            missing: scenario.missing.clone(),
        };
        match kind {
            Kind::Zenon => Dialect::Zenon(zenon::Zenon::new(ctx, scenario, missed)),
            Kind::Ethereum => Dialect::Ethereum(ethereum::Ethereum::new(ctx, scenario)),
            Kind::Substrate => Dialect::Substrate(substrate::Substrate::new(ctx, scenario)),
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Dialect::Zenon(_) => Kind::Zenon,
            Dialect::Ethereum(_) => Kind::Ethereum,
            Dialect::Substrate(_) => Kind::Substrate,
        }
    }

    pub fn style(&self) -> Style {
        match self {
            Dialect::Substrate(_) => Style::Jsonrpsee,
            _ => Style::Geth,
        }
    }

    /// Writes the `result` JSON of `method` into `out`.
    pub fn call(
        &self,
        method: &str,
        params: &Params,
        snap: &Snapshot,
        out: &mut Vec<u8>,
    ) -> Result<(), MethodError> {
        match self {
            Dialect::Zenon(d) => d.call(method, params, snap, out),
            Dialect::Ethereum(d) => d.call(method, params, snap, out),
            Dialect::Substrate(d) => d.call(method, params, snap, out),
        }
    }
}

/// Go's encoding/json words for a JSON value's type, for geth-style messages.
pub(crate) fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A required uint64 argument, as go-ethereum's rpc package decodes it.
pub(crate) fn arg_u64(args: &[Value], i: usize) -> Result<u64, MethodError> {
    match &args[i] {
        Value::Null => Err(MethodError::invalid(format!(
            "missing value for required argument {i}"
        ))),
        Value::Number(n) => n.as_u64().ok_or_else(|| {
            MethodError::invalid(format!(
                "invalid argument {i}: json: cannot unmarshal number {n} into Go value of type uint64"
            ))
        }),
        other => Err(MethodError::invalid(format!(
            "invalid argument {i}: json: cannot unmarshal {} into Go value of type uint64",
            go_type(other)
        ))),
    }
}
