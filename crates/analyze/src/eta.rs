//! ETA from a model of time per block against height.
//!
//! Blocks get heavier as a chain grows, so "remaining / recent rate" is biased low. The
//! model (see docs/ANALYSIS.md) takes the syncing seconds per block of each completed
//! height bucket (stall time excluded), and
//!
//! * `level` L: seconds per block at the current height — the block-weighted mean of the
//!   later half of the buckets (at least eight), each projected to the current height
//!   along the fitted slope and held within ½–2× of their median;
//! * `slope` β: a least-squares fit of seconds-per-block against height over all buckets
//!   (each first clipped to 3× of its neighbours' median, so a hiccup cannot tilt it); a
//!   negative slope only when a straight line explains the history well (R² ≥ 0.8);
//! * the estimate is `trend` = ∫₀ᴿ (L + βx) dx: blocks keep getting heavier as they have so
//!   far. `flat` = R·L (they stop getting heavier) bounds the range from below; the range
//!   is widened by the spread (quartiles) of recent buckets around the level;
//! * the range widens with the reach of the extrapolation, remaining / observed blocks
//!   (capped at 4): the upper bound by ×(1 + reach/4), the lower by ÷(1 + reach/10);
//! * stalls recur: with ρ = stalled / syncing seconds so far, the estimate adds ½ρ of its
//!   syncing time (stall time to come is skewed: most remainders see less than the mean)
//!   and the upper bound adds the larger of ρ and a compound-Poisson 90th percentile
//!   (`StallHistory::allowance`); the lower bound assumes no more stalls;
//! * the chain grows while the node syncs: every bound is divided by 1 − g·c, with g the
//!   target's growth in blocks per second and c the bound's seconds per block.
//!
//! With fewer than four buckets it falls back to the window rate, with a ±50 % range.

use crate::prior::CostProfile;
use crate::rate::{median, quantile};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EtaMethod {
    /// Time per block fitted against height over the bucketed history.
    HeightModel,
    /// An earlier run's cost shape over the remaining heights, scaled by how fast this run
    /// is against that one where both have been.
    EarlierRun,
    /// Remaining blocks over the sliding-window rate (too little history for a model).
    WindowRate,
    /// No estimate: synced, no target, or no progress.
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Eta {
    pub seconds: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub method: EtaMethod,
}

impl Eta {
    pub const UNKNOWN: Eta = Eta {
        seconds: None,
        low: None,
        high: None,
        method: EtaMethod::Unknown,
    };
}

pub(crate) struct EtaInput<'a> {
    /// (mid height, seconds per block, blocks) per completed bucket, in height order.
    pub points: &'a [(f64, f64, f64)],
    pub current: u64,
    pub remaining: u64,
    /// Blocks synced so far in this run.
    pub observed: u64,
    /// Blocks per second over the sliding window.
    pub window_rate: Option<f64>,
    /// What the stalls so far cost: how many, and their seconds against the seconds spent
    /// syncing (behind, not stalled).
    pub stalls: StallHistory,
    pub stalled_now: bool,
    /// Blocks per second the target itself moves (the chain growing during the sync).
    pub target_growth: f64,
    /// The cost shape of an earlier run of the same chain, when there is one.
    pub prior: Option<&'a CostProfile>,
}

/// Stalls seen so far, for the expected stall time still to come.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct StallHistory {
    pub count: u64,
    pub stalled_seconds: f64,
    pub syncing_seconds: f64,
}

impl StallHistory {
    /// Stall seconds per syncing second so far.
    fn ratio(&self) -> f64 {
        if self.syncing_seconds > 0.0 {
            (self.stalled_seconds / self.syncing_seconds).min(MAX_STALL_RATIO)
        } else {
            0.0
        }
    }

    /// Stall seconds the upper bound allows for over `sync_s` more syncing seconds: about
    /// the 90th percentile of a compound Poisson process — stalls come one at a time, so
    /// over a short remainder there is either none or a whole one. Its rate and mean length
    /// are what was seen so far, shrunk towards a weak prior (one stall of a quarter of an
    /// hour per four hours of syncing) so that a sync that has not stalled yet is not
    /// promised it never will.
    fn allowance(&self, sync_s: f64) -> f64 {
        let n = self.count as f64;
        let rate = (n + PRIOR_STALLS) / (self.syncing_seconds.max(0.0) + PRIOR_SYNC_S);
        let len =
            (self.stalled_seconds.max(0.0) + PRIOR_STALLS * PRIOR_STALL_S) / (n + PRIOR_STALLS);
        let mu = rate * sync_s;
        len * (mu + STALL_Z90 * mu.sqrt())
    }
}

