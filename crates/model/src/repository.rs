//! Where backups go and how to talk to it, defined once. [`RepositorySettings`] is the
//! settings as given — the `[repository]` table of the config file, or the command-line
//! flags, each field optional and already typed (a typo in a size or a duration fails when
//! the file is read, with its line). [`RepositorySettings::overlay`] lays flags over the file
//! in one place; [`RepositorySettings::remote_options`] resolves defaults and checks ranges
//! into the [`RemoteOptions`] a store backend consumes.
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// S3's smallest part (except the last one).
pub const MIN_PART_SIZE: u64 = 5 << 20;
/// S3's largest part.
pub const MAX_PART_SIZE: u64 = 5 << 30;

/// The `[repository]` table, or the flags that override it. Every field is optional so the
/// two layers can be laid over each other.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepositorySettings {
    /// `file:///path`, a plain path, or `s3://bucket/prefix`.
    pub url: Option<String>,
    pub password_file: Option<PathBuf>,
    pub s3_endpoint: Option<String>,
    pub region: Option<String>,
    /// Path-style S3 requests; default: on with `s3_endpoint`, off for AWS.
    pub path_style: Option<bool>,
    /// Requests in flight at once to a remote repository.
    pub connections: Option<usize>,
    /// Average upload cap per second, e.g. "10MiB".
    pub limit_upload: Option<ByteSize>,
    pub limit_download: Option<ByteSize>,
    /// One request's time limit, e.g. "60s"; a stalled request is retried after it.
    #[serde(default, deserialize_with = "human_duration")]
    pub request_timeout: Option<Duration>,
    /// Retries per request before an operation fails.
    pub retries: Option<usize>,
    /// Multipart part size and threshold, e.g. "64MiB" (5 MiB to 5 GiB).
    pub part_size: Option<ByteSize>,
}

/// A setting out of its range. `key` is the setting's name in the `[repository]` table; the
/// command line names its own flag when it reports this.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct SettingError {
    pub key: &'static str,
    pub message: String,
}

impl RepositorySettings {
    /// The URL, or "" when none is set (a loaded config always has one).
    pub fn location(&self) -> &str {
        self.url.as_deref().unwrap_or_default()
    }

    /// These settings with every field `over` sets replaced by its value.
    pub fn overlay(self, over: RepositorySettings) -> RepositorySettings {
        RepositorySettings {
            url: over.url.or(self.url),
            password_file: over.password_file.or(self.password_file),
            s3_endpoint: over.s3_endpoint.or(self.s3_endpoint),
            region: over.region.or(self.region),
            path_style: over.path_style.or(self.path_style),
            connections: over.connections.or(self.connections),
            limit_upload: over.limit_upload.or(self.limit_upload),
            limit_download: over.limit_download.or(self.limit_download),
            request_timeout: over.request_timeout.or(self.request_timeout),
            retries: over.retries.or(self.retries),
            part_size: over.part_size.or(self.part_size),
        }
    }

    /// The remote options, defaults filled in and every range checked.
    pub fn remote_options(&self) -> Result<RemoteOptions, SettingError> {
        let d = RemoteOptions::default();
        let o = RemoteOptions {
            endpoint: self.s3_endpoint.clone(),
            region: self.region.clone(),
            path_style: self.path_style,
            connections: self.connections.unwrap_or(d.connections),
            limit_upload: self.limit_upload.map(|b| b.0),
            limit_download: self.limit_download.map(|b| b.0),
            request_timeout: self.request_timeout.unwrap_or(d.request_timeout),
            retries: self.retries.unwrap_or(d.retries),
            part_size: self.part_size.map_or(d.part_size, |b| b.0),
        };
        o.check()?;
        Ok(o)
    }
}

/// Settings for remote backends (ignored by the local one, which has no network), resolved.
#[derive(Debug, Clone, PartialEq)]
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

