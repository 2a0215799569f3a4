//! A short, compressed history of the height high-water mark, for the sliding-window rate
//! and for finding where a stall ended.
//!
//! Runs of equal height keep only their first and last point, so a long flat stretch costs
//! two entries; a hard cap bounds memory on pathological input (then the oldest go first,
//! which only shortens the look-back).

use std::collections::VecDeque;

const CAP: usize = 16_384;

#[derive(Debug, Clone, Default)]
pub(crate) struct HeightHistory {
    pts: VecDeque<(i64, u64)>,
}

impl HeightHistory {
    /// Records height `h` at time `t`; `t` and `h` never decrease.
    pub fn push(&mut self, t: i64, h: u64) {
        let n = self.pts.len();
        if n >= 2 && self.pts[n - 1].1 == h && self.pts[n - 2].1 == h {
            self.pts[n - 1].0 = t;
            return;
        }
        self.pts.push_back((t, h));
        if self.pts.len() > CAP {
            self.pts.pop_front();
        }
    }

    /// Drops points no longer needed to answer `height_at(t)` for any `t >= keep_from`.
    pub fn trim(&mut self, keep_from: i64) {
        while self.pts.len() >= 2 && self.pts[1].0 <= keep_from {
            self.pts.pop_front();
        }
    }

    pub fn first(&self) -> Option<(i64, u64)> {
        self.pts.front().copied()
    }

    /// Height at time `t` (the step function through the points); `None` before the first.
    pub fn height_at(&self, t: i64) -> Option<u64> {
        let i = self.pts.partition_point(|p| p.0 <= t);
        (i > 0).then(|| self.pts[i - 1].1)
    }

    /// Blocks per second over `[now - window, now]`, or over the history available when it
    /// is shorter but still at least `min_span`.
    pub fn rate(&self, now: i64, now_h: u64, window: i64, min_span: i64) -> Option<f64> {
        let (t0, h0) = self.first()?;
        let (from_t, from_h) = if t0 <= now - window {
            (now - window, self.height_at(now - window)?)
        } else {
            (t0, h0)
        };
        let span = now - from_t;
        (span >= min_span.max(1))
            .then(|| now_h.saturating_sub(from_h) as f64 * 1000.0 / span as f64)
    }

    /// Where the recovery under way began: the first of the trailing run of advances
    /// after `since` that were each healthy, i.e. gained at least `min_rate` (blocks/ms)
    /// counted from the arrival at the previous height. Counting from the arrival, not from
    /// the sample just before the jump, keeps a batchy crawl's odd jump from looking fast.
    /// Falls back to the last advance.
    pub fn recovery_start(&self, since: i64, min_rate: f64) -> Option<i64> {
        let mut arrived = self.pts.front()?.0;
        let mut prev_h = self.pts.front()?.1;
        let (mut run_start, mut last_advance) = (None, None);
        for &(t, h) in self.pts.iter().skip(1) {
            if h <= prev_h {
                continue;
            }
            if t > since {
                let rate = (h - prev_h) as f64 / (t - arrived).max(1) as f64;
                if rate >= min_rate {
                    run_start.get_or_insert(t);
                } else {
                    run_start = None;
                }
                last_advance = Some(t);
            }
            arrived = t;
            prev_h = h;
        }
        run_start.or(last_advance)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compresses_flat_runs_and_answers_steps() {
        let mut h = HeightHistory::default();
        for t in 0..100 {
            h.push(t * 1000, 5);
        }
        h.push(100_000, 50);
        assert_eq!(h.pts.len(), 3);
        assert_eq!(h.height_at(99_000), Some(5));
        assert_eq!(h.height_at(100_000), Some(50));
        assert_eq!(h.height_at(-1), None);
        assert_eq!(h.rate(100_000, 50, 10_000, 1000), Some(4.5));
        h.trim(99_500);
        assert_eq!(h.height_at(99_500), Some(5));
    }

    #[test]
    fn recovery_start_skips_crawl_blocks() {
        let mut h = HeightHistory::default();
        // Crawl: one block every 10 s, then 100 blocks per second.
        for i in 0..10 {
            h.push(i * 10_000, 100 + i as u64);
        }
        h.push(92_000, 109);
        h.push(94_000, 309);
        h.push(96_000, 509);
        assert_eq!(h.recovery_start(0, 5.0 / 1000.0), Some(94_000));
        // Without a crawl rate, the first advance after `since` ends it.
        assert_eq!(h.recovery_start(85_000, 0.0), Some(90_000));
    }
}
