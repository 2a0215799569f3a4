//! `nodewarden check`: a monitoring plugin. Output and exit codes follow the Nagios plugin
//! convention (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), including for bad input, so a
//! typo in the config shows up as UNKNOWN in the monitoring system instead of a crash.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use nodewarden_config::{Config, NodeArg, NodeConfig};
use nodewarden_probe::health::{self, BackupFact, Level};

use crate::exit::{CmdResult, Failure};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  nodewarden check                                  every node in ./nodewarden.toml
  nodewarden check --node znn-main --json           one configured node, as JSON
  nodewarden check --node znn=zenon@http://127.0.0.1:35997 --observe 10s
  nodewarden check -q --config /etc/nodewarden/nodewarden.toml   Nagios/Icinga command line

cron (mails only what is printed): */5 * * * * out=$(nodewarden check -q) || echo \"$out\"
systemd: deploy/check/ has a timer and an OnFailure= alert unit.

First line: `NODEWARDEN OK|WARNING|CRITICAL|UNKNOWN - summary | perfdata`; one line per check
follows. Exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also for bad input). Thresholds: the
[check] table of nodewarden.toml (docs/CHECK.md). Stall and disk growth come from a live
`watch` recording when there is one, else from two polls --observe apart.")]
pub struct CheckArgs {
    /// A configured node's NAME, or NAME=KIND@URL; repeatable [default: every configured node].
    #[arg(long = "node", value_name = "NAME")]
    pub nodes: Vec<String>,
    /// Each check's name, status, value, thresholds and message, as JSON.
    #[arg(long)]
    pub json: bool,
    /// How long to watch for progress when no live recording answers; 0s skips it
    /// [default: 5s, or check.observe].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub observe: Option<Duration>,
    /// Per-node RPC timeout [default: the node's `timeout`, else 5s].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,
    /// The `watch` recording to consult [default: watch.record, if the file exists].
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Print only the first (status) line.
    #[arg(short, long)]
    pub quiet: bool,
}

pub async fn run(args: CheckArgs, config: Option<&Path>) -> CmdResult {
    match checks(&args, config).await {
        Ok(results) => {
            let level = health::overall(&results);
            let text = if args.json {
                serde_json::to_string_pretty(&health::json_report(&results))
                    .map_err(Failure::runtime)?
                    + "\n"
            } else {
                let full = health::status_line(&results);
                if args.quiet {
                    full.lines().next().unwrap_or_default().to_string() + "\n"
                } else {
                    full
                }
            };
            print(&text)?;
            Ok(level.exit_code())
        }
        Err(message) => {
            let text = if args.json {
                let v = serde_json::json!({"status": "UNKNOWN", "exit_code": 3, "error": message, "checks": []});
                serde_json::to_string_pretty(&v).map_err(Failure::runtime)? + "\n"
            } else {
                format!("NODEWARDEN UNKNOWN - {}\n", message.replace('|', "/"))
            };
            print(&text)?;
            Ok(Level::Unknown.exit_code())
        }
    }
}

fn print(text: &str) -> Result<(), Failure> {
    crate::out::stdout()
        .write_all(text.as_bytes())
        .map_err(Failure::runtime)
}

async fn checks(
    args: &CheckArgs,
    config: Option<&Path>,
) -> Result<Vec<health::CheckResult>, String> {
    let config = Config::load(config).map_err(|e| e.to_string())?.config;
    let mut nodes = select_nodes(&config, &args.nodes)?;
    if let Some(t) = args.timeout {
        for n in &mut nodes {
            n.timeout = Some(t);
        }
    }
    let observe = args.observe.unwrap_or(config.check.observe);
    let record = args
        .record
        .clone()
        .unwrap_or_else(|| config.watch.record.clone());
    let analysis = nodewarden_analyze::AnalyzeOptions {
        stall_after: config.watch.stall_after,
        ..Default::default()
    };
    let futures = nodes.iter().map(|n| {
        let config = &config;
        let record = &record;
        let analysis = &analysis;
        async move {
            let recording = health::from_recording(record, &n.name, analysis.clone())
                .unwrap_or_else(|e| {
                    tracing::warn!("recording {}: {e}", record.display());
                    None
                });
            let backup = backup_age(config, &n.name).await;
            let facts = health::gather(n, observe, recording, backup).await;
            health::evaluate(n, &config.check, &facts)
        }
    });
    let (per_node, forks) = futures::join!(
        futures::future::join_all(futures),
        super::check_fork::fork_checks(&config, &nodes)
    );
    Ok(per_node.into_iter().flatten().chain(forks).collect())
}

fn select_nodes(config: &Config, wanted: &[String]) -> Result<Vec<NodeConfig>, String> {
    if wanted.is_empty() {
        if config.nodes.is_empty() {
            return Err("no nodes to check: add [[node]] tables to nodewarden.toml or pass --node NAME=KIND@URL".into());
        }
        return Ok(config.nodes.clone());
    }
    wanted
        .iter()
        .map(|w| {
            if w.contains('=') {
                w.parse::<NodeArg>().map(|a| a.to_config())
            } else {
                config.node(w).cloned().map_err(|e| e.to_string())
            }
        })
        .collect()
}

/// The age of the node's newest snapshot, read through the backup engine. Every failure
/// is an UNKNOWN with its reason: a monitoring check must not guess.
async fn backup_age(config: &Config, node: &str) -> BackupFact {
    let Some(repo) = &config.repository else {
        return BackupFact::NotConfigured;
    };
    let store = match crate::cmd::backup::remote_options(&Default::default(), Some(repo))
        .map_err(|e| e.message)
        .and_then(|r| nodewarden_store::open_url(repo.location(), &r).map_err(|e| e.to_string()))
    {
        Ok(s) => Arc::from(s),
        Err(e) => return BackupFact::Error(format!("repository {}: {e}", repo.location())),
    };
    let secret = match nodewarden_backup::Secret::from_sources(None, repo.password_file.as_deref())
    {
        Ok(s) => s,
        Err(e) => return BackupFact::Error(e),
    };
    let rt = tokio::runtime::Handle::current();
    let node = node.to_string();
    let url = repo.location().to_owned();
    let listed = tokio::task::spawn_blocking(move || {
        let repo = nodewarden_backup::Repository::open(store, rt, secret.as_ref())?;
        let all = nodewarden_backup::list_snapshots(&repo)?;
        Ok::<_, nodewarden_backup::BackupError>(
            all.iter()
                .filter(|l| l.snapshot.node == node)
                .map(|l| l.time.timestamp_millis())
                .max(),
        )
    })
    .await;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    match listed {
        Ok(Ok(Some(t))) => BackupFact::AgeSeconds((now_ms - t).max(0) as f64 / 1000.0),
        Ok(Ok(None)) => BackupFact::NoSnapshot,
        Ok(Err(e)) => BackupFact::Error(format!("repository {url}: {e}")),
        Err(e) => BackupFact::Error(format!("repository {url}: internal error: {e}")),
    }
}
