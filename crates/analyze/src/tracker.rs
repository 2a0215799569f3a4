//! `NodeTracker`: the incremental analysis of one node. The live daemon pushes samples and
//! asks for a [`LiveState`] on every tick; batch analysis pushes a whole file and asks for
//! an [`Analysis`] at the end. Both go through `push`, so there is one code path.

use crate::analysis::{Analysis, LiveState, StalledSince};
use crate::cost::{Activity, Cost, CostBuckets, ProgressPoint};
use crate::eta::{self, Eta, EtaInput, EtaMethod, StallHistory};
use crate::history::HeightHistory;
use crate::memory::MemoryTrend;
use crate::options::{AnalyzeOptions, StallAfter};
use crate::outage::{OutageStep, OutageTracker};
use crate::peers::PeerTracker;
use crate::prior::CostProfile;
use crate::rate::Pace;
use crate::stall::{Delta, Observation, Stall, StallDetector, StallEvent, Step};
use nodewarden_model::{Sample, SyncState};

const TARGET_PERIOD_MS: i64 = 30 * 60_000;

/// A cumulative counter; a decrease is a process restart, after which the new value is
/// what accumulated since the restart.
#[derive(Debug, Clone, Default)]
struct Counter {
    last: Option<(f64, i64)>,
}

impl Counter {
    fn update(&mut self, v: Option<f64>, t: i64) -> (Option<Delta>, bool) {
        let Some(v) = v else {
            return (None, false);
        };
        let out = match self.last {
            Some((prev, pt)) if v >= prev => (
                Some(Delta {
                    value: v - prev,
                    span_ms: t - pt,
                }),
                false,
            ),
            Some((_, pt)) => (
                Some(Delta {
                    value: v,
                    span_ms: t - pt,
                }),
                true,
            ),
            None => (None, false),
        };
        self.last = Some((v, t));
        out
    }
}

#[derive(Debug, Clone, Default)]
struct Totals {
    cpu: Delta,
    read: Option<f64>,
    write: Option<f64>,
    peak_cpu: Option<f64>,
    rss_sum: f64,
    rss_n: u64,
    rss_peak: Option<u64>,
    rss_last: Option<u64>,
    dir_first: Option<u64>,
    dir_last: Option<u64>,
}

/// Everything known about one node, in memory bounded by the options, not by the samples.
#[derive(Debug, Clone)]
pub struct NodeTracker {
    opts: AnalyzeOptions,
    node: String,
    samples: u64,
    errors: u64,
    restarts: u64,
    out_of_order: u64,
    regressions: u64,
    first_ms: Option<i64>,
    last_ms: i64,
    last_state: SyncState,
    last_peers: Option<u32>,
    last_head_time: Option<f64>,
    high: Option<u64>,
    start: Option<(i64, u64)>,
    last_target: Option<u64>,
    last_advance_ms: Option<i64>,
    first_synced: Option<(i64, u64)>,
    synced: bool,
    counters: [Counter; 3],
    totals: Totals,
    behind_ms: i64,
    stalled_ms_closed: i64,
    history: HeightHistory,
    pace: Pace,
    stall: StallDetector,
    cost: CostBuckets,
    outages: OutageTracker,
    /// An outage happened since the last advance: the gap before the next one is not a
    /// normal one.
    outage_since_advance: bool,
    memory: MemoryTrend,
    peers: PeerTracker,
    /// The target at the start of the previous and the current growth period: the chain's
    /// own pace, measured over whole periods so a jump at peer discovery fades out.
    target_marks: [Option<(i64, u64)>; 2],
    /// An earlier run's cost shape for the ETA, when one of the same chain was recorded.
    prior: Option<CostProfile>,
}

impl NodeTracker {
    pub fn new(node: impl Into<String>, opts: AnalyzeOptions) -> Self {
        let cost = CostBuckets::new(opts.max_cost_buckets);
        let memory = MemoryTrend::new(opts.memory_time_scale);
        Self {
            opts,
            node: node.into(),
            samples: 0,
            errors: 0,
            restarts: 0,
            out_of_order: 0,
            regressions: 0,
            first_ms: None,
            last_ms: 0,
            last_state: SyncState::Unknown,
            last_peers: None,
            last_head_time: None,
            high: None,
            start: None,
            last_target: None,
            last_advance_ms: None,
            first_synced: None,
            synced: false,
            counters: Default::default(),
            totals: Totals::default(),
            behind_ms: 0,
            stalled_ms_closed: 0,
            history: HeightHistory::default(),
            pace: Pace::default(),
            stall: StallDetector::default(),
            cost,
            outages: OutageTracker::default(),
            outage_since_advance: false,
            memory,
            peers: PeerTracker::default(),
            target_marks: [None, None],
            prior: None,
        }
    }

