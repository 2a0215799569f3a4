//! While `watch` runs with a `[repository]` configured: read it now and every few minutes,
//! for the backup metrics, the dashboard cards' backup age and its backups page.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use nodewarden_backup::{Repository, Secret, Silent, latest_per_node, list_snapshots, verify};
use nodewarden_config::RepositoryConfig;
use nodewarden_model::{BackupInfo, Backups};
use nodewarden_serve::Shared;

/// Snapshots arrive at most every few hours; reading a repository (argon2, listing) is not
/// free, and an S3 repository bills requests.
const EVERY: Duration = Duration::from_secs(300);

pub async fn follow(repo: RepositoryConfig, backups: Backups, shared: Arc<Shared>) {
    loop {
        match read(&repo).await {
            Ok((latest, json, checked)) => {
                if let Ok(mut b) = backups.write() {
                    *b = latest;
                }
                shared.publish_snapshots(json);
                shared.publish_verify(checked);
            }
            Err(e) => tracing::warn!("backup repository {}: {e}", repo.url),
        }
        tokio::time::sleep(EVERY).await;
    }
}

/// Newest snapshot per node, the `snapshots --json` rows, and a structural verify (every
/// referenced chunk indexed, every pack listed; no data read) as JSON.
type Read = (HashMap<String, BackupInfo>, Vec<u8>, Vec<u8>);

async fn read(repo: &RepositoryConfig) -> Result<Read, String> {
    let remote = crate::cmd::backup::remote_options(&Default::default(), Some(repo))
        .map_err(|e| e.message)?;
    let store: Arc<dyn nodewarden_store::Store> = nodewarden_store::open_url(&repo.url, &remote)
        .map_err(|e| e.to_string())?
        .into();
    let secret = Secret::from_sources(None, repo.password_file.as_deref())?;
    let rt = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let repo = Repository::open(store, rt, secret.as_ref()).map_err(|e| e.to_string())?;
        let all = list_snapshots(&repo).map_err(|e| e.to_string())?;
        let latest = latest_per_node(&all)
            .into_iter()
            .map(|(node, l)| {
                let info = BackupInfo {
                    name: l.name(),
                    time_ms: l.time.timestamp_millis(),
                    duration_seconds: l.snapshot.duration_ms.map(|d| d as f64 / 1000.0),
                    height: l.snapshot.height,
                };
                (node.to_string(), info)
            })
            .collect();
        let rows: Vec<_> = all.iter().map(|l| l.summary()).collect();
        let json = serde_json::to_vec(&rows).map_err(|e| e.to_string())?;
        let checked_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let report = verify(&repo, None, &Silent).map_err(|e| e.to_string())?;
        let checked = serde_json::to_vec(&serde_json::json!({
            "checked_ms": checked_ms,
            "read_data": false,
            "ok": report.problems.is_empty(),
            "snapshots": report.snapshots,
            "packs": report.packs,
            "chunks": report.chunks,
            "problems": report.problems,
            "damaged": report.damaged,
        }))
        .map_err(|e| e.to_string())?;
        Ok::<_, String>((latest, json, checked))
    })
    .await
    .map_err(|e| e.to_string())?
}
