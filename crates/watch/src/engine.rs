//! The polling engine behind `nodewarden watch`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nodewarden_analyze::{AnalyzeOptions, NodeTracker};
use nodewarden_config::NodeConfig;
use nodewarden_model::{
    Backups, NodeView, ProcessView, Sample, SampleRow, SyncState, WatchState, health,
};
use nodewarden_rpc::{ChainClient, RpcError, Status, connect_limited, redact_url};
use nodewarden_sample::{DirSizer, HostSampler, ProcessSample, ProcessSampler, ProcessSelector};

use crate::forks;
use crate::once;
use crate::view::apply_live;

#[derive(Debug, Clone)]
pub struct WatchOptions {
    pub interval: Duration,
    pub analyze: AnalyzeOptions,
}

/// What is sampled from the host side of one node; behind a mutex so a blocking task can
/// own it for a tick and a slow disk only costs that node its sample.
#[derive(Default)]
struct Local {
    process: Option<ProcessSampler>,
    dir: Option<DirSizer>,
    db: Option<crate::db::DbSampler>,
}

#[derive(Default, Clone)]
pub(crate) struct LocalSample {
    process: Option<ProcessSample>,
    dir_bytes: Option<u64>,
    db: Option<nodewarden_model::DbView>,
    /// Room for the process to grow: host available memory and its cgroup limit.
    mem_available: Option<u64>,
    cgroup_limit: Option<u64>,
}

pub(crate) struct Slot {
    cfg: NodeConfig,
    url: String,
    client: Option<Arc<dyn ChainClient>>,
    local: Arc<Mutex<Local>>,
    tracker: NodeTracker,
    view: NodeView,
    last_cpu: Option<(Instant, u32, f64)>,
    /// The stall whose evidence was captured (one capture per stall).
    forensics_for: Option<i64>,
    evidence: Evidence,
    remedy: Option<crate::remedy::Remedy>,
}

/// Evidence captured at stall starts, drained by whoever records it.
pub type Evidence = Arc<Mutex<Vec<nodewarden_model::Forensics>>>;

/// The polling engine: each [`Watcher::tick`] reads every node concurrently, samples their
/// processes and data dirs, feeds the analysis, and returns the samples to record.
pub struct Watcher {
    slots: Vec<Slot>,
    backups: Backups,
    evidence: Evidence,
    remedies: crate::remedy::Remedies,
    host: HostSampler,
    state: WatchState,
    opts: WatchOptions,
}

impl Watcher {
    pub fn new(nodes: &[NodeConfig], opts: WatchOptions) -> Watcher {
        let evidence = Evidence::default();
        let remedies = crate::remedy::Remedies::default();
        let slots: Vec<Slot> = nodes
            .iter()
            .map(|cfg| {
                let url = cfg.rpc_url().unwrap_or_default();
                let selector = match (&cfg.process, &cfg.pid_file) {
                    (Some(name), _) => Some(ProcessSelector::Name(name.clone())),
                    (None, Some(f)) => Some(ProcessSelector::PidFile(f.clone())),
                    // Nothing configured: the process listening on the RPC port, when the
                    // node runs on this host.
                    (None, None) => {
                        nodewarden_sample::local_port(&url).map(ProcessSelector::ListeningPort)
                    }
                };
                let local = Local {
                    process: selector.map(ProcessSampler::new),
                    dir: cfg.data_dir.as_ref().map(DirSizer::new),
                    db: cfg.data_dir.clone().map(crate::db::DbSampler::new),
                };
                let report = once::pending(cfg, redact_url(&url));
                Slot {
                    cfg: cfg.clone(),
                    url,
                    client: None,
                    local: Arc::new(Mutex::new(local)),
                    tracker: NodeTracker::new(cfg.name.clone(), opts.analyze.clone()),
                    view: NodeView {
                        chain: cfg.chain.clone(),
                        ..NodeView::new(report)
                    },
                    last_cpu: None,
                    forensics_for: None,
                    evidence: evidence.clone(),
                    remedy: crate::remedy::Remedy::new(cfg, remedies.clone()),
                }
            })
            .collect();
        let state = WatchState {
            started_ms: now_ms(),
            interval_seconds: opts.interval.as_secs_f64(),
            // Listed before the first poll, so /api/nodes names every node from the start.
            nodes: slots.iter().map(|s: &Slot| s.view.clone()).collect(),
            ..WatchState::default()
        };
        Watcher {
            slots,
            backups: Backups::default(),
            evidence,
            remedies,
            host: HostSampler::default(),
            state,
            opts,
        }
    }

