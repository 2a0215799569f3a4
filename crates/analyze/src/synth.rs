//! Synthetic syncs with a known truth, for tests and the 10-million-row benchmark.
//!
//! A node's true height moves continuously through phases of given seconds-per-block
//! (constant, or changing linearly with height), meets events at given heights (flat
//! stalls with a resource signature, crawls, restarts), and is sampled every
//! `interval_ms`, optionally reporting progress only in batches. The generator streams
//! (constant memory) and records the truth: when the target was reached, and where each
//! event really started and ended.

use nodewarden_model::{Sample, SyncState};

/// Heights up to `until` (exclusive) cost `spb_start` seconds per block at the phase start,
/// changing linearly to `spb_end` at its end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Phase {
    pub until: u64,
    pub spb_start: f64,
    pub spb_end: f64,
}

impl Phase {
    pub fn constant(until: u64, blocks_per_second: f64) -> Self {
        let spb = 1.0 / blocks_per_second;
        Self {
            until,
            spb_start: spb,
            spb_end: spb,
        }
    }

    /// Blocks get heavier across the phase: the rate falls from `bps_start` to `bps_end`.
    pub fn slowing(until: u64, bps_start: f64, bps_end: f64) -> Self {
        Self {
            until,
            spb_start: 1.0 / bps_start,
            spb_end: 1.0 / bps_end,
        }
    }
}

/// What the resources do during a flat stall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlatCause {
    /// Peers drop to 0 and the target reads 0.
    Peers,
    Cpu,
    Io,
    /// Nothing much happens.
    Quiet,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EventKind {
    Flat(FlatCause),
    Crawl {
        blocks_per_second: f64,
    },
    /// The RPC fails for the event's duration, then the process comes back with its
    /// cumulative counters reset.
    Restart,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event {
    pub at: u64,
    pub seconds: f64,
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub node: String,
    pub start_ms: i64,
    pub interval_ms: i64,
    pub start_height: u64,
    pub target: u64,
    pub phases: Vec<Phase>,
    /// Sorted by height.
    pub events: Vec<Event>,
    /// Progress shows only in jumps, every uniform(lo, hi) seconds.
    pub batch_seconds: Option<(f64, f64)>,
    /// Speed varies by up to ± this fraction from sample to sample.
    pub noise: f64,
    /// Sampling goes on this long after the target is reached.
    pub tail_seconds: f64,
    pub seed: u64,
}

impl Profile {
    pub fn new(node: impl Into<String>, target: u64, phases: Vec<Phase>) -> Self {
        Self {
            node: node.into(),
            start_ms: 1_700_000_000_000,
            interval_ms: 2_000,
            start_height: 0,
            target,
            phases,
            events: Vec::new(),
            batch_seconds: None,
            noise: 0.0,
            tail_seconds: 60.0,
            seed: 1,
        }
    }
}

/// What really happened.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Truth {
    /// Time of the first sample reporting current ≥ target.
    pub done_ms: Option<i64>,
    /// (start_ms, end_ms, height) of each event, in order.
    pub events: Vec<(i64, i64, u64)>,
}

/// The streaming generator; read [`Synth::truth`] after iterating.
#[derive(Debug, Clone)]
pub struct Synth {
    p: Profile,
    t_ms: i64,
    x: f64,
    visible: u64,
    next_batch_ms: f64,
    next_event: usize,
    in_event: Option<(usize, f64)>,
    rng: u64,
    cpu: f64,
    read: f64,
    write: f64,
    end_ms: Option<i64>,
    truth: Truth,
}

pub fn generate(p: Profile) -> Synth {
    let t0 = p.start_ms;
    Synth {
        t_ms: t0,
        x: p.start_height as f64,
        visible: p.start_height,
        next_batch_ms: t0 as f64,
        next_event: 0,
        in_event: None,
        rng: p.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        cpu: 0.0,
        read: 0.0,
        write: 0.0,
        end_ms: None,
        truth: Truth::default(),
        p,
    }
}

/// Resource use: (cores, read bytes/s, written bytes/s).
const SYNCING: (f64, f64, f64) = (1.2, 8e6, 4e6);
const FOLLOWING: (f64, f64, f64) = (0.1, 1e5, 1e5);

impl Synth {
    pub fn truth(&self) -> &Truth {
        &self.truth
    }

    fn uniform(&mut self) -> f64 {
        // xorshift64*: deterministic and dependency-free.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        (self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn event(&self) -> Option<Event> {
        self.in_event.map(|(i, _)| self.p.events[i])
    }

    fn sample(&mut self) -> Sample {
        let p = &self.p;
        let mut s = Sample::new(self.t_ms, p.node.clone(), SyncState::Syncing);
        let event = self.event().map(|e| e.kind);
        if event == Some(EventKind::Restart) {
            s.state = SyncState::Error;
            return s;
        }
        let peers_gone = event == Some(EventKind::Flat(FlatCause::Peers));
        s.current = Some(self.visible);
        s.target = if peers_gone {
            (self.t_ms / p.interval_ms.max(1) % 2 == 0).then_some(0)
        } else {
            Some(p.target)
        };
        s.peers = Some(if peers_gone { 0 } else { 8 });
        s.state = if peers_gone {
            SyncState::NotEnoughPeers
        } else if self.visible >= p.target {
            SyncState::Done
        } else {
            SyncState::Syncing
        };
        let h = self.visible;
        s.head_hash = Some(format!("0x{:016x}{:048x}", h.wrapping_mul(0x9E37_79B9), h));
        s.head_time = Some((self.t_ms / 1000) as f64 - (p.target.saturating_sub(h) as f64) * 10.0);
        s.cpu_s = Some(self.cpu);
        s.rss_bytes = Some(2_000_000_000 + (self.uniform() * 5e7) as u64);
        s.read_bytes = Some(self.read as u64);
        s.write_bytes = Some(self.write as u64);
        s.data_dir_bytes = Some(1_000_000_000 + h * 2_000);
        s
    }

