//! `backup --node`: read the head over RPC, stop the node, freeze, start it, back up the
//! freeze dir while the node runs, delete the freeze dir.
use std::time::{Duration, Instant};

use nodewarden_config::NodeConfig;

use crate::backup::{Options, Report, Source, backup};
use crate::error::{BackupError, Result};
use crate::freeze::{Method, freeze, freeze_dir_for};
use crate::progress::Progress;
use crate::repo::Repository;
use crate::restore::ServiceControl;
use crate::service::NodeService;
use crate::walk::Selection;
use crate::window::{Window, WindowOptions, check_missed, check_timeout, wait_for_window};

/// Expected downtime when the repository holds no freeze of the node yet.
const FIRST_DOWNTIME: Duration = Duration::from_secs(5);

#[derive(Debug, serde::Serialize)]
pub struct NodeBackup {
    pub report: Report,
    /// From the stop command to the start command returning.
    pub downtime_ms: u64,
    pub freeze_ms: u64,
    pub freeze_method: &'static str,
    pub linked_files: u64,
    pub copied_files: u64,
    /// The pillar's quiet gap the freeze waited for (`--window-timeout`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
}

/// The longest of the node's last three freeze downtimes in the repository.
pub fn recent_downtime(repo: &Repository, node: &str) -> Option<Duration> {
    let (all, _) = crate::snapshots::scan(repo).ok()?;
    let mut mine: Vec<_> = all
        .iter()
        .filter(|l| l.snapshot.node == node)
        .filter_map(|l| Some((l.time, l.snapshot.downtime_ms?)))
        .collect();
    mine.sort();
    mine.iter()
        .rev()
        .take(3)
        .map(|(_, ms)| Duration::from_millis(*ms))
        .max()
}

pub fn backup_node(
    repo: &Repository,
    node: &NodeConfig,
    mut opts: Options,
    window: Option<&WindowOptions>,
    progress: &dyn Progress,
) -> Result<NodeBackup> {
    let data_dir = node.data_dir.as_ref().ok_or_else(|| {
        BackupError::Input(format!(
            "node `{}` has no data_dir in the config",
            node.name
        ))
    })?;
    let kind = match node.kind {
        nodewarden_rpc::KindSpec::Known(k) => k.to_string(),
        nodewarden_rpc::KindSpec::Auto => "auto".into(),
    };
    let svc = NodeService::new(node)?;
    if let Some(b) = &node.backup {
        let mut include = b.include.clone();
        include.extend(b.critical.iter().cloned());
        opts.selection = Selection {
            include,
            exclude: b.exclude.clone(),
        };
    }
    opts.pg = node.pg.clone();
    let mut window = match window {
        Some(w) => {
            let downtime = w
                .downtime
                .or_else(|| recent_downtime(repo, &node.name))
                .unwrap_or(FIRST_DOWNTIME);
            progress.phase("window", None);
            let note = |s: &str| progress.note(s);
            Some(repo.block_on(wait_for_window(node, w, downtime, &note))?)
        }
        None => None,
    };
    let (height, head_hash) = repo.block_on(svc.head())?;
    let dir = freeze_dir_for(data_dir);
    progress.phase("freeze", None);
    let down = Instant::now();
    svc.stop()?;
    let frozen = freeze(data_dir, &dir, false);
    // Start the node whatever the freeze did: an operator's node must not stay down.
    let started = svc.start_command();
    let downtime = down.elapsed();
    let frozen = frozen?;
    started?;
    if frozen.method == Method::Copy {
        progress.note("hard links are impossible here (another filesystem?): the freeze copied every file, so downtime grew with the data size");
    }
    progress.note(&format!(
        "node `{}` was down for {:.2}s (freeze {:.2}s, {} linked, {} copied)",
        node.name,
        downtime.as_secs_f64(),
        frozen.freeze_time.as_secs_f64(),
        frozen.linked,
        frozen.copied
    ));
    svc.wait_answering()?;
    let src = Source {
        root: frozen.dir.clone(),
        origin: data_dir.display().to_string(),
        node: node.name.clone(),
        kind,
        height,
        head_hash,
        downtime: Some(downtime),
        freeze: Some(frozen.method.as_str().into()),
    };
    let report = backup(repo, &src, &opts, progress)?;
    if let Some(w) = window.as_mut() {
        let wait = check_timeout(w);
        if let Err(e) = repo.block_on(check_missed(node, w, wait)) {
            progress.note(&format!("could not read the pillar after the backup: {e}"));
        }
        if let Some(m) = w.missed {
            progress.note(&format!(
                "pillar `{}` missed {m} momentum(s) around the freeze",
                w.pillar.as_deref().unwrap_or("")
            ));
        }
    }
    Ok(NodeBackup {
        report,
        downtime_ms: downtime.as_millis() as u64,
        freeze_ms: frozen.freeze_time.as_millis() as u64,
        freeze_method: frozen.method.as_str(),
        linked_files: frozen.linked,
        copied_files: frozen.copied,
        window,
    })
}
