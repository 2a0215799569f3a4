//! `nodewarden experiment ab FILE`: wiring only; the race, the comparison and the verdict
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
    /// No hardware probe in the bundle.
    #[arg(long)]
    pub no_probe: bool,
    /// Print the results (verdict, stop reason, comparison) as JSON.
    #[arg(long)]
    pub json: bool,
    /// Seconds between progress lines when stdout is not a terminal.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, default_value = "30s")]
    pub log_every: Duration,
}

pub async fn run(cmd: ExperimentCommand) -> CmdResult {
    match cmd {
        ExperimentCommand::Ab(a) => ab(a).await,
    }
}

async fn ab(a: AbArgs) -> CmdResult {
    let fail = |e: nodewarden_experiment::ExperimentError| {
        if e.is_input() {
            Failure::usage(e)
        } else {
            Failure::runtime(e)
        }
    };
    let plan = Plan::load(&a.file).map_err(fail)?;
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
    let mut out = crate::out::stdout();
    if a.json {
        let text = serde_json::to_string_pretty(&results).map_err(Failure::runtime)?;
        writeln!(out, "{text}").map_err(Failure::runtime)?;
    } else {
        writeln!(out, "{}", results.verdict).map_err(Failure::runtime)?;
        for f in &results.files {
            writeln!(out, "wrote {}", f.display()).map_err(Failure::runtime)?;
        }
    }
    Ok(match reason {
        StopReason::BothSynced | StopReason::HeightReached => 0,
        StopReason::Interrupted => 130,
        StopReason::Deadline | StopReason::NodeExited(_) => {
            if let StopReason::NodeExited(n) = &reason {
                eprintln!("nodewarden: node {n} exited by itself");
            }
            1
        }
    })
}
