//! The Prometheus text exposition (format 0.0.4) of a watch state. Names are a contract
//! (names and labels in the README); `promtool check metrics` must accept the output.
use std::fmt::Write;

use nodewarden_model::{LATENCY_BUCKETS, NodeView, WatchState};

/// Every reason an RPC error can have, exported from the start so `rate()` works on the
/// first error too.
const ERROR_REASONS: [&str; 7] = [
    "refused",
    "timeout",
    "transport",
    "http",
    "jsonrpc",
    "malformed",
    "dialect",
];
const STATES: [&str; 5] = ["unknown", "syncing", "done", "not-enough-peers", "error"];

struct Family<'a> {
    out: &'a mut String,
}

impl Family<'_> {
    fn header(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &str, value: f64) {
        let _ = writeln!(self.out, "{name}{{{labels}}} {}", number(value));
    }
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn labels(n: &NodeView) -> String {
    format!(
        "node=\"{}\",kind=\"{}\"",
        escape(&n.report.name),
        escape(&n.report.kind)
    )
}

type Getter = fn(&NodeView) -> Option<f64>;

fn backup_time(n: &NodeView) -> Option<f64> {
    n.backup.as_ref().map(|b| b.time_ms as f64 / 1000.0)
}

fn backup_duration(n: &NodeView) -> Option<f64> {
    n.backup.as_ref().and_then(|b| b.duration_seconds)
}

/// A synced node has nothing left to do: 0, not a missing series, so dashboards and alerts
/// see "done" rather than "unknown". A stalled node has no ordinary ETA: the series is
/// absent and `nodewarden_sync_eta_stalled` says why.
fn eta(n: &NodeView, v: Option<f64>) -> Option<f64> {
    if n.report.synced {
        Some(0.0)
    } else if n.eta_stalled {
        None
    } else {
        v
    }
}