const MIN_POINTS: usize = 4;
const LEVEL_POINTS: usize = 8;
const NEGATIVE_SLOPE_R2: f64 = 0.8;
/// The level averages over at least this share (1/n) of the history: cost per block
/// wanders for minutes at a time (peers, cache, load), and a level from the last few
/// buckets alone extrapolates that wandering over the whole remainder.
const LEVEL_SHARE: usize = 2;
const SPREAD_POINTS: usize = 10;
/// Blocks cannot get more than this much cheaper ahead than they are now.
const MIN_LEVEL_SHARE: f64 = 0.25;
/// Nor can the trend project more than this multiple of the flat estimate.
const MAX_TREND_FACTOR: f64 = 8.0;
/// Remaining/observed beyond which the range stops widening.
const MAX_REACH: f64 = 4.0;
/// Stall seconds per syncing second beyond which the history is not extrapolated.
const MAX_STALL_RATIO: f64 = 3.0;
const PRIOR_STALLS: f64 = 1.0;
const PRIOR_SYNC_S: f64 = 4.0 * 3600.0;
const PRIOR_STALL_S: f64 = 900.0;
/// One-sided 90 % quantile of a normal, in standard deviations.
const STALL_Z90: f64 = 1.28;
/// Share of the expected stall time the estimate includes: stall time to come is skewed
/// (most remainders see fewer stalls than the mean, a few see many), and the estimate aims
/// at the likeliest outcome while the upper bound carries the rest.
const STALL_SHARE_IN_ESTIMATE: f64 = 0.5;

pub(crate) fn estimate(inp: &EtaInput<'_>) -> Eta {
    if inp.remaining == 0 {
        return Eta {
            seconds: Some(0.0),
            low: Some(0.0),
            high: Some(0.0),
            method: EtaMethod::HeightModel,
        };
    }
    let r = inp.remaining as f64;
    let reach = (r / inp.observed.max(1) as f64).min(MAX_REACH);
    let model = (inp.points.len() >= MIN_POINTS)
        .then(|| Model::fit(inp.points, inp.current as f64))
        .flatten()
        .map(|m| {
            let flat = r * m.level;
            let trend = m.integral(r).min(flat * MAX_TREND_FACTOR);
            // The trend is the estimate: cost per block growing along the chain is the
            // rule, and hedging towards `flat` only biased it low; `flat` bounds the range.
            (
                trend,
                flat.min(trend) * m.spread_low,
                flat.max(trend) * m.spread_high,
            )
        });
    let earlier = inp.prior.and_then(|p| from_prior(inp, p));
    let mut reach_weight = 1.0;
    let (mid, mut low, mut high, method) = match (earlier, model) {
        (Some(e), m) => {
            // The shape ahead was seen in the earlier run; this run's own model knows the
            // pace near here better. Far from the end the shape matters most.
            let w = m.map_or(1.0, |_| reach / (reach + PRIOR_BLEND));
            let m = m.unwrap_or(e);
            reach_weight = PRIOR_REACH_WEIGHT;
            (
                w * e.0 + (1.0 - w) * m.0,
                e.1.min(m.1),
                e.2.max(m.2),
                EtaMethod::EarlierRun,
            )
        }
        (None, Some(m)) => (m.0, m.1, m.2, EtaMethod::HeightModel),
        (None, None) => match inp.window_rate.filter(|r| *r > 0.0) {
            Some(rate) => {
                let mid = r / rate;
                (mid, mid / 1.5, mid * 1.5, EtaMethod::WindowRate)
            }
            None => return Eta::UNKNOWN,
        },
    };
    // Whatever the model, the part of the chain not seen yet may hold heavier phases:
    // the further the extrapolation reaches beyond what was observed, the wider the range.
    let reach = reach_weight * reach;
    high *= 1.0 + 0.25 * reach;
    low /= 1.0 + 0.1 * reach;
    // Stalls keep happening at the rate seen so far; the lower bound assumes none.
    let rho = inp.stalls.ratio();
    let mut mid = mid * (1.0 + STALL_SHARE_IN_ESTIMATE * rho);
    high += (rho * high).max(inp.stalls.allowance(high));
    // The chain grows while the node syncs: each second adds `target_growth` blocks to sync,
    // at the cost per block the estimate implies (the node must be faster than the chain).
    let g = inp.target_growth.max(0.0);
    for v in [&mut mid, &mut low, &mut high] {
        let per_block = *v / r;
        let k = g * per_block;
        if k > 0.0 && k < 0.9 {
            *v /= 1.0 - k;
        }
    }
    low = low.min(mid);
    high = high.max(mid);
    Eta {
        seconds: Some(mid),
        low: Some(low),
        // A node that is not moving has no upper bound.
        high: (!inp.stalled_now).then_some(high),
        method,
    }
}

