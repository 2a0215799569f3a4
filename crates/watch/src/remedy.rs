//! The watchdog in the watch loop: after each tick, a node with `[node.remedy]` is judged
//! by `analyze::remedy` and, when a rule fires, restarted through its `service` on a
//! blocking thread (stop, then start). Each restart (or dry run) becomes a `RemedyEvent` in
//! a shared list the CLI drains into the recording: once when decided, again when the
//! commands returned, and again when the rate after it is known (docs/MAINTENANCE.md).
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nodewarden_analyze::remedy::{Decision, Facts, Rules, decide, helped};
use nodewarden_analyze::window::{History, infer, quiet_at};
use nodewarden_config::{NodeConfig, Service};
use nodewarden_model::{Kind, NodeView, RemedyEvent};
use nodewarden_rpc::ChainClient;

/// Restart events waiting to be recorded.
pub type Remedies = Arc<Mutex<Vec<RemedyEvent>>>;

/// Assumed length of a restart until one has been measured.
const FIRST_RESTART: Duration = Duration::from_secs(10);

type Outcome = Arc<Mutex<Option<Result<(), String>>>>;

pub(crate) struct Remedy {
    rules: Rules,
    service: Service,
    sink: Remedies,
    /// Unix seconds of restarts (and dry-run reports).
    history: Vec<f64>,
    no_peers_since: Option<i64>,
    /// (t_ms, height) over the last few rate windows.
    heights: VecDeque<(i64, u64)>,
    running: Option<(Outcome, Instant)>,
    /// The newest restart, until its rate after is known.
    pending: Option<Pending>,
    restart_takes: Duration,
    held_said: bool,
}

struct Pending {
    event: RemedyEvent,
    done_ms: Option<i64>,
}

impl Remedy {
    pub(crate) fn new(cfg: &NodeConfig, sink: Remedies) -> Option<Remedy> {
        let r = cfg.remedy.as_ref().filter(|r| r.enabled())?;
        Some(Remedy {
            rules: Rules {
                after: r.after.map(|d| d.as_secs_f64()),
                no_peers_after: r.no_peers_after.map(|d| d.as_secs_f64()),
                max: r.max,
                per: r.per.as_secs_f64(),
                backoff: r.backoff.as_secs_f64(),
                dry_run: r.dry_run,
            },
            service: cfg.service.clone()?,
            sink,
            history: Vec::new(),
            no_peers_since: None,
            heights: VecDeque::new(),
            running: None,
            pending: None,
            restart_takes: FIRST_RESTART,
            held_said: false,
        })
    }

    /// Seconds the rates before and after a restart are taken over: the rule's duration.
    fn window(&self) -> f64 {
        self.rules
            .after
            .or(self.rules.no_peers_after)
            .unwrap_or(60.0)
            .clamp(2.0, 600.0)
    }

    pub(crate) async fn step(
        &mut self,
        cfg: &NodeConfig,
        view: &mut NodeView,
        client: Option<Arc<dyn ChainClient>>,
        t_ms: i64,
    ) {
        let window = self.window();
        if view.rpc_up {
            if let Some(h) = view.report.current {
                self.heights.push_back((t_ms, h));
            }
            match view.report.peers {
                Some(0) => {
                    self.no_peers_since.get_or_insert(t_ms);
                }
                _ => self.no_peers_since = None,
            }
        }
        while self
            .heights
            .front()
            .is_some_and(|(t, _)| (t_ms - t) as f64 > window * 3000.0 + 60_000.0)
        {
            self.heights.pop_front();
        }
        if self.finish_running(t_ms) || self.evaluate(t_ms, window) {
            return;
        }
        let now = t_ms as f64 / 1000.0;
        let mut facts = Facts {
            now,
            stalled_for: view.stalled.then_some(view.stalled_for_seconds).flatten(),
            no_peers_for: self.no_peers_since.map(|s| (t_ms - s) as f64 / 1000.0),
            pillar_quiet: None,
            restart_takes: self.restart_takes.as_secs_f64(),
        };
        let mut decision = decide(&self.rules, &facts, &self.history);
        if matches!(decision, Decision::Restart { .. } | Decision::DryRun { .. })
            && let (Some(name), Some(c)) = (&cfg.pillar, &client)
            && c.kind() == Kind::Zenon
        {
            facts.pillar_quiet = pillar_quiet(c.as_ref(), name, cfg, now).await;
            decision = decide(&self.rules, &facts, &self.history);
        }
        match decision {
            Decision::Nothing => self.held_said = false,
            Decision::Held { detail, .. } => {
                if !self.held_said {
                    tracing::info!(node = %cfg.name, "watchdog: {detail}");
                    self.held_said = true;
                }
            }
            Decision::DryRun { reason, detail } => {
                tracing::warn!(node = %cfg.name, "watchdog: {detail}");
                self.history.push(now);
                self.held_said = false;
                let event = self.event(cfg, view, t_ms, reason.as_str(), "dry_run", detail);
                self.publish(&event);
            }
            Decision::Restart { reason, detail } => {
                tracing::warn!(node = %cfg.name, "watchdog: {detail}");
                self.history.push(now);
                self.held_said = false;
                *view
                    .remedy_restarts
                    .entry(reason.as_str().to_string())
                    .or_default() += 1;
                let event = self.event(cfg, view, t_ms, reason.as_str(), "restart", detail);
                self.publish(&event);
                self.pending = Some(Pending {
                    event,
                    done_ms: None,
                });
                self.running = Some((restart(&self.service), Instant::now()));
            }
        }
    }

