//! Stall windows: behind, and flat or crawling for longer than the stall threshold.
//!
//! Online and causal: a stall is opened and closed from samples already seen, and never
//! touched again once closed, so adding samples cannot move a finished stall.
//!
//! * Not stalled: the *anchor* is the last sample that showed healthy progress — an
//!   advance whose average rate since the previous anchor is at least the crawl rate
//!   (any advance, while the typical rate is unknown or near the tip). When the anchor is
//!   older than the threshold while behind, a stall opens *at the anchor*.
//! * Stalled: the stall closes when the node is no longer behind, or when the last
//!   threshold-long window gained at least crawl-rate × threshold blocks (≥ 1); it ends
//!   where that recovery began, not where it was noticed.

use crate::history::HeightHistory;
use crate::options::AnalyzeOptions;
use serde::{Deserialize, Serialize};

/// The likeliest reason, from what the resources did during the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StallCause {
    /// Peers were 0 for most of the window.
    Peers,
    /// The process restarted during the window (cumulative counters reset).
    Restart,
    /// The RPC failed for most of the window.
    Rpc,
    /// The process was busy on CPU with little IO.
    Cpu,
    /// Heavy disk traffic with low CPU.
    Io,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stall {
    pub start_ms: i64,
    /// For an ongoing stall: the last sample's time.
    pub end_ms: i64,
    /// The height it sat at.
    pub height: u64,
    /// The height at `end_ms` (above `height` for a crawl, or when the recovery came as
    /// one jump).
    pub end_height: u64,
    pub duration_seconds: f64,
    pub cause: StallCause,
    /// Still open at the last sample; its end may move.
    pub ongoing: bool,
    pub samples: u64,
    pub error_samples: u64,
    /// Fraction of samples with a known peer count that had 0 peers.
    pub peers_zero_fraction: Option<f64>,
    pub cpu_cores: Option<f64>,
    pub read_bytes_per_second: Option<f64>,
    pub write_bytes_per_second: Option<f64>,
}

/// A change of a cumulative counter and the time it covers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Delta {
    pub value: f64,
    pub span_ms: i64,
}

/// The per-sample facts the detector and the statistics need.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Observation {
    pub t: i64,
    pub error: bool,
    pub peers: Option<u32>,
    pub cpu: Option<Delta>,
    pub read: Option<Delta>,
    pub write: Option<Delta>,
    pub reset: bool,
}

#[derive(Debug, Clone, Default)]
struct WindowStats {
    samples: u64,
    errors: u64,
    peers_known: u64,
    peers_zero: u64,
    cpu: Delta,
    read: Delta,
    write: Delta,
    reset: bool,
}

impl WindowStats {
    fn add(&mut self, o: &Observation) {
        self.samples += 1;
        self.errors += u64::from(o.error);
        if let Some(p) = o.peers {
            self.peers_known += 1;
            self.peers_zero += u64::from(p == 0);
        }
        let acc = |a: &mut Delta, d: Option<Delta>| {
            if let Some(d) = d {
                a.value += d.value;
                a.span_ms += d.span_ms;
            }
        };
        acc(&mut self.cpu, o.cpu);
        acc(&mut self.read, o.read);
        acc(&mut self.write, o.write);
        self.reset |= o.reset;
    }

    fn per_second(d: Delta) -> Option<f64> {
        (d.span_ms > 0).then(|| d.value * 1000.0 / d.span_ms as f64)
    }

    fn cause(&self, opts: &AnalyzeOptions) -> StallCause {
        let most = |n: u64, of: u64| of > 0 && n * 2 > of;
        if most(self.peers_zero, self.peers_known) {
            return StallCause::Peers;
        }
        if self.reset {
            return StallCause::Restart;
        }
        if most(self.errors, self.samples) {
            return StallCause::Rpc;
        }
        let cpu = Self::per_second(self.cpu).map(|c| c / opts.cpu_busy_cores);
        let io = match (Self::per_second(self.read), Self::per_second(self.write)) {
            (None, None) => None,
            (r, w) => Some((r.unwrap_or(0.0) + w.unwrap_or(0.0)) / opts.io_busy_bytes_per_second),
        };
        match (cpu, io) {
            (Some(c), Some(i)) if c >= 1.0 || i >= 1.0 => {
                if c >= i {
                    StallCause::Cpu
                } else {
                    StallCause::Io
                }
            }
            (Some(c), None) if c >= 1.0 => StallCause::Cpu,
            (None, Some(i)) if i >= 1.0 => StallCause::Io,
            _ => StallCause::Unknown,
        }
    }
}

#[derive(Debug, Clone)]
struct OpenStall {
    start_ms: i64,
    height: u64,
    stats: WindowStats,
}

/// What the detector decided at a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StallEvent {
    None,
    /// A stall opened, retroactively starting at `start_ms` at `height`.
    Opened {
        start_ms: i64,
        height: u64,
    },
    /// The open stall closed; it lasted `duration_ms`.
    Closed {
        duration_ms: i64,
    },
}

