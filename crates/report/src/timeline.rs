//! A bounded time series of one node's samples for the charts: height, target, peers,
//! CPU cores, RSS and IO rates over time.
//!
//! The analysis keeps no samples (its memory does not grow with the run), but charts over
//! time need some. Samples fall into time bins; whenever there would be more than
//! `max_bins`, the bin width doubles and neighbours merge, so a day-long recording and a
//! two-minute one both give a few hundred points, in constant memory.

use nodewarden_analyze::Sample;

/// One point of the series: the values of one time bin.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TimePoint {
    /// Time of the last sample in the bin.
    pub t_ms: i64,
    /// Height high-water mark at that time.
    pub height: Option<u64>,
    /// Last known positive target (a node without peers often reports 0).
    pub target: Option<u64>,
    /// Fewest peers seen in the bin.
    pub peers: Option<u32>,
    pub cpu_cores: Option<f64>,
    /// Largest RSS seen in the bin.
    pub rss_bytes: Option<u64>,
    pub read_bytes_per_second: Option<f64>,
    pub write_bytes_per_second: Option<f64>,
    /// Samples in the bin whose RPC call failed.
    pub error_samples: u32,
    pub samples: u32,
}

#[derive(Debug, Clone, Copy, Default)]
struct Bin {
    point: TimePoint,
    /// Counter increases and the time they span, per counter.
    cpu: (f64, i64),
    read: (f64, i64),
    write: (f64, i64),
}

impl Bin {
    fn absorb(&mut self, later: &Bin) {
        let (a, b) = (&mut self.point, &later.point);
        a.t_ms = a.t_ms.max(b.t_ms);
        a.height = a.height.max(b.height);
        a.target = b.target.or(a.target);
        a.peers = min_opt(a.peers, b.peers);
        a.rss_bytes = a.rss_bytes.max(b.rss_bytes);
        a.error_samples += b.error_samples;
        a.samples += b.samples;
        for (x, y) in [
            (&mut self.cpu, later.cpu),
            (&mut self.read, later.read),
            (&mut self.write, later.write),
        ] {
            x.0 += y.0;
            x.1 += y.1;
        }
    }
}

fn min_opt<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A counter's increase since its previous value; after a restart (a decrease) the new
/// value is what accumulated since, as in the analysis.
#[derive(Debug, Clone, Copy, Default)]
struct Counter(Option<(f64, i64)>);

impl Counter {
    fn step(&mut self, v: Option<f64>, t: i64) -> Option<(f64, i64)> {
        let v = v?;
        let out = self
            .0
            .map(|(prev, pt)| (if v >= prev { v - prev } else { v }, t - pt));
        self.0 = Some((v, t));
        out
    }
}

#[derive(Debug, Clone)]
pub struct Timeline {
    node: String,
    max_bins: usize,
    origin: Option<i64>,
    width_ms: i64,
    bins: Vec<Bin>,
    high: Option<u64>,
    target: Option<u64>,
    last_ms: i64,
    cpu: Counter,
    read: Counter,
    write: Counter,
}

