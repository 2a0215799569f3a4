//! The starting snapshot of an A/B experiment: restored into each side's data dir while it
//! is empty, so both builds begin at the same height instead of racing from genesis.
use nodewarden_backup::{Listed, Progress, Repository, RestoreOptions};

use crate::{ExperimentError, Plan};

/// Restores the plan's `[start]` snapshot into every data dir that is empty or absent (a
/// continued run keeps what its nodes have synced); returns the snapshot's name when the
/// plan has one.
pub fn seed(
    plan: &Plan,
    repo: &Repository,
    progress: &dyn Progress,
) -> Result<Option<String>, ExperimentError> {
    let Some(start) = &plan.start else {
        return Ok(None);
    };
    let fail = |e: nodewarden_backup::BackupError| ExperimentError::Seed(e.to_string());
    let all = nodewarden_backup::list_snapshots_noting(repo, progress).map_err(fail)?;
    let mine: Vec<Listed> = all
        .into_iter()
        .filter(|l| start.from.as_ref().is_none_or(|f| *f == l.snapshot.node))
        .collect();
    let snap = nodewarden_backup::select(&mine, &start.snapshot).map_err(|e| {
        ExperimentError::Seed(format!(
            "snapshot `{}`{}: {e}",
            start.snapshot,
            start
                .from
                .as_ref()
                .map(|f| format!(" of node `{f}`"))
                .unwrap_or_default()
        ))
    })?;
    for side in [&plan.a, &plan.b] {
        if !crate::make_room(&side.data_dir)? {
            continue;
        }
        nodewarden_backup::restore(
            repo,
            snap,
            &side.data_dir,
            &RestoreOptions::default(),
            None,
            progress,
        )
        .map_err(|e| {
            ExperimentError::Seed(format!(
                "restoring {} into {} ({}): {e}",
                snap.name(),
                side.data_dir.display(),
                side.name
            ))
        })?;
    }
    Ok(Some(snap.name()))
}
