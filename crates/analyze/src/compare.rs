//! A/B comparison of two runs aligned by height, not wall time: how long each took from a
//! common starting height to each common height, and the ratio.
//!
//! Uses only each run's bounded time-to-height curve (one point per cost bucket), so two
//! runs of any length compare in constant memory.

use crate::analysis::Analysis;
use crate::cost::ProgressPoint;
use crate::stall::Stall;
use serde::{Deserialize, Serialize};

/// A run to compare: its analysis and a label for humans ("v0.0.7", "pruned").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub label: String,
    pub analysis: Analysis,
}

impl Run {
    pub fn new(label: impl Into<String>, analysis: Analysis) -> Self {
        Self {
            label: label.into(),
            analysis,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub label: String,
    pub node: String,
    pub samples: u64,
    pub start_height: Option<u64>,
    pub end_height: Option<u64>,
    pub synced: bool,
    pub sync_duration_seconds: Option<f64>,
    pub mean_rate_blocks_per_second: Option<f64>,
    pub stalls_total: u64,
    pub stalled_seconds: f64,
    pub stalls: Vec<Stall>,
    pub restarts: u64,
    pub error_samples: u64,
    pub cpu_seconds: Option<f64>,
    pub mean_cpu_cores: Option<f64>,
    pub peak_cpu_cores: Option<f64>,
    pub mean_rss_bytes: Option<f64>,
    pub peak_rss_bytes: Option<u64>,
    pub read_bytes: Option<u64>,
    pub written_bytes: Option<u64>,
}

impl RunSummary {
    fn of(run: &Run) -> Self {
        let a = &run.analysis;
        Self {
            label: run.label.clone(),
            node: a.node.clone(),
            samples: a.samples,
            start_height: a.start_height,
            end_height: a.current,
            synced: a.synced,
            sync_duration_seconds: a.sync_duration_seconds,
            mean_rate_blocks_per_second: a.mean_rate_blocks_per_second,
            stalls_total: a.stalls_total,
            stalled_seconds: a.stalled_seconds,
            stalls: a.stalls.clone(),
            restarts: a.restarts,
            error_samples: a.error_samples,
            cpu_seconds: a.cpu_seconds,
            mean_cpu_cores: a.mean_cpu_cores,
            peak_cpu_cores: a.peak_cpu_cores,
            mean_rss_bytes: a.mean_rss_bytes,
            peak_rss_bytes: a.peak_rss_bytes,
            read_bytes: a.read_bytes,
            written_bytes: a.written_bytes,
        }
    }
}

/// Seconds each run took over heights `from..to`; `speedup` = A's time / B's time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketSpeed {
    pub from: u64,
    pub to: u64,
    pub a_seconds: f64,
    pub b_seconds: f64,
    pub speedup: Option<f64>,
}

/// Seconds from the common start height to `height`, for each run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeightTimes {
    pub height: u64,
    pub a_seconds: f64,
    pub b_seconds: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    AFaster,
    BFaster,
    /// Within 5 % of each other.
    Same,
    /// No common height range.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub a: RunSummary,
    pub b: RunSummary,
    /// The height range both runs covered.
    pub common_from_height: Option<u64>,
    pub common_to_height: Option<u64>,
    pub a_seconds: Option<f64>,
    pub b_seconds: Option<f64>,
    /// A's time over B's across the common range: > 1 means B is faster.
    pub speedup: Option<f64>,
    pub verdict: Verdict,
    pub buckets: Vec<BucketSpeed>,
    pub time_to_height: Vec<HeightTimes>,
}

const BUCKETS: u64 = 50;
const SAME_WITHIN: f64 = 0.05;

/// The time-to-height curve up to where the node first caught up: past that point it
/// follows the chain tip at the chain's block time, which says nothing about the build,
/// and two runs recorded side by side would end up "the same speed" over the last blocks.
fn until_synced(a: &Analysis) -> Vec<ProgressPoint> {
    let end = a.first_synced_ms.unwrap_or(i64::MAX);
    a.progress_curve
        .iter()
        .filter(|p| p.t_ms <= end)
        .cloned()
        .collect()
}

pub fn compare(a: &Run, b: &Run) -> Comparison {
    let (ca, cb) = (&until_synced(&a.analysis), &until_synced(&b.analysis));
    let mut out = Comparison {
        a: RunSummary::of(a),
        b: RunSummary::of(b),
        common_from_height: None,
        common_to_height: None,
        a_seconds: None,
        b_seconds: None,
        speedup: None,
        verdict: Verdict::Unknown,
        buckets: Vec::new(),
        time_to_height: Vec::new(),
    };
    let (Some(fa), Some(fb), Some(la), Some(lb)) = (ca.first(), cb.first(), ca.last(), cb.last())
    else {
        return out;
    };
    let from = fa.height.max(fb.height);
    let to = la.height.min(lb.height);
    if to <= from {
        return out;
    }
    let (Some(a0), Some(b0)) = (time_at(ca, from), time_at(cb, from)) else {
        return out;
    };
    let n = BUCKETS.min(to - from);
    let edges: Vec<u64> = (0..=n)
        .map(|i| from + ((to - from) as u128 * u128::from(i) / u128::from(n)) as u64)
        .collect();
    for &h in &edges {
        if let (Some(ta), Some(tb)) = (time_at(ca, h), time_at(cb, h)) {
            out.time_to_height.push(HeightTimes {
                height: h,
                a_seconds: ta - a0,
                b_seconds: tb - b0,
            });
        }
    }
    out.buckets = out
        .time_to_height
        .windows(2)
        .map(|w| {
            let (da, db) = (
                w[1].a_seconds - w[0].a_seconds,
                w[1].b_seconds - w[0].b_seconds,
            );
            BucketSpeed {
                from: w[0].height,
                to: w[1].height,
                a_seconds: da,
                b_seconds: db,
                speedup: ratio(da, db),
            }
        })
        .collect();
    let last = out.time_to_height.last();
    out.common_from_height = Some(from);
    out.common_to_height = Some(to);
    out.a_seconds = last.map(|l| l.a_seconds);
    out.b_seconds = last.map(|l| l.b_seconds);
    out.speedup = out
        .a_seconds
        .zip(out.b_seconds)
        .and_then(|(x, y)| ratio(x, y));
    out.verdict = match out.speedup {
        None => Verdict::Unknown,
        Some(s) if (s - 1.0).abs() <= SAME_WITHIN => Verdict::Same,
        Some(s) if s > 1.0 => Verdict::BFaster,
        Some(_) => Verdict::AFaster,
    };
    out
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0 && a >= 0.0).then(|| a / b)
}

/// Seconds (unix) at which the curve reached `h`, linear between points.
fn time_at(curve: &[ProgressPoint], h: u64) -> Option<f64> {
    let i = curve.partition_point(|p| p.height <= h);
    if i == 0 {
        return None;
    }
    let p = curve[i - 1];
    if p.height == h {
        return Some(p.t_ms as f64 / 1000.0);
    }
    let q = curve.get(i)?;
    let f = (h - p.height) as f64 / (q.height - p.height) as f64;
    Some((p.t_ms as f64 + f * (q.t_ms - p.t_ms) as f64) / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_between_points() {
        let c = [
            ProgressPoint { height: 0, t_ms: 0 },
            ProgressPoint {
                height: 100,
                t_ms: 10_000,
            },
        ];
        assert_eq!(time_at(&c, 50), Some(5.0));
        assert_eq!(time_at(&c, 100), Some(10.0));
        assert_eq!(time_at(&c, 101), None);
    }
}
