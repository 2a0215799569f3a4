//! The scenario file (docs/LOADTEST.md: target, executor, rate, requests, thresholds, batches, connections, tolerance).
//! Parsing is two steps: serde with `deny_unknown_fields` (errors carry a byte span), then
//! validation (errors carry a key path); both end up naming file, line and key.
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::LoadError;
use crate::params::{self, Template};
use crate::threshold::{self, Threshold};
use nodewarden_tomlspan::{self as span, Seg};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExecutorKind {
    ConstantArrivalRate,
    RampingArrivalRate,
    ConstantVus,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    target: Option<String>,
    compare: Option<String>,
    executor: Option<ExecutorKind>,
    rate: Option<f64>,
    start_rate: Option<f64>,
    #[serde(default)]
    stages: Vec<RawStage>,
    vus: Option<u32>,
    duration: Option<Dur>,
    connections: Option<u32>,
    max_connections: Option<u32>,
    timeout: Option<Dur>,
    batch: Option<u32>,
    seed: Option<u64>,
    #[serde(default)]
    thresholds: Vec<String>,
    tolerance: Option<String>,
    tolerance_floor: Option<Dur>,
    #[serde(default)]
    request: Vec<RawRequest>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    duration: Dur,
    target: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    method: String,
    params: Option<toml::Value>,
    weight: Option<f64>,
    name: Option<String>,
}

