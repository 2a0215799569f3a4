//! `--baseline OLD.json`: per method and overall, is this run worse than an earlier one by
//! more than the noise tolerance?
use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::LoadError;
use crate::report::{Report, Summary};
use crate::scenario::Tolerance;

/// What a baseline file must hold: a `--json` report of a single run.
#[derive(Debug, Deserialize)]
pub struct Baseline {
    #[serde(flatten)]
    pub overall: Summary,
    pub methods: BTreeMap<String, Summary>,
}

pub fn load(path: &Path) -> Result<Baseline, LoadError> {
    let err = |message: String| LoadError::Baseline {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| err(format!("not JSON: {e}")))?;
    if v.get("sweep").is_some() {
        return Err(err(
            "is a rate-sweep report; use the report of a single run".into(),
        ));
    }
    serde_json::from_value(v).map_err(|e| err(format!("not a load test JSON report: {e}")))
}

#[derive(Debug, Clone, PartialEq)]
pub struct Delta {
    /// "overall" or a method name.
    pub scope: String,
    pub metric: &'static str,
    pub old: f64,
    pub new: f64,
    pub regression: bool,
}

impl Delta {
    pub fn change_pct(&self) -> Option<f64> {
        (self.old != 0.0).then(|| (self.new - self.old) / self.old * 100.0)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Check {
    pub rows: Vec<Delta>,
    /// Methods in only one of the two runs (not a regression, but worth saying).
    pub only_old: Vec<String>,
    pub only_new: Vec<String>,
}

impl Check {
    pub fn regressions(&self) -> usize {
        self.rows.iter().filter(|r| r.regression).count()
    }
}

pub fn check(old: &Baseline, new: &Report, tol: Tolerance) -> Check {
    let mut out = Check::default();
    compare_one("overall", &old.overall, &new.overall, tol, &mut out.rows);
    for (name, n) in &new.methods {
        match old.methods.get(name) {
            Some(o) => compare_one(name, o, n, tol, &mut out.rows),
            None => out.only_new.push(name.clone()),
        }
    }
    out.only_old = old
        .methods
        .keys()
        .filter(|k| !new.methods.contains_key(*k))
        .cloned()
        .collect();
    out
}

fn compare_one(scope: &str, o: &Summary, n: &Summary, tol: Tolerance, rows: &mut Vec<Delta>) {
    let floor_ms = tol.floor.as_secs_f64() * 1e3;
    let mut row = |metric, old: f64, new: f64, regression| {
        rows.push(Delta {
            scope: scope.to_string(),
            metric,
            old,
            new,
            regression,
        })
    };
    for (metric, old, new) in [
        ("p50 ms", o.latency_ms.p50, n.latency_ms.p50),
        ("p95 ms", o.latency_ms.p95, n.latency_ms.p95),
        ("p99 ms", o.latency_ms.p99, n.latency_ms.p99),
    ] {
        let worse = new > old * (1.0 + tol.relative) && new - old > floor_ms;
        row(metric, old, new, worse);
    }
    let (old_e, new_e) = (o.error_rate() * 100.0, n.error_rate() * 100.0);
    // Error rates: worse by more than the tolerance of the old rate and by 0.1 points.
    row(
        "errors %",
        old_e,
        new_e,
        new_e - old_e > (old_e * tol.relative).max(0.1),
    );
    row("rps", o.rps, n.rps, n.rps < o.rps * (1.0 - tol.relative));
}