    fn event(
        &self,
        cfg: &NodeConfig,
        view: &NodeView,
        t_ms: i64,
        reason: &str,
        action: &str,
        detail: String,
    ) -> RemedyEvent {
        RemedyEvent {
            node: cfg.name.clone(),
            t_ms,
            reason: reason.into(),
            action: action.into(),
            detail,
            ok: None,
            error: None,
            height: view.report.current,
            rate_before: self.rate_since(t_ms - (self.window() * 1000.0) as i64, t_ms),
            rate_after: None,
            helped: None,
        }
    }

    fn publish(&self, e: &RemedyEvent) {
        if let Ok(mut v) = self.sink.lock() {
            v.push(e.clone());
        }
    }

    /// Blocks per second between two times, from the heights seen.
    fn rate_since(&self, from_ms: i64, to_ms: i64) -> Option<f64> {
        let first = self.heights.iter().find(|(t, _)| *t >= from_ms)?;
        let last = self.heights.iter().rev().find(|(t, _)| *t <= to_ms)?;
        let dt = (last.0 - first.0) as f64 / 1000.0;
        (dt > 0.0).then(|| last.1.saturating_sub(first.1) as f64 / dt)
    }

    /// The running restart's commands returned: note how it went. True while it runs.
    fn finish_running(&mut self, t_ms: i64) -> bool {
        let Some((outcome, started)) = &self.running else {
            return false;
        };
        let Some(result) = outcome.lock().ok().and_then(|mut o| o.take()) else {
            return true;
        };
        self.restart_takes = started.elapsed().max(Duration::from_secs(1));
        self.running = None;
        if let Some(p) = self.pending.as_mut() {
            p.event.ok = Some(result.is_ok());
            p.event.error = result.err();
            p.done_ms = Some(t_ms);
            let e = p.event.clone();
            self.publish(&e);
        }
        false
    }

    /// A window after the restart: the rate after, and whether it helped. True when done
    /// now (this tick decides nothing else).
    fn evaluate(&mut self, t_ms: i64, window: f64) -> bool {
        let Some(done) = self.pending.as_ref().and_then(|p| p.done_ms) else {
            return false;
        };
        if ((t_ms - done) as f64) < window * 1000.0 {
            return false;
        }
        let after = self.rate_since(done, t_ms).unwrap_or(0.0);
        let Some(mut p) = self.pending.take() else {
            return false;
        };
        p.event.rate_after = Some(after);
        p.event.helped = Some(helped(p.event.rate_before.unwrap_or(0.0), after));
        self.publish(&p.event);
        true
    }
}

/// Seconds until the pillar may be due, from its recent momentums; `None` when unknown.
/// The node may be stalled, so its head is carried forward by the clock from the head
/// momentum's time, and the cadence past slots it did not see.
async fn pillar_quiet(
    c: &dyn ChainClient,
    name: &str,
    cfg: &NodeConfig,
    now_s: f64,
) -> Option<f64> {
    let h = nodewarden_rpc::zenon::pillar_history(c.transport(), name, 1024)
        .await
        .ok()?;
    let bt = h
        .block_time
        .map(Duration::from_secs_f64)
        .or(cfg.block_time)
        .unwrap_or_else(|| Kind::Zenon.block_time());
    match infer(&h.produced, h.looked_at) {
        History::Known(cadence) => {
            let behind = h.head_time.map_or(0.0, |t| {
                (now_s - t as f64).max(0.0) / bt.as_secs_f64().max(1e-3)
            });
            Some(quiet_at(&cadence, h.head as f64 + behind.floor(), bt))
        }
        // Silent or rare: nothing due soon.
        _ => None,
    }
}

