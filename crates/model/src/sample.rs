//! One observation of one node: the columns of the samples CSV (docs/ANALYSIS.md) and
//! the sync state both the RPC adapters and the analysis speak.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The CSV columns, in the order the recorder writes them. The order is part of the contract.
pub const CSV_COLUMNS: [&str; 13] = [
    "t_ms",
    "node",
    "state",
    "current",
    "target",
    "peers",
    "head_hash",
    "head_time",
    "cpu_s",
    "rss_bytes",
    "read_bytes",
    "write_bytes",
    "data_dir_bytes",
];

/// What the node's RPC said about its own sync, normalised across dialects, or that the
/// poll failed. Whether a node is really synced is derived elsewhere (heights, peers, head
/// age), never taken from this word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SyncState {
    #[default]
    Unknown,
    Syncing,
    /// The node reports it has caught up.
    Done,
    /// zenon state 3, or a substrate node with no peers that should have some.
    NotEnoughPeers,
    /// The RPC call failed; such a sample carries no heights.
    Error,
}

impl SyncState {
    pub const ALL: [SyncState; 5] = [
        Self::Unknown,
        Self::Syncing,
        Self::Done,
        Self::NotEnoughPeers,
        Self::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Syncing => "syncing",
            Self::Done => "done",
            Self::NotEnoughPeers => "not-enough-peers",
            Self::Error => "error",
        }
    }
}

impl fmt::Display for SyncState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The unrecognised text of a state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown sync state {0:?} (expected one of unknown, syncing, done, not-enough-peers, error)"
)]
pub struct ParseStateError(pub String);

impl FromStr for SyncState {
    type Err = ParseStateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| ParseStateError(s.to_owned()))
    }
}

/// One sample. Every measured field is optional: missing is `None`, never 0, because a
/// 0 would read as "no peers" or "height 0" and corrupt every derived number.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Sample {
    /// Wall-clock time of the sample, unix milliseconds.
    pub t_ms: i64,
    pub node: String,
    pub state: SyncState,
    pub current: Option<u64>,
    pub target: Option<u64>,
    pub peers: Option<u32>,
    /// Hash of the node's head block. `Some("")` is written like `None` and reads back as `None`.
    pub head_hash: Option<String>,
    /// Timestamp of the head block, unix seconds (may be fractional).
    pub head_time: Option<f64>,
    /// Cumulative CPU seconds of the node process; resets when the process restarts.
    pub cpu_s: Option<f64>,
    pub rss_bytes: Option<u64>,
    /// Cumulative bytes read by the node process; resets when the process restarts.
    pub read_bytes: Option<u64>,
    /// Cumulative bytes written by the node process; resets when the process restarts.
    pub write_bytes: Option<u64>,
    pub data_dir_bytes: Option<u64>,
}

impl Sample {
    /// A sample carrying only time, node and state; tests and the sampler fill in the rest.
    pub fn new(t_ms: i64, node: impl Into<String>, state: SyncState) -> Self {
        Self {
            t_ms,
            node: node.into(),
            state,
            ..Self::default()
        }
    }

    /// True for a failed RPC call.
    pub fn is_error(&self) -> bool {
        self.state == SyncState::Error
    }
}