/// Weight of the earlier run's estimate against this run's model: reach / (reach + this).
const PRIOR_BLEND: f64 = 1.0;
/// How much of the range's widening with reach remains when the shape ahead is known.
const PRIOR_REACH_WEIGHT: f64 = 0.25;
/// Earlier runs are trusted only over most of what is left.
const MIN_PRIOR_COVERAGE: f64 = 0.8;

/// (estimate, low, high, method) from an earlier run's shape: its seconds over the remaining
/// heights times this run's speed against it. The speed is the ratio of the two runs' costs
/// at the same heights over the later half of this run's buckets (a machine's pace wanders
/// for minutes; half the history averages that out), each held within ½–2× of their median.
fn from_prior(inp: &EtaInput<'_>, p: &CostProfile) -> Option<(f64, f64, f64)> {
    let end = inp.current.saturating_add(inp.remaining);
    if p.coverage(inp.current, end) < MIN_PRIOR_COVERAGE {
        return None;
    }
    let (lo_h, hi_h) = p.span();
    let pts: Vec<(f64, f64)> = inp
        .points
        .iter()
        .filter(|q| q.0 >= lo_h as f64 && q.0 < hi_h as f64)
        .map(|q| (q.1 / p.at(q.0), q.2))
        .filter(|q| q.0.is_finite() && q.0 > 0.0)
        .collect();
    if pts.len() < MIN_POINTS {
        return None;
    }
    let n = pts.len();
    let recent = &pts[n.saturating_sub(LEVEL_POINTS.max(n / LEVEL_SHARE))..];
    let mid_ratio = median(&mut recent.iter().map(|q| q.0).collect::<Vec<_>>())?;
    let w: f64 = recent.iter().map(|q| q.1).sum();
    let scale = recent
        .iter()
        .map(|q| q.0.clamp(mid_ratio / 2.0, mid_ratio * 2.0) * q.1)
        .sum::<f64>()
        / w;
    let mut ratios: Vec<f64> = pts[n.saturating_sub(SPREAD_POINTS)..]
        .iter()
        .map(|q| q.0 / scale)
        .collect();
    let spread_low = quantile(&mut ratios, 0.25)?.clamp(0.1, 1.0);
    let spread_high = quantile(&mut ratios, 0.75)?.clamp(1.0, 10.0);
    let mid = scale * p.seconds(inp.current, end);
    (mid.is_finite() && mid > 0.0).then_some((mid, mid * spread_low, mid * spread_high))
}

#[derive(Debug, Clone, Copy)]
struct Model {
    level: f64,
    slope: f64,
    spread_low: f64,
    spread_high: f64,
}

