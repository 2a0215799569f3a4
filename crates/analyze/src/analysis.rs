//! The serialised results. Field names are a contract with `report`, `serve` and users'
//! scripts: add fields, do not rename them.

use crate::cost::{HeightCost, ProgressPoint};
use crate::eta::EtaMethod;
use crate::outage::Outage;
use crate::peers::PeerLoss;
use crate::stall::Stall;
use nodewarden_model::SyncState;
use serde::{Deserialize, Serialize};

/// Where an open stall began.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StalledSince {
    pub start_ms: i64,
    pub height: u64,
}

/// What the live `watch` loop needs on every tick; cheap to compute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveState {
    pub node: String,
    /// Time of the last sample.
    pub t_ms: i64,
    pub state: SyncState,
    /// Height high-water mark (a restarting node briefly reporting less does not count).
    pub current: Option<u64>,
    /// Last known positive target (kept when peers drop and the target reads 0).
    pub target: Option<u64>,
    pub peers: Option<u32>,
    /// Derived: target known, current ≥ target, peers not 0, RPC up.
    pub synced: bool,
    pub rate_blocks_per_second: Option<f64>,
    pub eta_seconds: Option<f64>,
    pub eta_low_seconds: Option<f64>,
    /// `None` while stalled: a node that is not moving has no upper bound.
    pub eta_high_seconds: Option<f64>,
    pub eta_method: EtaMethod,
    /// A stall is open: views show "stalled" instead of the estimate, which only says how
    /// long the rest would take once the node moves again.
    pub eta_stalled: bool,
    pub stalled_since: Option<StalledSince>,
    /// Stalls opened so far, the current one included; never decreases.
    pub stalls_total: u64,
    pub stall_after_seconds: f64,
    /// Sample time minus head block time.
    pub head_age_seconds: Option<f64>,
    pub error_samples: u64,
    pub restarts: u64,
    /// Start of the ongoing outage (failed polls), if any.
    pub outage_since_ms: Option<i64>,
    pub outages_total: u64,
    /// Peer-loss events (drops to half the usual count or fewer) so far, the open one included.
    pub peer_losses_total: u64,
    /// The loss under way: when it began and the usual peer count before it.
    pub peer_loss_since_ms: Option<i64>,
    pub peer_loss_from: Option<u32>,
    /// Robust RSS trend (window minima, Theil–Sen, restarts apart); `None` until enough history.
    pub memory_growth_bytes_per_second: Option<f64>,
    /// The trend is clearly positive: worth a forecast and a warning.
    pub memory_growth_significant: bool,
}

/// The analysis of one node's samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub node: String,
    pub samples: u64,
    /// Samples whose state was `error` (failed RPC).
    pub error_samples: u64,
    /// Process restarts, seen as cumulative counters going down.
    pub restarts: u64,
    /// Samples older than their predecessor; ignored.
    pub out_of_order_samples: u64,
    /// Samples whose height was below the high-water mark (restart, reorg); ignored for progress.
    pub height_regressions: u64,
    pub first_ms: i64,
    pub last_ms: i64,
    pub duration_seconds: f64,
    /// State reported by the last sample.
    pub state: SyncState,
    /// Derived synced at the last sample.
    pub synced: bool,
    pub first_synced_ms: Option<i64>,
    /// From the first sample to the first derived-synced sample.
    pub sync_duration_seconds: Option<f64>,
    pub start_height: Option<u64>,
    pub current: Option<u64>,
    pub target: Option<u64>,
    pub remaining_blocks: Option<u64>,
    /// (current − start) / (target − start).
    pub progress: Option<f64>,
    pub peers: Option<u32>,
    /// Sliding-window rate at the last sample.
    pub rate_blocks_per_second: Option<f64>,
    /// Blocks per second from the first height to sync completion (or the last advance).
    pub mean_rate_blocks_per_second: Option<f64>,
    pub eta_seconds: Option<f64>,
    pub eta_low_seconds: Option<f64>,
    pub eta_high_seconds: Option<f64>,
    pub eta_method: EtaMethod,
    /// A stall is open at the last sample (see `LiveState::eta_stalled`).
    pub eta_stalled: bool,
    /// Stall threshold in force at the last sample.
    pub stall_after_seconds: f64,
    pub stall_after_auto: bool,
    pub stalls_total: u64,
    pub stalled_seconds: f64,
    /// Finished stalls then, if any, the ongoing one (`ongoing: true`).
    pub stalls: Vec<Stall>,
    /// Windows of failed polls and process restarts; never part of a stall.
    pub outages_total: u64,
    pub outage_seconds: f64,
    /// Finished outages then, if any, the ongoing one (`ongoing: true`).
    pub outages: Vec<Outage>,
    /// Sudden drops to half the usual peer count or fewer, and time at zero.
    pub peer_losses_total: u64,
    pub peer_losses: Vec<PeerLoss>,
    pub cpu_seconds: Option<f64>,
    pub mean_cpu_cores: Option<f64>,
    pub peak_cpu_cores: Option<f64>,
    pub mean_rss_bytes: Option<f64>,
    pub peak_rss_bytes: Option<u64>,
    pub last_rss_bytes: Option<u64>,
    /// See `LiveState::memory_growth_bytes_per_second`.
    pub memory_growth_bytes_per_second: Option<f64>,
    pub memory_growth_significant: bool,
    pub read_bytes: Option<u64>,
    pub written_bytes: Option<u64>,
    pub data_dir_bytes: Option<u64>,
    pub data_dir_growth_bytes: Option<i64>,
    /// Width of the cost buckets in blocks.
    pub cost_bucket_blocks: u64,
    pub cost_by_height: Vec<HeightCost>,
    /// Time-to-height curve: when each bucket start was first reached.
    pub progress_curve: Vec<ProgressPoint>,
}
