//! The node's own pace: typical time between advances (for `stall_after = auto` and the
//! rate window) and typical sync rate (the yardstick a crawl is measured against).
//!
//! Both are medians over a short recent memory, fed only from healthy stretches (behind,
//! not stalled), so a stall cannot redefine "normal" and end itself.

use crate::options::{AnalyzeOptions, StallAfter};

/// Median, 90th percentile and maximum of the last `cap` values. Recomputed every few
/// pushes rather than on each, because an advance arrives with almost every sample of a
/// fast sync.
#[derive(Debug, Clone)]
pub(crate) struct RecentMedian {
    buf: Vec<f64>,
    cap: usize,
    pos: usize,
    stale: usize,
    median: Option<f64>,
    tail: Option<f64>,
    mean: Option<f64>,
    max: Option<f64>,
}

impl RecentMedian {
    const REFRESH_EVERY: usize = 16;

    pub fn new(cap: usize) -> Self {
        Self {
            buf: Vec::with_capacity(cap),
            cap,
            pos: 0,
            stale: 0,
            median: None,
            tail: None,
            mean: None,
            max: None,
        }
    }

    pub fn push(&mut self, v: f64) {
        if self.buf.len() < self.cap {
            self.buf.push(v);
        } else {
            self.buf[self.pos] = v;
            self.pos = (self.pos + 1) % self.cap;
        }
        self.stale += 1;
        if self.buf.len() <= Self::REFRESH_EVERY || self.stale >= Self::REFRESH_EVERY {
            self.refresh();
        }
    }

    fn refresh(&mut self) {
        self.stale = 0;
        let mut v = self.buf.clone();
        self.median = median(&mut v);
        self.tail = quantile(&mut v, 0.9);
        // Without the top 5 %: one stall that went unnoticed must not drag the mean up.
        let kept = &v[..((v.len() as f64 * 0.95).ceil() as usize).min(v.len())];
        self.mean = (!kept.is_empty()).then(|| kept.iter().sum::<f64>() / kept.len() as f64);
        self.max = v.last().copied();
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn median(&self) -> Option<f64> {
        self.median
    }

    pub fn tail(&self) -> Option<f64> {
        self.tail
    }

    pub fn mean(&self) -> Option<f64> {
        self.mean
    }

    pub fn max(&self) -> Option<f64> {
        self.max
    }
}

/// Median of a slice (reorders it). Non-finite values must not be present.
pub(crate) fn median(v: &mut [f64]) -> Option<f64> {
    quantile(v, 0.5)
}

/// The `q` quantile with linear interpolation between order statistics (reorders `v`).
pub(crate) fn quantile(v: &mut [f64], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    Some(v[lo] + (v[hi] - v[lo]) * (pos - lo as f64))
}

#[derive(Debug, Clone, Copy)]
struct Slice {
    t: i64,
    h: u64,
    clean: bool,
}

/// Measurements held back until a stall can no longer claim them: the first minutes of a
/// crawl look healthy until the threshold has passed, and must not teach the tracker that
/// crawling is normal (which would end the stall, or keep it from opening).
#[derive(Debug, Clone, Default)]
struct Pending(std::collections::VecDeque<(i64, f64)>);

impl Pending {
    /// Holds `v`, measured at `t`; past the bound (a threshold of hours, a clock standing
    /// still) the oldest is committed early rather than lost.
    fn push(&mut self, t: i64, v: f64, into: &mut RecentMedian) {
        if self.0.len() >= 4096
            && let Some((_, old)) = self.0.pop_front()
        {
            into.push(old);
        }
        self.0.push_back((t, v));
    }

    /// Moves measurements older than `before` into `into`.
    fn commit(&mut self, before: i64, into: &mut RecentMedian) {
        while let Some(&(t, v)) = self.0.front()
            && t < before
        {
            into.push(v);
            self.0.pop_front();
        }
    }

