//! Backup commands: init, backup, snapshots, forget, prune, verify,
//! restore. Wiring only: the engine is `nodewarden-backup`.
/// `println!` that does not panic when stdout is a closed pipe (`| head`).
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(crate::out::stdout(), $($t)*);
    }};
}

mod copy;
mod maintain;
mod make;
mod repair;
mod restore;
mod trusted;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Subcommand};
use nodewarden_backup::{BackupError, Repository, Secret};
use nodewarden_config::Config;
use nodewarden_model::repository::{ByteSize, RemoteOptions, RepositorySettings};

use crate::exit::{CmdResult, Failure};

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Create a backup repository (encrypted when a passphrase or key file is given).
    Init(make::InitArgs),
    /// Back up a node (freeze: stop, hard-link, start, then read) or a plain directory.
    Backup(make::BackupArgs),
    /// List the snapshots in the repository, oldest first.
    Snapshots(make::SnapshotsArgs),
    /// Forget snapshots by retention rules (--keep-*), optionally pruning afterwards.
    Forget(maintain::ForgetArgs),
    /// Delete data no snapshot references and repack mostly-empty packs.
    Prune(maintain::PruneArgs),
    /// Check the repository: structure, and with --read-data every byte.
    Verify(maintain::VerifyArgs),
    /// Restore a snapshot into a directory (staged, verified, swapped in atomically).
    Restore(restore::RestoreArgs),
    /// Copy snapshots between repositories (local → S3 and back), resumably.
    Copy(copy::CopyArgs),
    /// Repair a damaged repository: rebuild the index, quarantine unreadable snapshots.
    Repair(repair::RepairArgs),
    /// Remove stale, future-dated or (with --all) every lock.
    Unlock(repair::UnlockArgs),
    /// Upgrade a format v1 repository to v2.
    Migrate(repair::MigrateArgs),
}

pub async fn run(cmd: BackupCommand, config: Option<&Path>) -> CmdResult {
    let config = Config::load(config).map_err(Failure::usage)?.config;
    match cmd {
        BackupCommand::Init(a) => make::init(a, config).await,
        BackupCommand::Backup(a) => make::backup(a, config).await,
        BackupCommand::Snapshots(a) => make::snapshots(a, config).await,
        BackupCommand::Forget(a) => maintain::forget(a, config).await,
        BackupCommand::Prune(a) => maintain::prune(a, config).await,
        BackupCommand::Verify(a) => maintain::verify(a, config).await,
        BackupCommand::Restore(a) => restore::restore(a, config).await,
        BackupCommand::Copy(a) => copy::copy(a, config).await,
        BackupCommand::Repair(a) => repair::repair(a, config).await,
        BackupCommand::Unlock(a) => repair::unlock(a, config).await,
        BackupCommand::Migrate(a) => repair::migrate(a, config).await,
    }
}

