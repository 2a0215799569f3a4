//! The two baselines the harness scores beside the analysis: what a quick script would do.

use nodewarden_model::Sample;

/// Flat for over 120 s while behind is a stall: (start_ms, end_ms) windows, from the last
/// advance to the next one. Failed polls just do not move the height.
pub fn naive_stalls(samples: &[Sample]) -> Vec<(i64, i64)> {
    const FLAT_MS: i64 = 120_000;
    let mut out = Vec::new();
    let (mut high, mut target) = (None::<u64>, None::<u64>);
    let mut since: Option<i64> = None;
    let mut last_t = 0;
    for s in samples {
        last_t = s.t_ms;
        if let Some(tg) = s.target.filter(|&v| v > 0) {
            target = Some(tg);
        }
        let advanced = match (s.current, high) {
            (Some(c), Some(h)) if c > h => true,
            (Some(c), None) => {
                high = Some(c);
                since = Some(s.t_ms);
                false
            }
            _ => false,
        };
        if advanced {
            high = s.current;
            if let Some(start) = since
                && s.t_ms - start > FLAT_MS
            {
                out.push((start, s.t_ms));
            }
            since = Some(s.t_ms);
        }
        let behind = matches!((high, target), (Some(h), Some(tg)) if tg > h);
        if !behind {
            since = Some(s.t_ms);
        }
    }
    if let Some(start) = since
        && last_t - start > FLAT_MS
    {
        out.push((start, last_t));
    }
    out
}

/// Remaining blocks over the whole-run mean rate so far, seconds.
pub fn mean_rate_eta(first: (i64, u64), now: (i64, u64), target: u64) -> Option<f64> {
    let (t0, h0) = first;
    let (t, h) = now;
    let rate = h.saturating_sub(h0) as f64 * 1000.0 / (t - t0) as f64;
    (t > t0 && rate > 0.0).then(|| target.saturating_sub(h) as f64 / rate)
}
