//! Cost by height: wall, CPU and IO per height bucket, in bounded memory.
//!
//! Buckets are `width` blocks wide starting at `origin`; when the observed range would need
//! more than `max` buckets, the width doubles and neighbours merge, so there are always
//! between max/2 and max buckets once the range is wide enough, whatever its size.
//! The same buckets remember when each was first reached: that is the time-to-height
//! curve that A/B comparison aligns on.

use serde::{Deserialize, Serialize};

/// Resource use over an interval. Bytes are f64 because intervals are split across
/// buckets in proportion to blocks.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Cost {
    pub wall: f64,
    pub cpu: f64,
    pub read: f64,
    pub write: f64,
}

impl Cost {
    fn add_scaled(&mut self, o: &Cost, k: f64) {
        self.wall += o.wall * k;
        self.cpu += o.cpu * k;
        self.read += o.read * k;
        self.write += o.write * k;
    }
}

/// What the node was doing during an interval, for the ETA model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Activity {
    /// Behind and progressing (or pausing shorter than a stall).
    Syncing,
    /// Inside a stall window.
    Stalled,
    /// Not behind: following the chain tip, where time per block is the chain's block time.
    Following,
}

#[derive(Debug, Clone, Default)]
struct Bucket {
    blocks: u64,
    cost: Cost,
    stalled: f64,
    following: f64,
    reached_ms: Option<i64>,
}

impl Bucket {
    fn absorb(&mut self, o: &Bucket) {
        self.blocks += o.blocks;
        self.cost.add_scaled(&o.cost, 1.0);
        self.stalled += o.stalled;
        self.following += o.following;
        self.reached_ms = match (self.reached_ms, o.reached_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    fn add(&mut self, c: &Cost, k: f64, activity: Activity) {
        self.cost.add_scaled(c, k);
        match activity {
            Activity::Syncing => {}
            Activity::Stalled => self.stalled += c.wall * k,
            Activity::Following => self.following += c.wall * k,
        }
    }
}

/// One row of the cost report: heights `from..to` (end exclusive).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeightCost {
    pub from: u64,
    pub to: u64,
    /// Blocks of this range the node was seen to pass.
    pub blocks: u64,
    pub wall_seconds: f64,
    /// Part of `wall_seconds` inside stall windows.
    pub stalled_seconds: f64,
    pub cpu_seconds: f64,
    pub read_bytes: u64,
    pub written_bytes: u64,
    /// Unix ms when the node first reached `from`, if seen.
    pub reached_ms: Option<i64>,
}

/// A point of the time-to-height curve used for charts and A/B alignment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProgressPoint {
    pub height: u64,
    pub t_ms: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct CostBuckets {
    /// The first height seen; `origin` is rounded down from it as the width grows.
    first: u64,
    /// The highest height seen.
    top: u64,
    origin: u64,
    width: u64,
    /// log2(width): bucket lookups run per sample, and a shift is far cheaper than a division.
    shift: u32,
    max: usize,
    buckets: Vec<Bucket>,
    /// Cost of flat intervals not yet attributed: it belongs to the blocks of the next
    /// jump, since batchy nodes process blocks while their reported height stands still.
    pending: Cost,
    pending_following: f64,
    pending_since: Option<i64>,
}

impl CostBuckets {
    pub fn new(max: usize) -> Self {
        Self {
            first: 0,
            top: 0,
            origin: 0,
            width: 1,
            shift: 0,
            max: max.max(2),
            buckets: Vec::new(),
            pending: Cost::default(),
            pending_following: 0.0,
            pending_since: None,
        }
    }

    pub fn width(&self) -> u64 {
        self.width
    }

    /// The first height ever seen, at time `t`.
    pub fn start(&mut self, h: u64, t: i64) {
        self.first = h;
        self.top = h;
        self.origin = h;
        self.buckets = vec![Bucket {
            reached_ms: Some(t),
            ..Bucket::default()
        }];
    }

    fn index(&self, h: u64) -> usize {
        usize::try_from(h.saturating_sub(self.origin) >> self.shift).unwrap_or(usize::MAX)
    }

    /// Makes room for height `h`, doubling the width as often as needed.
    fn ensure(&mut self, h: u64) {
        while self.index(h) >= self.max && self.width < 1 << 63 {
            self.double();
        }
        let need = self.index(h) + 1;
        if self.buckets.len() < need {
            self.buckets.resize_with(need, Bucket::default);
        }
    }

