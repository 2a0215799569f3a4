//! The moto server ([`S3Server`]) and `nodewarden` children that talk to it ([`command`],
//! [`run_env`]).
use std::fmt::Write as _;
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::http::{Response, encode, host_port, request};
use super::xml::{elements, tag, xml_unescape};
use super::{AUTH, OCTET};
use crate::support::{bin, dead_port, external};

/// A moto S3 server on `127.0.0.1` and a free port, in memory; killed on drop.
pub struct S3Server {
    /// `http://127.0.0.1:PORT`, path-style (`/bucket/key`).
    pub endpoint: String,
    child: Child,
    log: tempfile::NamedTempFile,
}

impl S3Server {
    /// Start moto (`NODEWARDEN_MOTO`, else `.cache/py/bin/moto_server`) and wait (≤ 20 s)
    /// until it lists buckets. Retries on another port if the free port was taken meanwhile.
    pub fn start() -> S3Server {
        let exe = external("NODEWARDEN_MOTO", ".cache/py/bin/moto_server");
        let mut failures = Vec::new();
        for _ in 0..3 {
            let port = dead_port();
            let log = tempfile::NamedTempFile::new().expect("moto log file");
            let child = Command::new(&exe)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env_remove("S3_UPLOAD_PART_MIN_SIZE")
                .env_remove("MOTO_S3_DEFAULT_MAX_KEYS")
                .stdin(Stdio::null())
                .stdout(log.reopen().expect("moto log"))
                .stderr(log.reopen().expect("moto log"))
                .spawn()
                .unwrap_or_else(|e| panic!("start {}: {e}", exe.display()));
            let mut server = S3Server {
                endpoint: format!("http://127.0.0.1:{port}"),
                child,
                log,
            };
            match server.wait_ready(Duration::from_secs(20)) {
                Ok(()) => return server,
                Err(Ready::Exited(why)) => failures.push(why),
                Err(Ready::Timeout(why)) => panic!("{why}"),
            }
        }
        panic!("moto_server did not start: {failures:#?}")
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<(), Ready> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("moto status") {
                return Err(Ready::Exited(format!(
                    "exited ({status}): {}",
                    self.log_text()
                )));
            }
            if let Ok(r) = request(&self.endpoint, "GET", "/", &[AUTH], b"")
                && r.status == 200
                && r.text().contains("ListAllMyBucketsResult")
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Ready::Timeout(format!(
                    "moto_server on {} did not answer within {timeout:?}; its output: {}",
                    self.endpoint,
                    self.log_text()
                )));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// What moto printed so far (werkzeug logs one line per request).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// `host:port`, for [`Conn::open`] and [`FaultProxy::start`] alike.
    pub fn addr(&self) -> &str {
        host_port(&self.endpoint)
    }

    /// The environment for a `nodewarden` child talking to this server: static test
    /// credentials and the region (never on the command line). See [`command`].
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    fn call(&self, method: &str, target: &str, body: &[u8]) -> Response {
        request(&self.endpoint, method, target, &[AUTH, OCTET], body)
            .unwrap_or_else(|e| panic!("{method} {target} on moto: {e}"))
    }

    /// `PUT /name`; asserts 200.
    pub fn create_bucket(&self, name: &str) {
        let r = self.call("PUT", &format!("/{}", encode(name, false)), b"");
        assert_eq!(r.status, 200, "create bucket {name}: {}", r.text());
    }

    /// Store an object directly (not through any proxy); asserts 200.
    pub fn put_object(&self, bucket: &str, key: &str, body: &[u8]) {
        let r = self.call("PUT", &object_path(bucket, key), body);
        assert_eq!(r.status, 200, "put {bucket}/{key}: {}", r.text());
    }

    /// An object's bytes, `None` if there is no such key.
    pub fn get_object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let r = self.call("GET", &object_path(bucket, key), b"");
        match r.status {
            200 => Some(r.body),
            404 => None,
            s => panic!("get {bucket}/{key}: {s}: {}", r.text()),
        }
    }

    /// Every object under `prefix` with its size, in key order (ListObjectsV2, following
    /// continuation tokens).
    pub fn list(&self, bucket: &str, prefix: &str) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut target = format!(
                "/{}?list-type=2&max-keys=1000&prefix={}",
                encode(bucket, false),
                encode(prefix, false)
            );
            if let Some(t) = &token {
                write!(target, "&continuation-token={}", encode(t, false)).unwrap();
            }
            let r = self.call("GET", &target, b"");
            let text = r.text();
            assert_eq!(r.status, 200, "list {bucket}/{prefix}: {text}");
            for c in elements(&text, "Contents") {
                let key = xml_unescape(tag(c, "Key").expect("<Key> in <Contents>"));
                let size = tag(c, "Size")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_else(|| panic!("<Size> in {c}"));
                out.push((key, size));
            }
            if tag(&text, "IsTruncated") != Some("true") {
                return out;
            }
            let next = tag(&text, "NextContinuationToken").expect("a continuation token");
            token = Some(xml_unescape(next));
        }
    }

    /// The keys of [`S3Server::list`] alone.
    pub fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        self.list(bucket, prefix)
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    }

    /// Multipart uploads begun and neither completed nor aborted: `(key, upload id)`.
    pub fn multipart_uploads(&self, bucket: &str) -> Vec<(String, String)> {
        let r = self.call("GET", &format!("/{}?uploads", encode(bucket, false)), b"");
        let text = r.text();
        assert_eq!(r.status, 200, "list uploads of {bucket}: {text}");
        assert_ne!(
            tag(&text, "IsTruncated"),
            Some("true"),
            "more than 1000 uploads"
        );
        elements(&text, "Upload")
            .into_iter()
            .map(|u| {
                (
                    xml_unescape(tag(u, "Key").expect("<Key>")),
                    xml_unescape(tag(u, "UploadId").expect("<UploadId>")),
                )
            })
            .collect()
    }
}

enum Ready {
    Exited(String),
    Timeout(String),
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `nodewarden` with `env` (e.g. [`S3Server::env`]) and none of the test process's own
/// `AWS_*` variables, so a developer's profile, session token or endpoint cannot leak in.
pub fn command(env: &[(&str, String)]) -> Command {
    let mut c = bin();
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_") {
            c.env_remove(name);
        }
    }
    c.envs(env.iter().map(|(k, v)| (*k, v)));
    c
}

/// [`crate::support::run`] with an environment (see [`command`]).
pub fn run_env(env: &[(&str, String)], args: &[&str]) -> Output {
    crate::support::run_command(command(env), args)
}

fn object_path(bucket: &str, key: &str) -> String {
    format!("/{}/{}", encode(bucket, false), encode(key, true))
}
