//! While `watch` runs with a `[repository]` configured: read it now and every few minutes
//! (`nodewarden_backup::repository_view`) and publish what it found to the metrics, the
//! dashboard cards' backup age and its backups page. Wiring only.
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use nodewarden_backup::{Repository, RepositoryView, Secret, repository_view};
use nodewarden_config::RepositoryConfig;
use nodewarden_model::Backups;
use nodewarden_serve::Shared;

/// Snapshots arrive at most every few hours; reading a repository (argon2, listing) is not
/// free, and an S3 repository bills requests.
const EVERY: Duration = Duration::from_secs(300);

pub async fn follow(repo: RepositoryConfig, backups: Backups, shared: Arc<Shared>) {
    loop {
        match read(&repo).await {
            Ok(read) => publish(read, &backups, &shared),
            Err(e) => tracing::warn!("backup repository {}: {e}", repo.location()),
        }
        tokio::time::sleep(EVERY).await;
    }
}

async fn read(repo: &RepositoryConfig) -> Result<Read, String> {
    let repo = repo.clone();
    let rt = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let repo = open(&repo, rt)?;
        view(&repo)
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Opens the configured repository; on a blocking thread (argon2 takes a moment).
pub fn open(repo: &RepositoryConfig, rt: tokio::runtime::Handle) -> Result<Repository, String> {
    let remote = crate::cmd::backup::remote_options(&Default::default(), Some(repo))
        .map_err(|e| e.message)?;
    let store: Arc<dyn nodewarden_store::Store> =
        nodewarden_store::open_url(repo.location(), &remote)
            .map_err(|e| e.to_string())?
            .into();
    let secret = Secret::from_sources(None, repo.password_file.as_deref())?;
    Repository::open(store, rt, secret.as_ref()).map_err(|e| e.to_string())
}

/// A repository view and when its reading began.
pub struct Read {
    started_ms: u64,
    view: RepositoryView,
}

/// What the dashboard shows of an open repository, read now.
pub fn view(repo: &Repository) -> Result<Read, String> {
    let started_ms = now_ms();
    let view = repository_view(repo, started_ms).map_err(|e| e.to_string())?;
    Ok(Read { started_ms, view })
}

/// When the newest published read began: the follower, the demo's schedule and the
/// dashboard's actions read concurrently, and a slow old read must not hide a new snapshot.
static PUBLISHED: AtomicU64 = AtomicU64::new(0);

/// Publishes a read to the metrics, the cards and the backups page, unless a read that
/// began later was published already.
pub fn publish(read: Read, backups: &Backups, shared: &Shared) {
    if PUBLISHED.fetch_max(read.started_ms, Ordering::SeqCst) > read.started_ms {
        return;
    }
    let view = read.view;
    if let Ok(mut b) = backups.write() {
        *b = view.latest;
    }
    shared.publish_snapshots(view.snapshots_json);
    shared.publish_verify(view.verify_json);
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
