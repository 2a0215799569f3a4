//! The backup engine's error type: one line naming the culprit, the cause kept as a source.

use nodewarden_store::StoreError;

/// Every failure is one line naming the culprit. `Input` is the caller's mistake (exit 2);
/// the rest happened at run time (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error("repository is damaged: {0}")]
    Integrity(String),
    #[error("{0}")]
    Other(String),
}

impl BackupError {
    pub fn io(path: impl AsRef<std::path::Path>, e: impl std::fmt::Display) -> BackupError {
        BackupError::Io {
            path: path.as_ref().display().to_string(),
            message: e.to_string(),
        }
    }

    pub fn is_input(&self) -> bool {
        matches!(self, BackupError::Input(_))
    }
}

pub type Result<T, E = BackupError> = std::result::Result<T, E>;