    fn double(&mut self) {
        let width = self.width * 2;
        let origin = self.origin - self.origin % width;
        let mut merged: Vec<Bucket> = Vec::with_capacity(self.max / 2 + 2);
        for (i, b) in self.buckets.iter().enumerate() {
            let start = self.origin + i as u64 * self.width;
            let j = usize::try_from((start - origin) / width).unwrap_or(usize::MAX);
            if merged.len() <= j {
                merged.resize_with(j + 1, Bucket::default);
            }
            merged[j].absorb(b);
        }
        self.origin = origin;
        self.width = width;
        self.shift += 1;
        self.buckets = merged;
    }

    fn bucket_start(&self, i: usize) -> u64 {
        self.origin
            .saturating_add((i as u64).saturating_mul(self.width))
    }

    /// An interval during which the height stayed at `h`.
    pub fn add_flat(&mut self, h: u64, c: Cost, activity: Activity, t_start: i64) {
        if activity == Activity::Stalled {
            self.ensure(h);
            let i = self.index(h);
            self.buckets[i].add(&c, 1.0, activity);
            return;
        }
        self.pending.add_scaled(&c, 1.0);
        if activity == Activity::Following {
            self.pending_following += c.wall;
        }
        self.pending_since.get_or_insert(t_start);
    }

    /// An interval `[t0, t1]` during which the height went from `h0` to `h1 > h0`: the cost,
    /// plus any pending flat time, is spread over blocks `h0+1..=h1`.
    pub fn add_span(&mut self, h0: u64, h1: u64, c: Cost, activity: Activity, t0: i64, t1: i64) {
        self.ensure(h1);
        self.top = self.top.max(h1);
        let mut total = c;
        total.add_scaled(&self.pending, 1.0);
        let following = self.pending_following
            + if activity == Activity::Following {
                c.wall
            } else {
                0.0
            };
        let stalled = if activity == Activity::Stalled {
            c.wall
        } else {
            0.0
        };
        let t0 = self.pending_since.take().unwrap_or(t0).min(t0);
        self.pending = Cost::default();
        self.pending_following = 0.0;

        let span = (h1 - h0) as f64;
        let (first, last) = (self.index(h0 + 1), self.index(h1));
        for i in first..=last {
            let start = self.bucket_start(i);
            let end = start.saturating_add(self.width - 1);
            let n = end.min(h1) - start.max(h0 + 1) + 1;
            let k = n as f64 / span;
            let b = &mut self.buckets[i];
            b.blocks += n;
            b.cost.add_scaled(&total, k);
            b.stalled += stalled * k;
            b.following += following * k;
            if b.reached_ms.is_none() && start > h0 {
                let frac = (start - h0) as f64 / span;
                b.reached_ms = Some(t0 + ((t1 - t0) as f64 * frac).round() as i64);
            }
        }
    }

    /// A stall was recognised late: the pending flat time was stall time at `h`.
    pub fn flush_pending_as_stalled(&mut self, h: u64) -> f64 {
        let p = std::mem::take(&mut self.pending);
        self.pending_following = 0.0;
        self.pending_since = None;
        self.add_flat(h, p, Activity::Stalled, 0);
        p.wall
    }

    /// Reclassifies up to `secs` of already-attributed syncing time at `h` as stalled
    /// (the crawl blocks seen before the stall was recognised).
    pub fn mark_stalled(&mut self, h: u64, secs: f64) {
        if secs <= 0.0 {
            return;
        }
        self.ensure(h);
        let i = self.index(h);
        let b = &mut self.buckets[i];
        let active = (b.cost.wall - b.stalled - b.following).max(0.0);
        b.stalled += secs.min(active);
    }