/// Per-node single-value families: (name, type, help, value).
const SIMPLE: &[(&str, &str, &str, Getter)] = &[
    (
        "nodewarden_sync_current_height",
        "gauge",
        "Height of the node's best block.",
        |n| n.report.current.map(|v| v as f64),
    ),
    (
        "nodewarden_sync_target_height",
        "gauge",
        "Height the node syncs to (last known while peers are gone).",
        |n| n.last_target.or(n.report.target).map(|v| v as f64),
    ),
    (
        "nodewarden_synced",
        "gauge",
        "1 when derived synced: target reached, peers present, head fresh.",
        |n| Some(f64::from(u8::from(n.report.synced))),
    ),
    (
        "nodewarden_peers",
        "gauge",
        "Connected peers, where the node reports them.",
        |n| n.report.peers.map(f64::from),
    ),
    (
        "nodewarden_sync_rate_blocks_per_second",
        "gauge",
        "Blocks per second over the recent window.",
        |n| n.rate_blocks_per_second,
    ),
    (
        "nodewarden_sync_eta_seconds",
        "gauge",
        "Estimated seconds until synced (central estimate).",
        |n| eta(n, n.eta_seconds),
    ),
    (
        "nodewarden_sync_eta_low_seconds",
        "gauge",
        "Optimistic end of the ETA range.",
        |n| eta(n, n.eta_low_seconds),
    ),
    (
        "nodewarden_sync_eta_high_seconds",
        "gauge",
        "Pessimistic end of the ETA range.",
        |n| eta(n, n.eta_high_seconds),
    ),
    (
        "nodewarden_sync_eta_stalled",
        "gauge",
        "1 while stalled: the ETA series are withheld until the node moves again.",
        |n| Some(f64::from(u8::from(n.eta_stalled && !n.report.synced))),
    ),
    (
        "nodewarden_outages_total",
        "counter",
        "Windows of failed polls and process restarts; never counted as stalls.",
        |n| Some(n.outages_total as f64),
    ),
    (
        "nodewarden_peer_losses_total",
        "counter",
        "Drops of the peer count to half the usual or fewer (peer-loss events).",
        |n| Some(n.peer_losses_total as f64),
    ),
    (
        "nodewarden_peer_loss_seconds",
        "gauge",
        "How long the peer loss under way has lasted; 0 when none.",
        |n| {
            Some(
                n.peer_loss_since_ms
                    .map_or(0.0, |t| (n.last_sample_ms - t).max(0) as f64 / 1000.0),
            )
        },
    ),
    (
        "nodewarden_process_memory_growth_bytes_per_second",
        "gauge",
        "Robust RSS trend of the node process (window minima, Theil-Sen; restarts apart).",
        |n| n.memory_growth_bytes_per_second,
    ),
    (
        "nodewarden_memory_exhaustion_seconds",
        "gauge",
        "When the RSS trend is significant: seconds until host or cgroup memory runs out.",
        |n| n.memory_exhaustion_seconds,
    ),
    (
        "nodewarden_stalled",
        "gauge",
        "1 while the node is behind and not advancing.",
        |n| Some(f64::from(u8::from(n.stalled))),
    ),
    (
        "nodewarden_stalled_seconds",
        "gauge",
        "How long the current stall has lasted.",
        |n| n.stalled_for_seconds.or(Some(0.0)),
    ),
    (
        "nodewarden_stalls_total",
        "counter",
        "Stalls seen since the watch started.",
        |n| Some(n.stalls_total as f64),
    ),
    (
        "nodewarden_fork_detected",
        "gauge",
        "1 when the node's block hash at a common height differs from its chain group's majority or reference.",
        |n| n.fork_detected.map(|f| f64::from(u8::from(f))),
    ),
    (
        "nodewarden_fork_height",
        "gauge",
        "While forked: the first height where the node's chain differs from its group's.",
        |n| {
            n.fork_height
                .filter(|_| n.fork_detected == Some(true))
                .map(|h| h as f64)
        },
    ),
    (
        "nodewarden_head_age_seconds",
        "gauge",
        "Age of the node's head block.",
        |n| n.report.head_age_seconds,
    ),
    (
        "nodewarden_rpc_up",
        "gauge",
        "1 when the last RPC poll succeeded.",
        |n| Some(f64::from(u8::from(n.rpc_up))),
    ),
    (
        "nodewarden_process_cpu_seconds_total",
        "counter",
        "CPU seconds used by the node process.",
        |n| n.process.and_then(|p| p.cpu_seconds),
    ),
    (
        "nodewarden_process_resident_memory_bytes",
        "gauge",
        "Resident memory of the node process.",
        |n| n.process.and_then(|p| p.rss_bytes).map(|v| v as f64),
    ),
    (
        "nodewarden_process_read_bytes_total",
        "counter",
        "Bytes the node process read from storage.",
        |n| n.process.and_then(|p| p.read_bytes).map(|v| v as f64),
    ),
    (
        "nodewarden_process_written_bytes_total",
        "counter",
        "Bytes the node process wrote to storage.",
        |n| n.process.and_then(|p| p.written_bytes).map(|v| v as f64),
    ),
    (
        "nodewarden_data_dir_bytes",
        "gauge",
        "Size of the node's data dir.",
        |n| n.data_dir_bytes.map(|v| v as f64),
    ),
    (
        "nodewarden_backup_last_success_timestamp_seconds",
        "gauge",
        "Time of the node's newest snapshot in the backup repository.",
        backup_time,
    ),
    (
        "nodewarden_backup_last_duration_seconds",
        "gauge",
        "How long the node's newest backup took.",
        backup_duration,
    ),
];