    /// Drops measurements that reach past `t`.
    fn discard_after(&mut self, t: i64) {
        while self.0.back().is_some_and(|&(at, _)| at > t) {
            self.0.pop_back();
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Pace {
    gaps_ms: RecentMedian,
    last_advance: Option<i64>,
    slice: Option<Slice>,
    rates: RecentMedian,
    pending_gaps: Pending,
    pending_rates: Pending,
}

impl Default for Pace {
    fn default() -> Self {
        Self {
            gaps_ms: RecentMedian::new(96),
            last_advance: None,
            slice: None,
            rates: RecentMedian::new(15),
            pending_gaps: Pending::default(),
            pending_rates: Pending::default(),
        }
    }
}

impl Pace {
    /// An advance of the high-water mark at `t`. `healthy` says the gap before it is a
    /// normal one (behind, no stall open): stall gaps and tip-following gaps are not.
    pub fn on_advance(&mut self, t: i64, healthy: bool) {
        if let Some(prev) = self.last_advance
            && healthy
        {
            self.pending_gaps
                .push(t, (t - prev) as f64, &mut self.gaps_ms);
        }
        self.last_advance = Some(t);
    }

    /// Accepts the measurements a stall opening now could no longer reach back to: those
    /// older than `now − threshold`.
    pub fn commit(&mut self, now: i64, threshold_ms: i64) {
        let before = now.saturating_sub(threshold_ms);
        self.pending_gaps.commit(before, &mut self.gaps_ms);
        self.pending_rates.commit(before, &mut self.rates);
    }

    /// A stall opened, starting at `start_ms`: what was measured after that was stall.
    pub fn stall_opened(&mut self, start_ms: i64) {
        self.pending_gaps.discard_after(start_ms);
        self.pending_rates.discard_after(start_ms);
    }

    /// Typical time between advances, ms.
    pub fn typical_gap_ms(&self) -> Option<f64> {
        match self.gaps_ms.len() {
            0 => None,
            // Too few gaps for a median: trust the worst one so early batchy progress
            // is not taken for a stall.
            1..4 => self.gaps_ms.max(),
            _ => self.gaps_ms.median(),
        }
    }

    /// The tail of the gaps between advances, ms: the 90th percentile of the recent healthy
    /// gaps, but at least what an exponential distribution of their mean would give
    /// (2.3 × mean, the top 5 % left out of the mean), since a percentile of a hundred gaps
    /// is itself noisy. While there are fewer than ten, the largest (held-back ones
    /// included) or 2.3 × their mean, whichever is more.
    ///
    /// The threshold must sit above what the node does normally, and for batchy progress
    /// (exponentially spaced batches) the normal tail is several times the median: a median
    /// rule calls the long ordinary gaps stalls.
    pub fn tail_gap_ms(&self) -> Option<f64> {
        if self.gaps_ms.len() >= 10 {
            let mean = self.gaps_ms.mean().unwrap_or(0.0);
            return Some(self.gaps_ms.tail()?.max(EXP_P90 * mean));
        }
        // Too few committed: the held-back gaps count too (a crawl among them only raises
        // the threshold, which early on errs the right way), and the largest stands in for
        // the percentile.
        let all = || {
            self.gaps_ms
                .buf
                .iter()
                .chain(self.pending_gaps.0.iter().map(|g| &g.1))
        };
        let n = all().count();
        let max = all().copied().reduce(f64::max)?;
        Some(max.max(EXP_P90 * all().sum::<f64>() / n as f64))
    }

    /// The stall threshold in ms. `auto` = max(floor + 2 × median gap, multiple × tail gap);
    /// before any gap is known, 8 × floor, because a node that has not advanced yet may
    /// just be starting, and may be one whose batches come minutes apart.
    pub fn stall_after_ms(&self, opts: &AnalyzeOptions) -> i64 {
        match opts.stall_after {
            StallAfter::Fixed(d) => duration_ms(d).max(1),
            StallAfter::Auto => {
                let floor = duration_ms(opts.stall_floor).max(1);
                match self.tail_gap_ms() {
                    None => floor.saturating_mul(8),
                    Some(g) => {
                        // A short flat spot right after an advance, seen at the sampling
                        // interval, can look a few gaps longer than it was.
                        let spot = floor as f64 + 2.0 * self.typical_gap_ms().unwrap_or(0.0);
                        (g * opts.stall_gap_multiple).max(spot) as i64
                    }
                }
            }
        }
    }

    /// The rate window in ms: the configured window, widened to span several typical gaps
    /// so batchy progress (one jump every 10–40 s) does not make the rate flicker.
    pub fn rate_window_ms(&self, opts: &AnalyzeOptions) -> i64 {
        let base = duration_ms(opts.rate_window).max(1);
        let gap = self.typical_gap_ms().unwrap_or(0.0);
        base.max((gap * 4.0) as i64)
    }

    /// Feeds the slice that measures the typical rate. A slice is `window` long and counts
    /// only if the node was behind and not stalled throughout.
    pub fn on_height(&mut self, t: i64, h: u64, clean_now: bool, window: i64) {
        match &mut self.slice {
            None => {
                self.slice = Some(Slice {
                    t,
                    h,
                    clean: clean_now,
                })
            }
            Some(s) => {
                s.clean &= clean_now;
                if t - s.t >= window {
                    if s.clean {
                        let rate = h.saturating_sub(s.h) as f64 / (t - s.t) as f64;
                        self.pending_rates.push(t, rate, &mut self.rates);
                    }
                    *s = Slice {
                        t,
                        h,
                        clean: clean_now,
                    };
                }
            }
        }
    }

    /// Typical sync rate, blocks per ms; `None` until three healthy slices are measured.
    /// Until three are committed, the fastest of those measured stands in: a crawl that
    /// began early only lowers slices, so the fastest is the healthy pace.
    pub fn typical_rate(&self) -> Option<f64> {
        let r = if self.rates.len() >= 3 {
            self.rates.median()
        } else if self.rates.len() + self.pending_rates.0.len() >= 3 {
            self.pending_rates
                .0
                .iter()
                .map(|p| p.1)
                .chain(self.rates.max())
                .reduce(f64::max)
        } else {
            None
        };
        r.filter(|r| *r > 0.0)
    }
}

/// The 90th percentile of an exponential distribution, in means: −ln 0.1.
const EXP_P90: f64 = std::f64::consts::LN_10;

pub(crate) fn duration_ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(quantile(&mut [0.0, 10.0], 0.25), Some(2.5));
        assert_eq!(median(&mut []), None);
    }

    #[test]
    fn ring_forgets_old_values() {
        let mut r = RecentMedian::new(5);
        for v in [
            100.0, 100.0, 100.0, 100.0, 100.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
        ] {
            r.push(v);
        }
        assert_eq!(r.median(), Some(1.0));
    }

    #[test]
    fn auto_threshold_follows_gaps_with_floor() {
        let opts = AnalyzeOptions::default();
        let mut p = Pace::default();
        assert_eq!(p.stall_after_ms(&opts), 240_000);
        for i in 0..20 {
            p.on_advance(i * 2_000, true);
        }
        p.commit(i64::MAX, 0);
        // The floor plus two sampling gaps, for a short flat spot seen late.
        assert_eq!(p.stall_after_ms(&opts), 34_000);
        let mut p = Pace::default();
        for i in 0..20 {
            p.on_advance(i * 25_000, true);
        }
        p.commit(i64::MAX, 0);
        // Regular gaps: 5 × (2.3 × mean), since the 90th percentile of equal gaps is the mean.
        assert_eq!(p.stall_after_ms(&opts), 287_823);
        // Exponentially spaced batches: the threshold follows the tail, not the median.
        let mut p = Pace::default();
        let mut t = 0;
        // 97 advances: 96 gaps, a multiple of the refresh period.
        for i in 0..97 {
            let u = (i as f64 + 0.5) / 97.0;
            t += (-20_000.0 * (1.0 - u).ln()) as i64;
            p.on_advance(t, true);
        }
        p.commit(i64::MAX, 0);
        let thr = p.stall_after_ms(&opts);
        assert!((210_000..=250_000).contains(&thr), "{thr}");
        // Too few gaps for a percentile: the largest or 2.3 × their mean, times the multiple.
        let mut p = Pace::default();
        for t in [0, 10_000, 40_000, 50_000] {
            p.on_advance(t, true);
        }
        p.commit(i64::MAX, 0);
        let early = (5.0 * EXP_P90 * 50_000.0 / 3.0) as i64;
        assert_eq!(p.stall_after_ms(&opts), early);
        // Gaps a stall then claims never count.
        p.on_advance(60_000, true);
        p.on_advance(100_000, true);
        p.stall_opened(55_000);
        p.commit(i64::MAX, 0);
        assert_eq!(p.stall_after_ms(&opts), early);
        // A fresh tracker does not wait for gaps to be committed to leave the start-up value.
        let mut p = Pace::default();
        p.on_advance(0, true);
        p.on_advance(2_000, true);
        assert_eq!(p.stall_after_ms(&opts), 30_000);
    }
}