impl Timeline {
    /// A series for `node` with at most `max_bins` points (at least 16).
    pub fn new(node: impl Into<String>, max_bins: usize) -> Self {
        Self {
            node: node.into(),
            max_bins: max_bins.max(16),
            origin: None,
            width_ms: 1000,
            bins: Vec::new(),
            high: None,
            target: None,
            last_ms: i64::MIN,
            cpu: Counter::default(),
            read: Counter::default(),
            write: Counter::default(),
        }
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// Adds a sample of this node; samples older than the last one are ignored, as in the
    /// analysis.
    pub fn push(&mut self, s: &Sample) {
        if s.t_ms < self.last_ms {
            return;
        }
        self.last_ms = s.t_ms;
        let origin = *self.origin.get_or_insert(s.t_ms);
        let mut idx = ((s.t_ms - origin) / self.width_ms) as usize;
        while idx >= self.max_bins {
            self.halve();
            idx = ((s.t_ms - origin) / self.width_ms) as usize;
        }
        if self.bins.len() <= idx {
            self.bins.resize(idx + 1, Bin::default());
        }
        if let Some(c) = s.current {
            self.high = self.high.max(Some(c));
        }
        if let Some(t) = s.target.filter(|&t| t > 0) {
            self.target = Some(t);
        }
        let (cpu, read, write) = (
            self.cpu.step(s.cpu_s, s.t_ms),
            self.read.step(s.read_bytes.map(|v| v as f64), s.t_ms),
            self.write.step(s.write_bytes.map(|v| v as f64), s.t_ms),
        );
        let bin = &mut self.bins[idx];
        let p = &mut bin.point;
        p.t_ms = s.t_ms;
        p.height = self.high;
        p.target = self.target;
        p.peers = min_opt(p.peers, s.peers);
        p.rss_bytes = p.rss_bytes.max(s.rss_bytes);
        p.samples += 1;
        p.error_samples += u32::from(s.is_error());
        for (acc, d) in [
            (&mut bin.cpu, cpu),
            (&mut bin.read, read),
            (&mut bin.write, write),
        ] {
            if let Some((v, span)) = d {
                acc.0 += v;
                acc.1 += span;
            }
        }
    }

    fn halve(&mut self) {
        self.width_ms *= 2;
        let old = std::mem::take(&mut self.bins);
        for pair in old.chunks(2) {
            let mut b = pair[0];
            if let Some(next) = pair.get(1) {
                if b.point.samples == 0 {
                    b = *next;
                } else if next.point.samples > 0 {
                    b.absorb(next);
                }
            }
            self.bins.push(b);
        }
    }

    /// The points, oldest first; empty bins are left out.
    pub fn points(&self) -> Vec<TimePoint> {
        let rate = |(v, span): (f64, i64)| (span > 0).then(|| v * 1000.0 / span as f64);
        self.bins
            .iter()
            .filter(|b| b.point.samples > 0)
            .map(|b| TimePoint {
                cpu_cores: rate(b.cpu),
                read_bytes_per_second: rate(b.read),
                write_bytes_per_second: rate(b.write),
                ..b.point
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nodewarden_analyze::SyncState;

    fn sample(t: i64, h: u64, cpu: f64) -> Sample {
        let mut s = Sample::new(t, "n", SyncState::Syncing);
        s.current = Some(h);
        s.target = Some(if t == 5000 { 0 } else { 1000 });
        s.cpu_s = Some(cpu);
        s.peers = Some(8);
        s
    }

    #[test]
    fn stays_bounded_and_keeps_rates_and_the_last_target() {
        let mut tl = Timeline::new("n", 16);
        for i in 0..10_000 {
            tl.push(&sample(i * 1000, i as u64 / 10, i as f64 * 0.5));
        }
        let pts = tl.points();
        assert!(pts.len() <= 16 && pts.len() >= 8, "{}", pts.len());
        for p in &pts {
            assert!((p.cpu_cores.unwrap() - 0.5).abs() < 1e-9, "{p:?}");
            assert_eq!(p.target, Some(1000), "a 0 target is not kept");
        }
        assert_eq!(pts.last().unwrap().height, Some(999));
        assert_eq!(pts.last().unwrap().t_ms, 9_999_000);
        assert_eq!(pts.iter().map(|p| p.samples).sum::<u32>(), 10_000);
    }

    #[test]
    fn a_restart_resets_counters_without_a_negative_rate() {
        let mut tl = Timeline::new("n", 100);
        tl.push(&sample(0, 1, 100.0));
        tl.push(&sample(1000, 2, 101.0));
        tl.push(&sample(2000, 3, 0.5));
        tl.push(&sample(1500, 9, 0.5));
        let pts = tl.points();
        assert_eq!(pts.len(), 3, "the older sample is ignored");
        assert_eq!(pts[2].cpu_cores, Some(0.5));
        assert_eq!(pts[2].height, Some(3));
    }
}
