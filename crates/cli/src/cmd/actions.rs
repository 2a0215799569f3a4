//! The dashboard's backup actions, wired to the backup engine: the `Actions` the HTTP side
//! calls, on its blocking threads. Each action opens the configured repository, runs the
//! same engine call as the command of the same name (so the repository's lock rules apply),
//! reports through the job, and publishes the repository anew.
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nodewarden_backup::{
    BackupOptions, CheckedVerify, NodeService, Progress, RestoreOptions, ServiceControl,
};
use nodewarden_config::{Config, NodeConfig, RepositoryConfig};
use nodewarden_model::Backups;
use nodewarden_serve::{Actions, Job, RestoreRequest, Shared};

use crate::cmd::follow_backups;

/// One node backup at a time in this process: two freezes would share a freeze dir.
pub static BACKUP_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub struct BackupActions {
    pub nodes: Vec<NodeConfig>,
    pub repo: RepositoryConfig,
    pub shared: Arc<Shared>,
    pub backups: Backups,
    pub rt: tokio::runtime::Handle,
}

impl BackupActions {
    pub fn new(config: &Config, shared: Arc<Shared>, backups: Backups) -> Option<BackupActions> {
        Some(BackupActions {
            nodes: config.nodes.clone(),
            repo: config.repository.clone()?,
            shared,
            backups,
            rt: tokio::runtime::Handle::current(),
        })
    }

    fn open(&self) -> Result<nodewarden_backup::Repository, String> {
        follow_backups::open(&self.repo, self.rt.clone())
    }

    /// The snapshots page and the cards' backup age, after an action changed them.
    fn refresh(&self, repo: &nodewarden_backup::Repository) {
        if let Ok(v) = follow_backups::view(repo) {
            follow_backups::publish(v, &self.backups, &self.shared);
        }
    }
}

/// The engine's progress, forwarded to the job's event stream.
struct ToJob<'a>(&'a Job);

impl Progress for ToJob<'_> {
    fn phase(&self, name: &str, total: Option<u64>) {
        self.0.phase(name, total);
    }
    fn advance(&self, bytes: u64) {
        self.0.advance(bytes);
    }
    fn note(&self, message: &str) {
        self.0.note(message);
    }
}

impl Actions for BackupActions {
    fn backup_nodes(&self) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|n| n.data_dir.is_some() && n.service.is_some())
            .map(|n| n.name.clone())
            .collect()
    }

    fn backup(&self, node: &str, job: &Job) -> Result<String, String> {
        let node = self
            .nodes
            .iter()
            .find(|n| n.name == node)
            .ok_or_else(|| format!("no node `{node}` in the config"))?;
        job.phase("open repository", None);
        let repo = self.open()?;
        let b = {
            let _one = BACKUP_LOCK.lock().unwrap_or_else(|p| p.into_inner());
            // A pillar's node waits for its quiet gap, as `backup --node` does by default.
            let window = nodewarden_backup::WindowOptions {
                timeout: std::time::Duration::from_secs(15 * 60),
                downtime: None,
                margin: None,
            };
            nodewarden_backup::backup_node(
                &repo,
                node,
                BackupOptions::default(),
                Some(&window),
                &ToJob(job),
            )
            .map_err(|e| e.to_string())?
        };
        self.refresh(&repo);
        Ok(format!(
            "snapshot {} saved ({} files, {:.1} MiB, node down {:.2}s)",
            b.report.name,
            b.report.files,
            b.report.size_bytes as f64 / 1_048_576.0,
            b.downtime_ms as f64 / 1000.0
        ))
    }

    fn verify(&self, read_percent: u8, job: &Job) -> Result<String, String> {
        job.phase("open repository", None);
        let repo = self.open()?;
        let fraction = (read_percent > 0).then(|| f64::from(read_percent.min(100)) / 100.0);
        let report =
            nodewarden_backup::verify(&repo, fraction, &ToJob(job)).map_err(|e| e.to_string())?;
        let summary = if report.ok() {
            format!(
                "OK: {} snapshots, {} packs ({} read), {} chunks ({} read)",
                report.snapshots,
                report.packs,
                report.packs_read,
                report.chunks,
                report.chunks_read
            )
        } else {
            format!(
                "{} problem(s): {}",
                report.problems.len(),
                report.problems.first().map_or("", String::as_str)
            )
        };
        let ok = report.ok();
        let checked = CheckedVerify {
            checked_ms: follow_backups::now_ms(),
            report,
        };
        self.shared
            .publish_verify(serde_json::to_vec(&checked).unwrap_or_default());
        if ok { Ok(summary) } else { Err(summary) }
    }

    fn restore(&self, req: &RestoreRequest, job: &Job) -> Result<String, String> {
        let target = PathBuf::from(&req.target);
        let live = self.live_node(&target);
        let service = match live {
            Some(node) => Some(confirm_live(node, req.confirm.as_deref())?),
            None => {
                new_directory(&target)?;
                None
            }
        };
        job.phase("open repository", None);
        let repo = self.open()?;
        let all = nodewarden_backup::list_snapshots_noting(&repo, &ToJob(job))
            .map_err(|e| e.to_string())?;
        let snap = nodewarden_backup::select(&all, &req.snapshot).map_err(|e| e.to_string())?;
        let svc = service.as_ref().map(|s| s as &dyn ServiceControl);
        let r = nodewarden_backup::restore(
            &repo,
            snap,
            &target,
            &RestoreOptions::default(),
            svc,
            &ToJob(job),
        )
        .map_err(|e| e.to_string())?;
        Ok(format!(
            "{} restored into {}: {} files, {:.1} MiB in {:.1}s",
            snap.name(),
            target.display(),
            r.files,
            r.bytes as f64 / 1_048_576.0,
            r.seconds
        ))
    }

    fn audit(&self, line: &str) {
        eprintln!("nodewarden audit: {line}");
    }
}

impl BackupActions {
    /// The node whose data dir `target` is, if any.
    fn live_node(&self, target: &Path) -> Option<&NodeConfig> {
        let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let t = canon(target);
        self.nodes
            .iter()
            .find(|n| n.data_dir.as_deref().is_some_and(|d| canon(d) == t))
    }
}

/// Over a live data dir only when the node can be stopped and started by its `service`
/// and the operator typed its name.
fn confirm_live(node: &NodeConfig, confirm: Option<&str>) -> Result<NodeService, String> {
    if node.service.is_none() {
        return Err(format!(
            "{} is the data dir of node `{}`, which has no `service` to stop it: restore into a new directory",
            node.data_dir.as_deref().unwrap_or(Path::new("")).display(),
            node.name
        ));
    }
    if confirm != Some(node.name.as_str()) {
        return Err(format!(
            "restoring over the live data dir of `{}` needs its name typed to confirm",
            node.name
        ));
    }
    NodeService::new(node).map_err(|e| e.to_string())
}

/// A restore that is not over a node goes into a directory that does not exist yet (or is
/// empty): nothing of the operator's is replaced by a click.
fn new_directory(target: &Path) -> Result<(), String> {
    match std::fs::read_dir(target).map(|mut d| d.next().is_none()) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Ok(true) => Ok(()),
        Ok(false) => Err(format!(
            "{} exists and is not empty: restore into a new directory",
            target.display()
        )),
        Err(e) => Err(format!("{}: {e}", target.display())),
    }
}