impl Model {
    fn fit(points: &[(f64, f64, f64)], current: f64) -> Option<Model> {
        let ys = clip_spikes(points);
        let (slope, r2) = weighted_ls(points, &ys)?;
        let project = |i: usize| ys[i] + slope * (current - points[i].0);
        let n = points.len();
        // Block-weighted mean of the projections, each first held within ½–2× of their
        // median: less noisy than the median, yet a bucket that absorbed the fuzzy edge
        // of a stall cannot drag it.
        let recent = n.saturating_sub(LEVEL_POINTS.max(n / LEVEL_SHARE))..n;
        let mut proj: Vec<f64> = recent.clone().map(project).collect();
        let mid = median(&mut proj.clone())?;
        let level = if mid > 0.0 {
            for p in &mut proj {
                *p = p.clamp(mid / 2.0, mid * 2.0);
            }
            let w: f64 = recent.clone().map(|i| points[i].2).sum();
            recent.zip(&proj).map(|(i, p)| p * points[i].2).sum::<f64>() / w
        } else {
            // A steep negative slope projected below zero: fall back to the plain median.
            median(&mut ys[recent].to_vec())?
        };
        if !(level.is_finite() && level > 0.0) {
            return None;
        }
        let mut ratios: Vec<f64> = (n.saturating_sub(SPREAD_POINTS)..n)
            .map(|i| project(i).max(0.0) / level)
            .collect();
        let spread_low = quantile(&mut ratios, 0.25)?.clamp(0.1, 1.0);
        let spread_high = quantile(&mut ratios, 0.75)?.clamp(1.0, 10.0);
        // Blocks getting lighter ahead is rare and a noisy fit finds it easily; believe it
        // only when a straight line explains the history well.
        let slope = if slope < 0.0 && r2 < NEGATIVE_SLOPE_R2 {
            0.0
        } else {
            slope
        };
        Some(Model {
            level,
            slope,
            spread_low,
            spread_high,
        })
    }

    /// Seconds to sync the next `r` blocks: ∫₀ʳ max(L + βx, L·MIN_LEVEL_SHARE) dx.
    fn integral(&self, r: f64) -> f64 {
        let (l, b) = (self.level, self.slope);
        let floor = l * MIN_LEVEL_SHARE;
        if b >= 0.0 {
            return r * l + b * r * r / 2.0;
        }
        let x_floor = (floor - l) / b;
        if r <= x_floor {
            r * l + b * r * r / 2.0
        } else {
            x_floor * l + b * x_floor * x_floor / 2.0 + (r - x_floor) * floor
        }
    }
}

/// Clips each value to within 3× of the median of its neighbourhood (±2 buckets).
fn clip_spikes(points: &[(f64, f64, f64)]) -> Vec<f64> {
    let n = points.len();
    (0..n)
        .map(|i| {
            let mut near: Vec<f64> = points[i.saturating_sub(2)..(i + 3).min(n)]
                .iter()
                .map(|p| p.1)
                .collect();
            match median(&mut near) {
                Some(m) if m > 0.0 => points[i].1.clamp(m / 3.0, m * 3.0),
                _ => points[i].1,
            }
        })
        .collect()
}

/// Weighted least squares of `ys` on the points' heights: (slope, R²).
///
/// R² is measured on the points pooled into a few consecutive groups, because it is meant
/// to say whether a straight line describes the *shape* of the history; bucket-to-bucket
/// noise (batchy progress) would otherwise drag it down and hide a real trend.
fn weighted_ls(points: &[(f64, f64, f64)], ys: &[f64]) -> Option<(f64, f64)> {
    let (slope, _) = ls(points.iter().zip(ys).map(|(p, y)| (p.0, *y, p.2)))?;
    let n = points.len();
    let groups = R2_GROUPS.min(n);
    let pooled = (0..groups).map(|g| {
        let (lo, hi) = (g * n / groups, (g + 1) * n / groups);
        let w: f64 = points[lo..hi].iter().map(|p| p.2).sum();
        let x = points[lo..hi].iter().map(|p| p.0 * p.2).sum::<f64>() / w;
        let y = (lo..hi).map(|i| ys[i] * points[i].2).sum::<f64>() / w;
        (x, y, w)
    });
    let (_, r2) = ls(pooled)?;
    Some((slope, r2))
}

const R2_GROUPS: usize = 8;

