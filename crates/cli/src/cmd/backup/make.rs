//! `init`, `backup`, `snapshots`.
use std::path::PathBuf;

use clap::Args;
use nodewarden_backup::{BackupOptions, InitOptions, Repository};
use nodewarden_config::Config;

use super::{RepoArgs, blocking, failure, print_json};
use crate::exit::{CmdResult, Failure};
use crate::progress::ByteProgress;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  NODEWARDEN_PASSWORD=... nodewarden init --repo /var/backups/nodewarden
  nodewarden init --repo file:///var/backups/plain        no passphrase: not encrypted
  nodewarden init --repo /srv/repo --key-file /etc/nodewarden/repo.key
  nodewarden init --repo s3://backups/znn --s3-endpoint https://s3.example.net
  nodewarden init --repo /srv/repo --pack-size 128MiB   fewer, larger objects

An S3 repository must be encrypted; its keys come from AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY or ~/.aws/credentials (docs/REMOTE.md).

The passphrase comes from NODEWARDEN_PASSWORD or --password-file, never from the command
line. Without either (or --key-file) the repository is not encrypted. A key file is any 32+
random bytes: head -c 64 /dev/urandom > repo.key. A signing key for `backup --sign` is a
32-byte ed25519 seed as hex: head -c 32 /dev/urandom | xxd -p -c 64 > sign.key.")]
pub struct InitArgs {
    /// Target pack size, e.g. 64MiB (1 MiB to 1 GiB). Bigger packs mean fewer requests to
    /// a remote repository, smaller ones less rewriting in prune.
    #[arg(long, value_name = "SIZE", default_value = "32MiB")]
    pub pack_size: String,
    #[command(flatten)]
    pub repo: RepoArgs,
}

