//! The JSON-RPC load generator behind `nodewarden loadtest`: scenario files, open-model
//! (arrival-rate) and closed-model (virtual users) executors with latency measured from
//! each request's intended time, HdrHistograms per method, thresholds, baseline
//! comparison, rate sweeps and a two-endpoint equality mode. See docs/LOADTEST.md.
//!
//! The library never prints: progress goes to a callback, reports are data or strings.
mod baseline;
mod classify;
mod compare;
mod error;
pub mod html;
mod http;
mod params;
mod plan;
mod report;
mod run;
mod scenario;
mod schedule;
mod stats;
mod target;
pub mod text;
mod threshold;

use std::time::Duration;

pub use baseline::{Baseline, Check, Delta, check as check_baseline, load as load_baseline};
pub use error::LoadError;
pub use report::{Equality, Latency, Report, Summary, ThresholdResult, TimePoint};
pub use run::{LiveTick, Stop, run};
pub use scenario::{Executor, RequestSpec, Scenario, Stage, Tolerance, parse_tolerance};
pub use target::{TargetProcess, TargetWatch, selector_for};
pub use threshold::{Threshold, parse as parse_threshold};

/// The exit code for a failed threshold or a regression (the k6 convention).
pub const EXIT_THRESHOLD: i32 = 99;

impl Scenario {
    /// The same scenario at a constant rate, for one step of a `--rates` sweep.
    pub fn at_rate(&self, rate: f64, duration: Duration) -> Scenario {
        Scenario {
            executor: Executor::ConstantArrivalRate { rate, duration },
            ..self.clone()
        }
    }

    /// `--duration`: replaces the duration of constant executors; a ramp's stages are
    /// scaled to fit, keeping their shape.
    pub fn with_duration(mut self, d: Duration) -> Scenario {
        match &mut self.executor {
            Executor::ConstantArrivalRate { duration, .. }
            | Executor::ConstantVus { duration, .. } => *duration = d,
            Executor::RampingArrivalRate { stages, .. } => {
                let total: f64 = stages.iter().map(|s| s.duration.as_secs_f64()).sum();
                for s in stages.iter_mut() {
                    s.duration = d.mul_f64(s.duration.as_secs_f64() / total);
                }
            }
        }
        self
    }
}

/// Parses `--rates 100,500,1000`.
pub fn parse_rates(s: &str) -> Result<Vec<f64>, String> {
    let rates: Vec<f64> = s
        .split(',')
        .map(|r| {
            r.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v > 0.0 && *v <= 10_000_000.0)
                .ok_or_else(|| format!("`{}` is not a positive rate", r.trim()))
        })
        .collect::<Result<_, _>>()?;
    if rates.is_empty() {
        return Err("an empty list of rates".into());
    }
    Ok(rates)
}