/// Weighted least squares over (x, y, weight): (slope, R²).
fn ls(pts: impl Iterator<Item = (f64, f64, f64)> + Clone) -> Option<(f64, f64)> {
    let sw: f64 = pts.clone().map(|p| p.2).sum();
    if sw.is_nan() || sw <= 0.0 {
        return None;
    }
    let mx = pts.clone().map(|p| p.2 * p.0).sum::<f64>() / sw;
    let my = pts.clone().map(|p| p.2 * p.1).sum::<f64>() / sw;
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for (x, y, w) in pts {
        let (dx, dy) = (x - mx, y - my);
        sxx += w * dx * dx;
        sxy += w * dx * dy;
        syy += w * dy * dy;
    }
    if sxx <= 0.0 {
        return Some((0.0, 1.0));
    }
    let slope = sxy / sxx;
    let r2 = if syy > 0.0 {
        sxy * sxy / (sxx * syy)
    } else {
        1.0
    };
    (slope.is_finite() && r2.is_finite()).then_some((slope, r2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(points: &[(f64, f64, f64)], current: u64, remaining: u64) -> Eta {
        estimate(&EtaInput {
            points,
            current,
            remaining,
            observed: current,
            window_rate: None,
            stalls: StallHistory::default(),
            stalled_now: false,
            target_growth: 0.0,
            prior: None,
        })
    }

    #[test]
    fn constant_cost_is_exact() {
        let pts: Vec<_> = (0..50)
            .map(|i| (i as f64 * 10.0 + 5.0, 0.5, 10.0))
            .collect();
        let e = input(&pts, 500, 500);
        assert!((e.seconds.unwrap() - 250.0).abs() < 1e-6, "{e:?}");
        assert_eq!(e.method, EtaMethod::HeightModel);
    }

    #[test]
    fn linear_growth_follows_the_trend() {
        // seconds per block = 0.001 × height; from 500 to 1000 that is 375 s.
        let pts: Vec<_> = (0..50)
            .map(|i| {
                let x = i as f64 * 10.0 + 5.0;
                (x, 0.001 * x, 10.0)
            })
            .collect();
        let e = input(&pts, 500, 500);
        let s = e.seconds.unwrap();
        assert!((s - 375.0).abs() / 375.0 < 0.02, "{e:?}");
        assert!(e.low.unwrap() <= s && s <= e.high.unwrap());
    }

    #[test]
    fn no_data_no_estimate_and_window_fallback() {
        assert_eq!(input(&[], 0, 10), Eta::UNKNOWN);
        let e = estimate(&EtaInput {
            points: &[],
            current: 0,
            remaining: 100,
            observed: 0,
            window_rate: Some(10.0),
            stalls: StallHistory::default(),
            stalled_now: true,
            target_growth: 0.0,
            prior: None,
        });
        assert_eq!(e.seconds, Some(10.0));
        assert_eq!(e.high, None);
        assert_eq!(e.method, EtaMethod::WindowRate);
    }

    #[test]
    fn stalls_and_chain_growth_lengthen_the_estimate() {
        let pts: Vec<_> = (0..50)
            .map(|i| (i as f64 * 10.0 + 5.0, 0.5, 10.0))
            .collect();
        let base = input(&pts, 500, 500);
        let with = |stalls: StallHistory, target_growth: f64| {
            estimate(&EtaInput {
                points: &pts,
                current: 500,
                remaining: 500,
                observed: 500,
                window_rate: None,
                stalls,
                stalled_now: false,
                target_growth,
                prior: None,
            })
        };
        // A third of the time stalled so far: half of that share is expected again, the
        // upper bound carries all of it, the lower bound none.
        let stalled = with(
            StallHistory {
                count: 2,
                stalled_seconds: 100.0,
                syncing_seconds: 300.0,
            },
            0.0,
        );
        let s = stalled.seconds.unwrap();
        assert!((s - 250.0 * (1.0 + 0.5 / 3.0)).abs() < 1e-6, "{stalled:?}");
        // Syncing alone: 250 s, × 1.25 for reaching as far again as observed.
        let sync_high = 250.0 * 1.25;
        assert!(stalled.high.unwrap() >= sync_high * (1.0 + 1.0 / 3.0) - 1e-6);
        assert_eq!(stalled.low, base.low);
        // No stall seen yet still leaves room for one in the upper bound.
        assert!(base.high.unwrap() > sync_high);
        // The chain adds a block every 10 s while 250 s of syncing at 0.5 s per block
        // happen: 250 / (1 − 0.05).
        let grown = with(StallHistory::default(), 0.1);
        assert!(
            (grown.seconds.unwrap() - 250.0 / 0.95).abs() < 1e-6,
            "{grown:?}"
        );
    }

    #[test]
    fn negative_slope_is_floored() {
        let m = Model {
            level: 1.0,
            slope: -0.01,
            spread_low: 1.0,
            spread_high: 1.0,
        };
        // Falls to 0.25 s/block after 75 blocks, then stays there.
        let v = m.integral(1075.0);
        assert!((v - (75.0 - 0.01 * 75.0 * 75.0 / 2.0 + 1000.0 * 0.25)).abs() < 1e-9);
    }
}
