//! The engine. Open models: workers take numbered tickets, wait for each ticket's due time
//! and measure latency from that time, so a stalled target shows up in the latencies of
//! every request that should have been sent meanwhile (no coordinated omission). The pool
//! of workers (one keep-alive connection each) starts sized by the rate and grows while
//! requests go out late. Closed model (`constant-vus`): each worker loops send → answer.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, Semaphore};

use crate::classify::classify;
use crate::compare;
use crate::error::LoadError;
use crate::http::{Conn, Endpoint, NetError};
use crate::plan::Plan;
use crate::report::{self, Report, TimePoint};
use crate::scenario::{Executor, Scenario};
use crate::schedule::Schedule;
use crate::stats::{ErrKind, Stats, histogram, lock};

/// A snapshot for live display, once per `tick`.
#[derive(Debug, Clone)]
pub struct LiveTick {
    pub elapsed: Duration,
    pub planned: Duration,
    pub calls: u64,
    pub errors: u64,
    /// Calls per second over the last tick.
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub connections: u32,
    /// A label for sweeps ("rate 500/s"), else empty.
    pub stage: String,
}

/// Ends a run early (Ctrl-C): no new requests; those in flight finish (within the
/// timeout) and the report covers what was sent.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    pub fn new() -> Stop {
        Stop::default()
    }

    pub fn stop(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Sends later than this behind schedule add a connection (up to `max_connections`).
const GROW_AFTER: Duration = Duration::from_millis(5);
const SHARDS: usize = 8;

struct Shared {
    plan: Plan,
    endpoints: Vec<Endpoint>,
    stats: Stats,
    schedule: Option<Schedule>,
    next: AtomicU64,
    start: Instant,
    end: Instant,
    timeout: Duration,
    workers: AtomicU32,
    alive: AtomicU32,
    peak_workers: AtomicU32,
    max_workers: u32,
    done: Notify,
    /// Open models: one permit per ticket that is due (see `release`).
    due: Semaphore,
    stop: Stop,
}

/// Runs a scenario against `target` (and `compare`, in equality mode).
pub async fn run(
    s: &Scenario,
    target: &str,
    compare: Option<&str>,
    stage: &str,
    stop: &Stop,
    progress: &mut (dyn FnMut(&LiveTick) + Send),
) -> Result<Report, LoadError> {
    let mut endpoints = vec![Endpoint::parse(target).map_err(|e| LoadError::Usage(e.to_string()))?];
    if let Some(c) = compare {
        endpoints.push(Endpoint::parse(c).map_err(|e| LoadError::Usage(e.to_string()))?);
    }
    let plan = Plan::build(s, &endpoints);
    let slots = plan.names.len();
    let schedule = Schedule::for_executor(&s.executor);
    let initial = match (&s.executor, s.connections) {
        (Executor::ConstantVus { vus, .. }, _) => *vus,
        (_, Some(c)) => c,
        // One connection per 2 ms of schedule keeps up with a sub-millisecond target; the
        // pool grows when it does not.
        (e, None) => {
            ((e.peak_rate().unwrap_or(1.0) / 500.0).ceil() as u32).clamp(4, s.max_connections)
        }
    };
    let planned = s.executor.duration();
    let start = Instant::now();
    let shared = Arc::new(Shared {
        plan,
        endpoints,
        stats: Stats::new(slots, SHARDS),
        schedule,
        next: AtomicU64::new(0),
        start,
        end: start + planned,
        timeout: s.timeout,
        workers: AtomicU32::new(initial),
        alive: AtomicU32::new(initial),
        peak_workers: AtomicU32::new(initial),
        max_workers: s.max_connections.max(initial),
        done: Notify::new(),
        due: Semaphore::new(0),
        stop: stop.clone(),
    });
    if shared.schedule.is_some() {
        let sh = shared.clone();
        std::thread::Builder::new()
            .name("nodewarden-load-clock".into())
            .spawn(move || release(&sh))
            .map_err(|e| LoadError::Usage(format!("cannot start the schedule thread: {e}")))?;
    }
    for id in 0..initial {
        tokio::spawn(worker(shared.clone(), id as usize));
    }

    let tick = Duration::from_secs(1);
    let mut timeline = Vec::new();
    let mut so_far = histogram();
    let (mut calls, mut errors) = (0u64, 0u64);
    let mut last = start;
    let mut next_tick = start + tick;
    loop {
        let finished = tokio::select! {
            _ = tokio::time::sleep_until(next_tick.into()) => false,
            _ = shared.done.notified() => true,
        };
        let now = Instant::now();
        let iv = shared.stats.take_interval();
        let secs = now.duration_since(last).as_secs_f64().max(1e-3);
        let _ = so_far.add(&iv.hist);
        calls += iv.calls;
        errors += iv.errors;
        timeline.push(TimePoint {
            t_s: now.duration_since(start).as_secs_f64(),
            rps: iv.calls as f64 / secs,
            errors: iv.errors,
            p50_ms: ms(iv.hist.value_at_quantile(0.5)),
            p99_ms: ms(iv.hist.value_at_quantile(0.99)),
            max_ms: ms(iv.hist.max()),
        });
        progress(&LiveTick {
            elapsed: now.duration_since(start),
            planned,
            calls,
            errors,
            rps: iv.calls as f64 / secs,
            p50_ms: ms(so_far.value_at_quantile(0.5)),
            p99_ms: ms(so_far.value_at_quantile(0.99)),
            connections: shared.workers.load(Ordering::Relaxed),
            stage: stage.to_string(),
        });
        last = now;
        next_tick = now + tick;
        if finished && shared.alive.load(Ordering::Acquire) == 0 {
            break;
        }
    }
    let elapsed = start.elapsed();
    let totals = shared.stats.totals();
    if totals.answered == 0 && totals.overall().calls > 0 {
        return Err(LoadError::Unreachable {
            url: target.to_string(),
            message: totals
                .last_net_error
                .clone()
                .unwrap_or_else(|| "every request failed".into()),
        });
    }
    Ok(report::build(report::Inputs {
        scenario: s,
        target,
        compare,
        names: &shared.plan.names,
        totals: &totals,
        timeline,
        elapsed,
        open_model: shared.schedule.is_some(),
        peak_connections: shared.peak_workers.load(Ordering::Relaxed),
    }))
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

async fn worker(sh: Arc<Shared>, id: usize) {
    let mut conns: Vec<Conn> = sh.endpoints.iter().map(Conn::new).collect();
    let mut outcome = Vec::new();
    let shard = sh.stats.shard(id);
    let len = sh.plan.entries.len() as u64;
    loop {
        if sh.stop.is_stopped() {
            break;
        }
        if sh.schedule.is_some() {
            match sh.due.acquire().await {
                Ok(p) => p.forget(),
                Err(_) => break,
            }
        }
        if sh.stop.is_stopped() {
            break;
        }
        let i = sh.next.fetch_add(1, Ordering::Relaxed);
        let intended = match &sh.schedule {
            Some(s) => match s.due(i) {
                Some(at) => sh.start + at,
                None => break,
            },
            None => {
                let now = Instant::now();
                if now >= sh.end {
                    break;
                }
                now
            }
        };
        let entry = &sh.plan.entries[(i % len) as usize];
        let sent = Instant::now();
        let lag = sent.saturating_duration_since(intended);
        if sh.schedule.is_some() {
            if lag > sh.timeout {
                // It would time out before it left: count it, do not send it.
                lock(shard).record_dropped(&entry.slots);
                continue;
            }
            if lag > GROW_AFTER {
                grow(&sh);
            }
        }
        let calls = entry.slots.len();
        let (first, rest) = conns.split_first_mut().expect("one endpoint at least");
        let mut diffs = None;
        let result = match rest.first_mut() {
            // The common path classifies the answer in the connection's buffer: no copy.
            None => match first.exchange(&entry.wire[0], sh.timeout).await {
                Ok((status, body)) => {
                    classify(status, body, calls, sh.plan.batch, &mut outcome);
                    Ok(())
                }
                Err(e) => Err(e),
            },
            Some(second) => {
                let (a, b) = tokio::join!(
                    first.exchange(&entry.wire[0], sh.timeout),
                    second.exchange(&entry.wire[1], sh.timeout)
                );
                let a = a.map(|(st, body)| (st, body.to_vec()));
                let b = b.map(|(st, body)| (st, body.to_vec())).ok();
                diffs = Some(compare_answers(&a, &b, calls, sh.plan.batch));
                a.map(|(status, body)| classify(status, &body, calls, sh.plan.batch, &mut outcome))
            }
        };
        let latency = Instant::now().duration_since(intended).as_micros() as u64;
        let mut net_error = None;
        let answered = match result {
            Ok(()) => true,
            Err(e) => {
                let kind = match e {
                    NetError::Connect(_) => ErrKind::Connect,
                    NetError::Timeout => ErrKind::Timeout,
                    NetError::Io(_) => ErrKind::Io,
                    NetError::BadResponse(_) => ErrKind::BadResponse,
                };
                outcome.clear();
                outcome.resize(calls, Some(kind));
                net_error = Some(e.to_string());
                false
            }
        };
        let mut st = lock(shard);
        if sh.schedule.is_some() {
            st.record_lag(lag.as_micros() as u64);
        }
        st.record(&entry.slots, latency, &outcome, answered);
        if let Some(e) = net_error {
            st.last_net_error = Some(e);
        }
        if let Some(diffs) = diffs {
            for (slot, d) in entry.slots.iter().zip(diffs) {
                st.record_compare(*slot, d);
            }
        }
    }
    if sh.alive.fetch_sub(1, Ordering::AcqRel) == 1 {
        sh.done.notify_one();
    }
}

type Answer = Result<(u16, Vec<u8>), NetError>;

fn compare_answers(
    a: &Answer,
    b: &Option<(u16, Vec<u8>)>,
    calls: usize,
    batch: bool,
) -> Vec<Option<String>> {
    let side = |x: Option<&(u16, Vec<u8>)>| match x {
        Some((st, body)) => compare::answers(*st, body, calls, batch),
        None => vec![None; calls],
    };
    let (ra, rb) = (side(a.as_ref().ok()), side(b.as_ref()));
    ra.iter()
        .zip(&rb)
        .map(|(x, y)| compare::diff(x, y))
        .collect()
}

/// The schedule's clock, on its own thread: releases one permit per ticket as it falls due.
/// Tokio's timer wheel has millisecond granularity, which would add up to ~2 ms to every
/// latency measured from the intended time; a thread sleeping with `nanosleep` wakes within
/// tens of microseconds, and releasing every ticket due at each wake-up batches by itself
/// at high rates.
fn release(sh: &Shared) {
    let Some(schedule) = &sh.schedule else { return };
    let mut released = 0u64;
    loop {
        let now = Instant::now();
        let mut n = 0u64;
        while let Some(at) = schedule.due(released + n) {
            if sh.start + at > now {
                break;
            }
            n += 1;
        }
        if n > 0 {
            sh.due.add_permits(n as usize);
            released += n;
        }
        match schedule.due(released).filter(|_| !sh.stop.is_stopped()) {
            // Capped so that a stop is noticed even between rare tickets.
            Some(at) => std::thread::sleep(
                (sh.start + at)
                    .saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(50)),
            ),
            None => {
                // Wake every worker, present and future: each takes a ticket past the end
                // and stops.
                sh.due.add_permits(Semaphore::MAX_PERMITS / 2);
                return;
            }
        }
    }
}

fn grow(sh: &Arc<Shared>) {
    let n = sh.workers.load(Ordering::Relaxed);
    if n >= sh.max_workers {
        return;
    }
    if sh
        .workers
        .compare_exchange(n, n + 1, Ordering::AcqRel, Ordering::Relaxed)
        .is_ok()
    {
        sh.alive.fetch_add(1, Ordering::AcqRel);
        sh.peak_workers.fetch_max(n + 1, Ordering::Relaxed);
        tokio::spawn(worker(sh.clone(), n as usize));
    }
}
