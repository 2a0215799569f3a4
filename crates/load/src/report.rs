//! The run's results as data: what `--json` writes, what thresholds and baselines read.
use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::scenario::Scenario;
use crate::stats::{SlotStats, Totals};
use crate::threshold;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Latency {
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// Counts and latencies of a set of calls (the whole run, or one method).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    /// JSON-RPC calls sent (a batch of N is N calls).
    pub requests: u64,
    /// Calls that failed, whatever the reason.
    pub errors: u64,
    /// Calls per second over the run.
    pub rps: f64,
    /// Open models: calls not sent because they were already later than the timeout.
    #[serde(default)]
    pub dropped: u64,
    #[serde(default)]
    pub errors_by_kind: BTreeMap<String, u64>,
    pub latency_ms: Latency,
    /// Equality mode only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equality: Option<Equality>,
    #[serde(skip)]
    pub hist: Option<Histogram<u64>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Equality {
    pub compared: u64,
    pub differing: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
}

impl Summary {
    /// Any percentile from the histogram; from a baseline file, the nearest stored one.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if let Some(h) = &self.hist {
            return h.value_at_quantile(p / 100.0) as f64 / 1000.0;
        }
        let l = &self.latency_ms;
        [
            (0.0, l.min),
            (50.0, l.p50),
            (90.0, l.p90),
            (95.0, l.p95),
            (99.0, l.p99),
            (99.9, l.p999),
            (100.0, l.max),
        ]
        .into_iter()
        .find(|(q, _)| *q >= p)
        .map(|(_, v)| v)
        .unwrap_or(l.max)
    }

    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors as f64 / self.requests as f64
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TimePoint {
    pub t_s: f64,
    pub rps: f64,
    pub errors: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ThresholdResult {
    pub expr: String,
    pub pass: bool,
    /// What was measured, in the threshold's unit (ms, %, count, requests/s).
    pub observed: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Lag {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare: Option<String>,
    pub tool_version: String,
    pub duration_s: f64,
    #[serde(flatten)]
    pub overall: Summary,
    pub http_requests: u64,
    /// Open models: sends more than 10 ms behind schedule, and the send delay itself (ms).
    pub late: u64,
    pub schedule_lag_ms: Lag,
    pub peak_connections: u32,
    pub methods: BTreeMap<String, Summary>,
    pub thresholds: Vec<ThresholdResult>,
    /// The latency distribution: (percentile, ms) for the percentile chart.
    pub percentiles: Vec<(f64, f64)>,
    pub timeline: Vec<TimePoint>,
    pub scenario: serde_json::Value,
    /// The target's own process through the run, when it runs on this host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_process: Option<crate::target::TargetProcess>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.thresholds.iter().all(|t| t.pass)
    }

    /// Methods whose answers differed between the endpoints (equality mode).
    pub fn differing(&self) -> Vec<(&str, &Equality)> {
        self.methods
            .iter()
            .filter_map(|(n, s)| s.equality.as_ref().map(|e| (n.as_str(), e)))
            .filter(|(_, e)| e.differing > 0)
            .collect()
    }
}

pub struct Inputs<'a> {
    pub scenario: &'a Scenario,
    pub target: &'a str,
    pub compare: Option<&'a str>,
    pub names: &'a [String],
    pub totals: &'a Totals,
    pub timeline: Vec<TimePoint>,
    pub elapsed: Duration,
    pub open_model: bool,
    pub peak_connections: u32,
}

const CURVE: [f64; 16] = [
    0.0, 25.0, 50.0, 75.0, 90.0, 95.0, 97.5, 99.0, 99.5, 99.75, 99.9, 99.95, 99.99, 99.995, 99.999,
    100.0,
];

pub fn build(i: Inputs<'_>) -> Report {
    let secs = i.elapsed.as_secs_f64().max(1e-3);
    let compare = i.compare.is_some();
    let summary = |s: &SlotStats| summarize(s, secs, compare);
    let overall = summary(&i.totals.overall());
    let methods: BTreeMap<String, Summary> = i
        .names
        .iter()
        .zip(&i.totals.slots)
        .map(|(n, s)| (n.clone(), summary(s)))
        .collect();
    let percentiles = overall
        .hist
        .as_ref()
        .map(|h| {
            CURVE
                .iter()
                .map(|q| (*q, h.value_at_quantile(q / 100.0) as f64 / 1000.0))
                .collect()
        })
        .unwrap_or_default();
    let thresholds = i
        .scenario
        .thresholds
        .iter()
        .map(|t| {
            let s = match &t.method {
                None => &overall,
                Some(m) => methods.get(m).unwrap_or(&overall),
            };
            let observed = threshold::observed(t, s);
            ThresholdResult {
                expr: t.expr.clone(),
                pass: threshold::passes(t, observed),
                observed,
            }
        })
        .collect();
    let lag = &i.totals.lag;
    let lag_ms = |q: f64| lag.value_at_quantile(q) as f64 / 1000.0;
    Report {
        target: i.target.to_string(),
        compare: i.compare.map(str::to_string),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        duration_s: secs,
        overall,
        http_requests: i.totals.http_requests,
        late: i.totals.late,
        schedule_lag_ms: if i.open_model && !lag.is_empty() {
            Lag {
                p50: lag_ms(0.5),
                p99: lag_ms(0.99),
                max: lag.max() as f64 / 1000.0,
            }
        } else {
            Lag::default()
        },
        peak_connections: i.peak_connections,
        methods,
        thresholds,
        percentiles,
        timeline: i.timeline,
        scenario: serde_json::to_value(i.scenario).unwrap_or_default(),
        target_process: None,
    }
}

fn summarize(s: &SlotStats, secs: f64, compare: bool) -> Summary {
    let h = &s.hist;
    let q = |p: f64| h.value_at_quantile(p) as f64 / 1000.0;
    let latency_ms = if h.is_empty() {
        Latency::default()
    } else {
        Latency {
            min: h.min() as f64 / 1000.0,
            mean: h.mean() / 1000.0,
            p50: q(0.5),
            p90: q(0.9),
            p95: q(0.95),
            p99: q(0.99),
            p999: q(0.999),
            max: h.max() as f64 / 1000.0,
        }
    };
    let errors = s.error_count();
    Summary {
        requests: s.calls,
        errors,
        rps: s.calls as f64 / secs,
        dropped: s.dropped,
        errors_by_kind: s.errors.iter().map(|(k, n)| (k.to_string(), *n)).collect(),
        latency_ms,
        equality: compare.then(|| Equality {
            compared: s.compared,
            differing: s.differing,
            example: s.example.clone(),
        }),
        hist: Some(h.clone()),
    }
}
