//! The demo's backups: a repository in the demo dir, a signed freeze backup of one sim at
//! start and every few (demo) minutes, a retention policy after each, so the dashboard's
//! backups page and its buttons have something real to show. Wiring only: the engine does
//! the work, exactly as `nodewarden backup --node` and `forget --prune` would.
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use nodewarden_backup::{BackupOptions, InitOptions, KeepPolicy, Repository, Silent};
use nodewarden_config::{NodeConfig, RepositoryConfig, Service};
use nodewarden_model::Backups;
use nodewarden_serve::Shared;

use crate::cmd::follow_backups;
use crate::exit::Failure;

/// What the demo keeps: the last few, one per hour of the day.
pub const KEEP: KeepPolicy = KeepPolicy {
    last: Some(4),
    hourly: Some(6),
    daily: None,
    weekly: None,
    monthly: None,
    yearly: None,
};

/// The sim that is backed up on a schedule (the fast one: its snapshots grow).
pub const NODE: &str = "znn-a";

/// Stop and start for a sim: SIGSTOP freezes its writer for the hard links, SIGCONT lets
/// it go on (what a real node's `service` does with a stop and a start).
pub fn service(pid_file: &Path) -> Service {
    let pid = format!(
        "\"$(cat {})\"",
        shell_quote(&pid_file.display().to_string())
    );
    Service::Commands {
        stop: format!("kill -STOP {pid}"),
        start: format!("kill -CONT {pid}"),
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// A fresh, unencrypted repository in `dir/backups` and a signing key beside it.
pub async fn init(dir: &Path) -> Result<RepositoryConfig, Failure> {
    let path = dir.join("backups");
    let _ = std::fs::remove_dir_all(&path);
    let key = dir.join("sign.key");
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut seed))
        .map_err(|e| Failure::runtime(format!("/dev/urandom: {e}")))?;
    let hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(&key, hex + "\n")
        .map_err(|e| Failure::runtime(format!("{}: {e}", key.display())))?;
    let url = path.display().to_string();
    let store: Arc<dyn nodewarden_store::Store> =
        nodewarden_store::open_url(&url, &Default::default())
            .map_err(Failure::runtime)?
            .into();
    let rt = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || Repository::init(store, rt, InitOptions::default()))
        .await
        .map_err(Failure::runtime)?
        .map_err(|e| Failure::runtime(format!("demo repository {url}: {e}")))?;
    Ok(RepositoryConfig {
        url: Some(url),
        ..Default::default()
    })
}

/// Backs up `node` now and then every `every`, applying [`KEEP`] after each; runs until
/// aborted. Failures are logged and the schedule goes on.
pub async fn schedule(
    node: NodeConfig,
    repo: RepositoryConfig,
    key: PathBuf,
    every: Duration,
    shared: Arc<Shared>,
    backups: Backups,
) {
    // The sim must answer RPC before its head can be read.
    tokio::time::sleep(Duration::from_secs(2)).await;
    loop {
        let (node, repo, key) = (node.clone(), repo.clone(), key.clone());
        let rt = tokio::runtime::Handle::current();
        let done = tokio::task::spawn_blocking(move || once(&node, &repo, &key, rt)).await;
        match done {
            Ok(Ok(read)) => follow_backups::publish(read, &backups, &shared),
            Ok(Err(e)) => tracing::warn!("demo backup: {e}"),
            Err(e) => tracing::warn!("demo backup: {e}"),
        }
        tokio::time::sleep(every).await;
    }
}

fn once(
    node: &NodeConfig,
    repo: &RepositoryConfig,
    key: &Path,
    rt: tokio::runtime::Handle,
) -> Result<follow_backups::Read, String> {
    let repo = follow_backups::open(repo, rt)?;
    let bytes = std::fs::read(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let opts = BackupOptions {
        sign: Some(
            nodewarden_backup::signing_key(&bytes, &key.display().to_string())
                .map_err(|e| e.to_string())?,
        ),
        ..Default::default()
    };
    // One backup at a time (the dashboard's "Back up now" shares the freeze dir), and the
    // retention's exclusive lock not in the middle of the dashboard's backup.
    let _one = crate::cmd::actions::BACKUP_LOCK
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    // The demo's backups keep their cadence: no waiting for a pillar's gap.
    nodewarden_backup::backup_node(&repo, node, opts, None, &Silent).map_err(|e| e.to_string())?;
    nodewarden_backup::forget(&repo, &KEEP, false, &Silent).map_err(|e| e.to_string())?;
    nodewarden_backup::prune(&repo, &Silent).map_err(|e| e.to_string())?;
    follow_backups::view(&repo)
}