/// The inputs of one detector step.
pub(crate) struct Step<'a> {
    pub obs: &'a Observation,
    /// High-water height, `None` until a height was seen.
    pub height: Option<u64>,
    pub behind: bool,
    pub threshold_ms: i64,
    /// Crawl rate in blocks/ms; 0 disables crawl detection (unknown typical rate, or so
    /// close to the tip that the chain itself limits progress).
    pub crawl_rate: f64,
    pub history: &'a HeightHistory,
    /// The sample belongs to an outage that began at this time and is long enough (a
    /// restart, or a stall threshold of failed polls) to end any stall: none spans it.
    pub outage_since: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct StallDetector {
    anchor: Option<(i64, u64)>,
    since_anchor: WindowStats,
    open: Option<OpenStall>,
    finished: Vec<Stall>,
    total: u64,
}

/// Finished stalls kept in full; later ones are only counted.
const MAX_KEPT: usize = 10_000;

impl StallDetector {
    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// (start, height) of the open stall.
    pub fn open_since(&self) -> Option<(i64, u64)> {
        self.open.as_ref().map(|o| (o.start_ms, o.height))
    }

    /// Stalls opened so far, including an open one.
    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn finished(&self) -> &[Stall] {
        &self.finished
    }

    /// The open stall as it stands at `now`.
    pub fn ongoing(&self, now: i64, height: u64, opts: &AnalyzeOptions) -> Option<Stall> {
        self.open
            .as_ref()
            .map(|o| build(o, now, height, true, opts))
    }

    pub fn step(&mut self, s: &Step<'_>, opts: &AnalyzeOptions) -> StallEvent {
        let t = s.obs.t;
        if let Some(o) = &mut self.open {
            o.stats.add(s.obs);
        }
        self.since_anchor.add(s.obs);
        let Some(h) = s.height else {
            return StallEvent::None;
        };
        if let Some(since) = s.outage_since {
            // Progress is unknowable while the node does not answer: the open stall ends
            // where the outage began, and flat time is measured afresh after it.
            self.anchor = (!s.obs.error).then_some((t, h));
            self.since_anchor = WindowStats::default();
            if let Some(o) = self.open.take() {
                let end = since.max(o.start_ms);
                if self.finished.len() < MAX_KEPT {
                    let end_h = s.history.height_at(end).unwrap_or(h);
                    self.finished.push(build(&o, end, end_h, false, opts));
                }
                return StallEvent::Closed {
                    duration_ms: end - o.start_ms,
                };
            }
            return StallEvent::None;
        }

        if let Some(o) = &self.open {
            let end = if !s.behind {
                Some(t)
            } else {
                let from = s
                    .history
                    .height_at(t - s.threshold_ms)
                    .unwrap_or(o.height)
                    .max(o.height);
                let need = (s.crawl_rate * s.threshold_ms as f64).max(1.0);
                (h.saturating_sub(from) as f64 >= need).then(|| {
                    let since = (t - s.threshold_ms).max(o.start_ms);
                    s.history
                        .recovery_start(since, s.crawl_rate)
                        .unwrap_or(t)
                        .clamp(o.start_ms, t)
                })
            };
            if let Some(end) = end {
                let o = self.open.take().expect("checked above");
                if self.finished.len() < MAX_KEPT {
                    let end_h = s.history.height_at(end).unwrap_or(h);
                    self.finished.push(build(&o, end, end_h, false, opts));
                }
                self.reset_anchor(t, h);
                return StallEvent::Closed {
                    duration_ms: end - o.start_ms,
                };
            }
            return StallEvent::None;
        }

        if s.obs.error {
            // Nothing is known about progress while the node does not answer: a stall is
            // opened (or the anchor moved) only on answers.
            return StallEvent::None;
        }
        match self.anchor {
            Some((at, ah)) if s.behind => {
                let healthy = h > ah
                    && (s.crawl_rate <= 0.0 || (h - ah) as f64 >= s.crawl_rate * (t - at) as f64);
                if healthy {
                    self.reset_anchor(t, h);
                } else if t - at >= s.threshold_ms {
                    self.open = Some(OpenStall {
                        start_ms: at,
                        height: ah,
                        stats: std::mem::take(&mut self.since_anchor),
                    });
                    self.total += 1;
                    return StallEvent::Opened {
                        start_ms: at,
                        height: ah,
                    };
                }
            }
            _ => self.reset_anchor(t, h),
        }
        StallEvent::None
    }

    fn reset_anchor(&mut self, t: i64, h: u64) {
        self.anchor = Some((t, h));
        self.since_anchor = WindowStats::default();
    }
}

fn build(
    o: &OpenStall,
    end_ms: i64,
    end_height: u64,
    ongoing: bool,
    opts: &AnalyzeOptions,
) -> Stall {
    let st = &o.stats;
    Stall {
        start_ms: o.start_ms,
        end_ms,
        height: o.height,
        end_height: end_height.max(o.height),
        duration_seconds: (end_ms - o.start_ms) as f64 / 1000.0,
        cause: st.cause(opts),
        ongoing,
        samples: st.samples,
        error_samples: st.errors,
        peers_zero_fraction: (st.peers_known > 0)
            .then(|| st.peers_zero as f64 / st.peers_known as f64),
        cpu_cores: WindowStats::per_second(st.cpu),
        read_bytes_per_second: WindowStats::per_second(st.read),
        write_bytes_per_second: WindowStats::per_second(st.write),
    }
}
