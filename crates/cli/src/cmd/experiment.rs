//! `nodewarden experiment ab FILE` (and `failover`, in its own module): wiring only; the race, the comparison and the verdict
//! are `nodewarden-experiment`'s.
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use nodewarden_experiment::{Plan, StopReason};

use crate::exit::{CmdResult, Failure};
use crate::progress::LiveView;

#[derive(Debug, Subcommand)]
pub enum ExperimentCommand {
    /// A/B: two builds synced side by side, recorded as one run, compared by height.
    Ab(AbArgs),
    /// A failover drill: restore a snapshot into a fresh dir, start the node, wait until it
    /// has caught up, compare its hashes with a reference, and time every phase.
    Failover(crate::cmd::failover::FailoverArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "\
The file names both builds (command, kind, RPC port, data dir, environment), when to stop
([stop] synced, height, deadline) and the output directory. nodewarden checks that ports and
data dirs do not clash, starts both, watches and records them (OUTPUT/experiment.db), stops
them with SIGTERM at the end, and writes OUTPUT/comparison.html, comparison.json,
samples.csv, bundle.tar.zst (scrubbed, with a quick hardware probe) and verdict.txt.
Interrupted (Ctrl-C, SIGTERM) and run again, it continues the same run.

Exit 0 when the stop condition was met, 1 at the deadline or when a node exited by itself,
130 when interrupted (the results so far are written), 2 for a bad file.

Example files: docs/EXPERIMENTS.md.
  nodewarden experiment ab znnd-ab.toml")]
pub struct AbArgs {
    #[arg(value_name = "FILE.toml")]
    pub file: PathBuf,
    /// Run the race N times (the file must say `fresh = true`: both data dirs are emptied
    /// before each round), alternating which build starts first, and report the spread.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub repeat: u32,
    /// No hardware probe in the bundle.
    #[arg(long)]
    pub no_probe: bool,
    /// Print the results (verdict, stop reason, comparison) as JSON.
    #[arg(long)]
    pub json: bool,
    /// Seconds between progress lines when stdout is not a terminal.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, default_value = "30s")]
    pub log_every: Duration,
    /// Where the file's `[start]` snapshot is (default: [repository] of nodewarden.toml).
    #[command(flatten)]
    pub repo: crate::cmd::backup::RepoArgs,
}

pub async fn run(cmd: ExperimentCommand, config: Option<&std::path::Path>) -> CmdResult {
    match cmd {
        ExperimentCommand::Ab(a) => ab(a, config).await,
        ExperimentCommand::Failover(a) => crate::cmd::failover::failover(a, config).await,
    }
}

async fn ab(a: AbArgs, config: Option<&std::path::Path>) -> CmdResult {
    let fail = |e: nodewarden_experiment::ExperimentError| {
        if e.is_input() {
            Failure::usage(e)
        } else {
            Failure::runtime(e)
        }
    };
    let base = Plan::load(&a.file).map_err(fail)?;
    if a.repeat > 1 && !base.fresh {
        return Err(Failure::usage(format!(
            "{}: --repeat {} needs `fresh = true` in the file (each round starts from empty data dirs)",
            a.file.display(),
            a.repeat
        )));
    }
    if a.repeat == 0 {
        return Err(Failure::usage("--repeat 0: at least one round"));
    }
    // The starting snapshot's repository, opened once for every round.
    let repo = match &base.start {
        Some(_) => {
            let config = nodewarden_config::Config::load(config)
                .map_err(Failure::usage)?
                .config;
            Some(std::sync::Arc::new(a.repo.open(&config).await?))
        }
        None => None,
    };
    let mut rounds = Vec::new();
    for i in 1..=a.repeat {
        let plan = if a.repeat == 1 {
            base.clone()
        } else {
            base.round(i)
        };
        plan.prepare().map_err(fail)?;
        if let Some(repo) = &repo {
            let (p, repo) = (plan.clone(), repo.clone());
            let render = std::sync::Arc::new(crate::progress::ByteProgress::new());
            let r = render.clone();
            let seeded = tokio::task::spawn_blocking(move || {
                nodewarden_experiment::seed(&p, &repo, r.as_ref())
            })
            .await
            .map_err(Failure::runtime)?
            .map_err(fail)?;
            render.done();
            if let (Some(name), false) = (seeded, a.json) {
                eprintln!("both data dirs start from snapshot {name}");
            }
        }
        let (code, results) = round(&a, plan).await?;
        let stop = code != 0;
        rounds.push((code, results));
        if stop {
            break;
        }
    }
    let mut out = crate::out::stdout();
    let speedups: Vec<f64> = rounds
        .iter()
        .filter_map(|(_, r)| r.comparison.speedup)
        .collect();
    if a.json {
        let docs: Vec<&nodewarden_experiment::Results> = rounds.iter().map(|(_, r)| r).collect();
        let text = if a.repeat == 1 {
            serde_json::to_string_pretty(&docs[0])
        } else {
            serde_json::to_string_pretty(&serde_json::json!({
                "rounds": docs,
                "speedups": speedups,
                "speedup_median": median(&speedups),
            }))
        }
        .map_err(Failure::runtime)?;
        writeln!(out, "{text}").map_err(Failure::runtime)?;
    } else {
        for (i, (_, r)) in rounds.iter().enumerate() {
            if a.repeat > 1 {
                writeln!(
                    out,
                    "round {} ({} first):",
                    i + 1,
                    if i % 2 == 1 { "B" } else { "A" }
                )
                .map_err(Failure::runtime)?;
            }
            writeln!(out, "{}", r.verdict).map_err(Failure::runtime)?;
            for f in &r.files {
                writeln!(out, "wrote {}", f.display()).map_err(Failure::runtime)?;
            }
        }
        if let (true, Some(m)) = (a.repeat > 1, median(&speedups)) {
            let (lo, hi) = speedups
                .iter()
                .fold((f64::MAX, f64::MIN), |(l, h), s| (l.min(*s), h.max(*s)));
            writeln!(
                out,
                "over {} rounds, A's time over B's: median {m:.2} (from {lo:.2} to {hi:.2}; above 1 means B is faster)",
                speedups.len()
            )
            .map_err(Failure::runtime)?;
        }
    }
    Ok(rounds.last().map_or(1, |(c, _)| *c))
}

fn median(v: &[f64]) -> Option<f64> {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => None,
        n if n % 2 == 1 => Some(s[n / 2]),
        n => Some((s[n / 2 - 1] + s[n / 2]) / 2.0),
    }
}

/// One race and its results; the exit code it stands for.
async fn round(a: &AbArgs, plan: Plan) -> Result<(i32, nodewarden_experiment::Results), Failure> {
    let fail = |e: nodewarden_experiment::ExperimentError| {
        if e.is_input() {
            Failure::usage(e)
        } else {
            Failure::runtime(e)
        }
    };
    let shown: Vec<nodewarden_config::NodeConfig> = [&plan.a, &plan.b]
        .iter()
        .map(|s| {
            nodewarden_config::NodeConfig::new(
                &s.name,
                nodewarden_rpc::KindSpec::Known(s.kind),
                None,
            )
        })
        .collect();
    // With --json stdout carries the results alone.
    let mut view = (!a.json).then(|| LiveView::new(&shown, a.log_every, false));
    let outcome = nodewarden_experiment::race(
        &plan,
        |s| {
            if let Some(v) = &mut view {
                v.update(s);
            }
        },
        crate::shutdown::signal(),
    )
    .await
    .map_err(fail)?;
    if let Some(v) = &mut view {
        v.finish();
    }
    let probe = if a.no_probe {
        None
    } else {
        crate::cmd::report::quick_probe(&plan.output, &[]).await
    };
    let reason = outcome.reason.clone();
    let results = tokio::task::spawn_blocking(move || {
        nodewarden_experiment::results(&plan, Some(outcome), probe.as_deref())
    })
    .await
    .map_err(Failure::runtime)?
    .map_err(fail)?;
    let code = match reason {
        StopReason::BothSynced | StopReason::HeightReached => 0,
        StopReason::Interrupted => 130,
        StopReason::Deadline => 1,
        StopReason::NodeExited(n) => {
            eprintln!("nodewarden: node {n} exited by itself");
            1
        }
    };
    Ok((code, results))
}