/// A duration: a humantime string ("30s", "1m 30s", "250ms") or a number of seconds.
#[derive(Debug, Clone, Copy)]
struct Dur(Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Dur, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            S(String),
            N(f64),
        }
        match Either::deserialize(d)
            .map_err(|_| serde::de::Error::custom("expected a duration like \"30s\" or seconds"))?
        {
            Either::S(s) => humantime::parse_duration(&s)
                .map(Dur)
                .map_err(|e| serde::de::Error::custom(format!("bad duration {s:?}: {e}"))),
            Either::N(n) if n.is_finite() && n >= 0.0 => Ok(Dur(Duration::from_secs_f64(n))),
            Either::N(n) => Err(serde::de::Error::custom(format!("bad duration {n}"))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stage {
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
    /// The rate (requests/s) reached at the end of the stage, linearly from the previous.
    pub target: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "executor", rename_all = "kebab-case")]
pub enum Executor {
    ConstantArrivalRate {
        rate: f64,
        #[serde(with = "humantime_serde")]
        duration: Duration,
    },
    RampingArrivalRate {
        start_rate: f64,
        stages: Vec<Stage>,
    },
    ConstantVus {
        vus: u32,
        #[serde(with = "humantime_serde")]
        duration: Duration,
    },
}

impl Executor {
    pub fn duration(&self) -> Duration {
        match self {
            Executor::ConstantArrivalRate { duration, .. }
            | Executor::ConstantVus { duration, .. } => *duration,
            Executor::RampingArrivalRate { stages, .. } => stages.iter().map(|s| s.duration).sum(),
        }
    }

    /// The highest rate the schedule asks for (open models).
    pub fn peak_rate(&self) -> Option<f64> {
        match self {
            Executor::ConstantArrivalRate { rate, .. } => Some(*rate),
            Executor::RampingArrivalRate { start_rate, stages } => {
                Some(stages.iter().map(|s| s.target).fold(*start_rate, f64::max))
            }
            Executor::ConstantVus { .. } => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestSpec {
    /// Label in reports: `name`, else the method.
    pub name: String,
    pub method: String,
    /// The params as written (JSON), for the report.
    pub params: Value,
    #[serde(skip)]
    pub template: Template,
    pub weight: f64,
}

/// Regression tolerance for `--baseline`: a latency is a regression when it is worse by more
/// than `relative` AND by more than `floor` (sub-millisecond jitter is not a regression).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Tolerance {
    pub relative: f64,
    #[serde(with = "humantime_serde")]
    pub floor: Duration,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            relative: 0.25,
            floor: Duration::from_millis(2),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scenario {
    pub origin: String,
    pub target: Option<String>,
    pub compare: Option<String>,
    #[serde(flatten)]
    pub executor: Executor,
    /// Initial connection pool for open models (grows when requests run late).
    pub connections: Option<u32>,
    pub max_connections: u32,
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    pub batch: u32,
    pub seed: u64,
    #[serde(serialize_with = "exprs")]
    pub thresholds: Vec<Threshold>,
    pub tolerance: Tolerance,
    pub requests: Vec<RequestSpec>,
}

fn exprs<S: serde::Serializer>(t: &[Threshold], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(t.iter().map(|t| t.expr.as_str()))
}

mod humantime_serde {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }
}

struct Invalid {
    path: Vec<Seg>,
    message: String,
}

fn bad<T>(path: Vec<Seg>, message: impl Into<String>) -> Result<T, Invalid> {
    Err(Invalid {
        path,
        message: message.into(),
    })
}

fn key(k: &'static str) -> Vec<Seg> {
    vec![Seg::Key(k)]
}

pub fn parse_tolerance(s: &str) -> Result<f64, String> {
    let v = s.trim().strip_suffix('%').unwrap_or(s.trim());
    match v.parse::<f64>() {
        Ok(p) if (0.0..=1000.0).contains(&p) => Ok(p / 100.0),
        _ => Err(format!("tolerance {s:?} is not a percentage like \"25%\"")),
    }
}

impl Scenario {
    pub fn from_file(path: &Path) -> Result<Scenario, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::ScenarioRead {
            path: path.to_path_buf(),
            source,
        })?;
        Scenario::from_toml_str(&text, &path.display().to_string())
    }

    pub fn from_toml_str(s: &str, origin: &str) -> Result<Scenario, LoadError> {
        let located = |l: span::Located| LoadError::Scenario {
            origin: origin.to_string(),
            line: l.line,
            key: l.key,
            message: l.message,
        };
        let raw: Raw = span::parse(s).map_err(located)?;
        validate(raw, origin).map_err(|inv| located(span::locate(s, &inv.path, inv.message)))
    }
}

fn validate(raw: Raw, origin: &str) -> Result<Scenario, Invalid> {
    let kind = raw.executor.unwrap_or(ExecutorKind::ConstantArrivalRate);
    let positive = |v: Option<f64>, k: &'static str| match v {
        Some(r) if r.is_finite() && r > 0.0 && r <= 10_000_000.0 => Ok(r),
        Some(_) => bad(
            key(k),
            "must be a number of requests per second in (0, 10000000]",
        ),
        None => bad(key(k), format!("is required by executor {kind:?}")),
    };
    let duration = |d: Option<Dur>| match d {
        Some(Dur(d)) if !d.is_zero() => Ok(d),
        Some(_) => bad(key("duration"), "must be longer than 0s"),
        None => bad(key("duration"), "is required (e.g. duration = \"30s\")"),
    };
    let unused = |k: &'static str, present: bool| {
        if present {
            bad(key(k), format!("does not apply to executor {kind:?}"))
        } else {
            Ok(())
        }
    };
    let executor = match kind {
        ExecutorKind::ConstantArrivalRate => {
            unused("vus", raw.vus.is_some())?;
            unused("stages", !raw.stages.is_empty())?;
            unused("start_rate", raw.start_rate.is_some())?;
            Executor::ConstantArrivalRate {
                rate: positive(raw.rate, "rate")?,
                duration: duration(raw.duration)?,
            }
        }
        ExecutorKind::RampingArrivalRate => {
            unused("vus", raw.vus.is_some())?;
            unused("rate", raw.rate.is_some())?;
            unused("duration", raw.duration.is_some())?;
            if raw.stages.is_empty() {
                return bad(
                    key("stages"),
                    "ramping-arrival-rate needs at least one stage",
                );
            }
            let start_rate = raw.start_rate.unwrap_or(0.0);
            if !(start_rate.is_finite() && start_rate >= 0.0) {
                return bad(key("start_rate"), "must be >= 0");
            }
            let mut stages = Vec::new();
            for (i, st) in raw.stages.iter().enumerate() {
                let at = |k| vec![Seg::Key("stages"), Seg::Index(i), Seg::Key(k)];
                if !(st.target.is_finite() && (0.0..=10_000_000.0).contains(&st.target)) {
                    return bad(at("target"), "must be a rate in [0, 10000000]");
                }
                if st.duration.0.is_zero() {
                    return bad(at("duration"), "must be longer than 0s");
                }
                stages.push(Stage {
                    duration: st.duration.0,
                    target: st.target,
                });
            }
            if stages.iter().all(|s| s.target == 0.0) && start_rate == 0.0 {
                return bad(key("stages"), "every rate is 0: nothing would be sent");
            }
            Executor::RampingArrivalRate { start_rate, stages }
        }
        ExecutorKind::ConstantVus => {
            unused("rate", raw.rate.is_some())?;
            unused("stages", !raw.stages.is_empty())?;
            let vus = match raw.vus {
                Some(v) if (1..=10_000).contains(&v) => v,
                Some(_) => return bad(key("vus"), "must be in 1..=10000"),
                None => return bad(key("vus"), "is required by executor constant-vus"),
            };
            Executor::ConstantVus {
                vus,
                duration: duration(raw.duration)?,
            }
        }
    };
    for (k, url) in [("target", &raw.target), ("compare", &raw.compare)] {
        if let Some(u) = url
            && let Err(e) = crate::http::Endpoint::parse(u)
        {
            return bad(key(k), e.to_string());
        }
    }
    let max_connections = raw.max_connections.unwrap_or(1024);
    if !(1..=20_000).contains(&max_connections) {
        return bad(key("max_connections"), "must be in 1..=20000");
    }
    if let Some(c) = raw.connections
        && !(1..=max_connections).contains(&c)
    {
        return bad(key("connections"), "must be in 1..=max_connections");
    }
    let timeout = raw.timeout.map(|d| d.0).unwrap_or(Duration::from_secs(10));
    if timeout < Duration::from_millis(1) || timeout > Duration::from_secs(3600) {
        return bad(key("timeout"), "must be between 1ms and 1h");
    }
    let batch = raw.batch.unwrap_or(1);
    if !(1..=1000).contains(&batch) {
        return bad(key("batch"), "must be in 1..=1000");
    }
    let mut thresholds = Vec::new();
    for (i, t) in raw.thresholds.iter().enumerate() {
        match threshold::parse(t) {
            Ok(t) => thresholds.push(t),
            Err(e) => return bad(vec![Seg::Key("thresholds"), Seg::Index(i)], e),
        }
    }
    let mut tolerance = Tolerance::default();
    if let Some(t) = &raw.tolerance {
        tolerance.relative = parse_tolerance(t).or_else(|e| bad(key("tolerance"), e))?;
    }
    if let Some(Dur(f)) = raw.tolerance_floor {
        tolerance.floor = f;
    }
    if raw.request.is_empty() {
        return bad(
            key("request"),
            "at least one [[request]] with a method is required",
        );
    }
    let mut requests = Vec::new();
    for (i, r) in raw.request.iter().enumerate() {
        let at = |k| vec![Seg::Key("request"), Seg::Index(i), Seg::Key(k)];
        if r.method.trim().is_empty() {
            return bad(at("method"), "must not be empty");
        }
        let weight = r.weight.unwrap_or(1.0);
        if !(weight.is_finite() && weight > 0.0) {
            return bad(at("weight"), "must be > 0");
        }
        let params_toml = r.params.clone().unwrap_or(toml::Value::Array(Vec::new()));
        if !matches!(params_toml, toml::Value::Array(_) | toml::Value::Table(_)) {
            return bad(at("params"), "must be a list (or a table for named params)");
        }
        let template = params::from_toml(&params_toml, &at("params")).map_err(|b| Invalid {
            path: b.path,
            message: b.message,
        })?;
        let params = serde_json::to_value(&params_toml).unwrap_or(Value::Null);
        let name = r.name.clone().unwrap_or_else(|| r.method.clone());
        if requests.iter().any(|q: &RequestSpec| q.name == name) && r.name.is_some() {
            return bad(at("name"), format!("`{name}` is used twice"));
        }
        requests.push(RequestSpec {
            name,
            method: r.method.clone(),
            params,
            template,
            weight,
        });
    }
    for (i, t) in thresholds.iter().enumerate() {
        if let Some(m) = &t.method
            && !requests.iter().any(|r| &r.name == m)
        {
            return bad(
                vec![Seg::Key("thresholds"), Seg::Index(i)],
                format!("no [[request]] is named `{m}`"),
            );
        }
    }
    Ok(Scenario {
        origin: origin.to_string(),
        target: raw.target,
        compare: raw.compare,
        executor,
        connections: raw.connections,
        max_connections,
        timeout,
        batch,
        seed: raw.seed.unwrap_or(1),
        thresholds,
        tolerance,
        requests,
    })
}

#[cfg(test)]
#[path = "scenario_tests.rs"]
mod tests;