    /// Gives each named node's ETA the cost shape of an earlier run of its chain (found in
    /// the recording by the caller: the engine does not read recordings).
    pub fn with_priors(
        mut self,
        mut priors: std::collections::HashMap<String, nodewarden_analyze::CostProfile>,
    ) -> Watcher {
        for s in &mut self.slots {
            if let Some(p) = priors.remove(&s.cfg.name) {
                s.tracker = s.tracker.clone().with_prior(Some(p));
            }
        }
        self
    }

    /// Evidence captured at stall starts; the recorder drains it.
    pub fn evidence(&self) -> Evidence {
        self.evidence.clone()
    }

    /// Watchdog restarts to record (`[node.remedy]`); the recorder drains them.
    pub fn remedies(&self) -> crate::remedy::Remedies {
        self.remedies.clone()
    }

    /// Where a repository reader puts each node's newest snapshot; read on every tick.
    pub fn backups(&self) -> Backups {
        self.backups.clone()
    }

    pub fn state(&self) -> &WatchState {
        &self.state
    }

    #[cfg(test)]
    pub(crate) fn slot_mut(&mut self, i: usize) -> &mut Slot {
        &mut self.slots[i]
    }

    /// The RPC timeout: below the interval, so a dead node never delays the next tick.
    fn timeout(&self, cfg: &NodeConfig) -> Duration {
        let cap = self
            .opts
            .interval
            .mul_f64(0.8)
            .max(Duration::from_millis(100));
        cfg.timeout.unwrap_or(cap).min(cap)
    }

    pub async fn tick(&mut self) -> Vec<SampleRow> {
        let t_ms = now_ms();
        let polls = futures::future::join_all(self.slots.iter().map(|s| {
            let timeout = self.timeout(&s.cfg);
            poll(s, timeout)
        }));
        let locals = futures::future::join_all(self.slots.iter().map(|s| {
            let timeout = self.timeout(&s.cfg);
            sample_local(s.local.clone(), timeout)
        }));
        let (polls, locals) = futures::join!(polls, locals);
        let host = self.host.sample();
        self.state.host_steal_percent = host.map(|h| h.steal_percent);
        self.state.host_busy_percent = host.map(|h| h.busy_percent);
        let now = SystemTime::now();
        let mut rows = Vec::with_capacity(self.slots.len());
        for ((slot, poll), local) in self.slots.iter_mut().zip(polls).zip(locals) {
            if let Some(c) = poll.client {
                slot.client = Some(c);
            }
            rows.push(slot.update(
                t_ms,
                now,
                poll.result,
                poll.latency,
                local,
                host.map(|h| h.steal_percent),
            ));
        }
        if let Ok(b) = self.backups.read() {
            for slot in &mut self.slots {
                slot.view.backup = b.get(&slot.cfg.name).cloned();
                slot.view.backup_age_seconds = slot
                    .view
                    .backup
                    .as_ref()
                    .map(|b| (t_ms - b.time_ms).max(0) as f64 / 1000.0);
            }
        }
        let undecided = self
            .slots
            .iter()
            .any(|s| s.cfg.chain.is_some() && s.view.rpc_up && s.view.fork_detected.is_none());
        if (self.state.ticks.is_multiple_of(forks::EVERY_TICKS) || undecided)
            && self.slots.iter().any(|s| s.cfg.chain.is_some())
        {
            self.check_forks().await;
        }
        for slot in &mut self.slots {
            if let Some(r) = slot.remedy.as_mut() {
                r.step(&slot.cfg, &mut slot.view, slot.client.clone(), t_ms)
                    .await;
            }
        }
        self.state.ticks += 1;
        self.state.nodes = self.slots.iter().map(|s| s.view.clone()).collect();
        rows
    }
}

