//! A repository in an S3 bucket (AWS or any S3-compatible server) through `object_store`.
//!
//! Why `object_store`: it is the Apache Arrow project's store layer, used by DataFusion,
//! delta-rs and many others, so its S3 dialect quirks (path-style, conditional puts,
//! multipart, pagination) are tested against far more servers than we could; it shares our
//! HTTP stack (reqwest 0.13, rustls, aws-lc) so it adds little build time; and its retry
//! policy is the one we want: exponential backoff with decorrelated jitter on 5xx, 429, 408,
//! connection errors and (for idempotent requests: every plain PUT of ours, since keys are
//! content-addressed; create-if-absent PUTs are retried by `put_new` itself) timeouts and
//! resets. The AWS SDK would add several minutes of build on 2 cores for nothing we use.
//!
//! Visibility: S3 shows an object only once its PUT or CompleteMultipartUpload succeeded,
//! so a killed upload leaves nothing half-written in the listing (an unfinished multipart
//! upload is invisible; a bucket lifecycle rule can expire those).
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload,
    RetryConfig,
};
use tokio::sync::Semaphore;

use crate::creds::{self, Creds};
use crate::limit::RateLimit;
use crate::{ObjectMeta, RemoteOptions, Store, StoreError, StoreResult, TransferStats, check_key};

#[derive(Debug)]
pub struct S3Store {
    s3: AmazonS3,
    bucket: String,
    prefix: String,
    part_size: u64,
    connections: usize,
    /// For the retries of conditional PUTs object_store does not retry (see `put_new`).
    retries: usize,
    slots: Arc<Semaphore>,
    up: Option<RateLimit>,
    down: Option<RateLimit>,
    stats: Stats,
}

#[derive(Debug, Default)]
struct Stats {
    requests: AtomicU64,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
}

/// `s3://bucket/prefix` → (bucket, prefix without slashes at either end).
pub fn parse_url(url: &str) -> StoreResult<(String, String)> {
    let rest = url.strip_prefix("s3://").unwrap_or(url);
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let ok = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && !bucket.starts_with(['-', '.'])
        && !bucket.ends_with(['-', '.']);
    if !ok {
        return Err(StoreError::Url(format!(
            "repository URL `{url}`: `{bucket}` is not an S3 bucket name (3-63 of a-z 0-9 . -)"
        )));
    }
    let prefix = prefix.trim_matches('/').to_string();
    if !prefix.is_empty() && check_key(&prefix).is_err() {
        return Err(StoreError::Url(format!(
            "repository URL `{url}`: prefix `{prefix}` has empty, `.` or `..` parts"
        )));
    }
    Ok((bucket.to_string(), prefix))
}

impl S3Store {
    pub fn open(url: &str, opts: &RemoteOptions) -> StoreResult<S3Store> {
        Self::open_with_env(url, opts, &|k| std::env::var(k).ok())
    }

