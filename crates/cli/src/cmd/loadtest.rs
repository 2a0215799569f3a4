//! `nodewarden loadtest`: wiring only. The engine, reports and renderings are
//! `nodewarden-load`; this file parses flags, shows progress and picks the exit code.
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use nodewarden_load::{self as load, Report, Scenario};

use crate::progress::StatusLine;

use crate::exit::{CmdResult, Failure};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  nodewarden loadtest scenarios/load/zenon.toml
  nodewarden loadtest scenarios/load/ethereum.toml --target http://127.0.0.1:8545 --json out.json
  nodewarden loadtest S.toml --baseline last-release.json --tolerance 20%
  nodewarden loadtest S.toml --rates 100,500,1000,5000 --duration 10s --html sweep.html
  nodewarden loadtest S.toml --target http://geth:8545 --compare http://besu:8545

Open-model executors (constant-arrival-rate, ramping-arrival-rate) send every request at
its scheduled time and measure latency from that time, so a stalled node shows in the
tail (no coordinated omission). Exit codes: 0 all thresholds pass, 99 a threshold failed,
a baseline regressed or --compare found different answers, 2 bad input, 1 no answer at
all, 130 interrupted (Ctrl-C stops sending and still reports). Scenario format:
docs/LOADTEST.md.")]
pub struct LoadtestArgs {
    /// Scenario file (TOML): executor, rate, duration, request mix, thresholds.
    #[arg(value_name = "SCENARIO")]
    pub scenario: PathBuf,
    /// Endpoint to load (overrides the scenario's `target`).
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// Equality mode: send every request to this endpoint too and compare the results.
    #[arg(long, value_name = "URL")]
    pub compare: Option<String>,
    /// Compare with an earlier --json report; a regression beyond the tolerance exits 99.
    #[arg(long, value_name = "OLD.json")]
    pub baseline: Option<PathBuf>,
    /// Noise tolerance for --baseline, e.g. 20% [default: the scenario's, else 25%].
    #[arg(long, value_name = "PERCENT", value_parser = load::parse_tolerance)]
    pub tolerance: Option<f64>,
    /// Write the full report (with the scenario) as JSON.
    #[arg(long, value_name = "OUT")]
    pub json: Option<PathBuf>,
    /// Write a self-contained HTML report (inline SVG charts).
    #[arg(long, value_name = "OUT")]
    pub html: Option<PathBuf>,
    /// Rate sweep: one constant-rate run per rate, e.g. 100,500,1000.
    #[arg(long, value_name = "LIST", value_parser = parse_rates)]
    pub rates: Option<Rates>,
    /// Run (or each sweep step) for this long instead of the scenario's duration.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Sample this process as the target's (CPU per request, RSS, death) [default: whatever
    /// listens on the target's port, when the target is on this host].
    #[arg(long, value_name = "PID")]
    pub pid: Option<u32>,
    /// Seconds between progress lines when stdout is not a terminal.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, default_value = "5s")]
    pub log_every: Duration,
}

/// A newtype, so clap takes the whole comma list as one value.
#[derive(Debug, Clone)]
pub struct Rates(Vec<f64>);

fn parse_rates(s: &str) -> Result<Rates, String> {
    load::parse_rates(s).map(Rates)
}