impl Watcher {
    /// Compares the hashes of each chain group; a comparison that could not be made keeps
    /// the previous verdict, so one slow poll does not make the flag flap.
    async fn check_forks(&mut self) {
        let members: Vec<forks::Member> = self
            .slots
            .iter()
            .map(|s| {
                let up = s.view.rpc_up;
                forks::Member {
                    chain: s.cfg.chain.clone(),
                    reference: s.cfg.reference,
                    client: s.client.clone().filter(|_| up),
                    height: s.view.report.current.filter(|_| up),
                    known_fork: s
                        .view
                        .fork_height
                        .filter(|_| s.view.fork_detected == Some(true)),
                }
            })
            .collect();
        let timeout = self
            .opts
            .interval
            .mul_f64(0.8)
            .max(Duration::from_millis(100));
        let verdicts = forks::check(&members, timeout).await;
        for (slot, v) in self.slots.iter_mut().zip(verdicts) {
            let Some(forked) = v.forked else { continue };
            let view = &mut slot.view;
            view.fork_detected = Some(forked);
            view.fork_checked_height = v.checked_height;
            view.fork_height = v.fork_height.filter(|_| forked);
            (view.health, view.health_reason) = health(view);
        }
    }
}

struct Poll {
    client: Option<Arc<dyn ChainClient>>,
    result: Result<Status, RpcError>,
    latency: Duration,
}

async fn poll(slot: &Slot, timeout: Duration) -> Poll {
    let started = Instant::now();
    let work = async {
        let (client, fresh) = match &slot.client {
            Some(c) => (c.clone(), None),
            None => {
                let c: Arc<dyn ChainClient> = connect_limited(
                    &slot.cfg.name,
                    slot.cfg.kind,
                    &slot.url,
                    timeout,
                    slot.cfg.max_answer_bytes(),
                )
                .await?
                .into();
                (c.clone(), Some(c))
            }
        };
        let status = client.status().await;
        Ok::<_, RpcError>((fresh, status))
    };
    let outcome = tokio::time::timeout(timeout, work).await;
    let latency = started.elapsed();
    let (client, result) = match outcome {
        Ok(Ok((fresh, status))) => (fresh, status),
        Ok(Err(e)) => (None, Err(e)),
        Err(_) => (None, Err(timeout_error(slot, timeout))),
    };
    Poll {
        client,
        result,
        latency,
    }
}

fn timeout_error(slot: &Slot, timeout: Duration) -> RpcError {
    RpcError {
        node: slot.cfg.name.clone(),
        url: slot.url.clone(),
        kind: nodewarden_rpc::ErrorKind::Timeout(timeout),
    }
}

async fn sample_local(local: Arc<Mutex<Local>>, timeout: Duration) -> LocalSample {
    let task = tokio::task::spawn_blocking(move || {
        // A previous tick's task still holding the lock means a slow disk: skip this tick.
        let Ok(mut l) = local.try_lock() else {
            return LocalSample::default();
        };
        let process = l.process.as_mut().and_then(ProcessSampler::sample);
        LocalSample {
            process,
            dir_bytes: l.dir.as_mut().and_then(|d| d.size().ok()),
            db: l.db.as_mut().and_then(crate::db::DbSampler::sample),
            mem_available: process.and(nodewarden_sample::host_available_bytes()),
            cgroup_limit: process.and_then(|p| nodewarden_sample::cgroup_limit_bytes(p.pid)),
        }
    });
    match tokio::time::timeout(timeout, task).await {
        Ok(Ok(s)) => s,
        _ => LocalSample::default(),
    }
}

