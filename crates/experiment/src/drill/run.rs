//! Running a drill: each leg restores, starts, waits for the catch-up and compares hashes,
//! timing every phase; whatever fails, the nodes it started are stopped and their data
//! removed (unless `keep`), and the result is appended to `drills.jsonl`.
use std::io::Write;
use std::time::{Duration, Instant, SystemTime};

use nodewarden_backup::{
    BackupOptions, Listed, NodeService, Progress, Repository, RestoreOptions, ServiceControl,
};
use nodewarden_config::NodeConfig;
use nodewarden_rpc::crosscheck::{Options as CrossOptions, crosscheck};
use nodewarden_rpc::{ChainClient, default_max_head_age};

use super::{DrillPlan, DrillResult, Leg, Phase};

/// How often the catch-up is polled.
const POLL: Duration = Duration::from_millis(500);
const RPC_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs the drill on a blocking thread of a tokio runtime (the engine drives the store and
/// the RPC through the repository's runtime handle). Never panics on a failed phase: the
/// result says which phase failed and why, and is recorded like a success.
pub fn drill(plan: &DrillPlan, repo: &Repository, progress: &dyn Progress) -> DrillResult {
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let started = Instant::now();
    let mut result = DrillResult {
        drill: plan.name.clone(),
        started: started_at,
        ok: false,
        error: None,
        failover: None,
        failback: None,
        total_seconds: 0.0,
    };
    let mut up: Vec<&NodeConfig> = Vec::new();
    let outcome = legs(plan, repo, progress, &mut result, &mut up);
    if !plan.keep {
        progress.phase("cleanup", None);
        for n in &up {
            if let Err(e) = cleanup(n) {
                progress.note(&format!("cleanup of `{}`: {e}", n.name));
            }
        }
    }
    result.total_seconds = started.elapsed().as_secs_f64();
    result.ok = outcome.is_ok();
    result.error = outcome.err();
    if let Err(e) = append(plan, &result) {
        progress.note(&format!(
            "{}: the drill could not be recorded: {e}",
            plan.output.join("drills.jsonl").display()
        ));
    }
    result
}

fn legs<'p>(
    plan: &'p DrillPlan,
    repo: &Repository,
    progress: &dyn Progress,
    result: &mut DrillResult,
    up: &mut Vec<&'p NodeConfig>,
) -> Result<(), String> {
    progress.phase("snapshots", None);
    let all = nodewarden_backup::list_snapshots_noting(repo, progress)
        .map_err(|e| format!("snapshots: {e}"))?;
    let mine: Vec<Listed> = all
        .into_iter()
        .filter(|l| plan.from.as_ref().is_none_or(|f| *f == l.snapshot.node))
        .collect();
    let snap = nodewarden_backup::select(&mine, &plan.snapshot).map_err(|e| {
        format!(
            "snapshot `{}`{}: {e}",
            plan.snapshot,
            plan.from
                .as_ref()
                .map(|f| format!(" of node `{f}`"))
                .unwrap_or_default()
        )
    })?;
    up.push(&plan.node);
    result.failover = Some(leg(plan, repo, &plan.node, snap, Vec::new(), progress)?);
    let Some(back) = &plan.failback else {
        return Ok(());
    };
    // Failback: what the standby holds now goes back, through a fresh snapshot of it.
    progress.phase("backup", None);
    let t = Instant::now();
    // No maintenance window: the drilled standby is not a producing pillar.
    let made =
        nodewarden_backup::backup_node(repo, &plan.node, BackupOptions::default(), None, progress)
            .map_err(|e| format!("failback backup of `{}`: {e}", plan.node.name))?;
    let backup = Phase {
        name: "backup".into(),
        seconds: t.elapsed().as_secs_f64(),
    };
    let all = nodewarden_backup::list_snapshots(repo).map_err(|e| format!("snapshots: {e}"))?;
    let snap = nodewarden_backup::select(&all, &made.report.id)
        .map_err(|e| format!("failback snapshot: {e}"))?;
    up.push(back);
    result.failback = Some(leg(plan, repo, back, snap, vec![backup], progress)?);
    Ok(())
}