/// Stop, then start, on a blocking thread; the outcome lands in the returned slot.
fn restart(service: &Service) -> Outcome {
    let outcome: Outcome = Arc::default();
    let (slot, service) = (outcome.clone(), service.clone());
    let run = move || {
        let result = service.run(false).and_then(|()| service.run(true));
        if let Ok(mut s) = slot.lock() {
            *s = Some(result);
        }
    };
    match tokio::runtime::Handle::try_current() {
        Ok(rt) => {
            rt.spawn_blocking(run);
        }
        Err(_) => run(),
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use nodewarden_config::{NodeArg, RemedyConfig};

    fn node(dir: &std::path::Path, dry_run: bool) -> NodeConfig {
        let mut cfg = "z=zenon@http://127.0.0.1:9"
            .parse::<NodeArg>()
            .unwrap()
            .to_config();
        let log = dir.join("service.log");
        cfg.service = Some(Service::Commands {
            stop: format!("echo stop >> {}", log.display()),
            start: format!("echo start >> {}", log.display()),
        });
        cfg.remedy = Some(RemedyConfig {
            after: Some(Duration::from_secs(3)),
            no_peers_after: None,
            max: 2,
            per: Duration::from_secs(3600),
            backoff: Duration::from_secs(10),
            dry_run,
        });
        cfg
    }

    fn view(cfg: &NodeConfig, height: u64, stalled_for: Option<f64>) -> NodeView {
        let mut v = NodeView::new(crate::once::pending(cfg, cfg.rpc.clone().unwrap()));
        v.rpc_up = true;
        v.report.current = Some(height);
        v.report.peers = Some(12);
        v.stalled = stalled_for.is_some();
        v.stalled_for_seconds = stalled_for;
        v
    }

    /// Feeds one reading a second; returns the events published so far.
    async fn feed(r: &mut Remedy, cfg: &NodeConfig, v: &mut NodeView, t_ms: i64) {
        r.step(cfg, v, None, t_ms).await;
        // The commands run on a blocking thread: give them time to return.
        for _ in 0..100 {
            if r.running
                .as_ref()
                .is_none_or(|(o, _)| o.lock().unwrap().is_some())
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn a_restart_is_run_recorded_and_judged_then_the_rules_hold() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = node(dir.path(), false);
        let sink = Remedies::default();
        let mut r = Remedy::new(&cfg, sink.clone()).unwrap();
        let t0 = 1_700_000_000_000;
        // Stalled at 500 for 1 s, 2 s ... the rule fires at 3 s.
        for s in 0..4 {
            let mut v = view(&cfg, 500, Some(s as f64));
            feed(&mut r, &cfg, &mut v, t0 + s * 1000).await;
            assert_eq!(
                v.remedy_restarts.get("stalled").copied().unwrap_or(0),
                u64::from(s == 3)
            );
        }
        let log = std::fs::read_to_string(dir.path().join("service.log")).unwrap();
        assert_eq!(log, "stop\nstart\n");
        // After the restart the node moves: 10 blocks a second.
        for s in 4..9 {
            let mut v = view(&cfg, 500 + (s as u64 - 4) * 10, None);
            feed(&mut r, &cfg, &mut v, t0 + s * 1000).await;
        }
        let events = sink.lock().unwrap().clone();
        assert_eq!(events.len(), 3, "decided, finished, judged: {events:#?}");
        let last = &events[2];
        assert_eq!(
            (last.reason.as_str(), last.action.as_str()),
            ("stalled", "restart")
        );
        assert_eq!(last.ok, Some(true));
        assert_eq!(last.rate_before, Some(0.0));
        assert!(last.rate_after.unwrap() > 5.0, "{last:?}");
        assert_eq!(last.helped, Some(true));
        assert!(
            events.iter().all(|e| e.t_ms == t0 + 3000),
            "one restart, one identity"
        );
        // Stalled again 4 s after the restart: the 10 s backoff holds it.
        let mut v = view(&cfg, 540, Some(5.0));
        feed(&mut r, &cfg, &mut v, t0 + 9_000).await;
        assert_eq!(sink.lock().unwrap().len(), 3);
    }

    #[tokio::test]
    async fn a_dry_run_runs_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = node(dir.path(), true);
        let sink = Remedies::default();
        let mut r = Remedy::new(&cfg, sink.clone()).unwrap();
        let mut v = view(&cfg, 500, Some(4.0));
        feed(&mut r, &cfg, &mut v, 1_700_000_000_000).await;
        let events = sink.lock().unwrap().clone();
        assert_eq!(events.len(), 1);
        assert_eq!((events[0].action.as_str(), events[0].ok), ("dry_run", None));
        assert!(!dir.path().join("service.log").exists(), "no command ran");
        assert!(v.remedy_restarts.is_empty());
    }
}
