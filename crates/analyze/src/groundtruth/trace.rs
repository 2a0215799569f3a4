//! One seeded trace: a node syncing a growing chain, simulated second by second, polled at
//! its own interval, with the truth recorded as it happens.

use super::rng::Rng;
use crate::stall::StallCause;
use nodewarden_model::{Sample, SyncState};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dialect {
    /// Target 0 and peers 0 while it has no peers; reports height 0 right after a restart.
    Zenon,
    /// `eth_syncing` false while behind (no target, state done) in spells; peers may be
    /// unknown (no `net_peerCount`).
    Ethereum,
    /// No target while it has no peers.
    Substrate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MemoryShape {
    Flat,
    /// GC sawtooth: climbs, then drops back, periodically; no trend.
    Sawtooth,
    /// A real trend (with or without a sawtooth on top); restarts give the memory back.
    Leak,
}

/// A true stall: the node answered, was behind and did not advance (or crawled).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrueStall {
    pub start_ms: i64,
    pub end_ms: i64,
    pub cause: StallCause,
    pub crawl: bool,
}

/// A true outage: polls failing, or the process restarting.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrueOutage {
    pub start_ms: i64,
    pub end_ms: i64,
    pub restart: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceTruth {
    pub seed: u64,
    pub node: String,
    pub dialect: Dialect,
    pub interval_ms: i64,
    /// Mean seconds between batches; `None` for steady progress.
    pub batch_mean_seconds: Option<f64>,
    /// How much heavier the last block is than the first (1 = constant cost).
    pub cost_growth: f64,
    pub start_ms: i64,
    /// First sample that is derived-synced.
    pub done_ms: Option<i64>,
    pub stalls: Vec<TrueStall>,
    pub outages: Vec<TrueOutage>,
    /// Short pauses that are not stalls.
    pub flat_spots: u32,
    pub peer_dips: u32,
    pub memory: MemoryShape,
    pub leak_bytes_per_second: f64,
}

