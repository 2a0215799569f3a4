//! What a live `watch` recording already knows: how long the height has stood still and
//! how fast the data dir grows, over far longer than a check can afford to wait.
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use nodewarden_analyze::{AnalyzeOptions, NodeTracker};
use nodewarden_record::{RecordError, Recording};

/// How far back the recording is read.
const WINDOW_MS: i64 = 3600 * 1000;
/// A recording whose newest sample of the node is older than this is not "live".
const LIVE_WITHIN_MS: i64 = 30 * 1000;
/// Growth over less than this is mostly write-burst noise.
const MIN_GROWTH_SPAN_MS: i64 = 60 * 1000;

#[derive(Debug, Clone, PartialEq)]
pub struct RecordingFacts {
    pub run: String,
    /// The newest sample is recent enough to stand in for a fresh observation.
    pub live: bool,
    /// Seconds since the height last changed, counted only while the node was behind.
    pub unchanged_behind_s: Option<f64>,
    /// The open stall as the tracker `watch` and `analyze` use sees it: seconds since it
    /// began (up to now) and its height. A flat spot shorter than the node's own stall
    /// threshold is not one.
    pub stalled: Option<(f64, u64)>,
    /// That threshold at this node's pace, seconds.
    pub stall_after_s: f64,
    pub growth_bytes_per_s: Option<f64>,
    pub span_s: f64,
    /// The process's RSS trend from the same tracker `analyze` and `watch` use: bytes/s,
    /// and whether it is significant (a leak rather than GC sawtooth or restarts).
    pub memory_growth: Option<(f64, bool)>,
    pub rss_bytes: Option<u64>,
}

/// The newest run of `path` that holds `node`, summarised with the analysis options `watch`
/// uses (so both call the same thing a stall); `Ok(None)` when the file does not exist or
/// has nothing about the node.
pub fn from_recording(
    path: &Path,
    node: &str,
    opts: AnalyzeOptions,
) -> Result<Option<RecordingFacts>, RecordError> {
    if !path.is_file() {
        return Ok(None);
    }
    let store = Recording::open(path)?;
    let runs = store.runs()?;
    let Some(run) = runs
        .iter()
        .filter(|r| r.nodes.iter().any(|(n, _)| n == node) && r.samples > 0)
        .max_by_key(|r| r.id)
    else {
        return Ok(None);
    };
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let mut acc = Acc::default();
    let mut tracker = NodeTracker::new(node, opts);
    let mut rss = None;
    store.for_each_sample(run.id, Some(node), |s| {
        if s.t_ms < now_ms - WINDOW_MS {
            return;
        }
        tracker.push(&s);
        rss = s.rss_bytes.or(rss);
        if s.current.is_none() && s.data_dir_bytes.is_none() {
            return;
        }
        acc.push(s.t_ms, s.current, s.target, s.data_dir_bytes);
    })?;
    let live = tracker.snapshot();
    Ok(acc.finish(&run.name, now_ms).map(|f| RecordingFacts {
        memory_growth: live
            .memory_growth_bytes_per_second
            .map(|g| (g, live.memory_growth_significant)),
        rss_bytes: rss,
        stalled: live
            .stalled_since
            .map(|s| ((now_ms - s.start_ms).max(0) as f64 / 1000.0, s.height)),
        stall_after_s: live.stall_after_seconds,
        ..f
    }))
}

#[derive(Default)]
struct Acc {
    first_t: Option<i64>,
    last_t: i64,
    /// Time of the first sample at the current height, and whether it was behind since.
    height: Option<(u64, i64)>,
    behind: bool,
    size_first: Option<(i64, u64)>,
    size_last: Option<(i64, u64)>,
}

impl Acc {
    fn push(&mut self, t: i64, current: Option<u64>, target: Option<u64>, size: Option<u64>) {
        self.first_t.get_or_insert(t);
        self.last_t = t;
        if let Some(c) = current {
            match self.height {
                Some((h, _)) if h == c => {}
                _ => self.height = Some((c, t)),
            }
            self.behind = target.is_some_and(|tg| tg > c);
        }
        if let Some(b) = size {
            self.size_first.get_or_insert((t, b));
            self.size_last = Some((t, b));
        }
    }

    fn finish(self, run: &str, now_ms: i64) -> Option<RecordingFacts> {
        let first = self.first_t?;
        let growth = match (self.size_first, self.size_last) {
            (Some((t0, b0)), Some((t1, b1))) if t1 - t0 >= MIN_GROWTH_SPAN_MS => {
                Some((b1 as f64 - b0 as f64) * 1000.0 / (t1 - t0) as f64)
            }
            _ => None,
        };
        let unchanged = match self.height {
            Some((_, since)) if self.behind => Some((now_ms - since).max(0) as f64 / 1000.0),
            _ => None,
        };
        Some(RecordingFacts {
            run: run.to_string(),
            live: now_ms - self.last_t <= LIVE_WITHIN_MS,
            unchanged_behind_s: unchanged,
            stalled: None,
            stall_after_s: 0.0,
            growth_bytes_per_s: growth,
            span_s: (self.last_t - first) as f64 / 1000.0,
            memory_growth: None,
            rss_bytes: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stall_and_growth_from_samples() {
        let mut a = Acc::default();
        // Advancing, then stuck at 50 while the target moves on, growing 1 KB/s.
        for (i, h) in [10u64, 30, 50, 50, 50, 50].iter().enumerate() {
            let t = i as i64 * 30_000;
            a.push(t, Some(*h), Some(100), Some(1000 * t as u64 / 1000));
        }
        let f = a.finish("r", 150_000).unwrap();
        assert_eq!(f.unchanged_behind_s, Some(90.0));
        assert!((f.growth_bytes_per_s.unwrap() - 1000.0).abs() < 1e-6);
        assert!(f.live);
        let mut a = Acc::default();
        a.push(0, Some(100), Some(100), None);
        let f = a.finish("r", 100_000).unwrap();
        assert_eq!(f.unchanged_behind_s, None, "at the tip is not a stall");
        assert!(!f.live, "100 s old");
        assert_eq!(f.growth_bytes_per_s, None);
    }
}
