//! `window --node NAME -- COMMAND…`: run a maintenance command in the pillar's quiet gap,
//! and the window flags `backup --node` shares. Wiring only: the engine is
//! `nodewarden_backup::window`.
use std::path::Path;
use std::time::{Duration, Instant};

use clap::Args;
use nodewarden_backup::{Window, WindowOptions, check_missed, check_timeout, wait_for_window};
use nodewarden_config::Config;

use crate::exit::{CmdResult, Failure};

/// The maintenance-window flags (`docs/MAINTENANCE.md`).
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Maintenance window (nodes with `pillar`)")]
pub struct WindowFlags {
    /// Wait at most this long for the pillar's quiet gap; then fail without touching the node.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, default_value = "15m")]
    pub window_timeout: Duration,
    /// Expected downtime [default: backup: the longest of the node's last three freezes
    /// (5s before the first); window: 10s].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub downtime: Option<Duration>,
    /// Room demanded beyond the downtime [default: one momentum's time, at least 1s].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub window_margin: Option<Duration>,
    /// Do not wait for a window, even for a pillar's node.
    #[arg(long)]
    pub no_window: bool,
}

impl WindowFlags {
    pub fn options(&self) -> Option<WindowOptions> {
        (!self.no_window).then_some(WindowOptions {
            timeout: self.window_timeout,
            downtime: self.downtime,
            margin: self.window_margin,
        })
    }
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  nodewarden window --node znn-pillar -- systemctl restart go-zenon
  nodewarden window --node znn-pillar --downtime 40s -- apt-get install -y go-zenon
  nodewarden window --node znn-pillar --window-timeout 5m --json -- ./upgrade.sh

For a node with `pillar = \"NAME\"` the pillar's cadence is inferred from its momentums
among the last 1024 (the `producer` of each against the pillar's producerAddress); the
command runs right after the pillar produced, once the gap ahead (to the earliest the next
slot may come) exceeds --downtime plus the margin. Every decision is printed with its
reasons. Afterwards the pillar's produced/expected stats are read again to tell whether it
missed a momentum. Without `pillar` the command runs at once. The exit code is the
command's; 1 when no window came within --window-timeout (the command did not run).
Rules and inference: docs/MAINTENANCE.md.")]
pub struct WindowArgs {
    /// The node (a [[node]] in the config).
    #[arg(long, value_name = "NAME")]
    pub node: String,
    /// A JSON report (the window, the command's exit code and time) on stdout.
    #[arg(long)]
    pub json: bool,
    /// The maintenance command and its arguments (after `--`).
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
    #[command(flatten)]
    pub window: WindowFlags,
}

pub async fn run(a: WindowArgs, config: Option<&Path>) -> CmdResult {
    let config = Config::load(config).map_err(Failure::usage)?.config;
    let node = config.node(&a.node).map_err(Failure::usage)?.clone();
    let opts = a.window.options();
    let downtime = a.window.downtime.unwrap_or(Duration::from_secs(10));
    let log = |s: &str| eprintln!("{s}");
    let mut window: Option<Window> = match &opts {
        Some(o) => Some(
            wait_for_window(&node, o, downtime, &log)
                .await
                .map_err(super::backup::failure)?,
        ),
        None => None,
    };
    let started = Instant::now();
    let status = tokio::process::Command::new(&a.command[0])
        .args(&a.command[1..])
        .stdin(std::process::Stdio::null())
        .status()
        .await
        .map_err(|e| Failure::usage(format!("cannot run `{}`: {e}", a.command[0])))?;
    let took = started.elapsed();
    if let Some(w) = window.as_mut() {
        if let Err(e) = check_missed(&node, w, check_timeout(w)).await {
            eprintln!("note: could not read the pillar after the command: {e}");
        }
        if let Some(m) = w.missed {
            eprintln!(
                "pillar `{}` missed {m} momentum(s) around the command",
                w.pillar.as_deref().unwrap_or("")
            );
        }
    }
    let code = status.code().unwrap_or(1);
    if a.json {
        let v = serde_json::json!({
            "node": node.name,
            "window": window,
            "command": a.command,
            "exit_code": status.code(),
            "command_ms": took.as_millis() as u64,
        });
        super::backup::print_json(&v)?;
    }
    Ok(code)
}