pub async fn run(a: LoadtestArgs) -> CmdResult {
    let mut scenario = Scenario::from_file(&a.scenario).map_err(Failure::usage)?;
    if let Some(d) = a.duration
        && a.rates.is_none()
    {
        scenario = scenario.with_duration(d);
    }
    if let Some(t) = a.tolerance {
        scenario.tolerance.relative = t;
    }
    let target = a
        .target
        .clone()
        .or_else(|| scenario.target.clone())
        .ok_or_else(|| {
            Failure::usage(format!(
                "no target: set `target` in {} or pass --target URL",
                a.scenario.display()
            ))
        })?;
    let compare = a.compare.clone().or_else(|| scenario.compare.clone());
    let baseline = match &a.baseline {
        Some(p) => Some(load::load_baseline(p).map_err(Failure::usage)?),
        None => None,
    };
    let stop = load::Stop::new();
    {
        // First Ctrl-C or SIGTERM: stop sending and report what was sent; a second: leave now.
        let stop = stop.clone();
        tokio::spawn(async move {
            crate::shutdown::signal().await;
            stop.stop();
            crate::shutdown::signal().await;
            std::process::exit(130);
        });
    }
    let mut view = StatusLine::new(a.log_every);
    let code = match &a.rates {
        None => {
            let watch = load::selector_for(&target, a.pid)
                .map(|(sel, by)| load::TargetWatch::start(sel, by, Duration::from_millis(250)));
            let mut report = load::run(
                &scenario,
                &target,
                compare.as_deref(),
                "",
                &stop,
                &mut |p| view.update(|| load::text::progress_line(p)),
            )
            .await
            .map_err(Failure::runtime)?;
            report.target_process = watch.and_then(|w| w.finish(report.overall.requests));
            view.finish();
            let mut out = crate::out::stdout();
            let _ = write!(out, "{}", load::text::summary(&report));
            write_file(&a.json, || json(&report))?;
            write_file(&a.html, || load::html::render(&report))?;
            let mut failed = !report.passed() || !report.differing().is_empty();
            if let Some(b) = &baseline {
                let check = load::check_baseline(b, &report, scenario.tolerance);
                let _ = write!(
                    out,
                    "{}",
                    load::text::baseline(
                        &check,
                        scenario.tolerance.relative * 100.0,
                        scenario.tolerance.floor.as_secs_f64() * 1e3
                    )
                );
                failed |= check.regressions() > 0;
            }
            failed
        }
        Some(Rates(rates)) => {
            let step = a.duration.unwrap_or(match scenario.executor {
                load::Executor::RampingArrivalRate { .. } => Duration::from_secs(10),
                ref e => e.duration(),
            });
            let mut reports = Vec::new();
            for rate in rates {
                let s = scenario.at_rate(*rate, step);
                let label = format!("rate {rate}/s");
                let r = load::run(&s, &target, compare.as_deref(), &label, &stop, &mut |p| {
                    view.update(|| load::text::progress_line(p))
                })
                .await
                .map_err(Failure::runtime)?;
                reports.push(r);
                if stop.is_stopped() {
                    break;
                }
            }
            view.finish();
            let rates = &rates[..reports.len()];
            let _ = write!(
                crate::out::stdout(),
                "{}",
                load::text::sweep(rates, &reports)
            );
            write_file(&a.json, || sweep_json(rates, &reports, &scenario))?;
            write_file(&a.html, || load::html::render_sweep(rates, &reports))?;
            if baseline.is_some() {
                eprintln!("nodewarden: --baseline is ignored with --rates");
            }
            reports
                .iter()
                .any(|r| !r.passed() || !r.differing().is_empty())
        }
    };
    if stop.is_stopped() {
        eprintln!("nodewarden: interrupted: the report covers the requests sent until then");
        return Ok(130);
    }
    Ok(if code { load::EXIT_THRESHOLD } else { 0 })
}

fn json(r: &Report) -> String {
    serde_json::to_string_pretty(r).unwrap_or_default() + "\n"
}

fn sweep_json(rates: &[f64], reports: &[Report], s: &Scenario) -> String {
    let steps: Vec<serde_json::Value> = rates
        .iter()
        .zip(reports)
        .map(|(rate, r)| {
            let mut v = serde_json::to_value(r).unwrap_or_default();
            v["rate"] = (*rate).into();
            v
        })
        .collect();
    let v = serde_json::json!({"sweep": steps, "scenario": s});
    serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
}

fn write_file(path: &Option<PathBuf>, render: impl FnOnce() -> String) -> Result<(), Failure> {
    if let Some(p) = path {
        std::fs::write(p, render())
            .map_err(|e| Failure::runtime(format!("cannot write {}: {e}", p.display())))?;
    }
    Ok(())
}
