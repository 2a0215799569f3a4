//! Waiting for a pillar's quiet gap before taking its node down (`backup --node`,
//! `window --node NAME -- COMMAND`): poll the pillar's recent momentums, infer its cadence
//! (`analyze::window`), go when the gap ahead exceeds the expected downtime plus a margin,
//! give up cleanly at the timeout without touching the node. Afterwards, compare the
//! pillar's produced/expected stats to tell whether it missed a momentum. See
//! `docs/MAINTENANCE.md`.
use std::time::{Duration, Instant};

use nodewarden_analyze::window::{History, Timing, Verdict, decide, human, infer};
use nodewarden_config::NodeConfig;
use nodewarden_rpc::zenon::{PillarHistory, PillarStats, pillar_history};
use nodewarden_rpc::{Kind, KindSpec, Transport};
use serde::Serialize;

use crate::error::{BackupError, Result};

/// Momentums of history the cadence is inferred from (go-zenon's page size).
pub const LOOKBACK: u64 = 1024;

#[derive(Debug, Clone)]
pub struct WindowOptions {
    /// Give up (node untouched) after this long.
    pub timeout: Duration,
    /// Expected downtime; `None` asks the caller's estimate (backup: its last freezes).
    pub downtime: Option<Duration>,
    /// Extra room; `None` means one momentum's time, at least a second.
    pub margin: Option<Duration>,
}

/// The window that was found: what `--json` shows under `window`.
#[derive(Debug, Clone, Serialize)]
pub struct Window {
    pub pillar: Option<String>,
    pub waited_ms: u64,
    pub downtime_expected_ms: u64,
    /// The decision that let the maintenance go, with its reasons.
    pub verdict: Verdict,
    pub before: Option<PillarStats>,
    /// Filled by [`check_missed`].
    pub after: Option<PillarStats>,
    /// Momentums the pillar missed around the maintenance (`None`: could not tell).
    pub missed: Option<u64>,
    #[serde(skip)]
    next_slot: Option<(u64, f64)>,
}

/// Waits for the window; `log` hears each new decision (go, wait, a new momentum).
/// Without `pillar` in the node's config the answer is "at once".
pub async fn wait_for_window(
    node: &NodeConfig,
    opts: &WindowOptions,
    downtime: Duration,
    log: &dyn Fn(&str),
) -> Result<Window> {
    let started = Instant::now();
    let mut window = Window {
        pillar: node.pillar.clone(),
        waited_ms: 0,
        downtime_expected_ms: downtime.as_millis() as u64,
        verdict: Verdict::go("no pillar configured: at once".into()),
        before: None,
        after: None,
        missed: None,
        next_slot: None,
    };
    let Some(name) = node.pillar.clone() else {
        log(&format!("node `{}`: {}", node.name, window.verdict.reason));
        return Ok(window);
    };
    if matches!(node.kind, KindSpec::Known(k) if k != Kind::Zenon) {
        return Err(BackupError::Input(format!(
            "node `{}`: `pillar` is set but the node is not zenon",
            node.name
        )));
    }
    let t = transport(node)?;
    let deadline = started + opts.timeout;
    // Logged when the decision changes, not on every poll (the countdown alone moves).
    let mut last_said = None;
    loop {
        let h = pillar_history(&t, &name, LOOKBACK)
            .await
            .map_err(|e| BackupError::Service(e.to_string()))?;
        let (verdict, history, bt) = judge(node, &h, opts, downtime);
        let said = Some((verdict.go, verdict.hopeless, verdict.last_produced));
        if said != last_said {
            log(&format!(
                "node `{}` pillar `{name}`: {}",
                node.name, verdict.reason
            ));
            last_said = said;
        }
        if verdict.go {
            window.waited_ms = started.elapsed().as_millis() as u64;
            window.before = Some(h.pillar.stats.clone());
            window.next_slot = match history {
                History::Known(c) => Some((
                    (c.last as f64 + c.interval + c.spread).ceil() as u64,
                    bt.as_secs_f64(),
                )),
                _ => None,
            };
            window.verdict = verdict;
            return Ok(window);
        }
        if Instant::now() >= deadline {
            return Err(BackupError::Service(format!(
                "node `{}`: no maintenance window within {} ({}); the node was not touched",
                node.name,
                human(opts.timeout.as_secs_f64()),
                verdict.reason
            )));
        }
        // A few polls per momentum so "just produced" is seen early in the gap.
        let pause = (bt / 4).clamp(Duration::from_millis(50), Duration::from_secs(2));
        tokio::time::sleep(pause.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

fn judge(
    node: &NodeConfig,
    h: &PillarHistory,
    opts: &WindowOptions,
    downtime: Duration,
) -> (Verdict, History, Duration) {
    let bt = h
        .block_time
        .map(Duration::from_secs_f64)
        .or(node.block_time)
        .unwrap_or_else(|| Kind::Zenon.block_time());
    let history = infer(&h.produced, h.looked_at);
    let verdict = decide(
        &history,
        Timing {
            head: h.head,
            block_time: bt,
            downtime,
            margin: opts.margin.unwrap_or(bt.max(Duration::from_secs(1))),
        },
    );
    (verdict, history, bt)
}

/// After the maintenance: waits (up to `timeout`) until the node holds the slot that was
/// next when it went down, then reads the pillar's stats again. A new epoch (expected
/// fell) leaves `missed` unknown.
pub async fn check_missed(node: &NodeConfig, window: &mut Window, timeout: Duration) -> Result<()> {
    let Some(name) = window.pillar.clone() else {
        return Ok(());
    };
    let t = transport(node)?;
    let deadline = Instant::now() + timeout;
    loop {
        // The node may still be starting: it is asked again until the deadline.
        let h = match pillar_history(&t, &name, 2).await {
            Ok(h) => h,
            Err(e) if Instant::now() >= deadline => {
                return Err(BackupError::Service(e.to_string()));
            }
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let past = window.next_slot.is_none_or(|(slot, _)| h.head > slot);
        if past || Instant::now() >= deadline {
            window.missed = match &window.before {
                Some(b)
                    if past
                        && h.pillar.stats.expected >= b.expected
                        && h.pillar.stats.produced >= b.produced =>
                {
                    let due = h.pillar.stats.expected - b.expected;
                    Some(due.saturating_sub(h.pillar.stats.produced - b.produced))
                }
                _ => None,
            };
            window.after = Some(h.pillar.stats);
            return Ok(());
        }
        let bt = window.next_slot.map_or(1.0, |(_, bt)| bt);
        tokio::time::sleep(Duration::from_secs_f64((bt / 2.0).clamp(0.05, 2.0))).await;
    }
}

/// How long [`check_missed`] may wait: two predicted gaps and ten seconds.
pub fn check_timeout(window: &Window) -> Duration {
    let gap = window
        .verdict
        .next_in_seconds
        .zip(window.verdict.spread_seconds)
        .map_or(0.0, |(n, s)| n + s);
    Duration::from_secs_f64(gap.max(0.0) * 2.0 + 10.0)
}

fn transport(node: &NodeConfig) -> Result<Transport> {
    let url = node.rpc_url().map_err(BackupError::Input)?;
    let timeout = node.timeout.unwrap_or(Duration::from_secs(5));
    Transport::new(&node.name, &url, timeout)
        .map(|t| t.with_max_answer(node.max_answer_bytes()))
        .map_err(|e| BackupError::Service(e.to_string()))
}