    /// The report, with time still pending (flat since the last advance) shown where the
    /// node sits.
    pub fn report(&self) -> Vec<HeightCost> {
        let mut buckets = self.buckets.clone();
        if let Some(b) = buckets.get_mut(self.index(self.top)) {
            b.add(&self.pending, 1.0, Activity::Syncing);
            b.following += self.pending_following;
        }
        buckets
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let from = self.bucket_start(i);
                HeightCost {
                    from,
                    to: from.saturating_add(self.width),
                    blocks: b.blocks,
                    wall_seconds: b.cost.wall,
                    stalled_seconds: b.stalled,
                    cpu_seconds: b.cost.cpu,
                    read_bytes: b.cost.read.round() as u64,
                    written_bytes: b.cost.write.round() as u64,
                    reached_ms: b.reached_ms,
                }
            })
            .collect()
    }

    /// Time-to-height points (bucket starts as they were reached), in height order.
    pub fn progress(&self) -> Vec<ProgressPoint> {
        let mut out: Vec<ProgressPoint> = Vec::with_capacity(self.buckets.len());
        for (i, b) in self.buckets.iter().enumerate() {
            if let Some(t) = b.reached_ms {
                // The first bucket is reached at the first height, which may lie inside it.
                let height = self.bucket_start(i).max(self.first);
                if out.last().is_none_or(|p| p.t_ms <= t && p.height < height) {
                    out.push(ProgressPoint { height, t_ms: t });
                }
            }
        }
        out
    }

    /// Points for the ETA model: (mid height, syncing seconds per block, blocks) of every
    /// bucket that is mostly complete, saw no tip-following, and does not hold `current`.
    pub fn model_points(&self, current: u64) -> Vec<(f64, f64, f64)> {
        let cur = self.index(current);
        let min_blocks = self.width.div_ceil(2);
        self.buckets
            .iter()
            .enumerate()
            .filter(|(i, b)| *i != cur && b.blocks >= min_blocks && b.following == 0.0)
            .filter_map(|(i, b)| {
                let active = b.cost.wall - b.stalled;
                let mid = self.bucket_start(i) as f64 + self.width as f64 / 2.0;
                (active > 0.0).then(|| (mid, active / b.blocks as f64, b.blocks as f64))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall(s: f64) -> Cost {
        Cost {
            wall: s,
            ..Cost::default()
        }
    }

    #[test]
    fn buckets_stay_bounded_and_conserve_cost() {
        let mut c = CostBuckets::new(200);
        c.start(1_000, 0);
        let mut h = 1_000;
        for t in 1..=10_000i64 {
            c.add_span(
                h,
                h + 37,
                wall(1.0),
                Activity::Syncing,
                (t - 1) * 1000,
                t * 1000,
            );
            h += 37;
        }
        let rows = c.report();
        assert!((100..=200).contains(&rows.len()), "{}", rows.len());
        let total: f64 = rows.iter().map(|r| r.wall_seconds).sum();
        assert!((total - 10_000.0).abs() < 1e-6);
        assert_eq!(rows.iter().map(|r| r.blocks).sum::<u64>(), 370_000);
        let p = c.progress();
        assert_eq!(
            p[0],
            ProgressPoint {
                height: 1_000,
                t_ms: 0
            }
        );
        assert!(
            p.windows(2)
                .all(|w| w[0].height < w[1].height && w[0].t_ms <= w[1].t_ms)
        );
    }

    #[test]
    fn flat_time_goes_to_the_blocks_of_the_next_jump() {
        let mut c = CostBuckets::new(200);
        c.start(0, 0);
        for t in 0..9 {
            c.add_flat(0, wall(2.0), Activity::Syncing, t * 2000);
        }
        c.add_span(0, 100, wall(2.0), Activity::Syncing, 18_000, 20_000);
        let pts = c.model_points(1_000);
        let (_, tpb, _) = pts[0];
        assert!((tpb - 0.2).abs() < 1e-9, "{pts:?}");
        // The jump is spread over the whole 20 s, not its last 2 s.
        let p = c.progress();
        assert!(
            p.iter()
                .any(|p| p.height == 50 && (p.t_ms - 10_000).abs() <= 200),
            "{p:?}"
        );
    }

    #[test]
    fn stalled_time_is_kept_out_of_the_model() {
        let mut c = CostBuckets::new(200);
        c.start(0, 0);
        c.add_span(0, 10, wall(10.0), Activity::Syncing, 0, 10_000);
        c.add_flat(10, wall(500.0), Activity::Stalled, 10_000);
        c.add_span(10, 20, wall(10.0), Activity::Syncing, 510_000, 520_000);
        assert!(c.model_points(100).iter().all(|p| (p.1 - 1.0).abs() < 1e-9));
        let stalled: f64 = c.report().iter().map(|r| r.stalled_seconds).sum();
        assert_eq!(stalled, 500.0);
    }

    #[test]
    fn huge_heights_do_not_overflow() {
        let mut c = CostBuckets::new(4);
        c.start(0, 0);
        c.add_span(0, u64::MAX, wall(1.0), Activity::Syncing, 0, 1);
        assert!(c.report().len() <= 4);
    }
}
