//! The command-line surface. Names, flags and JSON keys are a contract.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use nodewarden_config::NodeArg;
use nodewarden_rpc::Kind;

const ABOUT: &str = "Sync progress, analysis, backups, load tests and health checks for \
zenon (znnd), ethereum (Besu, geth, reth, Nethermind) and substrate (xx network) nodes.";

const EXAMPLES: &str = "\
Examples:
  nodewarden demo                                   simulated nodes, watched, with a dashboard
  nodewarden sim --kind zenon --speed 50            a simulated znnd on 127.0.0.1:35997
  nodewarden watch --node znn=zenon@http://127.0.0.1:35997
  nodewarden watch --once --json                    every node in ./nodewarden.toml, as JSON
  nodewarden crosscheck znn-a zenon@http://10.0.0.5:35997   first divergent block of two nodes

Configuration: --config FILE, else ./nodewarden.toml, else
$XDG_CONFIG_HOME/nodewarden/nodewarden.toml. Logs: -v, or NODEWARDEN_LOG=debug.";

#[derive(Debug, Parser)]
#[command(name = "nodewarden", version, about = ABOUT, after_help = EXAMPLES, propagate_version = true)]
pub struct Cli {
    /// Configuration file (TOML). Unknown keys are errors.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// More log output on stderr (-v, -vv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a simulated node: one RPC dialect, a scripted sync, a real LevelDB data dir.
    Sim(SimArgs),
    /// Watch nodes: live progress, rate, ETA, stalls; Prometheus /metrics; recording.
    Watch(WatchArgs),
    /// Simulated nodes, watched, with HTTP and recording: see everything without a node.
    Demo(DemoArgs),
    /// Load-test a node's JSON-RPC: thresholds, baselines, rate sweeps, two-node equality.
    Loadtest(crate::cmd::loadtest::LoadtestArgs),
    #[command(flatten)]
    Backup(crate::cmd::backup::BackupCommand),
    /// Run a maintenance command in a pillar's quiet gap (between two of its momentums).
    Window(crate::cmd::window::WindowArgs),
    /// Analyse a recorded run or a samples CSV: stalls, ETA, cost by height; HTML, CSV, bundle.
    Report(crate::cmd::report::ReportArgs),
    /// Analyse a samples CSV (the columns in docs/ANALYSIS.md): rate, ETA with a range, stalls, cost.
    Analyze(crate::cmd::analyze::AnalyzeArgs),
    /// Compare two syncs by height (runs or CSV files): speedup, stalls, resources.
    Compare(crate::cmd::compare::CompareArgs),
    /// Compare two nodes' block hashes: first divergent height, last common height, missing blocks.
    Crosscheck(crate::cmd::crosscheck::CrosscheckArgs),
    /// Health check of nodes as a monitoring plugin: status line, perfdata, exit 0/1/2/3.
    Check(crate::cmd::check::CheckArgs),
    /// Measure the hardware under a data dir (CPU, steal, memory, fsync, IOPS) against per-role minimums.
    Probe(crate::cmd::probe::ProbeArgs),
    /// Experiments: an A/B sync race of two builds, recorded, compared, with a verdict.
    #[command(subcommand)]
    Experiment(crate::cmd::experiment::ExperimentCommand),
    /// Database health: levels, compaction debt, obsolete files of LevelDB/RocksDB (offline, read-only).
    #[command(subcommand)]
    Db(crate::cmd::db::DbCommand),
    /// Print a shell completion script (bash, zsh, fish).
    Completions(crate::cmd::completions::CompletionsArgs),
    /// Write the man pages (nodewarden.1, nodewarden-COMMAND.1) into a directory.
    #[command(hide = true)]
    Manpages(crate::cmd::completions::ManpagesArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  nodewarden sim --kind zenon
  nodewarden sim --scenario scenarios/zenon-stalls.toml --speed 100 --data-dir /tmp/znn-b \\
                 --listen 127.0.0.1:35998

The sim prints `listening on http://ADDR` on its first line, resumes from the height stored
in its data dir, holds DATA_DIR/.lock while it runs, and stops cleanly on SIGTERM or Ctrl-C.
Scenario format: docs/SIM.md.")]
pub struct SimArgs {
    /// Dialect to speak (overrides the scenario's `kind`).
    #[arg(long, value_parser = parse_kind)]
    pub kind: Option<Kind>,
    /// Scenario file (TOML); without one, a built-in scenario for the kind.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Address to serve JSON-RPC on [default: 127.0.0.1 and the kind's usual port].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Data dir [default: $TMPDIR/nodewarden-sim/KIND-PORT].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Time compression: 100 runs the scenario a hundred times faster than written.
    #[arg(long, default_value_t = 1.0, value_name = "N")]
    pub speed: f64,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  nodewarden watch                                  every node in ./nodewarden.toml
  nodewarden watch --node znn=zenon@http://127.0.0.1:35997 --node besu=ethereum
  nodewarden watch --record sync.db --run build-b   continue or start the run `build-b`
  nodewarden watch --once --json                    one status per node, then exit
  curl -s http://127.0.0.1:9866/metrics             Prometheus exposition
  curl -s http://127.0.0.1:9866/api/nodes           the same, as JSON

`synced` is derived (target reached, peers present, head younger than a few block times),
never taken from the node's word alone. --once exits 0 when every node answered, 1
otherwise. The recording is SQLite: `nodewarden report FILE --csv OUT` exports it.

A node with `[node.remedy]` (e.g. after = \"30m\", max = 2, per = \"6h\") is restarted
through its `service` when stalled that long, by the rules in docs/MAINTENANCE.md; each
restart is recorded, listed by `report` and counted in nodewarden_remedy_restarts_total.")]
pub struct WatchArgs {
    /// A node as NAME=KIND@URL (KIND: zenon, ethereum, substrate or auto); repeatable.
    /// Replaces the nodes of the config file.
    #[arg(long = "node", value_name = "NAME=KIND@URL")]
    pub nodes: Vec<NodeArg>,
    /// Read every node once, print and exit.
    #[arg(long)]
    pub once: bool,
    /// With --once: an array of node objects. Otherwise: one JSON object per node per tick.
    #[arg(long)]
    pub json: bool,
    /// Per-node RPC timeout (always capped below the interval).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,
    #[command(flatten)]
    pub live: LiveArgs,
}

/// What `watch` and `demo` share.
#[derive(Debug, Args)]
pub struct LiveArgs {
    /// Poll interval [default: 2s, or watch.interval].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub interval: Option<Duration>,
    /// HTTP address for /metrics, /api/nodes, /healthz [default: 127.0.0.1:9866].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Serve no HTTP at all.
    #[arg(long, conflicts_with = "listen")]
    pub no_listen: bool,
    /// Allow --listen on an address other than loopback; needs --auth-token-file.
    #[arg(long)]
    pub allow_remote: bool,
    /// File whose first line is the token every HTTP request must carry (Authorization:
    /// Bearer TOKEN, or ?token=TOKEN once in a browser); at least 16 characters.
    #[arg(long, value_name = "FILE")]
    pub auth_token_file: Option<PathBuf>,
    /// Let the dashboard take, verify and restore backups without a token; honoured on a
    /// loopback address only (with --auth-token-file actions are on for token holders).
    #[arg(long)]
    pub allow_actions: bool,
    /// SQLite file to record samples into [default: nodewarden.db, or watch.record].
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Do not record.
    #[arg(long, conflicts_with = "record")]
    pub no_record: bool,
    /// Run name: continue it if the recording has it, else start it [default: a new run].
    #[arg(long, value_name = "NAME")]
    pub run: Option<String>,
    /// `auto` or a duration: how long a flat height (while behind) lasts before it is a stall.
    #[arg(long, value_name = "auto|DURATION")]
    pub stall_after: Option<nodewarden_config::StallAfter>,
    /// Stop by itself after this long (for scripts and CI).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Seconds between log lines when stdout is not a terminal.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, default_value = "10s")]
    pub log_every: Duration,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Starts four simulated nodes as child processes: two zenon nodes syncing the same chain
(znn-a fast, znn-b slower with cpu, io and peer stalls: the A/B picture), an ethereum and
a substrate node; watches them with recording and HTTP on; keeps a repository of its own
in DIR/backups (a signed freeze backup of znn-a at start and every 30 demo-minutes, then
forget --keep-last 4 --keep-hourly 6 and prune; a configured [repository] is not used);
Ctrl-C stops everything.

Examples:
  nodewarden demo --allow-actions                  the dashboard may back up, verify, restore
  nodewarden demo
  nodewarden demo --listen 127.0.0.1:8080 --speed 20
  nodewarden demo --duration 2m --dir /tmp/demo     then: nodewarden report /tmp/demo/demo.db")]
pub struct DemoArgs {
    /// Work dir for the sims' data dirs and the recording [default: $TMPDIR/nodewarden-demo].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Time compression for the sims.
    #[arg(long, default_value_t = 10.0, value_name = "N")]
    pub speed: f64,
    #[command(flatten)]
    pub live: LiveArgs,
}

fn parse_kind(s: &str) -> Result<Kind, nodewarden_model::ParseKindError> {
    s.parse()
}
