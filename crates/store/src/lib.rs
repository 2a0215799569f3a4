//! Repository backends: whole objects addressed by `/`-separated keys, written atomically
//! (an object is either absent or complete, never partial) and never overwritten in part.
//! Two backends: a local directory and S3 (through `object_store`, see `s3.rs` for why).
mod creds;
pub mod direct;
mod limit;
mod local;
mod options;
mod s3;

use bytes::Bytes;
use futures::future::BoxFuture;

pub use local::LocalStore;
pub use options::{MIN_PART_SIZE, RemoteOptions, parse_bytes};
pub use s3::S3Store;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("object {key} not found in {store}")]
    NotFound { store: String, key: String },
    #[error("object {key} already exists in {store}")]
    AlreadyExists { store: String, key: String },
    #[error("{store}: {key}: {message}")]
    Io {
        store: String,
        key: String,
        message: String,
    },
    #[error("invalid key `{0}`: keys are relative `/`-separated names without `.` or `..`")]
    InvalidKey(String),
    #[error("{0}")]
    Url(String),
}

impl StoreError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, StoreError::NotFound { .. })
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
}

/// What a store sent and received so far (remote stores count; the local one reports zeros).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TransferStats {
    pub requests: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
}

/// A repository backend. Every `put` is atomic and durable once it returns.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Where the repository lives, for messages.
    fn describe(&self) -> String;
    /// Off this machine (the engine insists on encryption there).
    fn is_remote(&self) -> bool {
        false
    }
    fn stats(&self) -> TransferStats {
        TransferStats::default()
    }
    /// Removes what killed writers left behind (temp files older than `age`); returns how
    /// many. Stores whose writes are atomic on the server (S3) leave nothing visible.
    fn remove_stale_temp(&self, _age: std::time::Duration) -> BoxFuture<'_, StoreResult<usize>> {
        Box::pin(async { Ok(0) })
    }
    /// How many transfers are worth running at once (a disk: a few; a network store: its
    /// connection count).
    fn parallelism(&self) -> usize {
        2
    }
    /// Write (or replace) a whole object; readers see the old or the new object, never a mix.
    fn put<'a>(&'a self, key: &'a str, data: Bytes) -> BoxFuture<'a, StoreResult<()>>;
    /// Write an object only if no object has that key (for locks and the repository config).
    fn put_new<'a>(&'a self, key: &'a str, data: Bytes) -> BoxFuture<'a, StoreResult<()>>;
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StoreResult<Bytes>>;
    /// `len` bytes at `offset`; fewer only if the object is shorter (an error then).
    fn get_range<'a>(
        &'a self,
        key: &'a str,
        offset: u64,
        len: u64,
    ) -> BoxFuture<'a, StoreResult<Bytes>>;
    /// Every object whose key starts with `prefix` (a folder such as `snapshots/`).
    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, StoreResult<Vec<ObjectMeta>>>;
    /// Deleting an absent object is not an error (S3 semantics).
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StoreResult<()>>;
    /// Deletes every key, `parallelism()` at a time; every delete is durable once this
    /// returns (so callers order phases: index files gone before the packs they name).
    fn delete_many<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, StoreResult<()>> {
        use futures::{StreamExt, TryStreamExt};
        let n = self.parallelism().max(1);
        let deletes: Vec<_> = keys.iter().map(|k| self.delete(k)).collect();
        Box::pin(async move {
            futures::stream::iter(deletes)
                .buffer_unordered(n)
                .try_collect::<()>()
                .await
        })
    }
}

/// `file:///path` or a plain path → a local store; `s3://bucket/prefix` → S3 with `remote`'s
/// settings. Other schemes are named in the error.
pub fn open_url(url: &str, remote: &RemoteOptions) -> StoreResult<Box<dyn Store>> {
    if let Some(path) = url.strip_prefix("file://") {
        if !path.starts_with('/') {
            return Err(StoreError::Url(format!(
                "repository URL `{url}`: file:// needs an absolute path (file:///var/backups/x)"
            )));
        }
        return Ok(Box::new(LocalStore::new(path)));
    }
    if url.starts_with("s3://") {
        return Ok(Box::new(S3Store::open(url, remote)?));
    }
    if url.contains("://") {
        return Err(StoreError::Url(format!(
            "repository URL `{url}`: unknown scheme (use file:///path, a plain path or s3://bucket/prefix)"
        )));
    }
    if url.is_empty() {
        return Err(StoreError::Url("repository URL is empty".into()));
    }
    Ok(Box::new(LocalStore::new(url)))
}

pub(crate) fn check_key(key: &str) -> StoreResult<()> {
    let bad = key.is_empty()
        || key.starts_with('/')
        || key
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == ".." || p.contains('\0'));
    if bad {
        return Err(StoreError::InvalidKey(key.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