pub async fn init(a: InitArgs, config: Config) -> CmdResult {
    let pack_size = nodewarden_store::parse_bytes(&a.pack_size)
        .map_err(|e| Failure::usage(format!("--pack-size: {e}")))?;
    let store = a.repo.store(&config)?;
    let secret = a.repo.secret(&config)?;
    let encrypted = secret.is_some();
    let rt = tokio::runtime::Handle::current();
    let repo = blocking(move || {
        Repository::init(
            store,
            rt,
            InitOptions {
                secret,
                pack_size: Some(pack_size),
                ..Default::default()
            },
        )
    })
    .await?;
    say!(
        "created repository {} at {} (format v{}, {})",
        &repo.config.id[..8],
        repo.describe(),
        repo.config.version,
        if encrypted {
            "encrypted: keep the passphrase or key file, without it the data is lost"
        } else {
            "NOT encrypted"
        }
    );
    Ok(0)
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  nodewarden backup --node znn-main                 stop, freeze, start, then back up
  nodewarden backup --hot /srv/data --node archive  a plain directory, nothing stopped
  nodewarden backup --node znn-main --sign /etc/nodewarden/sign.key
  nodewarden backup --node znn-pillar --window-timeout 10m   freeze in the pillar's quiet gap
  nodewarden backup --hot ./dump --time 2024-05-01T12:00:00Z     (imports)

With --node the node is read over RPC (height, head hash), stopped with its `service`
(systemd unit or stop/start commands), its immutable table files (*.ldb, *.sst) are
hard-linked and the rest copied into a freeze dir next to the data dir, it is started
again and the backup reads the freeze dir while the node runs. The downtime is printed
and recorded. For a node with `pillar = \"NAME\"` the stop waits for the pillar's quiet
gap (right after it produced, when the gap ahead exceeds the expected downtime plus a
margin; --window-timeout bounds the wait) and the JSON's `window` tells whether the pillar
missed a momentum (docs/MAINTENANCE.md). Files whose path, size, mtime and inode match the previous snapshot of the
same node are not read again.")]
pub struct BackupArgs {
    /// The node (a [[node]] in the config; with --hot only its name is used).
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// Back up this directory as it is, without stopping anything.
    #[arg(long, value_name = "PATH")]
    pub hot: Option<PathBuf>,
    /// The snapshot's time (RFC 3339) instead of now, for imports.
    #[arg(long, value_name = "RFC3339")]
    pub time: Option<String>,
    /// Sign the snapshot with this ed25519 key (64 hex digits: the seed).
    #[arg(long, value_name = "KEYFILE")]
    pub sign: Option<PathBuf>,
    /// A JSON report instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub repo: RepoArgs,
    #[command(flatten)]
    pub window: crate::cmd::window::WindowFlags,
}

pub async fn backup(a: BackupArgs, config: Config) -> CmdResult {
    let mut opts = BackupOptions::default();
    if let Some(t) = &a.time {
        opts.time = Some(
            nodewarden_backup::parse_time(t).map_err(|e| Failure::usage(format!("--time: {e}")))?,
        );
    }
    if let Some(k) = &a.sign {
        let bytes =
            std::fs::read(k).map_err(|e| Failure::usage(format!("--sign {}: {e}", k.display())))?;
        opts.sign = Some(
            nodewarden_backup::signing_key(&bytes, &k.display().to_string()).map_err(failure)?,
        );
    }
    let node = match (&a.hot, &a.node) {
        (None, None) => return Err(Failure::usage("backup needs --node NAME or --hot PATH")),
        (None, Some(n)) => Some(config.node(n).map_err(Failure::usage)?.clone()),
        (Some(_), _) => None,
    };
    // The path is checked before the repository so the error names the first culprit.
    let hot = match &a.hot {
        Some(p) => Some(nodewarden_backup::hot_source(p, a.node.as_deref()).map_err(failure)?),
        None => None,
    };
    let repo = a.repo.open(&config).await?;
    let render = std::sync::Arc::new(ByteProgress::new());
    let r = render.clone();
    let store = repo.store_arc();
    let window = a.window.options();
    let out = blocking(move || match (node, hot) {
        (Some(node), _) => {
            nodewarden_backup::backup_node(&repo, &node, opts, window.as_ref(), r.as_ref())
                .map(|n| (n.report.clone(), Some(n)))
        }
        (None, Some(src)) => {
            nodewarden_backup::backup(&repo, &src, &opts, r.as_ref()).map(|rep| (rep, None))
        }
        (None, None) => Err(nodewarden_backup::BackupError::Input(
            "backup needs --node NAME or --hot PATH".into(),
        )),
    })
    .await;
    render.done();
    let (report, node) = out?;
    if a.json {
        let mut v = serde_json::to_value(&report).map_err(Failure::runtime)?;
        if store.is_remote() {
            v["transfer"] = serde_json::to_value(store.stats()).map_err(Failure::runtime)?;
        }
        if let Some(n) = &node {
            v["downtime_ms"] = n.downtime_ms.into();
            v["freeze_ms"] = n.freeze_ms.into();
            v["freeze_method"] = n.freeze_method.into();
            v["linked_files"] = n.linked_files.into();
            v["copied_files"] = n.copied_files.into();
            if let Some(w) = &n.window {
                v["window"] = serde_json::to_value(w).map_err(Failure::runtime)?;
            }
        }
        print_json(&v)?;
        return Ok(0);
    }
    for s in &report.skipped {
        eprintln!("note: skipped {s} (not a file, directory or symlink)");
    }
    say!("snapshot {} saved: {}", &report.id[..8], report.name);
    say!(
        "  {} files ({} read again), {:.1} MiB, {:.1} MiB read, {} new chunks, {:.1} MiB added, {:.2}s",
        report.files,
        report.files_read,
        mib(report.size_bytes),
        mib(report.bytes_read),
        report.new_chunks,
        mib(report.stored_bytes),
        report.seconds
    );
    if let Some(n) = node {
        say!(
            "  downtime {:.2}s (freeze {:.2}s: {} linked, {} copied, {})",
            n.downtime_ms as f64 / 1000.0,
            n.freeze_ms as f64 / 1000.0,
            n.linked_files,
            n.copied_files,
            n.freeze_method
        );
    }
    if let Some(k) = report.signed_by {
        say!("  signed by ed25519 key {k}");
    }
    Ok(0)
}

fn mib(b: u64) -> f64 {
    b as f64 / 1048576.0
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  nodewarden snapshots
  nodewarden snapshots --json | jq '.[-1].name'

A snapshot is named on the command line by its id, a unique id prefix (4+ characters),
its name (<node>-h<height>-<hash8>-<yyyymmddThhmmssZ>) or `latest`.")]
pub struct SnapshotsArgs {
    /// An array of snapshots, oldest first.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub repo: RepoArgs,
}

pub async fn snapshots(a: SnapshotsArgs, config: Config) -> CmdResult {
    let repo = a.repo.open(&config).await?;
    let (all, unreadable) = blocking(move || nodewarden_backup::scan_snapshots(&repo)).await?;
    for u in &unreadable {
        eprintln!("warning: skipping unreadable {}: {}", u.key, u.error);
    }
    let rows: Vec<_> = all.iter().map(|s| s.summary()).collect();
    if a.json {
        print_json(&rows)?;
        return Ok(0);
    }
    if rows.is_empty() {
        say!("no snapshots");
        return Ok(0);
    }
    say!(
        "{:<8}  {:<20}  {:>10}  {:<6}  name",
        "id",
        "time",
        "size",
        "signed"
    );
    for r in rows {
        say!(
            "{:<8}  {:<20}  {:>8.1}Mi  {:<6}  {}",
            r.short_id,
            r.time,
            mib(r.size_bytes),
            if r.signed { "yes" } else { "no" },
            r.name
        );
    }
    Ok(0)
}