impl Slot {
    /// Once per stall, when it begins: the log tail, thread states and goroutines, on a
    /// blocking thread so the tick goes on.
    fn capture_forensics(&mut self, t_ms: i64) {
        let (Some(start), Some(height)) = (self.view.stalled_since_ms, self.view.stall_height)
        else {
            return;
        };
        if self.forensics_for == Some(start) {
            return;
        }
        self.forensics_for = Some(start);
        let (cfg, pid, sink) = (
            self.cfg.clone(),
            self.view.process.map(|p| p.pid),
            self.evidence.clone(),
        );
        // No runtime (unit tests drive slots directly): nothing to capture on.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn_blocking(move || {
                let f = crate::forensics::capture(&cfg, pid, start, height, t_ms);
                if let Ok(mut v) = sink.lock() {
                    v.push(f);
                }
            });
        }
    }

    #[cfg(test)]
    pub(crate) fn view(&self) -> &NodeView {
        &self.view
    }

    pub(crate) fn update(
        &mut self,
        t_ms: i64,
        now: SystemTime,
        result: Result<Status, RpcError>,
        latency: Duration,
        local: LocalSample,
        steal: Option<f64>,
    ) -> SampleRow {
        let mut sample = Sample::new(t_ms, self.cfg.name.clone(), SyncState::Error);
        let mut error = None;
        match result {
            Ok(status) => {
                self.view.rpc_up = true;
                self.view.latency.observe(latency.as_secs_f64());
                sample.state = status.state;
                sample.current = status.current;
                sample.target = status.target;
                sample.peers = status.peers;
                sample.head_hash = status.head.as_ref().map(|h| h.hash.clone());
                sample.head_time = status.head.as_ref().and_then(|h| h.time);
                self.view.report =
                    once::from_status(&self.cfg, self.url.clone(), status, latency, now);
            }
            Err(e) => {
                self.view.rpc_up = false;
                *self.view.rpc_errors_total.entry(e.reason()).or_default() += 1;
                error = Some(e.to_string());
                self.view.report = once::failed(
                    &self.cfg,
                    self.url.clone(),
                    self.view.report.kind.clone(),
                    &e,
                );
            }
        }
        if let Some(p) = local.process {
            if self.view.process.map(|v| v.pid) != Some(p.pid) {
                tracing::info!(node = %self.cfg.name, pid = p.pid, "sampling the node's process");
            }
            sample.cpu_s = p.cpu_seconds;
            sample.rss_bytes = p.rss_bytes;
            sample.read_bytes = p.read_bytes;
            sample.write_bytes = p.written_bytes;
            let cpu_percent = match (self.last_cpu, p.cpu_seconds) {
                (Some((at, pid, prev)), Some(cpu)) if pid == p.pid && cpu >= prev => {
                    Some((cpu - prev) / at.elapsed().as_secs_f64().max(1e-3) * 100.0)
                }
                _ => None,
            };
            self.last_cpu = p.cpu_seconds.map(|c| (Instant::now(), p.pid, c));
            self.view.process = Some(ProcessView {
                pid: p.pid,
                cpu_seconds: p.cpu_seconds,
                cpu_percent,
                rss_bytes: p.rss_bytes,
                read_bytes: p.read_bytes,
                written_bytes: p.written_bytes,
            });
        } else {
            self.view.process = None;
            self.last_cpu = None;
        }
        sample.data_dir_bytes = local.dir_bytes.or(self.view.data_dir_bytes);
        // A tick that skipped the disk keeps the last database view; the recording gets a
        // point only when the databases changed, so a quiet node costs no rows.
        let mut db_point = None;
        if local.db.is_some() {
            if local.db != self.view.db {
                db_point = local.db.as_ref().map(|d| d.point(t_ms));
            }
            self.view.db = local.db.clone();
        }
        self.view.data_dir_bytes = sample.data_dir_bytes;
        self.tracker.push(&sample);
        let live = self.tracker.snapshot();
        apply_live(&mut self.view, &live);
        self.view.memory_exhaustion_seconds = match (
            live.memory_growth_significant,
            live.memory_growth_bytes_per_second,
            sample.rss_bytes,
        ) {
            (true, Some(g), Some(rss)) => nodewarden_analyze::exhaustion_seconds(
                g,
                rss,
                local.mem_available,
                local.cgroup_limit,
            )
            .filter(|s| *s <= nodewarden_analyze::FORECAST_HORIZON_SECONDS),
            _ => None,
        };
        // The derived flag of the one-shot report ignores history; the tracker's also keeps
        // the last known target when peers vanish. Both must agree for "synced".
        self.view.report.synced = self.view.report.synced && !self.view.stalled;
        self.view.samples += 1;
        self.view.last_sample_ms = t_ms;
        (self.view.health, self.view.health_reason) = health(&self.view);
        self.capture_forensics(t_ms);
        SampleRow {
            sample,
            error,
            latency_ms: Some(latency.as_secs_f64() * 1000.0),
            steal_percent: steal,
            db: db_point,
        }
    }
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
