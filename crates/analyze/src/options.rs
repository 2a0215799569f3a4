//! Tuning knobs. The defaults are what docs/ANALYSIS.md describes.

use std::time::Duration;

/// How long a flat stretch must last, while behind, to count as a stall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StallAfter {
    /// max(`stall_floor`, `stall_gap_multiple` × the tail (90th percentile) of the recent
    /// times between advances).
    #[default]
    Auto,
    Fixed(Duration),
}

impl std::str::FromStr for StallAfter {
    type Err = String;
    /// `auto`, or a number with unit `ms`, `s`, `m` or `h` (`90s`, `5m`); a bare number is seconds.
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("auto") {
            return Ok(Self::Auto);
        }
        let split = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let n: f64 = num.trim().parse().map_err(|_| {
            format!("stall_after {s:?}: expected \"auto\" or a duration like \"90s\"")
        })?;
        let secs = match unit.trim() {
            "ms" => n / 1000.0,
            "" | "s" => n,
            "m" => n * 60.0,
            "h" => n * 3600.0,
            u => return Err(format!("stall_after {s:?}: unknown unit {u:?}")),
        };
        Duration::try_from_secs_f64(secs)
            .ok()
            .filter(|d| !d.is_zero())
            .map(Self::Fixed)
            .ok_or_else(|| format!("stall_after {s:?}: must be a positive duration"))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AnalyzeOptions {
    pub stall_after: StallAfter,
    /// Lower bound of the automatic stall threshold.
    pub stall_floor: Duration,
    /// The automatic threshold is this many times the 90th percentile of the gaps between
    /// advances.
    pub stall_gap_multiple: f64,
    /// Progress below this fraction of the typical rate, for longer than the stall
    /// threshold, is a crawl and counts as a stall.
    pub crawl_fraction: f64,
    /// Minimum length of the sliding rate window (widened for batchy progress).
    pub rate_window: Duration,
    /// A stall whose process used at least this many cores (and little IO) is CPU-bound.
    pub cpu_busy_cores: f64,
    /// A stall with at least this much read+write traffic (and low CPU) is IO-bound.
    pub io_busy_bytes_per_second: f64,
    /// Cost buckets double in width whenever there would be more than this many.
    pub max_cost_buckets: usize,
    /// The RSS trend's windows (1 min) and minimum span (20 min) are multiplied by this:
    /// the demo, whose sims run `speed` times faster than the clock, uses 1/speed.
    pub memory_time_scale: f64,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        Self {
            stall_after: StallAfter::Auto,
            stall_floor: Duration::from_secs(30),
            stall_gap_multiple: 5.0,
            crawl_fraction: 0.05,
            rate_window: Duration::from_secs(60),
            cpu_busy_cores: 0.6,
            io_busy_bytes_per_second: 16.0 * 1024.0 * 1024.0,
            max_cost_buckets: 200,
            memory_time_scale: 1.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stall_after() {
        assert_eq!("auto".parse(), Ok(StallAfter::Auto));
        assert_eq!(
            "90s".parse(),
            Ok(StallAfter::Fixed(Duration::from_secs(90)))
        );
        assert_eq!(
            "2m".parse(),
            Ok(StallAfter::Fixed(Duration::from_secs(120)))
        );
        assert_eq!("45".parse(), Ok(StallAfter::Fixed(Duration::from_secs(45))));
        assert!("0s".parse::<StallAfter>().is_err());
        assert!("soon".parse::<StallAfter>().is_err());
        assert!("5d".parse::<StallAfter>().is_err());
    }
}