/// Where the repository is and how to open it; every backup command has these.
#[derive(Debug, Args, Clone)]
pub struct RepoArgs {
    /// Repository URL (a path, file:///path or s3://bucket/prefix); overrides [repository] url.
    #[arg(long, value_name = "URL")]
    pub repo: Option<String>,
    /// File holding the repository passphrase [default: $NODEWARDEN_PASSWORD].
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Key file (at least 32 random bytes) instead of a passphrase.
    #[arg(long, value_name = "FILE", conflicts_with = "password_file")]
    pub key_file: Option<PathBuf>,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// S3 settings; each overrides the same key in `[repository]`. Credentials never come from
/// here: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or ~/.aws/credentials.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Remote repositories (s3://bucket/prefix)")]
pub struct RemoteArgs {
    /// An S3-compatible server, e.g. http://127.0.0.1:9000 [default: AWS].
    #[arg(long, value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// The bucket's region [default: $AWS_REGION, else us-east-1].
    #[arg(long, value_name = "REGION")]
    pub s3_region: Option<String>,
    /// Path-style requests (endpoint/bucket/key) [default: on with --s3-endpoint].
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub s3_path_style: Option<bool>,
    /// Requests in flight at once (uploads, downloads, multipart parts) [default: 8].
    #[arg(long, value_name = "N")]
    pub connections: Option<usize>,
    /// Average upload cap per second, e.g. 20MiB.
    #[arg(long, value_name = "RATE")]
    pub limit_upload: Option<ByteSize>,
    /// Average download cap per second, e.g. 50MiB.
    #[arg(long, value_name = "RATE")]
    pub limit_download: Option<ByteSize>,
}

impl RemoteArgs {
    /// The flags as a settings layer, to lay over `[repository]`.
    fn settings(&self) -> RepositorySettings {
        RepositorySettings {
            s3_endpoint: self.s3_endpoint.clone(),
            region: self.s3_region.clone(),
            path_style: self.s3_path_style,
            connections: self.connections,
            limit_upload: self.limit_upload,
            limit_download: self.limit_download,
            ..RepositorySettings::default()
        }
    }
}

/// The remote settings: flags over `[repository]` over defaults, resolved in one place. An
/// out-of-range value is named as the flag when a flag set it, else as the config key.
pub fn remote_options(
    args: &RemoteArgs,
    config: Option<&RepositorySettings>,
) -> Result<RemoteOptions, Failure> {
    let flags = args.settings();
    let merged = config.cloned().unwrap_or_default().overlay(flags.clone());
    merged.remote_options().map_err(|e| {
        let flag = match e.key {
            "s3_endpoint" if flags.s3_endpoint.is_some() => Some("--s3-endpoint"),
            "region" if flags.region.is_some() => Some("--s3-region"),
            "connections" if flags.connections.is_some() => Some("--connections"),
            "limit_upload" if flags.limit_upload.is_some() => Some("--limit-upload"),
            "limit_download" if flags.limit_download.is_some() => Some("--limit-download"),
            _ => None,
        };
        match flag {
            Some(flag) => Failure::usage(format!("{flag}: {}", e.message)),
            None => Failure::usage(format!("[repository] {e}")),
        }
    })
}

impl RepoArgs {
    fn url(&self, config: &Config) -> Result<String, Failure> {
        self.repo
            .clone()
            .or_else(|| config.repository.as_ref().and_then(|r| r.url.clone()))
            .ok_or_else(|| {
                Failure::usage(
                    "no repository: pass --repo URL or set [repository] url in nodewarden.toml",
                )
            })
    }

    /// The secret, from a key file, a password file, or NODEWARDEN_PASSWORD; never argv.
    fn secret(&self, config: &Config) -> Result<Option<Secret>, Failure> {
        let file = self.password_file.clone().or_else(|| {
            config
                .repository
                .as_ref()
                .and_then(|r| r.password_file.clone())
        });
        let secret = Secret::from_sources(self.key_file.as_deref(), file.as_deref())
            .map_err(Failure::usage)?;
        if let Some(s) = &secret {
            s.note_weaknesses(
                self.key_file.as_deref(),
                file.as_deref(),
                &crate::progress::ByteProgress::new(),
            );
        }
        Ok(secret)
    }

    fn store(&self, config: &Config) -> Result<Arc<dyn nodewarden_store::Store>, Failure> {
        let url = self.url(config)?;
        let remote = remote_options(&self.remote, config.repository.as_ref())?;
        nodewarden_store::open_url(&url, &remote)
            .map(Arc::from)
            .map_err(Failure::usage)
    }

    /// Opens the repository on a blocking thread (argon2 takes a moment).
    pub(crate) async fn open(&self, config: &Config) -> Result<Repository, Failure> {
        let store = self.store(config)?;
        let secret = self.secret(config)?;
        let rt = tokio::runtime::Handle::current();
        blocking(move || Repository::open(store, rt, secret.as_ref())).await
    }
}

/// Runs engine code (synchronous, it drives the store through the runtime handle) off the
/// async workers and maps its errors to exit codes.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BackupError> + Send + 'static,
) -> Result<T, Failure> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Failure::runtime(format!("internal error: {e}")))?
        .map_err(failure)
}

pub(crate) fn failure(e: BackupError) -> Failure {
    if e.is_input() {
        Failure::usage(e)
    } else {
        Failure::runtime(e)
    }
}

pub(crate) fn print_json<T: serde::Serialize>(v: &T) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(v).map_err(Failure::runtime)?;
    say!("{text}");
    Ok(())
}
