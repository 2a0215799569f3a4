//! A robust RSS trend: is the process's memory really growing, and how fast?
//!
//! Raw RSS climbs and falls with garbage collection, and drops to nothing at a restart, so a
//! plain regression (or first-versus-last) sees leaks in a sawtooth and misses them across
//! restarts. Instead:
//!
//! * RSS is reduced to the minimum of each time window (what the process holds after its
//!   collections); windows double in width whenever there would be more than `MAX_POINTS`,
//!   so memory stays bounded on any run length;
//! * a restart (counters reset) starts a new segment: points of different segments are
//!   never compared, so the memory a restart gives back is not a negative trend;
//! * the slope is the Theil–Sen median of the pairwise slopes of points at least a third
//!   of their segment apart — near pairs would see only the sawtooth;
//! * it is *significant* when at least `AGREE` of those slopes are positive and the growth
//!   over the observed span is at least `MIN_GROWTH` of the typical level.

use crate::rate::quantile;

const FIRST_WINDOW_MS: i64 = 60_000;
const MAX_POINTS: usize = 128;
const MIN_POINTS: usize = 10;
const MIN_SPAN_MS: i64 = 20 * 60_000;
const AGREE: f64 = 0.8;
const MIN_GROWTH: f64 = 0.05;

#[derive(Debug, Clone, Copy)]
struct Point {
    t: i64,
    min: f64,
    seg: u32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Trend {
    pub bytes_per_second: f64,
    pub significant: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct MemoryTrend {
    window_ms: i64,
    min_span_ms: i64,
    open: Option<(i64, Point)>,
    points: Vec<Point>,
    seg: u32,
    cached: Option<Trend>,
}

impl Default for MemoryTrend {
    fn default() -> Self {
        Self::new(1.0)
    }
}

impl MemoryTrend {
    /// `time_scale` shrinks the windows and the minimum span (the demo, whose sims run
    /// `speed` times faster than the clock, passes 1/speed); 1 for real nodes.
    pub fn new(time_scale: f64) -> Self {
        let scale = if time_scale.is_finite() && time_scale > 0.0 {
            time_scale.min(1.0)
        } else {
            1.0
        };
        Self {
            window_ms: ((FIRST_WINDOW_MS as f64 * scale) as i64).max(1000),
            min_span_ms: ((MIN_SPAN_MS as f64 * scale) as i64).max(10 * 1000),
            open: None,
            points: Vec::new(),
            seg: 0,
            cached: None,
        }
    }

    pub fn push(&mut self, t: i64, rss: Option<u64>, restarted: bool) {
        if restarted {
            self.close();
            self.seg += 1;
        }
        let Some(rss) = rss else { return };
        let v = rss as f64;
        if let Some((start, _)) = self.open
            && t - start >= self.window_ms
        {
            self.close();
        }
        let seg = self.seg;
        let (_, p) = self.open.get_or_insert((t, Point { t, min: v, seg }));
        if v < p.min {
            *p = Point { t, min: v, seg };
        }
    }

    fn close(&mut self) {
        let Some((_, p)) = self.open.take() else {
            return;
        };
        self.points.push(p);
        if self.points.len() > MAX_POINTS {
            self.window_ms = self.window_ms.saturating_mul(2);
            let mut merged: Vec<Point> = Vec::with_capacity(self.points.len() / 2 + 1);
            let mut it = std::mem::take(&mut self.points).into_iter().peekable();
            while let Some(p) = it.next() {
                match it.next_if(|q| q.seg == p.seg) {
                    Some(q) if q.min < p.min => merged.push(q),
                    _ => merged.push(p),
                }
            }
            if merged.len() > MAX_POINTS {
                merged.drain(..merged.len() - MAX_POINTS / 2);
            }
            self.points = merged;
        }
        self.cached = self.compute();
    }

    /// The trend over the closed windows; `None` with too little history.
    pub fn trend(&self) -> Option<Trend> {
        self.cached
    }

    fn compute(&self) -> Option<Trend> {
        if self.points.len() < MIN_POINTS {
            return None;
        }
        let mut slopes = Vec::new();
        let mut span_ms = 0;
        let mut i = 0;
        while i < self.points.len() {
            let seg = self.points[i].seg;
            let j = i + self.points[i..].iter().take_while(|p| p.seg == seg).count();
            let s = &self.points[i..j];
            let span = s[s.len() - 1].t - s[0].t;
            span_ms = span_ms.max(span);
            for (a, p) in s.iter().enumerate() {
                for q in &s[a + 1..] {
                    if 3 * (q.t - p.t) >= span && q.t > p.t {
                        slopes.push((q.min - p.min) * 1000.0 / (q.t - p.t) as f64);
                    }
                }
            }
            i = j;
        }
        if slopes.len() < MIN_POINTS || span_ms < self.min_span_ms {
            return None;
        }
        let up = slopes.iter().filter(|s| **s > 0.0).count() as f64 / slopes.len() as f64;
        let slope = quantile(&mut slopes, 0.5)?;
        let mut levels: Vec<f64> = self.points.iter().map(|p| p.min).collect();
        let level = quantile(&mut levels, 0.5)?;
        let growth = slope * span_ms as f64 / 1000.0;
        Some(Trend {
            bytes_per_second: slope,
            significant: slope > 0.0 && up >= AGREE && growth >= MIN_GROWTH * level,
        })
    }
}

/// Forecasts further out than this are not shown: a process growing a few MB an hour
/// while it warms up would otherwise "run out" in months, which is noise, not a leak.
pub const FORECAST_HORIZON_SECONDS: f64 = 30.0 * 86_400.0;

/// Seconds until the process runs out of memory at `growth` bytes/s: the smaller of the
/// host's available memory and what is left under the process's cgroup limit.
pub fn exhaustion_seconds(
    growth_bytes_per_second: f64,
    rss_bytes: u64,
    host_available_bytes: Option<u64>,
    cgroup_limit_bytes: Option<u64>,
) -> Option<f64> {
    if !(growth_bytes_per_second.is_finite() && growth_bytes_per_second > 0.0) {
        return None;
    }
    let cgroup_left = cgroup_limit_bytes.map(|l| l.saturating_sub(rss_bytes));
    let left = match (host_available_bytes, cgroup_left) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b)?,
    };
    Some(left as f64 / growth_bytes_per_second)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: impl Fn(i64) -> (u64, bool)) -> Option<Trend> {
        let mut m = MemoryTrend::default();
        for i in 0..(6 * 3600 / 5) {
            let t = i * 5_000;
            let (v, reset) = f(t);
            m.push(t, Some(v), reset);
        }
        m.trend()
    }

    #[test]
    fn a_leak_is_significant_and_measured() {
        // 2 GB + 50 kB/s under a 10-minute sawtooth of 600 MB.
        let tr = run(|t| {
            let s = t as f64 / 1000.0;
            ((2e9 + 5e4 * s + 6e8 * ((s % 600.0) / 600.0)) as u64, false)
        })
        .unwrap();
        assert!(tr.significant);
        assert!((tr.bytes_per_second - 5e4).abs() < 5e3, "{tr:?}");
    }

    #[test]
    fn a_sawtooth_and_restarts_are_not_leaks() {
        let saw = run(|t| {
            let s = t as f64 / 1000.0;
            ((2e9 + 8e8 * ((s % 1100.0) / 1100.0)) as u64, false)
        })
        .unwrap();
        assert!(!saw.significant, "{saw:?}");
        // Warm-up after each restart climbs, then holds: not a leak across restarts.
        let restarts = run(|t| {
            let s = (t / 1000) % 7200;
            (
                (2e9 + 1e9 * (s.min(600) as f64 / 600.0)) as u64,
                s == 0 && t > 0,
            )
        });
        assert!(restarts.is_none_or(|r| !r.significant), "{restarts:?}");
    }

    #[test]
    fn exhaustion_uses_the_tighter_limit() {
        assert_eq!(
            exhaustion_seconds(1e3, 5_000, Some(1_000_000), None),
            Some(1000.0)
        );
        assert_eq!(
            exhaustion_seconds(1e3, 5_000, Some(1_000_000), Some(105_000)),
            Some(100.0)
        );
        assert_eq!(exhaustion_seconds(0.0, 5_000, Some(1), None), None);
        assert_eq!(exhaustion_seconds(1.0, 5_000, None, None), None);
    }
}
