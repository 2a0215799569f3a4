//! The writer thread: owns the databases, steps the height model every tick,
//! stores the new blocks, runs stall burners and publishes the snapshot.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use nodewarden_model::Kind;

use crate::chain::Chain;
use crate::clock::{ChainClock, now_ms};
use crate::error::SimError;
use crate::model::{Event, HeightModel};
use crate::pillar::Missed;
use crate::scenario::{Scenario, StallCause};
use crate::stall::Burner;
use crate::state::{Shared, Snapshot};
use crate::store::{ChainDb, DirLock, ensure_files};

/// Real time between ticks.
const TICK: Duration = Duration::from_millis(25);
/// How often a sim running cadenced pillars notes that it is alive (a stop is accounted
/// from the last note, so slots are never missed late).
const ALIVE_EVERY: Duration = Duration::from_millis(100);
/// Bytes of block values one tick may write; bounds tick latency and disk rate.
const BYTES_PER_TICK: u64 = 2 << 20;
/// A scenario's leak stops growing here, so a forgotten sim cannot take the host down.
pub const MAX_RSS_GROWTH_TOTAL: usize = 1 << 30;

/// The scenario's memory leak: pages allocated and written (so they count in RSS), never
/// freed while the process runs.
#[derive(Default)]
struct Leak {
    held: Vec<Vec<u8>>,
    total: usize,
    owed: f64,
}

impl Leak {
    fn grow(&mut self, bytes_per_second: u64, sim_ms: f64) {
        if bytes_per_second == 0 || self.total >= MAX_RSS_GROWTH_TOTAL {
            return;
        }
        self.owed += bytes_per_second as f64 * sim_ms / 1000.0;
        // Whole 64 KiB chunks: fewer, larger allocations the allocator will not pool.
        const CHUNK: f64 = 65_536.0;
        let chunks = (self.owed / CHUNK).floor();
        if chunks >= 1.0 {
            self.owed -= chunks * CHUNK;
            let n = (chunks as usize * CHUNK as usize).min(MAX_RSS_GROWTH_TOTAL - self.total);
            self.held.push(vec![1u8; n]);
            self.total += n;
        }
    }
}

pub struct EngineConfig {
    pub kind: Kind,
    pub dir: PathBuf,
    pub scenario: Scenario,
    pub speed: f64,
    pub chain: Chain,
}

