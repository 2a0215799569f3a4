//! What is known about a node right now: the one-poll [`NodeReport`] (`watch --once
//! --json`) and the watch's fuller [`NodeView`] (`/api/nodes`, the live lines, `/metrics`,
//! the dashboard). Field names are a contract with scripts reading the JSON.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::SyncState;

/// Upper bounds (seconds) of the RPC latency histogram: loopback answers in well under a
/// millisecond, a struggling node over a remote link in seconds.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Debug, Clone, Default, Serialize)]
pub struct LatencyHistogram {
    /// Cumulative counts per bucket of [`LATENCY_BUCKETS`], Prometheus style.
    pub buckets: [u64; LATENCY_BUCKETS.len()],
    pub count: u64,
    pub sum_seconds: f64,
}

impl LatencyHistogram {
    pub fn observe(&mut self, seconds: f64) {
        for (b, le) in self.buckets.iter_mut().zip(LATENCY_BUCKETS) {
            if seconds <= le {
                *b += 1;
            }
        }
        self.count += 1;
        self.sum_seconds += seconds;
    }
}

/// One node's status as `watch --once --json` prints it. Field names are a contract.
#[derive(Debug, Clone, Serialize)]
pub struct NodeReport {
    pub name: String,
    /// The configured kind, or the detected one when it was `auto`.
    pub kind: String,
    pub url: String,
    pub ok: bool,
    pub error: Option<String>,
    /// A short label for the error (`refused`, `timeout`, `http`, `jsonrpc`, `malformed`, `dialect`).
    pub error_reason: Option<&'static str>,
    pub state: Option<SyncState>,
    pub current: Option<u64>,
    pub target: Option<u64>,
    pub peers: Option<u32>,
    pub synced: bool,
    pub progress_percent: Option<f64>,
    pub head_height: Option<u64>,
    pub head_hash: Option<String>,
    /// Unix seconds.
    pub head_time: Option<f64>,
    pub head_age_seconds: Option<f64>,
    pub client_version: Option<String>,
    pub latency_ms: Option<f64>,
}

/// Newest snapshot per node name: written by whoever follows the repository, read by the
/// watch when it builds its views.
pub type Backups = std::sync::Arc<std::sync::RwLock<std::collections::HashMap<String, BackupInfo>>>;

/// A node's newest snapshot, as the backup repository lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackupInfo {
    pub name: String,
    /// Unix milliseconds.
    pub time_ms: i64,
    pub duration_seconds: Option<f64>,
    pub height: Option<u64>,
}

/// What was captured when a stall began: the evidence of *why* (docs/ANALYSIS.md).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forensics {
    pub node: String,
    /// When the capture ran, and the stall it belongs to (unix milliseconds).
    pub t_ms: i64,
    pub stall_start_ms: i64,
    pub height: u64,
    /// The last lines of the node's log (journald unit or file).
    pub log_tail: Option<String>,
    /// Thread states of the node's process over a few seconds, summarised.
    pub threads: Option<String>,
    /// A goroutine dump (`debug/pprof/goroutine?debug=2`) when `pprof` is configured.
    pub pprof: Option<String>,
    /// What could not be captured, and why.
    pub notes: Vec<String>,
}

/// The node's databases (LevelDB/RocksDB) as their MANIFESTs last described them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DbView {
    /// `leveldb`, `rocksdb` or `mixed`.
    pub engine: String,
    pub databases: usize,
    /// Summed over databases and column families.
    pub levels: Vec<DbLevel>,
    pub max_compaction_score: f64,
    pub wal_bytes: u64,
    pub obsolete_bytes: u64,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DbLevel {
    pub level: u32,
    pub files: u64,
    pub bytes: u64,
    pub score: f64,
}

/// The node's process as last sampled.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ProcessView {
    pub pid: u32,
    pub cpu_seconds: Option<f64>,
    /// CPU use since the previous tick, in percent of one core.
    pub cpu_percent: Option<f64>,
    pub rss_bytes: Option<u64>,
    pub read_bytes: Option<u64>,
    pub written_bytes: Option<u64>,
}

