//! An earlier run's cost per block by height: the shape of a chain's cost, learned once.
//!
//! A sync a quarter of the way through has seen a quarter of the chain; whether the rest
//! gets heavier, and where, is a guess from that quarter. A node that synced the same
//! chain before (an earlier run in the same recording, on this machine or another build)
//! has seen the whole shape. The ETA then needs only one thing from the current run: how
//! fast this run is against that one, at the heights both have passed.

use crate::cost::HeightCost;
use crate::rate::median;
use serde::{Deserialize, Serialize};

/// Seconds per block (stall time excluded) per height range, in height order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostProfile {
    /// (mid height, seconds per block), at least [`MIN_RANGES`] of them, strictly rising
    /// heights, every cost positive and finite.
    points: Vec<(f64, f64)>,
    /// Heights the profile covers: [from, to).
    from: u64,
    to: u64,
}

/// Fewer ranges than this say nothing about a shape.
pub const MIN_RANGES: usize = 8;
/// Steps of the numeric integral; the profile is piecewise linear, so more buy nothing.
const STEPS: usize = 256;

impl CostProfile {
    /// From an earlier run's `cost_by_height`: ranges the node passed at least half of
    /// while syncing, each cost held within 3× of its neighbours' median (a range that
    /// absorbed a stall's fuzzy edge must not become a mountain in the shape).
    pub fn from_costs(costs: &[HeightCost]) -> Option<CostProfile> {
        let raw: Vec<(f64, f64, u64, u64)> = costs
            .iter()
            .filter(|c| c.to > c.from && 2 * c.blocks >= c.to - c.from)
            .filter_map(|c| {
                let active = c.wall_seconds - c.stalled_seconds;
                let spb = active / c.blocks as f64;
                (spb.is_finite() && spb > 0.0).then_some((
                    (c.from as f64 + c.to as f64) / 2.0,
                    spb,
                    c.from,
                    c.to,
                ))
            })
            .collect();
        if raw.len() < MIN_RANGES || raw.windows(2).any(|w| w[1].0 <= w[0].0) {
            return None;
        }
        let n = raw.len();
        let points = (0..n)
            .map(|i| {
                let mut near: Vec<f64> = raw[i.saturating_sub(2)..(i + 3).min(n)]
                    .iter()
                    .map(|p| p.1)
                    .collect();
                let m = median(&mut near).unwrap_or(raw[i].1);
                (raw[i].0, raw[i].1.clamp(m / 3.0, m * 3.0))
            })
            .collect();
        Some(CostProfile {
            points,
            from: raw[0].2,
            to: raw[n - 1].3,
        })
    }

    /// Heights covered, [from, to).
    pub fn span(&self) -> (u64, u64) {
        (self.from, self.to)
    }

    /// Seconds per block at `h`: linear between range midpoints, flat beyond the ends.
    pub(crate) fn at(&self, h: f64) -> f64 {
        let p = &self.points;
        let i = p.partition_point(|q| q.0 <= h);
        if i == 0 {
            return p[0].1;
        }
        if i == p.len() {
            return p[p.len() - 1].1;
        }
        let ((x0, y0), (x1, y1)) = (p[i - 1], p[i]);
        y0 + (y1 - y0) * (h - x0) / (x1 - x0)
    }

    /// Share of [a, b) inside the profile's heights.
    pub(crate) fn coverage(&self, a: u64, b: u64) -> f64 {
        if b <= a {
            return 0.0;
        }
        let inside = b.min(self.to).saturating_sub(a.max(self.from));
        inside as f64 / (b - a) as f64
    }

    /// Seconds the earlier run spent syncing [a, b) (beyond its ends: its cost there).
    pub(crate) fn seconds(&self, a: u64, b: u64) -> f64 {
        if b <= a {
            return 0.0;
        }
        let step = (b - a) as f64 / STEPS as f64;
        (0..STEPS)
            .map(|i| self.at(a as f64 + (i as f64 + 0.5) * step) * step)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn costs(spb: impl Fn(u64) -> f64) -> Vec<HeightCost> {
        (0..20u64)
            .map(|i| {
                let (from, to) = (i * 1000, (i + 1) * 1000);
                HeightCost {
                    from,
                    to,
                    blocks: 1000,
                    wall_seconds: spb(from + 500) * 1000.0 + 50.0,
                    stalled_seconds: 50.0,
                    cpu_seconds: 0.0,
                    read_bytes: 0,
                    written_bytes: 0,
                    reached_ms: None,
                }
            })
            .collect()
    }

    #[test]
    fn a_linear_shape_integrates_exactly_and_stalls_are_left_out() {
        let p = CostProfile::from_costs(&costs(|h| 0.01 + h as f64 * 1e-6)).unwrap();
        assert_eq!(p.span(), (0, 20_000));
        // ∫ 0.01 + 1e-6 h dh over [2000, 12000) = 100 + 1e-6 (12000² − 2000²)/2 = 170.
        assert!((p.seconds(2_000, 12_000) - 170.0).abs() < 0.5);
        assert_eq!(p.coverage(10_000, 30_000), 0.5);
        assert_eq!(p.coverage(5, 5), 0.0);
    }

    #[test]
    fn spikes_are_clipped_and_thin_or_hostile_input_gives_none() {
        let mut c = costs(|_| 0.01);
        c[7].wall_seconds = 1e9;
        let p = CostProfile::from_costs(&c).unwrap();
        assert!(p.at(7_500.0) <= 0.03 + 1e-12, "{}", p.at(7_500.0));
        assert!(CostProfile::from_costs(&c[..5]).is_none(), "too few ranges");
        let mut bad = costs(|_| 0.01);
        for b in &mut bad {
            b.wall_seconds = f64::NAN;
        }
        assert!(CostProfile::from_costs(&bad).is_none());
        let mut unsorted = costs(|_| 0.01);
        unsorted.swap(3, 4);
        assert!(CostProfile::from_costs(&unsorted).is_none());
    }
}