    /// Gives the ETA an earlier run's cost shape of the same chain (see [`CostProfile`]).
    pub fn with_prior(mut self, prior: Option<CostProfile>) -> Self {
        self.prior = prior;
        self
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// Feeds one sample of this node. Samples must come in time order; an older one is
    /// counted and ignored. The sample's `node` field is not checked.
    pub fn push(&mut self, s: &Sample) {
        let t = s.t_ms;
        let prev_t = match self.first_ms {
            Some(_) if t < self.last_ms => {
                self.out_of_order += 1;
                return;
            }
            Some(_) => self.last_ms,
            None => {
                self.first_ms = Some(t);
                t
            }
        };
        let dt = t - prev_t;
        self.samples += 1;
        self.errors += u64::from(s.is_error());
        if let Some(tg) = s.target.filter(|&v| v > 0) {
            self.last_target = Some(tg);
            match self.target_marks[1] {
                None => self.target_marks[1] = Some((t, tg)),
                Some((mt, _)) if t - mt >= TARGET_PERIOD_MS => {
                    self.target_marks = [self.target_marks[1], Some((t, tg))];
                }
                Some(_) => {}
            }
        }
        let obs = self.observe_resources(s, t);
        let outage = self.outages.step(t, prev_t, obs.error, obs.reset);
        // A blip (a poll or two timing out under load, often *because* the node is busy
        // stalling) must not chop a stall to pieces: an outage ends the stall only once it
        // is a restart or has lasted a stall threshold itself. The stall then ends where the
        // outage began, so no stall spans such an outage.
        let threshold_now = self.pace.stall_after_ms(&self.opts);
        let outage_since = match outage {
            OutageStep::In { start_ms, restart } if restart || t - start_ms >= threshold_now => {
                Some(start_ms)
            }
            _ => None,
        };
        self.outage_since_advance |= matches!(outage, OutageStep::In { .. });
        self.memory.push(t, s.rss_bytes, obs.reset);
        self.peers.push(t, s.peers.filter(|_| !s.is_error()));

        let h0 = self.high;
        let current = if s.is_error() { None } else { s.current };
        if let Some(c) = current {
            match self.high {
                None => {
                    self.high = Some(c);
                    self.start = Some((t, c));
                    self.cost.start(c, t);
                }
                Some(h) if c > h => self.high = Some(c),
                Some(h) if c < h => self.regressions += 1,
                Some(_) => {}
            }
            self.history.push(t, self.high.unwrap_or(c));
        }
        let h1 = self.high;
        let behind = matches!((h1, self.last_target), (Some(h), Some(tg)) if tg > h);
        let was_stalled = self.stall.is_open();
        if let (Some(a), Some(b)) = (h0, h1)
            && b > a
        {
            self.last_advance_ms = Some(t);
            let healthy = behind && !was_stalled && !self.outage_since_advance;
            self.pace.on_advance(t, healthy);
            self.outage_since_advance = matches!(outage, OutageStep::In { .. });
        }

        let threshold = self.pace.stall_after_ms(&self.opts);
        let window = self.pace.rate_window_ms(&self.opts);
        let event = self.stall.step(
            &Step {
                obs: &obs,
                height: h1,
                behind,
                threshold_ms: threshold,
                crawl_rate: self.crawl_rate(h1, threshold),
                history: &self.history,
                outage_since,
            },
            &self.opts,
        );
        match event {
            StallEvent::Closed { duration_ms } => self.stalled_ms_closed += duration_ms,
            StallEvent::Opened { start_ms, .. } => self.pace.stall_opened(start_ms),
            StallEvent::None => {}
        }
        self.pace.commit(t, threshold);
        if let (Some(a), Some(b)) = (h0, h1) {
            self.attribute(a, b, dt, prev_t, t, &obs, behind, event);
        }
        if behind {
            self.behind_ms += dt;
        }
        if let (Some(h), Some(_)) = (h1, current) {
            let clean = behind && !was_stalled && !self.stall.is_open() && !obs.error;
            self.pace.on_height(t, h, clean, window);
        }
        self.history.trim(t - window.max(threshold) - 1);

        self.synced = !s.is_error()
            && s.peers != Some(0)
            && matches!((current, self.last_target), (Some(c), Some(tg)) if c >= tg);
        if self.synced && self.first_synced.is_none() {
            self.first_synced = Some((t, h1.unwrap_or(0)));
        }
        self.last_ms = t;
        self.last_state = s.state;
        self.last_peers = s.peers;
        self.last_head_time = s.head_time;
    }

    fn observe_resources(&mut self, s: &Sample, t: i64) -> Observation {
        let [cpu_c, read_c, write_c] = &mut self.counters;
        let (cpu, r1) = cpu_c.update(s.cpu_s, t);
        let (read, r2) = read_c.update(s.read_bytes.map(|v| v as f64), t);
        let (write, r3) = write_c.update(s.write_bytes.map(|v| v as f64), t);
        let reset = r1 || r2 || r3;
        self.restarts += u64::from(reset);
        let tot = &mut self.totals;
        if let Some(d) = cpu {
            tot.cpu.value += d.value;
            tot.cpu.span_ms += d.span_ms;
            // Over short or restart-spanning intervals the rate is meaningless.
            if !r1 && d.span_ms >= 1000 {
                let cores = d.value * 1000.0 / d.span_ms as f64;
                tot.peak_cpu = Some(tot.peak_cpu.map_or(cores, |p: f64| p.max(cores)));
            }
        }
        if let Some(d) = read {
            *tot.read.get_or_insert(0.0) += d.value;
        }
        if let Some(d) = write {
            *tot.write.get_or_insert(0.0) += d.value;
        }
        if let Some(r) = s.rss_bytes {
            tot.rss_sum += r as f64;
            tot.rss_n += 1;
            tot.rss_peak = Some(tot.rss_peak.map_or(r, |p| p.max(r)));
            tot.rss_last = Some(r);
        }
        if let Some(d) = s.data_dir_bytes {
            tot.dir_first.get_or_insert(d);
            tot.dir_last = Some(d);
        }
        Observation {
            t,
            error: s.is_error(),
            peers: s.peers,
            cpu,
            read,
            write,
            reset,
        }
    }

    /// Crawl rate in blocks/ms, or 0 when unknown or when the node is so close to the tip
    /// that even a healthy node could not do better.
    fn crawl_rate(&self, h: Option<u64>, threshold_ms: i64) -> f64 {
        let (Some(h), Some(tg), Some(typical)) = (h, self.last_target, self.pace.typical_rate())
        else {
            return 0.0;
        };
        let r = self.opts.crawl_fraction * typical;
        if tg.saturating_sub(h) as f64 > r * threshold_ms as f64 {
            r
        } else {
            0.0
        }
    }

    /// Charges the interval `(t0, t1]` to the cost buckets.
    #[allow(clippy::too_many_arguments)]
    fn attribute(
        &mut self,
        h0: u64,
        h1: u64,
        dt: i64,
        t0: i64,
        t1: i64,
        obs: &Observation,
        behind: bool,
        event: StallEvent,
    ) {
        let c = Cost {
            wall: dt as f64 / 1000.0,
            cpu: obs.cpu.map_or(0.0, |d| d.value),
            read: obs.read.map_or(0.0, |d| d.value),
            write: obs.write.map_or(0.0, |d| d.value),
        };
        if let StallEvent::Opened { start_ms, height } = event {
            // The stall is recognised a threshold late: what was waiting since the last
            // advance, and any crawl before it, was stall time too.
            let pending = self.cost.flush_pending_as_stalled(h0);
            let earlier = (t0 - start_ms) as f64 / 1000.0 - pending;
            self.cost.mark_stalled(height, earlier);
        }
        let activity = if self.stall.is_open() {
            Activity::Stalled
        } else if behind {
            Activity::Syncing
        } else {
            Activity::Following
        };
        if h1 > h0 {
            self.cost.add_span(h0, h1, c, activity, t0, t1);
        } else {
            self.cost.add_flat(h0, c, activity, t0);
        }
    }

    fn stalled_ms(&self) -> i64 {
        self.stalled_ms_closed
            + self
                .stall
                .open_since()
                .map_or(0, |(start, _)| self.last_ms - start)
    }

    fn eta(&self, rate: Option<f64>) -> Eta {
        let (Some(h), Some(tg)) = (self.high, self.last_target) else {
            return Eta::UNKNOWN;
        };
        if self.synced {
            return Eta::UNKNOWN;
        }
        let points = self.cost.model_points(h);
        let stalled = self.stalled_ms();
        let stalls = StallHistory {
            count: self.stall.total(),
            stalled_seconds: stalled as f64 / 1000.0,
            syncing_seconds: (self.behind_ms - stalled).max(0) as f64 / 1000.0,
        };
        eta::estimate(&EtaInput {
            points: &points,
            current: h,
            remaining: tg.saturating_sub(h),
            observed: self.start.map_or(0, |(_, h0)| h.saturating_sub(h0)),
            window_rate: rate,
            stalls,
            stalled_now: self.stall.is_open(),
            target_growth: self.target_growth(),
            prior: self.prior.as_ref(),
        })
    }

    /// Blocks per second the target moves, over at least one whole period; 0 when unknown.
    /// Never more than half the node's own mean rate: a target that runs away that fast is
    /// peers being discovered, not the chain.
    fn target_growth(&self) -> f64 {
        let (Some((t0, g0)), Some(tg)) = (self.target_marks[0], self.last_target) else {
            return 0.0;
        };
        let span = (self.last_ms - t0) as f64 / 1000.0;
        let growth = tg.saturating_sub(g0) as f64 / span;
        let node = match (self.start, self.high) {
            (Some((ts, hs)), Some(h)) if self.last_ms > ts => {
                h.saturating_sub(hs) as f64 * 1000.0 / (self.last_ms - ts) as f64
            }
            _ => 0.0,
        };
        if span > 0.0 {
            growth.min(node / 2.0)
        } else {
            0.0
        }
    }

    fn rate(&self) -> Option<f64> {
        let h = self.high?;
        let window = self.pace.rate_window_ms(&self.opts);
        self.history.rate(self.last_ms, h, window, 1000)
    }

    /// The live view after the last sample.
    pub fn snapshot(&self) -> LiveState {
        let rate = self.rate();
        let eta = self.eta(rate);
        let trend = self.memory.trend();
        LiveState {
            node: self.node.clone(),
            t_ms: self.last_ms,
            state: self.last_state,
            current: self.high,
            target: self.last_target,
            peers: self.last_peers,
            synced: self.synced,
            rate_blocks_per_second: rate,
            eta_seconds: eta.seconds,
            eta_low_seconds: eta.low,
            eta_high_seconds: eta.high,
            eta_method: eta.method,
            eta_stalled: self.stall.is_open() && eta.method != EtaMethod::Unknown,
            stalled_since: self
                .stall
                .open_since()
                .map(|(start_ms, height)| StalledSince { start_ms, height }),
            stalls_total: self.stall.total(),
            stall_after_seconds: self.pace.stall_after_ms(&self.opts) as f64 / 1000.0,
            head_age_seconds: self
                .last_head_time
                .map(|ht| self.last_ms as f64 / 1000.0 - ht),
            error_samples: self.errors,
            restarts: self.restarts,
            outage_since_ms: self.outages.open_since(),
            outages_total: self.outages.total(),
            peer_losses_total: self.peers.total(),
            peer_loss_since_ms: self.peers.open().map(|o| o.start_ms),
            peer_loss_from: self.peers.open().map(|o| o.from),
            memory_growth_bytes_per_second: trend.map(|m| m.bytes_per_second),
            memory_growth_significant: trend.is_some_and(|m| m.significant),
        }
    }

    /// Time-to-height: bucket starts as reached, sharpened by the stalls' edges so that a
    /// stall is not smeared over its bucket, and the last advance.
    fn progress_curve(&self, stalls: &[Stall]) -> Vec<ProgressPoint> {
        let mut pts = self.cost.progress();
        for s in stalls {
            pts.push(ProgressPoint {
                height: s.height,
                t_ms: s.start_ms,
            });
            if !s.ongoing {
                pts.push(ProgressPoint {
                    height: s.end_height,
                    t_ms: s.end_ms,
                });
            }
        }
        if let (Some(h), Some(t)) = (self.high, self.last_advance_ms) {
            pts.push(ProgressPoint { height: h, t_ms: t });
        }
        pts.sort_by_key(|p| (p.height, p.t_ms));
        let mut out: Vec<ProgressPoint> = Vec::with_capacity(pts.len());
        for p in pts {
            // First reach per height; never back in time.
            if out
                .last()
                .is_none_or(|l| p.height > l.height && p.t_ms >= l.t_ms)
            {
                out.push(p);
            }
        }
        out
    }

    /// The full analysis so far. Does not consume the tracker: `watch` may call it too.
    pub fn analysis(&self) -> Analysis {
        let live = self.snapshot();
        let first_ms = self.first_ms.unwrap_or(0);
        let mut stalls = self.stall.finished().to_vec();
        stalls.extend(
            self.stall
                .ongoing(self.last_ms, self.high.unwrap_or(0), &self.opts),
        );
        let tot = &self.totals;
        let start_height = self.start.map(|s| s.1);
        let remaining = self
            .high
            .zip(self.last_target)
            .map(|(h, tg)| tg.saturating_sub(h));
        let progress = match (start_height, self.high, self.last_target) {
            (Some(s), Some(h), Some(tg)) if tg > s => {
                Some(((h - s) as f64 / (tg - s) as f64).min(1.0))
            }
            (Some(_), Some(h), Some(tg)) if h >= tg => Some(1.0),
            _ => None,
        };
        let mean_rate = self.start.and_then(|(t0, h0)| {
            let (t1, h1) = self
                .first_synced
                .or_else(|| self.last_advance_ms.zip(self.high))?;
            (t1 > t0).then(|| h1.saturating_sub(h0) as f64 * 1000.0 / (t1 - t0) as f64)
        });
        let progress_curve = self.progress_curve(&stalls);
        Analysis {
            node: self.node.clone(),
            samples: self.samples,
            error_samples: self.errors,
            restarts: self.restarts,
            out_of_order_samples: self.out_of_order,
            height_regressions: self.regressions,
            first_ms,
            last_ms: self.last_ms,
            duration_seconds: (self.last_ms - first_ms) as f64 / 1000.0,
            state: self.last_state,
            synced: self.synced,
            first_synced_ms: self.first_synced.map(|s| s.0),
            sync_duration_seconds: self.first_synced.map(|s| (s.0 - first_ms) as f64 / 1000.0),
            start_height,
            current: self.high,
            target: self.last_target,
            remaining_blocks: remaining,
            progress,
            peers: self.last_peers,
            rate_blocks_per_second: live.rate_blocks_per_second,
            mean_rate_blocks_per_second: mean_rate,
            eta_seconds: live.eta_seconds,
            eta_low_seconds: live.eta_low_seconds,
            eta_high_seconds: live.eta_high_seconds,
            eta_method: live.eta_method,
            eta_stalled: live.eta_stalled,
            stall_after_seconds: live.stall_after_seconds,
            stall_after_auto: self.opts.stall_after == StallAfter::Auto,
            stalls_total: self.stall.total(),
            stalled_seconds: self.stalled_ms() as f64 / 1000.0,
            stalls,
            outages_total: self.outages.total(),
            outage_seconds: self.outages.seconds(self.last_ms),
            outages: self.outages.list(self.last_ms),
            peer_losses_total: self.peers.total(),
            peer_losses: self.peers.list(),
            cpu_seconds: (tot.cpu.span_ms > 0).then_some(tot.cpu.value),
            mean_cpu_cores: (tot.cpu.span_ms > 0)
                .then(|| tot.cpu.value * 1000.0 / tot.cpu.span_ms as f64),
            peak_cpu_cores: tot.peak_cpu,
            mean_rss_bytes: (tot.rss_n > 0).then(|| tot.rss_sum / tot.rss_n as f64),
            peak_rss_bytes: tot.rss_peak,
            last_rss_bytes: tot.rss_last,
            memory_growth_bytes_per_second: live.memory_growth_bytes_per_second,
            memory_growth_significant: live.memory_growth_significant,
            read_bytes: tot.read.map(|v| v.round() as u64),
            written_bytes: tot.write.map(|v| v.round() as u64),
            data_dir_bytes: tot.dir_last,
            data_dir_growth_bytes: tot.dir_first.zip(tot.dir_last).map(|(a, b)| {
                (i128::from(b) - i128::from(a)).clamp(i64::MIN.into(), i64::MAX.into()) as i64
            }),
            cost_bucket_blocks: self.cost.width(),
            cost_by_height: self.cost.report(),
            progress_curve,
        }
    }
}