    fn load(&self) -> (f64, f64, f64) {
        match self.event().map(|e| e.kind) {
            Some(EventKind::Flat(FlatCause::Peers)) => (0.05, 1e4, 1e4),
            Some(EventKind::Flat(FlatCause::Cpu)) => (1.0, 5e4, 5e4),
            Some(EventKind::Flat(FlatCause::Io)) => (0.15, 6e7, 3e7),
            Some(EventKind::Flat(FlatCause::Quiet)) => (0.02, 1e3, 1e3),
            Some(EventKind::Crawl { .. }) => (0.3, 1e6, 5e5),
            Some(EventKind::Restart) => (0.0, 0.0, 0.0),
            None if self.x >= self.p.target as f64 => FOLLOWING,
            None => SYNCING,
        }
    }

    /// Moves the true height forward by `dt` seconds.
    fn advance(&mut self, dt: f64) {
        let k = 1.0 + self.p.noise * (2.0 * self.uniform() - 1.0);
        let target = self.p.target as f64;
        let mut left = dt;
        while left > 1e-12 {
            let now_ms = self.t_ms as f64 + (dt - left) * 1000.0;
            if let Some((i, rem)) = self.in_event {
                let used = left.min(rem);
                if let EventKind::Crawl { blocks_per_second } = self.p.events[i].kind {
                    self.x = (self.x + blocks_per_second * used).min(target);
                }
                left -= used;
                if rem - used <= 1e-12 {
                    self.in_event = None;
                    if let Some(e) = self.truth.events.last_mut() {
                        e.1 = (now_ms + used * 1000.0).round() as i64;
                    }
                    if self.p.events[i].kind == EventKind::Restart {
                        (self.cpu, self.read, self.write) = (0.0, 0.0, 0.0);
                    }
                } else {
                    self.in_event = Some((i, rem - used));
                }
                continue;
            }
            if self.x >= target {
                return;
            }
            let next_at = self.p.events.get(self.next_event).map(|e| e.at as f64);
            if let Some(at) = next_at
                && at <= self.x
            {
                let e = self.p.events[self.next_event];
                self.in_event = Some((self.next_event, e.seconds));
                self.next_event += 1;
                self.truth.events.push((
                    now_ms.round() as i64,
                    now_ms.round() as i64,
                    self.x as u64,
                ));
                continue;
            }
            let (p0, ph) = self.phase();
            let limit = ph.until.min(self.p.target) as f64;
            let limit = next_at.map_or(limit, |a| limit.min(a));
            let s0 = ph.spb_start * k;
            let g = (ph.spb_end - ph.spb_start) * k / (ph.until as f64 - p0).max(1.0);
            let (u, v) = (self.x - p0, limit - p0);
            let need = s0 * (v - u) + g / 2.0 * (v * v - u * u);
            if need <= left {
                self.x = limit;
                left -= need;
            } else {
                let c = left + s0 * u + g / 2.0 * u * u;
                let v = if g.abs() < 1e-15 {
                    c / s0
                } else {
                    (-s0 + (s0 * s0 + 2.0 * g * c).max(0.0).sqrt()) / g
                };
                self.x = (p0 + v).min(limit);
                left = 0.0;
            }
        }
    }

    /// The phase at the true height, and where it began.
    fn phase(&self) -> (f64, Phase) {
        let mut begin = self.p.start_height as f64;
        for ph in &self.p.phases {
            if (ph.until as f64) > self.x {
                return (begin, *ph);
            }
            begin = ph.until as f64;
        }
        let last = self
            .p
            .phases
            .last()
            .copied()
            .unwrap_or(Phase::constant(u64::MAX, 1.0));
        (
            begin,
            Phase {
                until: u64::MAX,
                ..last
            },
        )
    }
}

impl Iterator for Synth {
    type Item = Sample;

    fn next(&mut self) -> Option<Sample> {
        if self.end_ms.is_some_and(|end| self.t_ms > end) {
            return None;
        }
        if self.x >= self.p.target as f64 {
            self.visible = self.p.target;
        } else if self.t_ms as f64 >= self.next_batch_ms {
            self.visible = self.x.floor() as u64;
            if let Some((lo, hi)) = self.p.batch_seconds {
                self.next_batch_ms += (lo + (hi - lo) * self.uniform()) * 1000.0;
            } else {
                self.next_batch_ms = self.t_ms as f64;
            }
        }
        let s = self.sample();
        if s.current.is_some_and(|c| c >= self.p.target) && self.truth.done_ms.is_none() {
            self.truth.done_ms = Some(self.t_ms);
            self.end_ms = Some(self.t_ms + (self.p.tail_seconds * 1000.0) as i64);
        }
        let dt = self.p.interval_ms.max(1) as f64 / 1000.0;
        let (cores, rd, wr) = self.load();
        self.advance(dt);
        // A restart ending inside this interval already zeroed the counters.
        self.cpu += cores * dt;
        self.read += rd * dt;
        self.write += wr * dt;
        self.t_ms += self.p.interval_ms.max(1);
        Some(s)
    }
}
