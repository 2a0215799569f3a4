//! `repair`, `unlock`, `migrate`: putting a damaged, wedged or old repository right.
use clap::{Args, Subcommand};
use nodewarden_config::Config;

use super::{RepoArgs, blocking, print_json};
use crate::exit::CmdResult;
use crate::progress::ByteProgress;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  nodewarden repair index         rebuild the index from the packs' own headers
  nodewarden repair snapshots     move unreadable snapshots to quarantine/

Both take the repository's exclusive lock and are safe to interrupt: the new object is
stored before the old one is removed. `prune` refuses to run while unreadable snapshots or
index files exist, so that damage never turns into deleted data.")]
pub struct RepairArgs {
    #[command(subcommand)]
    pub what: RepairWhat,
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum RepairWhat {
    /// Rebuild the index from pack headers, replacing every index file.
    Index(RepoOnly),
    /// Move snapshots that cannot be read to quarantine/snapshots/.
    Snapshots(RepoOnly),
}

#[derive(Debug, Args)]
pub struct RepoOnly {
    #[command(flatten)]
    pub repo: RepoArgs,
}

pub async fn repair(a: RepairArgs, config: Config) -> CmdResult {
    let (repo_args, index) = match &a.what {
        RepairWhat::Index(r) => (&r.repo, true),
        RepairWhat::Snapshots(r) => (&r.repo, false),
    };
    let repo = repo_args.open(&config).await?;
    let render = std::sync::Arc::new(ByteProgress::new());
    let r = render.clone();
    let report = blocking(move || {
        if index {
            nodewarden_backup::repair_index(&repo, r.as_ref())
        } else {
            nodewarden_backup::repair_snapshots(&repo, r.as_ref())
        }
    })
    .await?;
    render.done();
    if a.json {
        print_json(&report)?;
    } else if index {
        say!(
            "index rebuilt from {} packs ({} left out), replacing {} index files",
            report.packs_indexed,
            report.packs_skipped.len(),
            report.index_files_replaced
        );
    } else {
        say!(
            "{} unreadable snapshots moved to {}snapshots/",
            report.quarantined.len(),
            nodewarden_backup::QUARANTINE
        );
    }
    Ok(0)
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  nodewarden unlock          remove stale, future-dated and unreadable locks
  nodewarden unlock --all    remove every lock (only when no other nodewarden runs)")]
pub struct UnlockArgs {
    /// Also remove locks that look alive.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub repo: RepoArgs,
}

pub async fn unlock(a: UnlockArgs, config: Config) -> CmdResult {
    let repo = a.repo.open(&config).await?;
    let render = std::sync::Arc::new(ByteProgress::new());
    let (r, all) = (render.clone(), a.all);
    let removed = blocking(move || nodewarden_backup::unlock(&repo, all, r.as_ref())).await?;
    render.done();
    say!("{} locks removed", removed.len());
    Ok(0)
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  nodewarden migrate

Upgrades a format v1 repository to v2: index and snapshot objects are sealed again bound
to their names and the config is authenticated under the repository key. Packs are not
rewritten; ids and signatures do not change. v1 repositories are otherwise read and
written as v1. Safe to interrupt and run again.")]
pub struct MigrateArgs {
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub repo: RepoArgs,
}

pub async fn migrate(a: MigrateArgs, config: Config) -> CmdResult {
    let mut repo = a.repo.open(&config).await?;
    let secret = a.repo.secret(&config)?;
    let render = std::sync::Arc::new(ByteProgress::new());
    let r = render.clone();
    let report =
        blocking(move || nodewarden_backup::migrate(&mut repo, secret.as_ref(), r.as_ref()))
            .await?;
    render.done();
    if a.json {
        print_json(&report)?;
    } else if report.from == report.to {
        say!("the repository is already format v{}", report.to);
    } else {
        say!(
            "migrated from format v{} to v{}: {} objects sealed again, {} unreadable left as they were",
            report.from,
            report.to,
            report.objects,
            report.unreadable.len()
        );
    }
    Ok(0)
}
