//! The backup engine's error type: one line naming the culprit, the cause kept as a source.

use nodewarden_store::StoreError;

/// Every failure is one line naming the culprit. `Input` and `Config` are refusals before
/// anything ran (exit 2: the caller's mistake, or a repository config that is forged or
/// out of bounds); the rest happened at run time (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Input(String),
    /// The repository's `config` does not authenticate, or holds values this build refuses.
    #[error("repository config: {0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("repository is damaged: {0}")]
    Integrity(String),
    /// Another process holds a conflicting lock.
    #[error("{0}")]
    Locked(String),
    /// A child process (pg_dump, pg_restore, a service command) failed or could not run.
    #[error("{0}")]
    Process(String),
    /// The node did not stop or start (the restore may have rolled back).
    #[error("{0}")]
    Service(String),
    /// A pipeline stage stopped because another one failed (that one's error is the cause).
    #[error("the {0} stopped")]
    Stopped(&'static str),
    /// A check the caller asked for refused the snapshot (e.g. a trusted node's chain does
    /// not hold its head): nothing was written.
    #[error("{0}")]
    Refused(String),
    /// A restore that left its staging dir and journal behind and can be resumed.
    #[error("{0}; re-run the same restore to resume")]
    Resumable(#[source] Box<BackupError>),
}

impl BackupError {
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> BackupError {
        BackupError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }

    pub fn is_input(&self) -> bool {
        matches!(self, BackupError::Input(_) | BackupError::Config(_))
    }
}

pub type Result<T, E = BackupError> = std::result::Result<T, E>;
