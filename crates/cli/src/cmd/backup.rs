//! Backup commands (DESIGN.md §5, §7): init, backup, snapshots, forget, prune, verify,
//! restore. Wiring only: the engine is `nodewarden-backup`.
/// `println!` that does not panic when stdout is a closed pipe (`| head`).
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

mod maintain;
mod make;
mod progress;
mod restore;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Subcommand};
use nodewarden_backup::{BackupError, Repository, Secret};
use nodewarden_config::Config;

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
    }
}

/// Where the repository is and how to open it; every backup command has these.
#[derive(Debug, Args, Clone)]
pub struct RepoArgs {
    /// Repository URL (file:///path or a path); overrides [repository] url.
    #[arg(long, value_name = "URL")]
    pub repo: Option<String>,
    /// File holding the repository passphrase [default: $NODEWARDEN_PASSWORD].
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Key file (at least 32 random bytes) instead of a passphrase.
    #[arg(long, value_name = "FILE", conflicts_with = "password_file")]
    pub key_file: Option<PathBuf>,
}

impl RepoArgs {
    fn url(&self, config: &Config) -> Result<String, Failure> {
        self.repo
            .clone()
            .or_else(|| config.repository.as_ref().map(|r| r.url.clone()))
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
        Secret::from_sources(self.key_file.as_deref(), file.as_deref()).map_err(Failure::usage)
    }

    fn store(&self, config: &Config) -> Result<Arc<dyn nodewarden_store::Store>, Failure> {
        let url = self.url(config)?;
        nodewarden_store::open_url(&url)
            .map(Arc::from)
            .map_err(Failure::usage)
    }

    /// Opens the repository on a blocking thread (argon2 takes a moment).
    async fn open(&self, config: &Config) -> Result<Repository, Failure> {
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

fn failure(e: BackupError) -> Failure {
    if e.is_input() {
        Failure::usage(e)
    } else {
        Failure::runtime(e)
    }
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(v).map_err(Failure::runtime)?;
    say!("{text}");
    Ok(())
}