/// Runs on its own thread. Reports the clock (or the start error) on `ready`
/// once the data dir is open, then ticks until `stop` fires or disconnects.
pub fn run(
    cfg: EngineConfig,
    lock: DirLock,
    shared: Arc<Shared>,
    stop: Receiver<()>,
    ready: tokio::sync::oneshot::Sender<Result<(ChainClock, Arc<Missed>), SimError>>,
) -> Result<(), SimError> {
    let (mut store, clock, mut model, mut snap) = match open(&cfg, &shared) {
        Ok(v) => v,
        Err(e) => {
            let _ = ready.send(Err(e));
            return Ok(());
        }
    };
    let missed = match Missed::open(&cfg.dir, &cfg.scenario, &cfg.chain, &clock, now_ms()) {
        Ok(m) => Arc::new(m),
        Err(e) => {
            let _ = ready.send(Err(e));
            return store.close(snap.height);
        }
    };
    if ready.send(Ok((clock, missed.clone()))).is_err() {
        // Sim::start was cancelled; close cleanly anyway.
        return store.close(snap.height);
    }
    tracing::debug!(lock = %lock.path().display(), height = snap.height, "sim engine running");

    let batch_max = cfg
        .scenario
        .phases
        .iter()
        .map(|p| p.batch)
        .max()
        .unwrap_or(1);
    let cap = (BYTES_PER_TICK / u64::from(cfg.scenario.block_bytes)).max(batch_max);
    let mut burner: Option<Burner> = None;
    let mut leak = Leak::default();
    let mut result = Ok(());
    let mut last = Instant::now();
    let mut last_alive = last;
    // A message or a dropped sender both mean stop.
    while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(TICK) {
        let now = Instant::now();
        let dt_ms = now.duration_since(last).as_secs_f64() * 1000.0 * cfg.speed;
        last = now;
        leak.grow(cfg.scenario.rss_growth, dt_ms);
        let tip = clock.tip_at(now_ms()).max(snap.height);
        let events = model.step(dt_ms, tip, cap);
        let target = model.height();
        if target > snap.height {
            if let Err(e) = store.append(snap.height + 1, target) {
                tracing::error!("sim writer stopped: {e}");
                result = Err(e);
                break;
            }
            snap.height = target;
            snap.head_hash = cfg.chain.hash(target);
        }
        for ev in events {
            match ev {
                Event::StallStarted { at, cause } => {
                    tracing::debug!(at, cause = cause.as_str(), "stall started");
                    burner = Burner::start(cause, &cfg.dir);
                }
                Event::StallEnded { at, cause } => {
                    tracing::debug!(at, cause = cause.as_str(), "stall ended");
                    if let Some(b) = burner.take() {
                        b.stop();
                    }
                    if let Err(e) = store.mark_stall_done(at) {
                        result = Err(e);
                    }
                }
            }
        }
        if now.duration_since(last_alive) >= ALIVE_EVERY {
            last_alive = now;
            if let Err(e) = missed.alive(now_ms()) {
                tracing::warn!("sim pillar file: {e}");
            }
        }
        snap.tip = tip.max(snap.height);
        snap.stall = model.active_stall();
        snap.peers = peers(&cfg.scenario, snap.stall);
        shared.set(snap);
        if result.is_err() {
            break;
        }
    }
    drop(burner);
    if let Err(e) = missed.alive(now_ms()) {
        tracing::warn!("sim pillar file: {e}");
    }
    let closed = store.close(snap.height);
    drop(lock);
    result.and(closed)
}

type Opened = (ChainDb, ChainClock, HeightModel, Snapshot);

/// Opens the databases, resumes from the stored height (or starts a fresh
/// data dir at `start_height`) and anchors the chain clock.
fn open(cfg: &EngineConfig, shared: &Shared) -> Result<Opened, SimError> {
    let sc = &cfg.scenario;
    let mut store = ChainDb::open(
        cfg.kind,
        &cfg.dir,
        &sc.chain_name,
        cfg.chain.clone(),
        sc.block_bytes as usize,
    )?;
    let meta = store.meta();
    let height = meta.height.unwrap_or(sc.start_height);
    let (anchor_ms, anchor_tip) = match meta.anchor {
        Some(a) => a,
        None => {
            let a = (now_ms(), sc.tip_height.max(height));
            store.set_anchor(a.0, a.1)?;
            a
        }
    };
    if meta.height.is_none() {
        store.append(height, height)?;
    }
    let clock = ChainClock {
        anchor_ms,
        anchor_tip,
        block_time_ms: (sc.block_time_for(cfg.kind).as_millis() as u64).max(1),
        speed: cfg.speed,
    };
    ensure_files(
        cfg.kind,
        &cfg.dir,
        &sc.chain_name,
        &cfg.chain,
        sc.chain_id,
        clock.time_s(sc.start_height),
    )?;
    let done: HashSet<u64> = sc
        .stalls
        .iter()
        .map(|s| s.at)
        .filter(|&at| store.stall_done(at))
        .collect();
    let model = HeightModel::new(&sc.phases, &sc.stalls, height, &done);
    let snap = Snapshot {
        height,
        tip: clock.tip_at(now_ms()).max(height),
        starting: height,
        peers: sc.peers,
        head_hash: cfg.chain.hash(height),
        stall: None,
    };
    shared.set(snap);
    Ok((store, clock, model, snap))
}

fn peers(sc: &Scenario, stall: Option<StallCause>) -> u32 {
    match stall {
        Some(StallCause::Peers) => 0,
        _ => sc.peers,
    }
}
