//! k6-like thresholds: `p95 < 200ms`, `errors < 1%`, `eth_call: p99 < 1s`, `rps >= 400`.
use std::fmt;
use std::time::Duration;

use crate::report::Summary;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// A latency percentile, e.g. 95.0 or 99.9.
    Percentile(f64),
    Min,
    Max,
    Mean,
    /// Failed calls: a share of all calls when the bound is a percentage, else a count.
    Errors,
    Rps,
    /// Requests that could not be sent before their timeout ran out (open models).
    Dropped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    Latency(Duration),
    Percent(f64),
    Number(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The text as written, echoed in reports.
    pub expr: String,
    /// `None`: the whole run; `Some(m)`: calls of method (or request name) `m` only.
    pub method: Option<String>,
    pub metric: Metric,
    pub op: Op,
    pub bound: Bound,
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expr)
    }
}

/// Parses one threshold; the error says what is wrong with it.
pub fn parse(expr: &str) -> Result<Threshold, String> {
    let text = expr.trim();
    let (method, rest) = match text.split_once(':') {
        Some((m, r)) if !m.trim().is_empty() && !m.trim().contains(' ') => {
            (Some(m.trim().to_string()), r.trim())
        }
        Some(_) => return Err(format!("`{expr}`: empty method before `:`")),
        None => (None, text),
    };
    let (pos, op, len) = find_op(rest).ok_or_else(|| {
        format!("`{expr}`: expected METRIC OP VALUE with OP one of < <= > >=, e.g. `p95 < 200ms`")
    })?;
    let metric_text = rest[..pos].trim();
    let value_text = rest[pos + len..].trim();
    let metric = parse_metric(metric_text)
        .ok_or_else(|| format!("`{expr}`: unknown metric `{metric_text}` (p50, p90, p95, p99, p99.9, min, max, mean, errors, rps, dropped)"))?;
    let bound = match metric {
        Metric::Percentile(_) | Metric::Min | Metric::Max | Metric::Mean => {
            let d = humantime::parse_duration(value_text).map_err(|e| {
                format!("`{expr}`: `{value_text}` is not a duration like 200ms or 1s ({e})")
            })?;
            Bound::Latency(d)
        }
        Metric::Errors | Metric::Dropped if value_text.ends_with('%') => {
            let p = number(&value_text[..value_text.len() - 1])
                .filter(|p| (0.0..=100.0).contains(p))
                .ok_or_else(|| format!("`{expr}`: `{value_text}` is not a percentage"))?;
            Bound::Percent(p)
        }
        _ => Bound::Number(
            number(value_text)
                .ok_or_else(|| format!("`{expr}`: `{value_text}` is not a number"))?,
        ),
    };
    Ok(Threshold {
        expr: text.to_string(),
        method,
        metric,
        op,
        bound,
    })
}

fn number(s: &str) -> Option<f64> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
}

fn find_op(s: &str) -> Option<(usize, Op, usize)> {
    let pos = s.find(['<', '>'])?;
    let eq = s[pos + 1..].starts_with('=');
    let op = match (&s[pos..pos + 1], eq) {
        ("<", false) => Op::Lt,
        ("<", true) => Op::Le,
        (">", false) => Op::Gt,
        _ => Op::Ge,
    };
    Some((pos, op, if eq { 2 } else { 1 }))
}

fn parse_metric(s: &str) -> Option<Metric> {
    Some(match s {
        "min" => Metric::Min,
        "max" => Metric::Max,
        "mean" | "avg" => Metric::Mean,
        "errors" | "error_rate" => Metric::Errors,
        "rps" => Metric::Rps,
        "dropped" => Metric::Dropped,
        "median" => Metric::Percentile(50.0),
        _ => {
            let p: f64 = s.strip_prefix('p')?.parse().ok()?;
            if !(0.0..=100.0).contains(&p) {
                return None;
            }
            Metric::Percentile(p)
        }
    })
}

/// The observed value in the bound's unit (ms for latencies, % or count for errors).
pub fn observed(t: &Threshold, s: &Summary) -> f64 {
    let count_or_share = |n: u64| match t.bound {
        Bound::Percent(_) => {
            let total = s.requests
                + if t.metric == Metric::Dropped {
                    s.dropped
                } else {
                    0
                };
            if total == 0 {
                0.0
            } else {
                n as f64 * 100.0 / total as f64
            }
        }
        _ => n as f64,
    };
    match t.metric {
        Metric::Percentile(p) => s.percentile_ms(p),
        Metric::Min => s.latency_ms.min,
        Metric::Max => s.latency_ms.max,
        Metric::Mean => s.latency_ms.mean,
        Metric::Errors => count_or_share(s.errors),
        Metric::Dropped => count_or_share(s.dropped),
        Metric::Rps => s.rps,
    }
}

pub fn passes(t: &Threshold, observed: f64) -> bool {
    let bound = match t.bound {
        Bound::Latency(d) => d.as_secs_f64() * 1e3,
        Bound::Percent(p) => p,
        Bound::Number(n) => n,
    };
    match t.op {
        Op::Lt => observed < bound,
        Op::Le => observed <= bound,
        Op::Gt => observed > bound,
        Op::Ge => observed >= bound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_k6_forms() {
        let t = parse("p95 < 200ms").unwrap();
        assert_eq!(t.metric, Metric::Percentile(95.0));
        assert_eq!(t.bound, Bound::Latency(Duration::from_millis(200)));
        assert_eq!(t.method, None);
        let t = parse("eth_call: p99.9 <= 1s").unwrap();
        assert_eq!(t.method.as_deref(), Some("eth_call"));
        assert_eq!(t.op, Op::Le);
        assert_eq!(t.metric, Metric::Percentile(99.9));
        assert_eq!(parse("errors < 1%").unwrap().bound, Bound::Percent(1.0));
        assert_eq!(parse("errors < 3").unwrap().bound, Bound::Number(3.0));
        assert_eq!(parse("rps >= 400").unwrap().op, Op::Ge);
    }

    #[test]
    fn refuses_nonsense_with_a_reason() {
        assert!(parse("p95 200ms").unwrap_err().contains("OP"));
        assert!(parse("p101 < 1s").unwrap_err().contains("unknown metric"));
        assert!(parse("p95 < fast").unwrap_err().contains("not a duration"));
        assert!(parse("errors < 150%").unwrap_err().contains("percentage"));
        assert!(parse(": p95 < 1s").unwrap_err().contains("empty method"));
    }

    #[test]
    fn comparisons() {
        let t = parse("p95 < 200ms").unwrap();
        assert!(passes(&t, 199.9));
        assert!(!passes(&t, 200.0));
        let t = parse("rps >= 400").unwrap();
        assert!(passes(&t, 400.0));
    }
}
