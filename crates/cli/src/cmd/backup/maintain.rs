//! `forget`, `prune`, `verify`.
use clap::Args;
use nodewarden_backup::KeepPolicy;
use nodewarden_config::Config;

use super::{RepoArgs, blocking, print_json};
use crate::exit::{CmdResult, Failure};
use crate::progress::ByteProgress;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  nodewarden forget --keep-last 3 --keep-daily 7 --keep-weekly 4 --dry-run
  nodewarden forget --keep-daily 7 --keep-monthly 12 --prune
  nodewarden forget --keep-last 5 --dry-run --json

Buckets are UTC calendar periods (weeks are ISO weeks: 2024-12-30 is in 2025-W01). In each
of the N most recent periods that have snapshots the newest snapshot is kept; every rule
counts on its own and a snapshot kept by any rule stays. Chain heights play no part.")]
pub struct ForgetArgs {
    #[arg(long, value_name = "N")]
    pub keep_last: Option<usize>,
    #[arg(long, value_name = "N")]
    pub keep_hourly: Option<usize>,
    #[arg(long, value_name = "N")]
    pub keep_daily: Option<usize>,
    #[arg(long, value_name = "N")]
    pub keep_weekly: Option<usize>,
    #[arg(long, value_name = "N")]
    pub keep_monthly: Option<usize>,
    #[arg(long, value_name = "N")]
    pub keep_yearly: Option<usize>,
    /// Show what would be kept and why; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Every snapshot as {id, time, keep, reasons}, oldest first.
    #[arg(long)]
    pub json: bool,
    /// Prune afterwards.
    #[arg(long, conflicts_with = "dry_run")]
    pub prune: bool,
    #[command(flatten)]
    pub repo: RepoArgs,
}

pub async fn forget(a: ForgetArgs, config: Config) -> CmdResult {
    let policy = KeepPolicy {
        last: a.keep_last,
        hourly: a.keep_hourly,
        daily: a.keep_daily,
        weekly: a.keep_weekly,
        monthly: a.keep_monthly,
        yearly: a.keep_yearly,
    };
    if policy.is_empty() {
        return Err(Failure::usage(
            "forget needs at least one --keep-* rule (without one every snapshot would go)",
        ));
    }
    let repo = a.repo.open(&config).await?;
    let render = std::sync::Arc::new(ByteProgress::new());
    let (r, dry, prune) = (render.clone(), a.dry_run, a.prune);
    let (decisions, pruned) = blocking(move || {
        let d = nodewarden_backup::forget(&repo, &policy, dry, r.as_ref())?;
        let p = if prune {
            Some(nodewarden_backup::prune(&repo, r.as_ref())?)
        } else {
            None
        };
        Ok((d, p))
    })
    .await?;
    render.done();
    if a.json {
        print_json(&decisions)?;
    } else {
        for d in &decisions {
            let verb = match (d.keep, a.dry_run) {
                (true, _) => "keep  ",
                (false, true) => "would forget",
                (false, false) => "forgot",
            };
            say!("{verb} {} {} {}", &d.id[..8], d.time, d.reasons.join(","));
        }
    }
    if let Some(p) = pruned
        && !a.json
    {
        print_prune(&p);
    }
    Ok(0)
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  nodewarden prune

Deletes packs no snapshot needs and rewrites packs that are mostly unused. Takes the
repository's exclusive lock (a running backup makes it wait for a retry); a lock left by
a crashed process is detected and removed.")]
pub struct PruneArgs {
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub repo: RepoArgs,
}

pub async fn prune(a: PruneArgs, config: Config) -> CmdResult {
    let repo = a.repo.open(&config).await?;
    let render = std::sync::Arc::new(ByteProgress::new());
    let r = render.clone();
    let report = blocking(move || nodewarden_backup::prune(&repo, r.as_ref())).await?;
    render.done();
    if a.json {
        print_json(&report)?;
    } else {
        print_prune(&report);
    }
    Ok(0)
}

fn print_prune(p: &nodewarden_backup::PruneReport) {
    say!(
        "pruned: {} packs deleted, {} repacked into {}, {} chunks dropped, {:.1} MiB freed",
        p.packs_deleted,
        p.packs_repacked,
        p.packs_written,
        p.chunks_dropped,
        p.bytes_freed as f64 / 1048576.0
    );
    if p.temp_files_removed > 0 {
        say!(
            "  removed {} temp files left by killed writers",
            p.temp_files_removed
        );
    }
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  nodewarden verify                           structure: every chunk indexed, every pack there
  nodewarden verify --read-data               every byte read back and re-hashed
  nodewarden verify --read-data-subset 10%    a random tenth of the packs

Exit 0 when the repository is sound, 1 when anything is damaged (the snapshots and files
affected are named).")]
pub struct VerifyArgs {
    #[arg(long)]
    pub read_data: bool,
    /// Read this share of the packs (e.g. 10%), chosen at random.
    #[arg(long, value_name = "N%", conflicts_with = "read_data", value_parser = parse_percent)]
    pub read_data_subset: Option<f64>,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub repo: RepoArgs,
}

fn parse_percent(s: &str) -> Result<f64, String> {
    let n: f64 = s
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("`{s}` is not a percentage like 10%"))?;
    if !(n > 0.0 && n <= 100.0) {
        return Err(format!("`{s}`: the share must be in (0, 100]%"));
    }
    Ok(n / 100.0)
}

pub async fn verify(a: VerifyArgs, config: Config) -> CmdResult {
    let repo = a.repo.open(&config).await?;
    let fraction = if a.read_data {
        Some(1.0)
    } else {
        a.read_data_subset
    };
    let render = std::sync::Arc::new(ByteProgress::new());
    let r = render.clone();
    let report = blocking(move || nodewarden_backup::verify(&repo, fraction, r.as_ref())).await?;
    render.done();
    if a.json {
        print_json(&report)?;
    } else {
        for p in &report.problems {
            say!("problem: {p}");
        }
        for d in &report.damaged {
            say!("damaged: {d}");
        }
        say!(
            "{}: {} snapshots, {} packs, {} chunks; {} packs and {} chunks read",
            if report.ok() { "ok" } else { "DAMAGED" },
            report.snapshots,
            report.packs,
            report.chunks,
            report.packs_read,
            report.chunks_read
        );
    }
    Ok(if report.ok() { 0 } else { 1 })
}