/// Restore, start, catch up, compare: one node brought up from one snapshot.
fn leg(
    plan: &DrillPlan,
    repo: &Repository,
    node: &NodeConfig,
    snap: &Listed,
    mut phases: Vec<Phase>,
    progress: &dyn Progress,
) -> Result<Leg, String> {
    let name = &node.name;
    let dir = node
        .data_dir
        .as_ref()
        .ok_or_else(|| format!("node `{name}` has no data_dir"))?;
    let timed = |phases: &mut Vec<Phase>, what: &str, t: Instant| {
        phases.push(Phase {
            name: what.into(),
            seconds: t.elapsed().as_secs_f64(),
        })
    };
    if !crate::make_room(dir).map_err(|e| format!("restore: {e}"))? {
        return Err(format!(
            "restore: {} is not empty; a drill never restores over data",
            dir.display()
        ));
    }
    // Download and write are one stream (packs are written as they arrive): one phase.
    let t = Instant::now();
    let restored =
        nodewarden_backup::restore(repo, snap, dir, &RestoreOptions::default(), None, progress)
            .map_err(|e| format!("restore of {} into {}: {e}", snap.name(), dir.display()))?;
    timed(&mut phases, "restore", t);

    progress.phase("start", None);
    let t = Instant::now();
    let svc = NodeService::new(node).map_err(|e| format!("start: {e}"))?;
    svc.start().map_err(|e| format!("start of `{name}`: {e}"))?;
    timed(&mut phases, "start", t);

    progress.phase("catch-up", None);
    let t = Instant::now();
    let (client, reference) = repo.block_on(clients(node, plan.reference.as_ref()))?;
    let (height, reference_height) =
        repo.block_on(catch_up(plan, name, client.as_ref(), reference.as_deref()))?;
    timed(&mut phases, "catch-up", t);
    let recovery_seconds = phases
        .iter()
        .filter(|p| matches!(p.name.as_str(), "restore" | "start" | "catch-up"))
        .map(|p| p.seconds)
        .sum();

    let (mut compared, mut agree) = (None, None);
    if let (Some(r), true) = (reference.as_ref(), plan.crosscheck > 0) {
        progress.phase("crosscheck", None);
        let t = Instant::now();
        let opts = CrossOptions {
            from: Some(height.saturating_sub(plan.crosscheck - 1).max(1)),
            to: Some(height.min(reference_height.unwrap_or(height))),
            // Every height of the window, not a bisection's probes: the drill is a check.
            all: true,
            ..CrossOptions::default()
        };
        let report = repo
            .block_on(crosscheck(&client, r, &opts))
            .map_err(|e| format!("crosscheck of `{name}` with the reference: {e}"))?;
        timed(&mut phases, "crosscheck", t);
        compared = Some(report.compared);
        agree = Some(report.agree());
        if let Some(h) = report.first_divergent_height {
            return Err(format!(
                "crosscheck: `{name}` differs from the reference from height {h} on"
            ));
        }
    }
    Ok(Leg {
        node: name.clone(),
        snapshot: snap.name(),
        snapshot_height: snap.snapshot.height,
        bytes: restored.bytes,
        files: restored.files,
        phases,
        recovery_seconds,
        compared,
        agree,
        height: Some(height),
        reference_height,
    })
}

type Client = Box<dyn ChainClient>;

async fn clients(
    node: &NodeConfig,
    reference: Option<&NodeConfig>,
) -> Result<(Client, Option<Client>), String> {
    let connect = |n: &NodeConfig| {
        let (name, kind) = (n.name.clone(), n.kind);
        let url = n.rpc_url();
        async move {
            let url = url?;
            nodewarden_rpc::connect(&name, kind, &url, RPC_TIMEOUT)
                .await
                .map_err(|e| e.to_string())
        }
    };
    let node = connect(node).await?;
    let reference = match reference {
        Some(r) => Some(connect(r).await.map_err(|e| format!("reference: {e}"))?),
        None => None,
    };
    Ok((node, reference))
}

/// Waits until the node is derived-synced and, with a reference, within `within` blocks of
/// the reference's head: (its height, the reference's).
async fn catch_up(
    plan: &DrillPlan,
    name: &str,
    node: &dyn ChainClient,
    reference: Option<&dyn ChainClient>,
) -> Result<(u64, Option<u64>), String> {
    let deadline = Instant::now() + plan.timeout;
    // The client knows its dialect, detected when the config said `auto`.
    let max_age = default_max_head_age(node.kind());
    loop {
        let status = node.status().await;
        let theirs = match reference {
            Some(r) => Some(nodewarden_rpc::crosscheck::head_of(r).await.ok()),
            None => None,
        };
        let last = match status {
            Ok(s) => {
                let h = s.current.unwrap_or(0);
                let close = match theirs {
                    Some(Some(r)) => h + plan.within >= r,
                    Some(None) => false,
                    None => true,
                };
                if close && s.synced(SystemTime::now(), max_age) {
                    return Ok((h, theirs.flatten()));
                }
                format!(
                    "at {h}{}",
                    match theirs {
                        Some(Some(r)) => format!(", the reference at {r}"),
                        Some(None) => ", the reference not answering".into(),
                        None => String::new(),
                    }
                )
            }
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            return Err(format!(
                "catch-up: `{name}` not caught up after {} ({last})",
                humantime::format_duration(plan.timeout)
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Stops a node the drill started and removes its restored data.
fn cleanup(node: &NodeConfig) -> Result<(), String> {
    NodeService::new(node)
        .and_then(|s| s.stop())
        .map_err(|e| e.to_string())?;
    if let Some(d) = &node.data_dir
        && d.exists()
    {
        std::fs::remove_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    Ok(())
}

/// One JSON line per drill, appended, so drills over months can be compared.
fn append(plan: &DrillPlan, result: &DrillResult) -> std::io::Result<()> {
    std::fs::create_dir_all(&plan.output)?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(plan.output.join("drills.jsonl"))?;
    let line = serde_json::to_string(result).map_err(std::io::Error::other)?;
    writeln!(f, "{line}")?;
    f.sync_all()
}