/// Everything known about one node right now: what `/api/nodes` returns, what the live view
/// and `/metrics` draw from.
#[derive(Debug, Clone, Serialize)]
pub struct NodeView {
    #[serde(flatten)]
    pub report: NodeReport,
    pub rate_blocks_per_second: Option<f64>,
    pub eta_seconds: Option<f64>,
    pub eta_low_seconds: Option<f64>,
    pub eta_high_seconds: Option<f64>,
    /// A stall is open: the views show "stalled" instead of an ETA.
    pub eta_stalled: bool,
    pub stalled: bool,
    pub stalled_since_ms: Option<i64>,
    pub stalled_for_seconds: Option<f64>,
    pub stall_height: Option<u64>,
    pub stalls_total: u64,
    pub stall_after_seconds: f64,
    /// Windows of failed polls and restarts so far (never counted as stalls).
    pub outages_total: u64,
    /// Drops to half the usual peer count or fewer so far; the one under way began at
    /// `peer_loss_since_ms`, from `peer_loss_from` peers.
    pub peer_losses_total: u64,
    pub peer_loss_since_ms: Option<i64>,
    pub peer_loss_from: Option<u32>,
    /// Robust RSS trend of the process, bytes/s, once there is enough history.
    pub memory_growth_bytes_per_second: Option<f64>,
    /// When the trend is significant: seconds until the host's available memory or the
    /// process's cgroup limit runs out at that pace.
    pub memory_exhaustion_seconds: Option<f64>,
    /// Highest target seen: peers dropping to 0 must not make a node look caught up.
    pub last_target: Option<u64>,
    pub process: Option<ProcessView>,
    pub data_dir_bytes: Option<u64>,
    /// The databases under the data dir, re-read when a MANIFEST changes.
    pub db: Option<DbView>,
    pub rpc_up: bool,
    pub rpc_errors_total: BTreeMap<&'static str, u64>,
    /// Watchdog restarts by reason (`stalled`, `no_peers`), dry runs not counted.
    pub remedy_restarts: BTreeMap<String, u64>,
    #[serde(skip)]
    pub latency: LatencyHistogram,
    pub samples: u64,
    pub last_sample_ms: i64,
    /// The node's newest snapshot in the configured repository, when there is one.
    pub backup: Option<BackupInfo>,
    pub backup_age_seconds: Option<f64>,
    /// `ok`, `warning`, `critical` or `unknown`, with the reason: what the dashboard colours by.
    pub health: Health,
    pub health_reason: String,
    /// The node's `chain = "NAME"`: fork checks compare the nodes of one chain.
    pub chain: Option<String>,
    /// Whether the node's hash at `fork_checked_height` differs from its group's majority
    /// or reference; `None` until compared.
    pub fork_detected: Option<bool>,
    /// While forked: the first height where its chain differs.
    pub fork_height: Option<u64>,
    /// The common height of the last comparison.
    pub fork_checked_height: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Ok,
    Warning,
    Critical,
    Unknown,
}

/// The live verdict on a node: worst problem first. The same facts `check` judges, read
/// from the watch's own view, so the dashboard needs no rules of its own.
pub fn health(n: &NodeView) -> (Health, String) {
    let r = &n.report;
    if n.samples == 0 {
        return (Health::Unknown, "not polled yet".into());
    }
    if !n.rpc_up {
        return (
            Health::Critical,
            format!("RPC down ({})", r.error_reason.unwrap_or("error")),
        );
    }
    if n.fork_detected == Some(true) {
        return (
            Health::Critical,
            match (n.fork_height, n.fork_checked_height) {
                (Some(h), _) => format!("forked at {h}"),
                (None, Some(c)) => format!("forked (block {c} differs)"),
                (None, None) => "forked".into(),
            },
        );
    }
    if n.stalled {
        // The database often says why: writes slowed by L0, compaction far behind.
        let why = n.db.as_ref().and_then(|d| d.warnings.first());
        return (
            Health::Critical,
            why.map_or_else(|| "stalled".into(), |w| format!("stalled; database: {w}")),
        );
    }
    if r.peers == Some(0) {
        return (Health::Critical, "no peers".into());
    }
    if r.synced {
        return (Health::Ok, "synced".into());
    }
    match n.rate_blocks_per_second {
        Some(rate) if rate > 0.0 => (Health::Warning, "syncing".into()),
        _ => (Health::Warning, "behind".into()),
    }
}

impl NodeView {
    pub fn new(report: NodeReport) -> NodeView {
        NodeView {
            report,
            rate_blocks_per_second: None,
            eta_seconds: None,
            eta_low_seconds: None,
            eta_high_seconds: None,
            eta_stalled: false,
            stalled: false,
            stalled_since_ms: None,
            peer_losses_total: 0,
            peer_loss_since_ms: None,
            peer_loss_from: None,
            stalled_for_seconds: None,
            stall_height: None,
            stalls_total: 0,
            stall_after_seconds: 0.0,
            outages_total: 0,
            memory_growth_bytes_per_second: None,
            memory_exhaustion_seconds: None,
            last_target: None,
            process: None,
            data_dir_bytes: None,
            db: None,
            rpc_up: false,
            rpc_errors_total: BTreeMap::new(),
            remedy_restarts: BTreeMap::new(),
            latency: LatencyHistogram::default(),
            samples: 0,
            last_sample_ms: 0,
            backup: None,
            backup_age_seconds: None,
            health: Health::Unknown,
            health_reason: "not polled yet".into(),
            chain: None,
            fork_detected: None,
            fork_height: None,
            fork_checked_height: None,
        }
    }
}

/// The whole picture after a tick.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WatchState {
    pub started_ms: i64,
    pub ticks: u64,
    pub interval_seconds: f64,
    /// Host CPU steal over the last tick, percent; an oversold VPS shows it here.
    pub host_steal_percent: Option<f64>,
    pub host_busy_percent: Option<f64>,
    pub nodes: Vec<NodeView>,
}
