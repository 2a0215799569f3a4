//! `nodewarden experiment failover FILE`: wiring only; the drill is
//! `nodewarden-experiment`'s (`drill`).
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use nodewarden_config::Config;
use nodewarden_experiment::drill::{DrillPlan, DrillResult, Leg, drill, history};

use crate::cmd::backup::RepoArgs;
use crate::exit::{CmdResult, Failure};
use crate::progress::ByteProgress;

#[derive(Debug, Args)]
#[command(after_help = "\
The file names a [[node]] of nodewarden.toml (with data_dir and service) to bring up from a
snapshot of the repository, and optionally a reference node to catch up with and compare
hashes against, and a failback node. The node's data dir must be empty or absent: a drill
never restores over data. Phases and their times go to stdout and are appended to
OUTPUT/drills.jsonl, with the earlier drills' totals beside.

Exit 0 when every phase succeeded, 1 when one failed (the error names it), 2 for a bad file.

Example file: docs/EXPERIMENTS.md.
  nodewarden experiment failover drill.toml
  nodewarden experiment failover drill.toml --repo s3://backups/znn --s3-endpoint http://10.0.0.5:9000")]
pub struct FailoverArgs {
    #[arg(value_name = "FILE.toml")]
    pub file: PathBuf,
    /// Print the result (phases, times, the crosscheck) as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub repo: RepoArgs,
}

pub async fn failover(a: FailoverArgs, config: Option<&Path>) -> CmdResult {
    let config = Config::load(config).map_err(Failure::usage)?.config;
    let plan = DrillPlan::load(&a.file, &config).map_err(|e| {
        if e.is_input() {
            Failure::usage(e)
        } else {
            Failure::runtime(e)
        }
    })?;
    let earlier = history(&plan.output);
    let repo = a.repo.open(&config).await?;
    let render = std::sync::Arc::new(ByteProgress::new());
    let r = render.clone();
    let result = tokio::task::spawn_blocking(move || drill(&plan, &repo, r.as_ref()))
        .await
        .map_err(|e| Failure::runtime(format!("internal error: {e}")))?;
    render.done();
    let mut out = crate::out::stdout();
    let text = if a.json {
        serde_json::to_string_pretty(&result).map_err(Failure::runtime)? + "\n"
    } else {
        describe(&result, &earlier)
    };
    out.write_all(text.as_bytes()).map_err(Failure::runtime)?;
    match &result.error {
        None => Ok(0),
        Some(e) => {
            eprintln!("nodewarden: drill failed: {e}");
            Ok(1)
        }
    }
}

fn describe(r: &DrillResult, earlier: &[DrillResult]) -> String {
    let mut s = String::new();
    let mut leg = |title: &str, l: &Leg| {
        s.push_str(&format!(
            "{title}: {} from {} (height {}, {} in {} files)\n",
            l.node,
            l.snapshot,
            l.snapshot_height.map_or("?".into(), |h| h.to_string()),
            nodewarden_report::bytes(l.bytes),
            l.files
        ));
        for p in &l.phases {
            s.push_str(&format!("  {:<11} {:>8.1}s\n", p.name, p.seconds));
        }
        s.push_str(&format!(
            "  recovery    {:>8.1}s  (restore + start + catch-up; at height {}{})\n",
            l.recovery_seconds,
            l.height.map_or("?".into(), |h| h.to_string()),
            l.reference_height
                .map(|h| format!(", the reference at {h}"))
                .unwrap_or_default()
        ));
        if let (Some(n), Some(ok)) = (l.compared, l.agree) {
            s.push_str(&format!(
                "  crosscheck  {n} heights, {}\n",
                if ok { "same hashes" } else { "DIFFERENT" }
            ));
        }
    };
    if let Some(l) = &r.failover {
        leg("failover", l);
    }
    if let Some(l) = &r.failback {
        leg("failback", l);
    }
    s.push_str(&format!(
        "drill {}: {} in {:.1}s\n",
        r.drill,
        if r.ok { "ok" } else { "FAILED" },
        r.total_seconds
    ));
    let past: Vec<String> = earlier
        .iter()
        .rev()
        .take(5)
        .map(|d| {
            let rec = d.failover.as_ref().map(|l| l.recovery_seconds);
            format!(
                "{} {}{}",
                d.started,
                rec.map_or("–".into(), |x| format!("{x:.1}s")),
                if d.ok { "" } else { " (failed)" }
            )
        })
        .collect();
    if !past.is_empty() {
        s.push_str(&format!("earlier recoveries: {}\n", past.join(", ")));
    }
    s
}
