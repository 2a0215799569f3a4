//! `restore`.
use std::path::PathBuf;

use clap::Args;
use nodewarden_backup::{NodeService, RestoreOptions, ServiceControl};
use nodewarden_config::Config;

use super::{RepoArgs, blocking, print_json};
use crate::exit::{CmdResult, Failure};
use crate::progress::ByteProgress;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  nodewarden restore latest --target /root/.znn --node znn-main
  nodewarden restore znn-main-h120345-1a2b3c4d-20250101T000000Z --target /tmp/check
  nodewarden restore 1a2b3c4d --target /root/.znn --delta --trust 5f0c...e1
  nodewarden restore latest --target /tmp/x --pg-into postgres://localhost/cmix_restored
  nodewarden restore latest --repo s3://backups/znn --target /root/.znn    (a new host)
  nodewarden restore latest --target /root/.znn --check-against http://10.0.0.2:35997

The snapshot is written into a staging dir next to the target, every chunk checked, every
file fsync'd, then swapped in with renames; the old dir is kept aside until that worked
(with --node: until the node answers again; otherwise it is put back). Manifests with `..`
or absolute paths are refused; symlinks are recreated as stored (wherever they point) and
never followed while restoring. Setuid, setgid and sticky bits are dropped unless
--keep-setid. An interrupted restore, run again with the same snapshot and target,
continues where it stopped. --check-against refuses a snapshot whose head is not on the
trusted node's chain, before anything is written.")]
pub struct RestoreArgs {
    /// id, unique id prefix, name, or `latest`.
    pub snapshot: String,
    #[arg(long, value_name = "DIR")]
    pub target: PathBuf,
    /// Stop this node before the swap and start it after (rolled back if it does not start).
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// Reuse the parts of files already at the target that match.
    #[arg(long)]
    pub delta: bool,
    /// Restore setuid, setgid and sticky bits as stored (dropped by default).
    #[arg(long)]
    pub keep_setid: bool,
    /// Refuse the snapshot unless it is signed by this ed25519 public key (64 hex digits).
    #[arg(long, value_name = "PUBKEY")]
    pub trust: Option<String>,
    /// Also restore the snapshot's PostgreSQL dump into this (existing) database.
    #[arg(long, value_name = "URL")]
    pub pg_into: Option<String>,
    /// Refuse the snapshot unless this trusted node (KIND@URL, URL or a configured name) has
    /// the snapshot's head hash at its recorded height.
    #[arg(long, value_name = "URL|NODE")]
    pub check_against: Option<String>,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub repo: RepoArgs,
}

pub async fn restore(a: RestoreArgs, config: Config) -> CmdResult {
    let service = match &a.node {
        Some(n) => {
            let node = config.node(n).map_err(Failure::usage)?;
            Some(NodeService::new(node).map_err(super::failure)?)
        }
        None => None,
    };
    let repo = a.repo.open(&config).await?;
    let store = repo.store_arc();
    let render = std::sync::Arc::new(ByteProgress::new());
    let r = render.clone();
    let (sel, target, trust, pg_into) = (
        a.snapshot.clone(),
        a.target.clone(),
        a.trust.clone(),
        a.pg_into.clone(),
    );
    let (check_against, trusted_config) = (a.check_against.clone(), config.clone());
    let opts = RestoreOptions {
        delta: a.delta,
        keep_setid: a.keep_setid,
        ..Default::default()
    };
    let (name, report, pg, checked) = blocking(move || {
        let all = nodewarden_backup::list_snapshots_noting(&repo, r.as_ref())?;
        let snap = nodewarden_backup::select(&all, &sel)?;
        if let Some(k) = &trust {
            nodewarden_backup::check_trusted(&repo, snap, k)?;
        }
        let checked = match &check_against {
            Some(spec) => {
                let (s, name) = (&snap.snapshot, snap.name());
                // A blocking thread of the runtime may wait on a future of its own.
                let check = super::trusted::check(
                    spec,
                    &trusted_config,
                    &name,
                    &s.kind,
                    s.height,
                    s.head_hash.as_deref(),
                );
                Some(
                    tokio::runtime::Handle::current()
                        .block_on(check)
                        .map_err(nodewarden_backup::BackupError::Refused)?,
                )
            }
            None => None,
        };
        let svc = service.as_ref().map(|s| s as &dyn ServiceControl);
        let report = nodewarden_backup::restore(&repo, snap, &target, &opts, svc, r.as_ref())?;
        let mut pg = Vec::new();
        if let Some(url) = &pg_into {
            let dumps = &snap.snapshot.pg;
            let dump = match dumps.len() {
                1 => &dumps[0],
                0 => {
                    return Err(nodewarden_backup::BackupError::Input(format!(
                        "snapshot {} has no PostgreSQL dump",
                        snap.name()
                    )));
                }
                _ => {
                    return Err(nodewarden_backup::BackupError::Input(format!(
                        "snapshot {} has several PostgreSQL dumps; this build restores one",
                        snap.name()
                    )));
                }
            };
            let index = repo.load_index()?;
            nodewarden_backup::pg_restore(&repo, &index, dump, url)?;
            pg.push(dump.database.clone());
        }
        Ok((snap.name(), report, pg, checked))
    })
    .await?;
    render.done();
    if a.json {
        let mut v = serde_json::to_value(&report).map_err(Failure::runtime)?;
        v["name"] = name.into();
        v["pg"] = pg.into();
        v["checked_against"] = checked.into();
        if store.is_remote() {
            v["transfer"] = serde_json::to_value(store.stats()).map_err(Failure::runtime)?;
        }
        print_json(&v)?;
    } else {
        say!(
            "restored {name} into {}: {} files, {:.1} MiB ({:.1} MiB reused), {:.2}s",
            a.target.display(),
            report.files,
            report.bytes as f64 / 1048576.0,
            report.reused_bytes as f64 / 1048576.0,
            report.seconds
        );
        if report.resumed_bytes > 0 {
            say!(
                "  resumed an interrupted restore: {:.1} MiB were already written",
                report.resumed_bytes as f64 / 1048576.0
            );
        }
        if let Some(line) = checked {
            say!("{line}");
        }
        for d in pg {
            say!("restored PostgreSQL database {d} with pg_restore");
        }
    }
    Ok(0)
}