pub fn render(state: &WatchState) -> String {
    let mut out = String::with_capacity(4096 + state.nodes.len() * 3072);
    let mut f = Family { out: &mut out };
    for (name, kind, help, get) in SIMPLE {
        let values: Vec<(String, f64)> = state
            .nodes
            .iter()
            .filter_map(|n| get(n).map(|v| (labels(n), v)))
            .collect();
        if values.is_empty() {
            continue;
        }
        f.header(name, kind, help);
        for (l, v) in values {
            f.sample(name, &l, v);
        }
    }
    db_families(&mut f, state);
    if !state.nodes.is_empty() {
        f.header(
            "nodewarden_sync_state",
            "gauge",
            "The node's own word on its sync, one series per state (1 = current).",
        );
        for n in &state.nodes {
            let current = if n.rpc_up {
                n.report.state.map(|s| s.as_str()).unwrap_or("unknown")
            } else {
                "error"
            };
            for s in STATES {
                f.sample(
                    "nodewarden_sync_state",
                    &format!("{},state=\"{s}\"", labels(n)),
                    f64::from(u8::from(s == current)),
                );
            }
        }
        f.header(
            "nodewarden_rpc_errors_total",
            "counter",
            "Failed RPC polls by reason.",
        );
        for n in &state.nodes {
            for r in ERROR_REASONS {
                let v = n.rpc_errors_total.get(r).copied().unwrap_or(0);
                f.sample(
                    "nodewarden_rpc_errors_total",
                    &format!("{},reason=\"{r}\"", labels(n)),
                    v as f64,
                );
            }
        }
        f.header(
            "nodewarden_remedy_restarts_total",
            "counter",
            "Watchdog restarts ([node.remedy]) by reason; dry runs not counted.",
        );
        for n in &state.nodes {
            for r in ["stalled", "no_peers"] {
                let v = n.remedy_restarts.get(r).copied().unwrap_or(0);
                f.sample(
                    "nodewarden_remedy_restarts_total",
                    &format!("{},reason=\"{r}\"", labels(n)),
                    v as f64,
                );
            }
        }
        f.header(
            "nodewarden_rpc_latency_seconds",
            "histogram",
            "Time to read a node's status (all calls of one poll).",
        );
        for n in &state.nodes {
            let l = labels(n);
            for (count, le) in n.latency.buckets.iter().zip(LATENCY_BUCKETS) {
                f.sample(
                    "nodewarden_rpc_latency_seconds_bucket",
                    &format!("{l},le=\"{le}\""),
                    *count as f64,
                );
            }
            f.sample(
                "nodewarden_rpc_latency_seconds_bucket",
                &format!("{l},le=\"+Inf\""),
                n.latency.count as f64,
            );
            f.sample(
                "nodewarden_rpc_latency_seconds_sum",
                &l,
                n.latency.sum_seconds,
            );
            f.sample(
                "nodewarden_rpc_latency_seconds_count",
                &l,
                n.latency.count as f64,
            );
        }
    }
    if let Some(steal) = state.host_steal_percent {
        f.header(
            "nodewarden_host_cpu_steal_ratio",
            "gauge",
            "Share of host CPU time stolen by the hypervisor over the last tick.",
        );
        let _ = writeln!(
            f.out,
            "nodewarden_host_cpu_steal_ratio {}",
            number(steal / 100.0)
        );
    }
    f.header(
        "nodewarden_build_info",
        "gauge",
        "Always 1; the version is a label.",
    );
    let _ = writeln!(
        f.out,
        "nodewarden_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    out
}

/// Per-level database figures of the nodes whose data dir holds LevelDB/RocksDB.
fn db_families(f: &mut Family<'_>, state: &WatchState) {
    let with_db: Vec<_> = state
        .nodes
        .iter()
        .filter_map(|n| n.db.as_ref().map(|d| (labels(n), d)))
        .collect();
    if with_db.is_empty() {
        return;
    }
    type LevelGet = fn(&nodewarden_model::DbLevel) -> f64;
    let per_level: [(&str, &str, LevelGet); 3] = [
        (
            "nodewarden_db_level_files",
            "Table files per level (summed over databases and column families).",
            |l| l.files as f64,
        ),
        (
            "nodewarden_db_level_bytes",
            "Bytes of table files per level.",
            |l| l.bytes as f64,
        ),
        (
            "nodewarden_db_compaction_score",
            "Compaction score per level: L0 files over the trigger, deeper levels bytes over their target; 1 or more wants compaction.",
            |l| l.score,
        ),
    ];
    for (name, help, get) in per_level {
        f.header(name, "gauge", help);
        for (l, d) in &with_db {
            for level in &d.levels {
                f.sample(name, &format!("{l},level=\"{}\"", level.level), get(level));
            }
        }
    }
    f.header(
        "nodewarden_db_wal_bytes",
        "gauge",
        "Write-ahead log waiting to be replayed at the next start.",
    );
    for (l, d) in &with_db {
        f.sample("nodewarden_db_wal_bytes", l, d.wal_bytes as f64);
    }
    f.header(
        "nodewarden_db_obsolete_bytes",
        "gauge",
        "Table files, logs and MANIFESTs no longer part of the live version.",
    );
    for (l, d) in &with_db {
        f.sample("nodewarden_db_obsolete_bytes", l, d.obsolete_bytes as f64);
    }
}
