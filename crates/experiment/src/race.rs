//! The race: both nodes started, watched and recorded as one run until the stop condition,
//! then stopped. The run is named after the experiment file, so an interrupted experiment
//! run again continues the same run (the nodes resume from their data dirs) and keeps its
//! deadline.
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nodewarden_analyze::AnalyzeOptions;
use nodewarden_config::NodeConfig;
use nodewarden_model::WatchState;
use nodewarden_record::{Recorder, Recording, RunChoice};
use nodewarden_rpc::KindSpec;
use nodewarden_watch::{WatchOptions, Watcher};
use serde::Serialize;

use crate::ExperimentError;
use crate::children::{Node, file_safe};
use crate::plan::{Plan, Side};

/// Why the race ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    BothSynced,
    HeightReached,
    Deadline,
    Interrupted,
    /// A node exited by itself (it crashed, or its command is wrong: see its log).
    NodeExited(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct RaceOutcome {
    pub run: String,
    pub recording: PathBuf,
    pub resumed: bool,
    pub reason: StopReason,
    pub seconds: f64,
}

/// A SIGTERM'd node gets this long to close its database before SIGKILL.
const GRACE: Duration = Duration::from_secs(20);

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn node_config(
    side: &Side,
    output: &std::path::Path,
    pid: u32,
) -> Result<NodeConfig, ExperimentError> {
    let pid_file = output.join(format!("{}.pid", file_safe(&side.name)));
    std::fs::write(&pid_file, pid.to_string()).map_err(|source| ExperimentError::Io {
        path: pid_file.clone(),
        source,
    })?;
    let mut c = NodeConfig::new(
        &side.name,
        KindSpec::Known(side.kind),
        Some(format!("http://127.0.0.1:{}", side.rpc_port)),
    );
    c.data_dir = Some(side.data_dir.clone());
    c.pid_file = Some(pid_file);
    Ok(c)
}

/// Runs the race; `on_tick` sees every tick's state (the live view), `shutdown` ends it
/// early (the recording keeps what was seen; running again continues).
pub async fn race(
    plan: &Plan,
    mut on_tick: impl FnMut(&WatchState),
    shutdown: impl Future<Output = ()>,
) -> Result<RaceOutcome, ExperimentError> {
    let io = |path: PathBuf| move |source| ExperimentError::Io { path, source };
    std::fs::create_dir_all(&plan.output).map_err(io(plan.output.clone()))?;
    let db = plan.output.join("experiment.db");
    let earlier = Recording::open(&db)
        .ok()
        .and_then(|r| r.resolve(&plan.run_name).ok());
    let started_ms = earlier.as_ref().map_or_else(now_ms, |r| r.started_ms);
    let recorder = Recorder::open(
        &db,
        RunChoice::Named(plan.run_name.clone()),
        env!("CARGO_PKG_VERSION"),
    )
    .map_err(ExperimentError::Record)?;
    for s in [&plan.a, &plan.b] {
        recorder
            .register_node(&s.name, s.kind.as_str())
            .map_err(ExperimentError::Record)?;
    }
    let (mut a, mut b) = if plan.b_first {
        let b = Node::start(&plan.b, &plan.output)?;
        (Node::start(&plan.a, &plan.output)?, b)
    } else {
        let a = Node::start(&plan.a, &plan.output)?;
        (a, Node::start(&plan.b, &plan.output)?)
    };
    let nodes = [
        node_config(&plan.a, &plan.output, a.pid())?,
        node_config(&plan.b, &plan.output, b.pid())?,
    ];
    let mut watcher = Watcher::new(
        &nodes,
        WatchOptions {
            interval: plan.interval,
            analyze: AnalyzeOptions::default(),
        },
    );
    let mut timer = tokio::time::interval(plan.interval);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    let deadline_ms = started_ms + plan.stop.deadline.as_millis() as i64;
    let mut record_error = None;
    let reason = loop {
        tokio::select! {
            biased;
            _ = &mut shutdown => break StopReason::Interrupted,
            _ = timer.tick() => {}
        }
        let exited = [&mut a, &mut b].into_iter().find_map(|n| {
            n.exited()
                .map(|st| format!("{} ({st}; its output: {})", n.name, n.log.display()))
        });
        if let Some(name) = exited {
            break StopReason::NodeExited(name);
        }
        let rows = watcher.tick().await;
        for row in rows {
            if let Err(e) = recorder.record(row) {
                record_error.get_or_insert(e);
            }
        }
        let state = watcher.state();
        on_tick(state);
        let both = |f: &dyn Fn(&nodewarden_model::NodeView) -> bool| state.nodes.iter().all(f);
        if let Some(h) = plan.stop.height
            && both(&|n| n.report.current.is_some_and(|c| c >= h))
        {
            break StopReason::HeightReached;
        }
        if plan.stop.synced && both(&|n| n.report.synced && n.samples > 2) {
            break StopReason::BothSynced;
        }
        if now_ms() >= deadline_ms {
            break StopReason::Deadline;
        }
    };
    if let Some(e) = record_error {
        return Err(ExperimentError::Record(e));
    }
    finish(
        a,
        b,
        recorder,
        reason,
        plan,
        &db,
        earlier.is_some(),
        started_ms,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn finish(
    a: Node,
    b: Node,
    recorder: Recorder,
    reason: StopReason,
    plan: &Plan,
    db: &std::path::Path,
    resumed: bool,
    started_ms: i64,
) -> Result<RaceOutcome, ExperimentError> {
    // Both stop at once: a slow database close on one side does not hold the other.
    let stops = tokio::task::spawn_blocking(move || {
        let ta = std::thread::spawn(move || a.stop(GRACE));
        let tb = b.stop(GRACE);
        let _ = ta.join();
        tb
    });
    let _ = stops.await;
    recorder.close().map_err(ExperimentError::Record)?;
    Ok(RaceOutcome {
        run: plan.run_name.clone(),
        recording: db.to_path_buf(),
        resumed,
        reason,
        seconds: (now_ms() - started_ms).max(0) as f64 / 1000.0,
    })
}
