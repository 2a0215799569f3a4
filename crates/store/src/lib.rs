//! Repository backends: whole objects addressed by `/`-separated keys, written atomically
//! (an object is either absent or complete, never partial) and never overwritten in part.
//! The shape follows `object_store` so that an S3 backend can sit behind the same trait.
mod local;

use bytes::Bytes;
use futures::future::BoxFuture;

pub use local::LocalStore;

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

/// A repository backend. Every `put` is atomic and durable once it returns.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Where the repository lives, for messages.
    fn describe(&self) -> String;
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
}

/// `file:///path` or a plain path → a local store. Other schemes are named in the error.
pub fn open_url(url: &str) -> StoreResult<Box<dyn Store>> {
    if let Some(path) = url.strip_prefix("file://") {
        if !path.starts_with('/') {
            return Err(StoreError::Url(format!(
                "repository URL `{url}`: file:// needs an absolute path (file:///var/backups/x)"
            )));
        }
        return Ok(Box::new(LocalStore::new(path)));
    }
    if url.starts_with("s3://") {
        return Err(StoreError::Url(format!(
            "repository URL `{url}`: S3 repositories are not supported by this build yet"
        )));
    }
    if url.contains("://") {
        return Err(StoreError::Url(format!(
            "repository URL `{url}`: unknown scheme (use file:///path or a plain path)"
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