    fn open_with_env(
        url: &str,
        opts: &RemoteOptions,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> StoreResult<S3Store> {
        crate::options::validate(opts)?;
        let (bucket, prefix) = parse_url(url)?;
        let path_style = opts.path_style.unwrap_or(opts.endpoint.is_some());
        let client = ClientOptions::new()
            .with_timeout(opts.request_timeout)
            .with_connect_timeout(Duration::from_secs(10).min(opts.request_timeout))
            .with_pool_max_idle_per_host(opts.connections)
            .with_allow_http(
                opts.endpoint
                    .as_deref()
                    .is_some_and(|e| e.starts_with("http://")),
            );
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(10),
                base: 2.0,
            },
            max_retries: opts.retries,
            retry_timeout: Duration::from_secs(300),
        };
        let mut b = AmazonS3Builder::from_env()
            .with_bucket_name(&bucket)
            .with_virtual_hosted_style_request(!path_style)
            .with_client_options(client)
            .with_retry(retry);
        let region = opts
            .region
            .clone()
            .or_else(|| env("AWS_REGION"))
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| "us-east-1".into());
        b = b.with_region(region);
        if let Some(e) = &opts.endpoint {
            let e = e.trim_end_matches('/');
            b = b.with_endpoint(if path_style {
                e.to_string()
            } else {
                // Virtual-hosted against a custom endpoint: object_store wants the bucket in it.
                e.replacen("://", &format!("://{bucket}."), 1)
            });
        }
        // Name the repository, like every other error about bad input.
        let found = creds::find(env).map_err(|e| match e {
            StoreError::Url(m) => StoreError::Url(match m.strip_prefix("no S3 credentials") {
                Some(rest) => format!("no S3 credentials for {url}{rest}"),
                None => format!("{url}: {m}"),
            }),
            e => e,
        })?;
        match found {
            Creds::Static {
                key_id,
                secret,
                token,
            } => {
                b = b.with_access_key_id(key_id).with_secret_access_key(secret);
                if let Some(t) = token {
                    b = b.with_token(t);
                }
            }
            Creds::FromEnvironment => {}
        }
        let s3 = b
            .build()
            .map_err(|e| StoreError::Url(format!("{url}: {e}")))?;
        Ok(S3Store {
            s3,
            bucket,
            prefix,
            part_size: opts.part_size,
            connections: opts.connections,
            retries: opts.retries,
            slots: Arc::new(Semaphore::new(opts.connections)),
            up: opts.limit_upload.map(RateLimit::new),
            down: opts.limit_download.map(RateLimit::new),
            stats: Stats::default(),
        })
    }

    fn path(&self, key: &str) -> StoreResult<Path> {
        check_key(key)?;
        Ok(if self.prefix.is_empty() {
            Path::from(key)
        } else {
            Path::from(format!("{}/{key}", self.prefix))
        })
    }

    fn err(&self, key: &str, e: object_store::Error) -> StoreError {
        match e {
            object_store::Error::NotFound { .. } => StoreError::NotFound {
                store: self.describe(),
                key: key.to_string(),
            },
            object_store::Error::AlreadyExists { .. }
            | object_store::Error::Precondition { .. } => StoreError::AlreadyExists {
                store: self.describe(),
                key: key.to_string(),
            },
            e => {
                // The top message says "error sending request"; the cause ("Connection
                // refused", "dns error") is at the bottom of the chain.
                let mut message = e.to_string();
                let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(&e);
                while let Some(c) = cause {
                    let text = c.to_string();
                    if !message.contains(&text) {
                        message = format!("{message}: {text}");
                    }
                    cause = c.source();
                }
                StoreError::Io {
                    store: self.describe(),
                    key: key.to_string(),
                    // Server error bodies are XML over several lines: keep errors to one line.
                    message: message.split_whitespace().collect::<Vec<_>>().join(" "),
                }
            }
        }
    }

    /// A write answered "not found" means the bucket is missing, not the object.
    fn put_err(&self, key: &str, e: object_store::Error) -> StoreError {
        match e {
            object_store::Error::NotFound { .. } => StoreError::Io {
                store: self.describe(),
                key: key.to_string(),
                message: format!(
                    "the bucket `{}` does not exist (create it first, or check the S3 endpoint setting)",
                    self.bucket
                ),
            },
            e => self.err(key, e),
        }
    }

    /// One request slot; held for the whole request so `connections` bounds the sockets.
    async fn slot(&self) -> tokio::sync::SemaphorePermit<'_> {
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        self.slots
            .acquire()
            .await
            .expect("the semaphore is never closed")
    }

    async fn upload(&self, key: &str, data: Bytes, mode: PutMode) -> StoreResult<()> {
        let path = self.path(key)?;
        let len = data.len() as u64;
        if len > self.part_size && matches!(mode, PutMode::Overwrite) {
            return self.upload_multipart(key, &path, data).await;
        }
        if let Some(l) = &self.up {
            l.take(len).await;
        }
        let _slot = self.slot().await;
        let opts = PutOptions {
            mode,
            ..Default::default()
        };
        self.s3
            .put_opts(&path, PutPayload::from_bytes(data), opts)
            .await
            .map_err(|e| self.put_err(key, e))?;
        self.stats.bytes_up.fetch_add(len, Ordering::Relaxed);
        Ok(())
    }

    /// Parts go up concurrently (each retried on its own by object_store); the object only
    /// appears on complete. Any failure aborts the upload so no parts are left billed.
    async fn upload_multipart(&self, key: &str, path: &Path, data: Bytes) -> StoreResult<()> {
        let id = {
            let _slot = self.slot().await;
            self.s3
                .create_multipart(path)
                .await
                .map_err(|e| self.put_err(key, e))?
        };
        let ranges: Vec<Range<usize>> = (0..data.len())
            .step_by(self.part_size as usize)
            .map(|s| s..(s + self.part_size as usize).min(data.len()))
            .collect();
        let parts = futures::stream::iter(ranges.into_iter().enumerate())
            .map(|(i, r)| {
                let (id, part) = (&id, data.slice(r));
                async move {
                    if let Some(l) = &self.up {
                        l.take(part.len() as u64).await;
                    }
                    let _slot = self.slot().await;
                    let n = part.len() as u64;
                    let p = self
                        .s3
                        .put_part(path, id, i, PutPayload::from_bytes(part))
                        .await?;
                    self.stats.bytes_up.fetch_add(n, Ordering::Relaxed);
                    Ok::<PartId, object_store::Error>(p)
                }
            })
            .buffered(self.connections)
            .try_collect::<Vec<PartId>>()
            .await;
        let done = match parts {
            Ok(parts) => {
                let _slot = self.slot().await;
                self.s3.complete_multipart(path, &id, parts).await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = done {
            let _slot = self.slot().await;
            let _ = self.s3.abort_multipart(path, &id).await;
            return Err(self.err(key, e));
        }
        Ok(())
    }

    async fn fetch(&self, key: &str, range: Option<Range<u64>>) -> StoreResult<Bytes> {
        let path = self.path(key)?;
        if let (Some(l), Some(r)) = (&self.down, &range) {
            l.take(r.end - r.start).await;
        }
        let data = {
            let _slot = self.slot().await;
            match &range {
                Some(r) => self.s3.get_range(&path, r.clone()).await,
                None => match self.s3.get(&path).await {
                    Ok(g) => g.bytes().await,
                    Err(e) => Err(e),
                },
            }
            .map_err(|e| self.err(key, e))?
        };
        if let Some(r) = &range
            && (data.len() as u64) < r.end - r.start
        {
            return Err(StoreError::Io {
                store: self.describe(),
                key: key.to_string(),
                message: format!("object is shorter than {} bytes", r.end),
            });
        }
        if let (Some(l), None) = (&self.down, &range) {
            // Length known only now: the cap holds back the next request instead.
            l.take(data.len() as u64).await;
        }
        self.stats
            .bytes_down
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        Ok(data)
    }

    async fn list_all(&self, prefix: &str) -> StoreResult<Vec<ObjectMeta>> {
        // object_store lists whole path segments: list the folder the prefix names, then
        // filter by the full prefix (callers pass folders like `snapshots/` anyway).
        let dir = prefix.rfind('/').map_or("", |i| &prefix[..i]);
        let root = match (self.prefix.is_empty(), dir.is_empty()) {
            (true, true) => None,
            (true, false) => Some(Path::from(dir)),
            (false, true) => Some(Path::from(self.prefix.as_str())),
            (false, false) => Some(Path::from(format!("{}/{dir}", self.prefix))),
        };
        let strip = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        let _slot = self.slot().await;
        let mut out = Vec::new();
        let mut stream = self.s3.list(root.as_ref());
        while let Some(meta) = stream.next().await {
            let meta = meta.map_err(|e| self.err(prefix, e))?;
            let full = meta.location.to_string();
            let Some(key) = full.strip_prefix(&strip) else {
                continue;
            };
            if key.starts_with(prefix) {
                out.push(ObjectMeta {
                    key: key.to_string(),
                    size: meta.size,
                });
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn exists(&self, key: &str) -> StoreResult<bool> {
        let path = self.path(key)?;
        let _slot = self.slot().await;
        match self.s3.head(&path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.err(key, e)),
        }
    }
}

impl Store for S3Store {
    fn describe(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    fn is_remote(&self) -> bool {
        true
    }

    fn parallelism(&self) -> usize {
        self.connections
    }

    fn stats(&self) -> TransferStats {
        TransferStats {
            requests: self.stats.requests.load(Ordering::Relaxed),
            bytes_up: self.stats.bytes_up.load(Ordering::Relaxed),
            bytes_down: self.stats.bytes_down.load(Ordering::Relaxed),
        }
    }

    fn put<'a>(&'a self, key: &'a str, data: Bytes) -> BoxFuture<'a, StoreResult<()>> {
        self.upload(key, data, PutMode::Overwrite).boxed()
    }

    fn put_new<'a>(&'a self, key: &'a str, data: Bytes) -> BoxFuture<'a, StoreResult<()>> {
        async move {
            let exists = || StoreError::AlreadyExists {
                store: self.describe(),
                key: key.to_string(),
            };
            let mut attempt = 0;
            loop {
                // Look first: some S3-compatible servers ignore If-None-Match and would
                // overwrite. After a lost answer the object found may be our own.
                if self.exists(key).await? {
                    if attempt > 0 && self.fetch(key, None).await? == data {
                        return Ok(());
                    }
                    return Err(exists());
                }
                match self.upload(key, data.clone(), PutMode::Create).await {
                    Err(StoreError::Io { message, .. })
                        if message.contains("NotImplemented")
                            || message.contains("not implemented") =>
                    {
                        return self.upload(key, data, PutMode::Overwrite).await;
                    }
                    // object_store retries 5xx answers itself (its message then counts
                    // them), but not a conditional PUT whose answer was lost to a reset or
                    // a timeout (an "HTTP error": no answer), since it is not idempotent:
                    // one lost answer would fail a whole backup at its lock. Retry here;
                    // the look above tells whether the lost one landed.
                    Err(StoreError::Io { message, .. })
                        if attempt < self.retries
                            && message.contains("HTTP error")
                            && !message.contains("max_retries") =>
                    {
                        attempt += 1;
                        tokio::time::sleep(Duration::from_millis(100 << attempt.min(6))).await;
                    }
                    Err(StoreError::AlreadyExists { .. }) if attempt > 0 => {
                        // Our earlier attempt landed (servers that honour If-None-Match).
                        return match self.fetch(key, None).await {
                            Ok(b) if b == data => Ok(()),
                            _ => Err(exists()),
                        };
                    }
                    r => return r,
                }
            }
        }
        .boxed()
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StoreResult<Bytes>> {
        self.fetch(key, None).boxed()
    }

    fn get_range<'a>(
        &'a self,
        key: &'a str,
        offset: u64,
        len: u64,
    ) -> BoxFuture<'a, StoreResult<Bytes>> {
        self.fetch(key, Some(offset..offset + len)).boxed()
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, StoreResult<Vec<ObjectMeta>>> {
        self.list_all(prefix).boxed()
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StoreResult<()>> {
        async move {
            let path = self.path(key)?;
            let _slot = self.slot().await;
            match self.s3.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(self.err(key, e)),
            }
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_bucket_and_prefix() {
        assert_eq!(
            parse_url("s3://node-backups/znn/main/").unwrap(),
            ("node-backups".into(), "znn/main".into())
        );
        assert_eq!(parse_url("s3://abc").unwrap(), ("abc".into(), "".into()));
        for bad in [
            "s3://",
            "s3://Upper",
            "s3://ab",
            "s3://x_y/z",
            "s3://abc/a/../b",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_endpoints_and_limits_are_refused_before_object_store_sees_them() {
        let env = |k: &str| match k {
            "AWS_ACCESS_KEY_ID" => Some("AKIAEXAMPLE".to_string()),
            "AWS_SECRET_ACCESS_KEY" => Some("hunter2".to_string()),
            _ => None,
        };
        for (opts, want) in [
            (
                RemoteOptions {
                    endpoint: Some(String::new()),
                    ..Default::default()
                },
                "s3_endpoint: ``",
            ),
            (
                RemoteOptions {
                    endpoint: Some("localhost:9000".into()),
                    ..Default::default()
                },
                "expected http://",
            ),
            (
                RemoteOptions {
                    connections: 0,
                    ..Default::default()
                },
                "connections: 0",
            ),
            (
                RemoteOptions {
                    part_size: 1 << 20,
                    ..Default::default()
                },
                "5 MiB to 5 GiB",
            ),
        ] {
            let e = S3Store::open_with_env("s3://bucket/p", &opts, &env).unwrap_err();
            assert!(e.to_string().contains(want), "{e}");
        }
        let ok = RemoteOptions {
            endpoint: Some("http://127.0.0.1:9000".into()),
            ..Default::default()
        };
        let s = S3Store::open_with_env("s3://bucket/p", &ok, &env).unwrap();
        assert_eq!(s.describe(), "s3://bucket/p");
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("hunter2"),
            "the secret leaks through Debug: {shown}"
        );
        assert!(s.is_remote());
    }
}
