//! How to reach a remote store: what the operator sets in `[repository]` or by flag.
use std::time::Duration;

use crate::StoreError;

/// Settings for remote backends (ignored by the local one, which has no network).
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// `http(s)://host:port` of an S3-compatible server; `None` means AWS itself.
    pub endpoint: Option<String>,
    /// Falls back to AWS_REGION / AWS_DEFAULT_REGION, then `us-east-1`.
    pub region: Option<String>,
    /// Path-style (`endpoint/bucket/key`) rather than virtual-hosted (`bucket.endpoint/key`)
    /// requests. `None`: path-style with a custom endpoint (what MinIO, Ceph, SeaweedFS and
    /// moto expect), virtual-hosted on AWS.
    pub path_style: Option<bool>,
    /// Requests in flight at once, across every operation of the process.
    pub connections: usize,
    /// Average upload and download caps in bytes per second.
    pub limit_upload: Option<u64>,
    pub limit_download: Option<u64>,
    /// One HTTP request, start to end; a stalled connection fails after this and is retried.
    pub request_timeout: Duration,
    /// Retries of one request (5xx, throttling, resets, timeouts) before giving up.
    pub retries: usize,
    /// Objects larger than this go up as a multipart upload with parts of this size. The
    /// default keeps default packs (32 MiB) single PUTs, one request each; packs made larger
    /// with `init --pack-size` go up in concurrent parts.
    pub part_size: u64,
}

/// S3's smallest part (except the last one).
pub const MIN_PART_SIZE: u64 = 5 << 20;

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions {
            endpoint: None,
            region: None,
            path_style: None,
            connections: 8,
            limit_upload: None,
            limit_download: None,
            request_timeout: Duration::from_secs(60),
            retries: 10,
            part_size: 64 << 20,
        }
    }
}

impl RemoteOptions {
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        if let Some(e) = &self.endpoint {
            // object_store panics on an empty endpoint; a scheme-less one fails obscurely.
            if !(e.starts_with("http://") || e.starts_with("https://")) || e.len() < 10 {
                return Err(StoreError::Url(format!(
                    "S3 endpoint `{e}`: expected http://host:port or https://host"
                )));
            }
        }
        if let Some(r) = &self.region
            && (r.is_empty() || r.contains(char::is_whitespace))
        {
            return Err(StoreError::Url(format!(
                "S3 region `{r}` is not a region name"
            )));
        }
        if self.connections == 0 || self.connections > 256 {
            return Err(StoreError::Url(format!(
                "--connections {} (or [repository] connections): expected 1 to 256",
                self.connections
            )));
        }
        if self.part_size < MIN_PART_SIZE || self.part_size > (5 << 30) {
            return Err(StoreError::Url(format!(
                "[repository] part_size {} bytes: S3 parts are 5 MiB to 5 GiB",
                self.part_size
            )));
        }
        for (what, v) in [
            ("--limit-upload (limit_upload)", self.limit_upload),
            ("--limit-download (limit_download)", self.limit_download),
        ] {
            if v == Some(0) {
                return Err(StoreError::Url(format!(
                    "{what} 0: a cap must be above zero"
                )));
            }
        }
        Ok(())
    }
}

/// `512KiB`, `10MiB`, `1.5G`, `800k`, `1048576`; an optional `/s` (for rates). Binary and
/// decimal prefixes both mean powers of 1024: nobody sizes a link in kB vs KiB on purpose.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let t = t.strip_suffix("/s").unwrap_or(t);
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a size (like 512KiB, 10MiB or 1G)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => {
            return Err(format!(
                "`{text}`: unknown unit `{unit}` (use K, M, G or T)"
            ));
        }
    };
    let v = n * mult as f64;
    if !v.is_finite() || v < 1.0 || v > u64::MAX as f64 {
        return Err(format!("`{text}` is out of range"));
    }
    Ok(v as u64)
}
