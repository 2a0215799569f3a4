//! The node family, which fixes the JSON-RPC dialect, the default port and the block time.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The node family, which fixes the JSON-RPC dialect spoken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// go-zenon / znnd, pillars included.
    Zenon,
    /// Execution clients: Besu, geth, reth, Nethermind (and anvil).
    Ethereum,
    /// Substrate nodes, xx network included.
    Substrate,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Zenon, Kind::Ethereum, Kind::Substrate];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Zenon => "zenon",
            Kind::Ethereum => "ethereum",
            Kind::Substrate => "substrate",
        }
    }

    /// The RPC port each client family listens on out of the box.
    pub fn default_port(self) -> u16 {
        match self {
            Kind::Zenon => 35997,
            Kind::Ethereum => 8545,
            Kind::Substrate => 9944,
        }
    }

    /// The chain's nominal block time (zenon momentums 10 s, ethereum slots 12 s, substrate/BABE 6 s).
    pub fn block_time(self) -> Duration {
        match self {
            Kind::Zenon => Duration::from_secs(10),
            Kind::Ethereum => Duration::from_secs(12),
            Kind::Substrate => Duration::from_secs(6),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, not `write_str`: tables format kinds with a width.
        f.pad(self.as_str())
    }
}

/// A kind name that is none of the known ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown node kind `{0}` (expected zenon, ethereum or substrate)")]
pub struct ParseKindError(pub String);

impl FromStr for Kind {
    type Err = ParseKindError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "zenon" | "znn" | "znnd" => Ok(Kind::Zenon),
            "ethereum" | "eth" => Ok(Kind::Ethereum),
            "substrate" | "xx" => Ok(Kind::Substrate),
            other => Err(ParseKindError(other.to_owned())),
        }
    }
}