impl RemoteOptions {
    /// Every range a backend relies on; the first one out names its setting.
    pub fn check(&self) -> Result<(), SettingError> {
        let bad = |key, message: String| Err(SettingError { key, message });
        if let Some(e) = &self.endpoint
            && (!(e.starts_with("http://") || e.starts_with("https://")) || e.len() < 10)
        {
            // object_store panics on an empty endpoint; a scheme-less one fails obscurely.
            return bad(
                "s3_endpoint",
                format!("`{e}`: expected http://host:port or https://host"),
            );
        }
        if let Some(r) = &self.region
            && (r.is_empty() || r.contains(char::is_whitespace))
        {
            return bad("region", format!("`{r}` is not a region name"));
        }
        if self.connections == 0 || self.connections > 256 {
            return bad(
                "connections",
                format!("{}: expected 1 to 256", self.connections),
            );
        }
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&self.part_size) {
            return bad(
                "part_size",
                format!("{} bytes: S3 parts are 5 MiB to 5 GiB", self.part_size),
            );
        }
        if self.request_timeout.is_zero() {
            return bad("request_timeout", "must be above zero".into());
        }
        for (key, v) in [
            ("limit_upload", self.limit_upload),
            ("limit_download", self.limit_download),
        ] {
            if v == Some(0) {
                return bad(key, "0: a cap must be above zero".into());
            }
        }
        Ok(())
    }
}

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

/// A size in bytes, written the way people write sizes ([`parse_bytes`]) or as an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl std::str::FromStr for ByteSize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        parse_bytes(s).map(ByteSize)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes", self.0)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(n) if n > 0 => Ok(ByteSize(n)),
            Raw::Int(_) => Err(serde::de::Error::custom("a size must be above zero")),
            Raw::Text(t) => parse_bytes(&t)
                .map(ByteSize)
                .map_err(serde::de::Error::custom),
        }
    }
}

fn human_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_duration(&s)
        .map(Some)
        .map_err(|e| serde::de::Error::custom(format!("`{s}`: {e} (like \"60s\" or \"2m\")")))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_field_by_field() {
        let file = RepositorySettings {
            url: Some("s3://b/p".into()),
            connections: Some(4),
            retries: Some(3),
            ..Default::default()
        };
        let flags = RepositorySettings {
            connections: Some(16),
            ..Default::default()
        };
        let o = file.overlay(flags).remote_options().unwrap();
        assert_eq!((o.connections, o.retries), (16, 3));
        assert_eq!(o.part_size, RemoteOptions::default().part_size);
    }

    #[test]
    fn ranges_are_checked_and_name_the_setting() {
        let check = |s: RepositorySettings| s.remote_options().unwrap_err().key;
        let s = |f: fn(&mut RepositorySettings)| {
            let mut s = RepositorySettings::default();
            f(&mut s);
            s
        };
        assert_eq!(check(s(|s| s.connections = Some(0))), "connections");
        assert_eq!(
            check(s(|s| s.part_size = Some(ByteSize(1 << 20)))),
            "part_size"
        );
        assert_eq!(
            check(s(|s| s.s3_endpoint = Some(String::new()))),
            "s3_endpoint"
        );
        assert_eq!(check(s(|s| s.region = Some("us east".into()))), "region");
        assert_eq!(
            check(s(|s| s.request_timeout = Some(Duration::ZERO))),
            "request_timeout"
        );
    }

    #[test]
    fn sizes_parse_like_people_write_them() {
        assert_eq!(parse_bytes("512KiB"), Ok(512 << 10));
        assert_eq!(parse_bytes("10MiB/s"), Ok(10 << 20));
        assert_eq!(parse_bytes("1.5G"), Ok(3 << 29));
        assert!(parse_bytes("ten").is_err());
        assert!(parse_bytes("5 parsecs").is_err());
        assert!(parse_bytes("0").is_err());
        assert!(parse_bytes("1e30T").is_err());
    }
}