#[derive(Debug, Clone)]
pub struct Trace {
    pub samples: Vec<Sample>,
    pub truth: TraceTruth,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Act {
    Sync,
    Flat,
    Stall {
        cause: StallCause,
        crawl_bps: f64,
        /// Scales this stall's resource signature, so no two look alike.
        level: f64,
    },
    Outage,
    Down,
    Startup,
    PeerDip {
        peers: u32,
    },
}

/// Per-trace constants drawn from the seed.
struct Spec {
    dialect: Dialect,
    interval_s: f64,
    batch_mean: Option<f64>,
    start_h: f64,
    blocks: f64,
    block_time: f64,
    spb0: f64,
    growth: f64,
    peers: Option<u32>,
    sync_io: (f64, f64, f64),
    memory: MemoryShape,
    rss_base: f64,
    saw_amp: f64,
    saw_period: f64,
    leak: f64,
    mean_sync_s: f64,
}

impl Spec {
    fn draw(rng: &mut Rng) -> Spec {
        let dialect = rng.pick(&[Dialect::Zenon, Dialect::Ethereum, Dialect::Substrate]);
        let block_time = match dialect {
            Dialect::Zenon => 10.0,
            Dialect::Ethereum => 12.0,
            Dialect::Substrate => 6.0,
        };
        let blocks = rng.log_range(1e5, 2e6).round();
        let mean_sync_s = rng.log_range(2.0, 8.0) * 3600.0;
        let growth = if rng.chance(0.3) {
            1.0
        } else {
            rng.range(1.5, 6.0)
        };
        // Seconds per block grows linearly from spb0 to growth·spb0 over the blocks.
        let spb0 = mean_sync_s / (blocks * (1.0 + growth) / 2.0);
        let memory = rng.pick(&[MemoryShape::Flat, MemoryShape::Sawtooth, MemoryShape::Leak]);
        let rss_base = rng.range(1e9, 6e9);
        let leak = if memory == MemoryShape::Leak {
            rss_base * rng.range(0.15, 0.6) / mean_sync_s
        } else {
            0.0
        };
        let saw_amp = match memory {
            MemoryShape::Flat => 0.0,
            MemoryShape::Sawtooth => rss_base * rng.range(0.1, 0.4),
            MemoryShape::Leak if rng.chance(0.5) => rss_base * rng.range(0.05, 0.3),
            MemoryShape::Leak => 0.0,
        };
        Spec {
            dialect,
            interval_s: rng.pick(&[1.0, 2.0, 2.0, 5.0, 10.0]),
            batch_mean: rng.chance(0.45).then(|| rng.range(10.0, 40.0)),
            start_h: rng.range(0.0, 5e6).round(),
            blocks,
            block_time,
            spb0,
            growth,
            peers: (dialect != Dialect::Ethereum || rng.chance(0.7))
                .then(|| rng.range(8.0, 50.0) as u32),
            sync_io: (
                rng.range(0.8, 1.6),
                rng.range(2e6, 9e6),
                rng.range(1e6, 5e6),
            ),
            memory,
            rss_base,
            saw_amp,
            saw_period: rng.range(180.0, 1200.0),
            leak,
            mean_sync_s,
        }
    }
}

/// The next start time of each kind of event (seconds since the trace began).
struct Schedule {
    stall: f64,
    outage: f64,
    restart: f64,
    flat: f64,
    dip: f64,
}

const TICK: f64 = 1.0;
/// Mean time between stalls, as a share of the trace's undisturbed sync time.
const STALL_EVERY: f64 = 0.6;
const COOLDOWN_S: f64 = 90.0;
const TAIL_S: f64 = 300.0;
const MAX_S: f64 = 72.0 * 3600.0;

/// The trace of `seed`. Deterministic.
pub fn trace(seed: u64) -> Trace {
    trace_with(seed, true)
}

/// The trace of `seed`, optionally without stalls (to look at the rest in isolation).
pub fn trace_with(seed: u64, stalls: bool) -> Trace {
    let mut rng = Rng::new(seed);
    let sp = Spec::draw(&mut rng);
    generate(seed, sp, rng, stalls, t0(seed))
}

/// Where an earlier run's random stream departs from the trace's own.
const EARLIER_STREAM: u64 = 0x5EED_EA71_1E72_0000;

/// An earlier sync of the same chain as `trace(seed)`: the same heights and the same cost
/// shape, on a machine or build 0.6–1.6× as fast, with events and wandering of its own, a
/// month before. What `watch` finds in its recording when it watched the chain sync once
/// already; the harness scores the ETA with it as the prior.
pub fn earlier_run(seed: u64) -> Trace {
    let mut rng = Rng::new(seed);
    let mut sp = Spec::draw(&mut rng);
    let mut rng = Rng::new(seed ^ EARLIER_STREAM);
    let factor = rng.log_range(0.6, 1.6);
    sp.spb0 *= factor;
    sp.mean_sync_s *= factor;
    generate(seed, sp, rng, true, t0(seed) - 30 * 86_400_000)
}

fn t0(seed: u64) -> i64 {
    1_750_000_000_000 + (seed as i64 % 1000) * 86_400_000
}

fn generate(seed: u64, sp: Spec, mut rng: Rng, stalls: bool, t0_ms: i64) -> Trace {
    let node = format!("trace-{seed}");
    let m = sp.mean_sync_s;
    let restarts_on = rng.chance(0.6);
    let mut sched = Schedule {
        stall: rng.exp(STALL_EVERY * m),
        outage: rng.exp(m / 3.0),
        restart: if restarts_on {
            rng.exp(m / 2.0)
        } else {
            f64::INFINITY
        },
        flat: rng.exp(480.0),
        dip: rng.exp(m / 3.0),
    };
    let mut truth = TraceTruth {
        seed,
        node: node.clone(),
        dialect: sp.dialect,
        interval_ms: (sp.interval_s * 1000.0) as i64,
        batch_mean_seconds: sp.batch_mean,
        cost_growth: sp.growth,
        start_ms: t0_ms,
        done_ms: None,
        stalls: Vec::new(),
        outages: Vec::new(),
        flat_spots: 0,
        peer_dips: 0,
        memory: sp.memory,
        leak_bytes_per_second: sp.leak,
    };
    let mut samples = Vec::new();
    let (mut h, mut tip) = (sp.start_h, sp.start_h + sp.blocks);
    let mut visible = sp.start_h as u64;
    let mut act = Act::Sync;
    let mut act_until = 0.0;
    let mut cooldown_until = 0.0;
    let mut regime = 0.0f64;
    let (mut cpu, mut read, mut write) = (0.0f64, 0.0f64, 0.0f64);
    let mut alive_since = 0.0;
    let mut next_sample = 0.0;
    let mut next_batch = 0.0;
    let mut eth_quirk = false;
    let mut fresh_after_restart = 0u32;
    let mut open_outage: Option<(i64, bool)> = None;
    let mut last_ok_ms = t0_ms;
    let mut pending_reset = false;
    let mut done_s: Option<f64> = None;
    let mut t = 0.0f64;
    loop {
        let behind = done_s.is_none();
        // Events start only while syncing, one at a time, with a pause between them.
        if act == Act::Sync && behind && t >= cooldown_until {
            if t >= sched.restart {
                act = Act::Down;
                act_until = t + if rng.chance(0.2) {
                    rng.range(1.0, 3.0)
                } else {
                    rng.log_range(15.0, 180.0)
                };
                sched.restart = t + rng.exp(m / 2.0);
            } else if t >= sched.outage {
                act = Act::Outage;
                act_until = t + rng.log_range(5.0, 240.0);
                sched.outage = t + rng.exp(m / 3.0);
            } else if t >= sched.stall && !stalls {
                sched.stall = f64::INFINITY;
            } else if t >= sched.stall {
                let peers_known = sp.peers.is_some();
                let kind = rng.f64();
                let base = rng.pick(&[StallCause::Cpu, StallCause::Io, StallCause::Unknown]);
                let (cause, crawl_bps) = if kind < 0.25 && peers_known {
                    (StallCause::Peers, 0.0)
                } else if kind < 0.5 {
                    (base, 1.0 / rng.range(15.0, 60.0))
                } else {
                    (base, 0.0)
                };
                act = Act::Stall {
                    cause,
                    crawl_bps,
                    level: rng.log_range(0.6, 2.0),
                };
                act_until = t + rng.log_range(600.0, 2400.0);
                truth.stalls.push(TrueStall {
                    start_ms: t0_ms + (t * 1000.0) as i64,
                    end_ms: t0_ms + (act_until * 1000.0) as i64,
                    cause,
                    crawl: crawl_bps > 0.0,
                });
                sched.stall = t + rng.exp(STALL_EVERY * m);
            } else if t >= sched.dip && sp.peers.is_some() {
                act = Act::PeerDip {
                    peers: rng.range(1.0, 4.0) as u32,
                };
                act_until = t + rng.range(60.0, 300.0);
                truth.peer_dips += 1;
                sched.dip = t + rng.exp(m / 3.0);
            } else if t >= sched.flat {
                act = Act::Flat;
                act_until = t + rng.range(6.0, 20.0);
                truth.flat_spots += 1;
                sched.flat = t + rng.exp(480.0);
            }
        }
        if act != Act::Sync && t >= act_until {
            if act == Act::Down {
                (cpu, read, write) = (0.0, 0.0, 0.0);
                alive_since = t;
                pending_reset = true;
                fresh_after_restart = if sp.dialect == Dialect::Zenon { 2 } else { 0 };
                act = Act::Startup;
                act_until = t + rng.range(4.0, 12.0);
            } else {
                act = Act::Sync;
                cooldown_until = t + COOLDOWN_S;
            }
        }

        // The true height moves.
        tip += TICK / sp.block_time;
        if t % 60.0 < TICK {
            regime = 0.85 * regime + 0.12 * rng.normal();
        }
        let progress = (h - sp.start_h) / sp.blocks;
        let spb = sp.spb0 * (1.0 + (sp.growth - 1.0) * progress.clamp(0.0, 1.5)) * regime.exp();
        let speed = match act {
            Act::Sync | Act::Outage => 1.0 / spb,
            Act::PeerDip { .. } => 0.7 / spb,
            Act::Stall { crawl_bps, .. } => crawl_bps,
            Act::Flat | Act::Down | Act::Startup => 0.0,
        };
        h = (h + speed * TICK).min(tip);
        if behind && h >= tip.floor() {
            done_s = Some(t);
        }
        let (c, r, w) = resources(act, done_s.is_some(), sp.sync_io);
        let jitter = 1.0 + 0.2 * (rng.f64() - 0.5);
        cpu += c * jitter * TICK;
        read += r * jitter * TICK;
        write += w * jitter * TICK;

        // Polls due in this tick.
        while next_sample <= t {
            let t_ms = t0_ms + (next_sample * 1000.0) as i64;
            let fails = matches!(act, Act::Outage | Act::Down);
            if fails {
                open_outage.get_or_insert((t_ms, false)).1 |= act == Act::Down;
            } else if pending_reset && open_outage.is_none() {
                // Restarted between two polls: the outage is the interval that hid it.
                open_outage = Some((last_ok_ms, true));
            }
            if !fails && let Some((start, restart)) = open_outage.take() {
                truth.outages.push(TrueOutage {
                    start_ms: start,
                    end_ms: t_ms,
                    restart,
                });
                pending_reset = false;
            }
            let batch_due = next_sample >= next_batch;
            if batch_due || sp.batch_mean.is_none() || done_s.is_some() {
                visible = visible.max(h.floor() as u64);
                if let Some(mean) = sp.batch_mean {
                    next_batch = next_sample + rng.exp(mean);
                }
            }
            if done_s.is_some() {
                visible = visible.max(tip.floor() as u64);
            }
            let mut s = Sample::new(t_ms, node.clone(), SyncState::Syncing);
            if act != Act::Down {
                s.cpu_s = Some(cpu);
                s.read_bytes = Some(read as u64);
                s.write_bytes = Some(write as u64);
                s.rss_bytes = Some(rss(&sp, &mut rng, t - alive_since, t));
            }
            if fails {
                s.state = SyncState::Error;
                s.current = None;
            } else {
                last_ok_ms = t_ms;
                fill_status(&mut s, &sp, act, visible, tip, t, &mut rng, &mut eth_quirk);
                if fresh_after_restart > 0 {
                    fresh_after_restart -= 1;
                    s.current = Some(0);
                    s.target = Some(0);
                    s.peers = Some(0);
                    s.state = SyncState::NotEnoughPeers;
                }
                s.data_dir_bytes = Some(20_000_000_000 + visible * 2_000);
                if truth.done_ms.is_none()
                    && s.peers != Some(0)
                    && matches!((s.current, s.target), (Some(c), Some(tg)) if tg > 0 && c >= tg)
                {
                    truth.done_ms = Some(t_ms);
                }
            }
            samples.push(s);
            next_sample +=
                sp.interval_s * rng.range(0.9, 1.1) * if rng.chance(0.01) { 3.0 } else { 1.0 };
        }
        t += TICK;
        if done_s.is_some_and(|d| t > d + TAIL_S) || t > MAX_S {
            break;
        }
    }
    Trace { samples, truth }
}

/// (cores, read bytes/s, written bytes/s) of the process in each situation.
fn resources(act: Act, following: bool, sync: (f64, f64, f64)) -> (f64, f64, f64) {
    match act {
        _ if following => (0.1, 1e5, 1e5),
        Act::Sync | Act::Outage | Act::Flat | Act::PeerDip { .. } => sync,
        Act::Stall { cause, level, .. } => match cause {
            StallCause::Cpu => (1.0 * level, 2e6 / level, 1e6 / level),
            StallCause::Io => (0.25 / level, 4e7 * level, 2e7 * level),
            StallCause::Peers => (0.05 * level, 5e4 * level, 5e4),
            _ => (0.06 * level, 1e6 * level, 5e5 * level),
        },
        Act::Down => (0.0, 0.0, 0.0),
        Act::Startup => (0.5, 2e7, 1e6),
    }
}

fn rss(sp: &Spec, rng: &mut Rng, alive_s: f64, t: f64) -> u64 {
    let saw = if sp.saw_amp > 0.0 {
        sp.saw_amp * ((t % sp.saw_period) / sp.saw_period)
    } else {
        0.0
    };
    let noise = sp.rss_base * 0.01 * rng.normal();
    (sp.rss_base + sp.leak * alive_s + saw + noise).max(1e8) as u64
}

/// What the node's RPC reports, in its dialect's terms.
#[allow(clippy::too_many_arguments)]
fn fill_status(
    s: &mut Sample,
    sp: &Spec,
    act: Act,
    visible: u64,
    tip: f64,
    t: f64,
    rng: &mut Rng,
    eth_quirk: &mut bool,
) {
    let tip = tip.floor() as u64;
    let no_peers = matches!(
        act,
        Act::Stall {
            cause: StallCause::Peers,
            ..
        }
    );
    s.current = Some(visible);
    s.target = Some(tip);
    s.peers = match (sp.peers, act) {
        (None, _) => None,
        (Some(_), _) if no_peers => Some(0),
        (Some(_), Act::PeerDip { peers }) => Some(peers),
        (Some(p), _) => Some((p as f64 * rng.range(0.85, 1.15)) as u32),
    };
    s.state = if visible >= tip {
        SyncState::Done
    } else {
        SyncState::Syncing
    };
    s.head_time = Some(
        (s.t_ms / 1000) as f64 - tip.saturating_sub(visible) as f64 * sp.block_time + (t % 1.0),
    );
    s.head_hash = Some(format!("0x{visible:064x}"));
    match sp.dialect {
        Dialect::Zenon if no_peers => {
            s.target = Some(0);
            s.state = SyncState::NotEnoughPeers;
        }
        Dialect::Substrate if no_peers => s.target = None,
        Dialect::Ethereum => {
            *eth_quirk = if *eth_quirk {
                !rng.chance(0.1)
            } else {
                rng.chance(0.01)
            };
            if *eth_quirk || no_peers {
                s.target = None;
                s.state = SyncState::Done;
            }
        }
        _ => {}
    }
}
