//! A repository as a running `watch` shows it: the newest snapshot per node (backup age and
//! metrics), every snapshot's summary (the dashboard's backups page) and a structural
//! verify, all from one opened repository.
use std::collections::HashMap;

use nodewarden_model::BackupInfo;

use crate::error::Result;
use crate::progress::Silent;
use crate::repo::Repository;
use crate::snapshots::{latest_per_node, list as list_snapshots};
use crate::verify::{VerifyReport, verify};

/// The structural verify the dashboard shows, and when it ran.
#[derive(Debug, serde::Serialize)]
pub struct CheckedVerify {
    pub checked_ms: u64,
    #[serde(flatten)]
    pub report: VerifyReport,
}

/// What a follower publishes after each read of the repository.
#[derive(Debug)]
pub struct RepositoryView {
    pub latest: HashMap<String, BackupInfo>,
    /// The `snapshots --json` rows.
    pub snapshots_json: Vec<u8>,
    /// `verify --json` of a structural verify (no data read), with `checked_ms`.
    pub verify_json: Vec<u8>,
}

/// Lists the snapshots and checks the structure (every referenced chunk indexed, every pack
/// listed; no pack is read, so it stays cheap on S3).
pub fn repository_view(repo: &Repository, now_ms: u64) -> Result<RepositoryView> {
    let all = list_snapshots(repo)?;
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
    // Serialising plain data into a Vec cannot fail.
    let snapshots_json = serde_json::to_vec(&rows).unwrap_or_default();
    let report = verify(repo, None, &Silent)?;
    let verify_json = serde_json::to_vec(&CheckedVerify {
        checked_ms: now_ms,
        report,
    })
    .unwrap_or_default();
    Ok(RepositoryView {
        latest,
        snapshots_json,
        verify_json,
    })
}
