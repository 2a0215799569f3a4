//! S3 plumbing for the repository-backend tests: a real S3-compatible server (moto's
//! standalone server, which scripts/test.sh installs into .cache/py) on a free loopback port,
//! raw std-only HTTP helpers to set up and inspect buckets without sharing code with the
//! client under test, and [`FaultProxy`], an HTTP/1.1 proxy in front of it that answers S3
//! errors, resets connections or stalls on a seeded share of the requests it is told to
//! target, and records every request it saw.
//!
//! What moto 5.2.1 does that the tests depend on (found in its source and tried by hand;
//! the part minimum is also pinned by `s3_moto_enforces_the_5_mib_part_minimum`):
//! - **Multipart minimum**: every part but the last must hold at least 5 MiB
//!   ([`MIN_PART_SIZE`] = 5,242,880 bytes, moto's `S3_UPLOAD_PART_MIN_SIZE` default, the
//!   same limit as AWS). `UploadPart` accepts a smaller part; `CompleteMultipartUpload`
//!   then fails with `400 EntityTooSmall` and the upload stays pending. The last part, and
//!   so a one-part upload, may be of any size. [`S3Server::start`] removes
//!   `S3_UPLOAD_PART_MIN_SIZE` from moto's environment, so the real limit always applies.
//! - **No signature checks**: any `Authorization` header (or none) is accepted, but an
//!   object GET/HEAD without one is answered `403` (anonymous read of a private object).
//!   The raw helpers send [`AUTH`], a well-formed but unsigned SigV4 header.
//! - A body sent as `application/x-www-form-urlencoded` (curl's default) is consumed by
//!   the WSGI layer and stored as 0 bytes: raw PUTs send [`OCTET`].
//! - moto closes every connection after one answer (`Connection: close`); the proxy keeps
//!   its client connections alive anyway and opens one upstream connection per request.
//! - `PUT /bucket` on an existing bucket answers 200 (us-east-1 behaviour).
//!
//! Credentials reach a `nodewarden` child through [`S3Server::env`] (via [`command`] or
//! [`run_env`], which also drop every inherited `AWS_*` variable), never through argv.
// The S3 repository tests that use most of these helpers land with the s3:// backend.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, mpsc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::support::{bin, dead_port, external};

/// moto's (and AWS's) minimum size of every multipart part but the last.
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

/// A well-formed SigV4 `Authorization` header with a dummy signature: moto checks none,
/// but reads private objects only for requests that carry one.
pub const AUTH: (&str, &str) = (
    "Authorization",
    "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, \
     SignedHeaders=host, Signature=0000000000000000000000000000000000000000000000000000000000000000",
);

/// The content type for raw PUTs (see the module docs on form bodies).
pub const OCTET: (&str, &str) = ("Content-Type", "application/octet-stream");

// ---------------------------------------------------------------------------------------
// moto

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

    /// Delete an object (absent or not); asserts 204.
    pub fn delete_object(&self, bucket: &str, key: &str) {
        let r = self.call("DELETE", &object_path(bucket, key), b"");
        assert_eq!(r.status, 204, "delete {bucket}/{key}: {}", r.text());
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

/// [`crate::support::run`] with an environment (see [`command`]): runs to completion
/// within 120 s, output collected while it runs.
pub fn run_env(env: &[(&str, String)], args: &[&str]) -> Output {
    let child = command(env)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nodewarden");
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(out) => out.expect("output"),
        Err(_) => {
            // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            panic!("nodewarden {args:?} did not finish within 120s");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Raw HTTP/1.1

/// A complete answer: status, headers in order, body (de-chunked).
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Interim (1xx) statuses seen before this answer, e.g. `[100]` after `Expect`.
    pub interim: Vec<u16>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `<Code>` of an S3 error body.
    pub fn error_code(&self) -> Option<String> {
        tag(&self.text(), "Code").map(str::to_string)
    }
}

/// One request on a fresh connection (`Connection: close`). `Host` and `Content-Length`
/// are added; `endpoint` is `http://HOST:PORT` or `HOST:PORT`.
pub fn request(
    endpoint: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<Response> {
    let mut conn = Conn::open(endpoint)?;
    let mut all = headers.to_vec();
    all.push(("Connection", "close"));
    conn.send(method, target, &all, body)
}

/// A keep-alive HTTP/1.1 client connection, std only.
pub struct Conn {
    host: String,
    reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn open(endpoint: &str) -> io::Result<Conn> {
        let host = host_port(endpoint).to_string();
        let stream = TcpStream::connect(&host)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            host,
            reader: BufReader::new(stream),
        })
    }

    pub fn set_read_timeout(&self, timeout: Duration) {
        self.reader
            .get_ref()
            .set_read_timeout(Some(timeout))
            .unwrap();
    }

    /// The local address, which the proxy's records do not show but a test may log.
    pub fn local_addr(&self) -> SocketAddr {
        self.reader.get_ref().local_addr().unwrap()
    }

    /// Send one request and read its answer, skipping interim 1xx answers. Adds `Host`,
    /// and `Content-Length` unless `headers` say `Transfer-Encoding: chunked`, in which
    /// case the body is sent in 4000-byte chunks. An `Expect: 100-continue` does not wait:
    /// the body follows the head at once (the answer's `interim` shows whether a 100 came).
    pub fn send(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<Response> {
        let chunked = headers.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("Transfer-Encoding")
                && v.to_ascii_lowercase().contains("chunked")
        });
        let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {}\r\n", self.host);
        for (k, v) in headers {
            write!(head, "{k}: {v}\r\n").unwrap();
        }
        if !chunked {
            write!(head, "Content-Length: {}\r\n", body.len()).unwrap();
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        if chunked {
            for chunk in body.chunks(4000) {
                bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                bytes.extend_from_slice(chunk);
                bytes.extend_from_slice(b"\r\n");
            }
            bytes.extend_from_slice(b"0\r\n\r\n");
        } else {
            bytes.extend_from_slice(body);
        }
        self.reader.get_mut().write_all(&bytes)?;
        let (head, status, body, interim) = read_response(&mut self.reader, method)?;
        Ok(Response {
            status,
            headers: head.headers,
            body,
            interim,
        })
    }

    /// Wait for the peer to close the connection without sending anything (`Ok`), within
    /// the read timeout; an error if bytes arrive, the wait times out, or the peer resets.
    pub fn expect_closed(&mut self) -> io::Result<()> {
        let mut buf = [0u8; 256];
        match self.reader.read(&mut buf)? {
            0 => Ok(()),
            n => Err(io::Error::other(format!(
                "expected a closed connection, got {:?}",
                String::from_utf8_lossy(&buf[..n])
            ))),
        }
    }
}

/// A message head: the start line and the headers, in order.
#[derive(Clone, Debug)]
struct Head {
    start: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// Whether a comma-separated header (`Connection`, `Transfer-Encoding`, `Expect`)
    /// holds `token`.
    fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn bad(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

fn eof(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, what.to_string())
}

const MAX_HEAD: usize = 64 * 1024;

/// Read a head (up to the empty line); `Ok(None)` if the stream ends before its first byte.
fn read_head(r: &mut impl BufRead) -> io::Result<Option<Head>> {
    let mut lines: Vec<String> = Vec::new();
    let mut total = 0;
    loop {
        let mut line = Vec::new();
        let n = r
            .by_ref()
            .take(MAX_HEAD as u64)
            .read_until(b'\n', &mut line)?;
        if n == 0 && lines.is_empty() && total == 0 {
            return Ok(None);
        }
        if !line.ends_with(b"\n") {
            return Err(eof("stream ended inside a message head"));
        }
        total += n;
        if total > MAX_HEAD {
            return Err(bad("message head over 64 KiB"));
        }
        let line = String::from_utf8_lossy(&line)
            .trim_end_matches(['\r', '\n'])
            .to_string();
        if line.is_empty() {
            if lines.is_empty() {
                continue; // a stray CRLF between messages is allowed (RFC 9112 §2.2)
            }
            break;
        }
        lines.push(line);
    }
    let start = lines.remove(0);
    let headers = lines
        .into_iter()
        .map(|l| {
            let (k, v) = l
                .split_once(':')
                .ok_or_else(|| bad(format!("header line {l:?}")))?;
            Ok((k.trim().to_string(), v.trim().to_string()))
        })
        .collect::<io::Result<_>>()?;
    Ok(Some(Head { start, headers }))
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Framing {
    Empty,
    Length(usize),
    Chunked,
    UntilClose,
}

fn request_framing(h: &Head) -> io::Result<Framing> {
    if h.has_token("Transfer-Encoding", "chunked") {
        Ok(Framing::Chunked)
    } else if let Some(v) = h.header("Content-Length") {
        let n = v
            .parse()
            .map_err(|_| bad(format!("Content-Length {v:?}")))?;
        Ok(Framing::Length(n))
    } else {
        Ok(Framing::Empty)
    }
}

fn response_framing(method: &str, status: u16, h: &Head) -> io::Result<Framing> {
    if method.eq_ignore_ascii_case("HEAD") || status < 200 || status == 204 || status == 304 {
        return Ok(Framing::Empty);
    }
    match request_framing(h)? {
        Framing::Empty => Ok(Framing::UntilClose),
        f => Ok(f),
    }
}

fn read_body(r: &mut impl BufRead, framing: Framing) -> io::Result<Vec<u8>> {
    match framing {
        Framing::Empty => Ok(Vec::new()),
        Framing::Length(n) => {
            let mut body = vec![0; n];
            r.read_exact(&mut body)?;
            Ok(body)
        }
        Framing::UntilClose => {
            let mut body = Vec::new();
            r.read_to_end(&mut body)?;
            Ok(body)
        }
        Framing::Chunked => {
            let mut body = Vec::new();
            loop {
                let mut line = String::new();
                if r.by_ref().take(1024).read_line(&mut line)? == 0 {
                    return Err(eof("stream ended inside a chunked body"));
                }
                let size = line.split(';').next().unwrap_or("").trim();
                let n = usize::from_str_radix(size, 16)
                    .map_err(|_| bad(format!("chunk size {line:?}")))?;
                if n == 0 {
                    // Trailers, if any, up to the empty line.
                    loop {
                        let mut t = String::new();
                        if r.by_ref().take(MAX_HEAD as u64).read_line(&mut t)? == 0
                            || t.trim().is_empty()
                        {
                            return Ok(body);
                        }
                    }
                }
                let at = body.len();
                body.resize(at + n, 0);
                r.read_exact(&mut body[at..])?;
                let mut crlf = [0u8; 2];
                r.read_exact(&mut crlf)?;
                if &crlf != b"\r\n" {
                    return Err(bad("chunk not followed by CRLF"));
                }
            }
        }
    }
}

fn status_of(h: &Head) -> io::Result<u16> {
    h.start
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(format!("status line {:?}", h.start)))
}

/// Read one final answer to a `method` request, skipping interim 1xx answers (their
/// statuses are returned too).
fn read_response(r: &mut impl BufRead, method: &str) -> io::Result<(Head, u16, Vec<u8>, Vec<u16>)> {
    let mut interim = Vec::new();
    loop {
        let head = read_head(r)?.ok_or_else(|| eof("connection closed before an answer"))?;
        let status = status_of(&head)?;
        if (100..200).contains(&status) && status != 101 {
            interim.push(status);
            continue;
        }
        let body = read_body(r, response_framing(method, status, &head)?)?;
        return Ok((head, status, body, interim));
    }
}

fn host_port(endpoint: &str) -> &str {
    let rest = endpoint.strip_prefix("http://").unwrap_or(endpoint);
    rest.split('/').next().unwrap_or(rest)
}

/// Percent-encoding of everything but RFC 3986 unreserved characters (and `/` if asked).
pub fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => write!(out, "%{b:02X}").unwrap(),
        }
    }
    out
}

fn object_path(bucket: &str, key: &str) -> String {
    format!("/{}/{}", encode(bucket, false), encode(key, true))
}

// Minimal XML: S3's answers are flat enough for string search.

/// The text of the first `<name>…</name>`.
fn tag<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    elements(xml, name).into_iter().next()
}

/// The text of every `<name>…</name>`, in order (not nested in one another).
fn elements<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(&after[..j]);
        rest = &after[j + close.len()..];
    }
    out
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

// ---------------------------------------------------------------------------------------
// Fault-injecting proxy

/// Which requests a [`FaultProxy`] harms, and how. Each eligible request draws once from
/// a seeded xorshift: below `error_rate` it is answered with an S3 error, then
/// `reset_rate` resets, then `stall_rate` stalls; the rest are forwarded. The rates must
/// add up to at most 1.
#[derive(Clone, Debug)]
pub struct Faults {
    /// Answered without forwarding: `503 Slow Down` (`SlowDown`), or one time in four
    /// `500 Internal Server Error` (`InternalError`), with S3's XML error body.
    pub error_rate: f64,
    /// The client connection is reset (SO_LINGER 0, so an RST) instead of answered.
    pub reset_rate: f64,
    /// The share of resets that first forward the request and read the upstream's whole
    /// answer, so the write happened although the client saw a reset. Default 0.5.
    pub reset_after_forward: f64,
    /// No answer for `stall` (or until the proxy is dropped), then the connection is
    /// closed; the request is not forwarded.
    pub stall_rate: f64,
    /// Make it longer than the client's request timeout. Default 60 s.
    pub stall: Duration,
    /// Only requests whose path (without the query, as sent: percent-encoded) contains
    /// this are eligible, e.g. `"/bucket/packs/"`.
    pub path_contains: Option<String>,
    /// Only requests with this method are eligible, e.g. `"PUT"`.
    pub method: Option<String>,
    /// The first `after` eligible requests pass untouched.
    pub after: usize,
    pub seed: u64,
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            error_rate: 0.0,
            reset_rate: 0.0,
            reset_after_forward: 0.5,
            stall_rate: 0.0,
            stall: Duration::from_secs(60),
            path_contains: None,
            method: None,
            after: 0,
            seed: 1,
        }
    }
}

impl Faults {
    /// Forward everything.
    pub fn none() -> Faults {
        Faults::default()
    }

    fn check(&self) {
        for (name, r) in [
            ("error_rate", self.error_rate),
            ("reset_rate", self.reset_rate),
            ("reset_after_forward", self.reset_after_forward),
            ("stall_rate", self.stall_rate),
        ] {
            assert!((0.0..=1.0).contains(&r), "{name} {r} is not in [0, 1]");
        }
        let sum = self.error_rate + self.reset_rate + self.stall_rate;
        assert!(sum <= 1.0 + 1e-9, "fault rates add up to {sum} > 1");
    }
}

/// What the proxy did with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Forwarded; the upstream's status was relayed.
    Forwarded(u16),
    /// Answered by the proxy with this status (503 or 500); not forwarded.
    Injected(u16),
    /// Connection reset after the request was read; not forwarded.
    Reset,
    /// Forwarded and answered upstream with this status, then the client connection was
    /// reset instead of relaying it.
    ResetAfterForward(u16),
    /// Held without an answer, then closed; not forwarded.
    Stalled,
    /// The upstream could not be reached or broke off; answered 502 (or reset, if a reset
    /// was planned).
    BadGateway,
}

impl Outcome {
    /// Whether the request reached the upstream (and so may have taken effect).
    pub fn reached_upstream(self) -> bool {
        matches!(self, Outcome::Forwarded(_) | Outcome::ResetAfterForward(_))
    }

    /// Whether the proxy harmed this request.
    pub fn is_fault(self) -> bool {
        !matches!(self, Outcome::Forwarded(_))
    }
}

/// One request the proxy saw, recorded when its outcome was known (a stall: when it began).
#[derive(Clone, Debug)]
pub struct Request {
    /// The client connection, numbered from 1 in accept order.
    pub conn: u64,
    pub method: String,
    /// As sent (percent-encoded), without the query.
    pub path: String,
    /// As sent, without the `?`; empty if none.
    pub query: String,
    /// The body's length after de-chunking.
    pub body_len: usize,
    pub outcome: Outcome,
}

/// An HTTP/1.1 proxy on `127.0.0.1` and a free port in front of `upstream`, one thread per
/// client connection, keep-alive towards clients. Stops accepting, and closes every client
/// connection, on drop.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

struct Shared {
    upstream: String,
    state: Mutex<State>,
    log: Mutex<Vec<Request>>,
    stop: AtomicBool,
    conns: Mutex<Vec<(u64, TcpStream)>>,
}

struct State {
    faults: Faults,
    rng: u64,
    eligible: usize,
}

enum Action {
    Forward,
    Error(u16),
    Reset { after_forward: bool },
    Stall(Duration),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    fn next_u64(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn set(&mut self, faults: Faults) {
        faults.check();
        self.rng = (faults.seed ^ 0x9E37_79B9_7F4A_7C15).max(1);
        self.eligible = 0;
        self.faults = faults;
    }

    fn decide(&mut self, method: &str, path: &str) -> Action {
        let f = &self.faults;
        let eligible = f.path_contains.as_deref().is_none_or(|p| path.contains(p))
            && f.method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method));
        if !eligible {
            return Action::Forward;
        }
        let (after, error, reset, stall_rate, stall, reset_after) = (
            f.after,
            f.error_rate,
            f.reset_rate,
            f.stall_rate,
            f.stall,
            f.reset_after_forward,
        );
        self.eligible += 1;
        if self.eligible <= after {
            return Action::Forward;
        }
        let u = self.next_f64();
        if u < error {
            let status = if self.next_f64() < 0.25 { 500 } else { 503 };
            Action::Error(status)
        } else if u < error + reset {
            Action::Reset {
                after_forward: self.next_f64() < reset_after,
            }
        } else if u < error + reset + stall_rate {
            Action::Stall(stall)
        } else {
            Action::Forward
        }
    }
}

impl FaultProxy {
    /// Listen on a free loopback port; `upstream` is `http://HOST:PORT` (e.g. the moto
    /// endpoint) or `HOST:PORT`.
    pub fn start(upstream: &str, faults: Faults) -> FaultProxy {
        let mut state = State {
            faults: Faults::none(),
            rng: 1,
            eligible: 0,
        };
        state.set(faults);
        let shared = Arc::new(Shared {
            upstream: host_port(upstream).to_string(),
            state: Mutex::new(state),
            log: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            conns: Mutex::new(Vec::new()),
        });
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().unwrap();
        let sh = shared.clone();
        let accept = thread::spawn(move || {
            let mut next = 0u64;
            for stream in listener.incoming() {
                if sh.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                next += 1;
                let conn = next;
                if let Ok(clone) = stream.try_clone() {
                    lock(&sh.conns).push((conn, clone));
                }
                let sh = sh.clone();
                thread::spawn(move || {
                    serve(&sh, conn, stream);
                    lock(&sh.conns).retain(|(c, _)| *c != conn);
                });
            }
        });
        FaultProxy {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replace the faults from the next request on; the RNG is re-seeded and `after`
    /// counts afresh. Requests already being handled keep their fate.
    pub fn set_faults(&self, faults: Faults) {
        lock(&self.shared.state).set(faults);
    }

    /// Every request so far, in the order their outcomes were known.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.shared.log).clone()
    }

    pub fn count(&self, f: impl Fn(&Request) -> bool) -> usize {
        lock(&self.shared.log).iter().filter(|r| f(r)).count()
    }

    /// Forget the requests recorded so far.
    pub fn clear(&self) {
        lock(&self.shared.log).clear();
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // unblocks accept
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
        for (_, c) in lock(&self.shared.conns).drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

/// Headers that describe one connection or one framing, not the message.
const HOP_BY_HOP: &[&str] = &[
    "Connection",
    "Keep-Alive",
    "Proxy-Connection",
    "Proxy-Authorization",
    "TE",
    "Trailer",
    "Transfer-Encoding",
    "Upgrade",
    "Content-Length",
    "Expect",
];

fn is_hop(name: &str) -> bool {
    HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h))
}

/// One client connection: requests in turn until the client closes, asks to, or a fault
/// ends the connection.
fn serve(sh: &Shared, conn: u64, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(120)));
    let mut reader = BufReader::new(stream);
    while !sh.stop.load(Ordering::SeqCst) {
        let Ok(Some(head)) = read_head(&mut reader) else {
            break;
        };
        let mut parts = head.start.split_whitespace();
        let (Some(method), Some(target), Some(version)) =
            (parts.next(), parts.next(), parts.next())
        else {
            break;
        };
        let (method, version) = (method.to_string(), version.to_string());
        // An absolute-form target (a client treating us as a forward proxy) loses its
        // scheme and authority.
        let target = match target.strip_prefix("http://") {
            Some(rest) => rest
                .find('/')
                .map_or("/".to_string(), |i| rest[i..].to_string()),
            None => target.to_string(),
        };
        let close = head.has_token("Connection", "close")
            || (version == "HTTP/1.0" && !head.has_token("Connection", "keep-alive"));
        let Ok(framing) = request_framing(&head) else {
            break;
        };
        if head.has_token("Expect", "100-continue")
            && !matches!(framing, Framing::Empty | Framing::Length(0))
            && reader
                .get_mut()
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .is_err()
        {
            break;
        }
        let Ok(body) = read_body(&mut reader, framing) else {
            break;
        };
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let record = |outcome| {
            lock(&sh.log).push(Request {
                conn,
                method: method.clone(),
                path: path.to_string(),
                query: query.to_string(),
                body_len: body.len(),
                outcome,
            })
        };
        let action = lock(&sh.state).decide(&method, path);
        let client = reader.get_mut();
        match action {
            Action::Forward => match forward(&sh.upstream, &head, &method, &target, &body) {
                Ok((up, status, up_body)) => {
                    record(Outcome::Forwarded(status));
                    if relay(client, &method, status, &up, &up_body, close).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    record(Outcome::BadGateway);
                    let msg = format!("proxy: upstream {}: {e}", sh.upstream);
                    let answer = format!(
                        "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{msg}",
                        msg.len()
                    );
                    let _ = client.write_all(answer.as_bytes());
                    break;
                }
            },
            Action::Error(status) => {
                record(Outcome::Injected(status));
                let n = lock(&sh.log).len();
                if client
                    .write_all(&s3_error(status, &method, n, close))
                    .is_err()
                {
                    break;
                }
            }
            Action::Reset { after_forward } => {
                if after_forward {
                    match forward(&sh.upstream, &head, &method, &target, &body) {
                        Ok((_, status, _)) => record(Outcome::ResetAfterForward(status)),
                        Err(_) => record(Outcome::BadGateway),
                    }
                } else {
                    record(Outcome::Reset);
                }
                reset(sh, conn, reader.into_inner());
                return;
            }
            Action::Stall(stall) => {
                record(Outcome::Stalled);
                let until = Instant::now() + stall;
                while !sh.stop.load(Ordering::SeqCst) {
                    let left = until.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    thread::sleep(left.min(Duration::from_millis(20)));
                }
                break;
            }
        }
        if close {
            break;
        }
    }
    let _ = reader.get_ref().shutdown(Shutdown::Both);
}

/// Close the client connection with an RST: SO_LINGER 0, and the last descriptor closed
/// (the clone kept for drop goes first).
fn reset(sh: &Shared, conn: u64, stream: TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a descriptor we own, with a pointer to a live `linger` and its
    // exact size.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    lock(&sh.conns).retain(|(c, _)| *c != conn);
    drop(stream);
}

/// Send the request upstream on a fresh connection (the head as received, minus
/// hop-by-hop headers; the body as read, with a `Content-Length`) and read the whole answer.
fn forward(
    upstream: &str,
    head: &Head,
    method: &str,
    target: &str,
    body: &[u8],
) -> io::Result<(Head, u16, Vec<u8>)> {
    let stream = TcpStream::connect(upstream)?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    stream.set_nodelay(true)?;
    let mut out = format!("{method} {target} HTTP/1.1\r\n");
    for (k, v) in &head.headers {
        if !is_hop(k) {
            write!(out, "{k}: {v}\r\n").unwrap();
        }
    }
    if request_framing(head)? != Framing::Empty {
        write!(out, "Content-Length: {}\r\n", body.len()).unwrap();
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    let mut reader = BufReader::new(stream);
    reader.get_mut().write_all(&bytes)?;
    let (head, status, body, _) = read_response(&mut reader, method)?;
    Ok((head, status, body))
}

/// Relay an upstream answer with our own framing and connection handling. A HEAD answer
/// keeps the upstream's `Content-Length` (the object's size) and has no body.
fn relay(
    client: &mut TcpStream,
    method: &str,
    status: u16,
    up: &Head,
    body: &[u8],
    close: bool,
) -> io::Result<()> {
    let head_req = method.eq_ignore_ascii_case("HEAD");
    let mut out = format!("{}\r\n", up.start);
    for (k, v) in &up.headers {
        let keep_length = head_req && k.eq_ignore_ascii_case("Content-Length");
        if keep_length || !is_hop(k) {
            write!(out, "{k}: {v}\r\n").unwrap();
        }
    }
    let bodiless = head_req || status < 200 || status == 204 || status == 304;
    if !bodiless {
        write!(out, "Content-Length: {}\r\n", body.len()).unwrap();
    }
    let connection = if close { "close" } else { "keep-alive" };
    write!(out, "Connection: {connection}\r\n\r\n").unwrap();
    let mut bytes = out.into_bytes();
    if !bodiless {
        bytes.extend_from_slice(body);
    }
    client.write_all(&bytes)
}

/// An injected S3 error answer (no body for HEAD, as S3 does).
fn s3_error(status: u16, method: &str, n: usize, close: bool) -> Vec<u8> {
    let (reason, code, message) = if status == 500 {
        (
            "Internal Server Error",
            "InternalError",
            "We encountered an internal error. Please try again.",
        )
    } else {
        ("Slow Down", "SlowDown", "Please reduce your request rate.")
    };
    let id = format!("NWFAULT{n:08}");
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{id}</RequestId></Error>"
    );
    let connection = if close { "close" } else { "keep-alive" };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nx-amz-request-id: {id}\r\nConnection: {connection}\r\n\r\n",
        body.len()
    );
    if !method.eq_ignore_ascii_case("HEAD") {
        out.push_str(&body);
    }
    out.into_bytes()
}

// ---------------------------------------------------------------------------------------
// Self-tests: the plumbing against itself and moto.

fn moto_with_bucket(bucket: &str) -> S3Server {
    let s3 = S3Server::start();
    s3.create_bucket(bucket);
    s3
}

/// Bytes that are not text and contain CRLFs, so framing bugs show.
fn noise(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            match i % 97 {
                0 => b'\r',
                1 => b'\n',
                _ => x as u8,
            }
        })
        .collect()
}

#[test]
fn s3_proxy_forwards_put_get_head_list() {
    let s3 = moto_with_bucket("bkt");
    let proxy = FaultProxy::start(&s3.endpoint, Faults::none());
    let ep = proxy.endpoint();
    let data = noise(300_000, 7);

    let put = request(&ep, "PUT", "/bkt/packs/ab/one", &[AUTH, OCTET], &data).unwrap();
    assert_eq!(put.status, 200, "{}", put.text());
    assert!(put.header("ETag").is_some(), "{put:?}");
    let got = request(&ep, "GET", "/bkt/packs/ab/one", &[AUTH], b"").unwrap();
    assert_eq!(got.status, 200);
    assert!(got.body == data, "the object came back different");
    let head = request(&ep, "HEAD", "/bkt/packs/ab/one", &[AUTH], b"").unwrap();
    assert_eq!(head.status, 200);
    assert_eq!(head.header("Content-Length"), Some("300000"));
    assert!(head.body.is_empty());
    let missing = request(&ep, "GET", "/bkt/packs/none", &[AUTH], b"").unwrap();
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error_code().as_deref(), Some("NoSuchKey"));
    let listed = request(&ep, "GET", "/bkt?list-type=2&prefix=packs%2F", &[AUTH], b"").unwrap();
    assert_eq!(listed.status, 200);
    assert!(
        listed.text().contains("<Key>packs/ab/one</Key>"),
        "{}",
        listed.text()
    );

    // What is in the bucket, seen directly.
    assert_eq!(
        s3.list("bkt", "packs/"),
        vec![("packs/ab/one".to_string(), 300_000)]
    );
    assert!(s3.list("bkt", "index/").is_empty());
    assert_eq!(s3.get_object("bkt", "packs/ab/one").unwrap(), data);

    let reqs = proxy.requests();
    let seen: Vec<_> = reqs
        .iter()
        .map(|r| {
            (
                r.method.as_str(),
                r.path.as_str(),
                r.query.as_str(),
                r.body_len,
                r.outcome,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "PUT",
                "/bkt/packs/ab/one",
                "",
                300_000,
                Outcome::Forwarded(200)
            ),
            ("GET", "/bkt/packs/ab/one", "", 0, Outcome::Forwarded(200)),
            ("HEAD", "/bkt/packs/ab/one", "", 0, Outcome::Forwarded(200)),
            ("GET", "/bkt/packs/none", "", 0, Outcome::Forwarded(404)),
            (
                "GET",
                "/bkt",
                "list-type=2&prefix=packs%2F",
                0,
                Outcome::Forwarded(200)
            ),
        ]
    );
    assert_eq!(
        proxy.count(|r| r.method == "PUT" && r.path.contains("/packs/")),
        1
    );
    assert_eq!(proxy.count(|r| r.outcome.is_fault()), 0);
    // Five `Connection: close` requests: five client connections.
    let mut conns: Vec<_> = reqs.iter().map(|r| r.conn).collect();
    conns.dedup();
    assert_eq!(conns.len(), 5);
}

#[test]
fn s3_proxy_keep_alive_chunked_and_expect_continue() {
    let s3 = moto_with_bucket("bkt");
    let proxy = FaultProxy::start(s3.addr(), Faults::none());
    let mut c = Conn::open(&proxy.endpoint()).unwrap();

    let put = c.send("PUT", "/bkt/a", &[AUTH, OCTET], b"first").unwrap();
    assert_eq!(put.status, 200, "{}", put.text());
    assert_eq!(
        put.header("Connection"),
        Some("keep-alive"),
        "moto's close is not relayed"
    );
    let get = c.send("GET", "/bkt/a", &[AUTH], b"").unwrap();
    assert_eq!((get.status, get.body.as_slice()), (200, &b"first"[..]));
    // HEAD: a Content-Length but no body; the next answer on the socket must still parse.
    let head = c.send("HEAD", "/bkt/a", &[AUTH], b"").unwrap();
    assert_eq!(
        (head.status, head.header("Content-Length")),
        (200, Some("5"))
    );

    let big = noise(50_001, 3);
    let chunked = c
        .send(
            "PUT",
            "/bkt/b",
            &[
                AUTH,
                OCTET,
                ("Transfer-Encoding", "chunked"),
                ("Expect", "100-continue"),
            ],
            &big,
        )
        .unwrap();
    assert_eq!(chunked.status, 200, "{}", chunked.text());
    assert_eq!(chunked.interim, [100], "the proxy answers Expect itself");
    let back = c.send("GET", "/bkt/b", &[AUTH], b"").unwrap();
    assert!(
        back.status == 200 && back.body == big,
        "chunked upload came back different"
    );
    assert_eq!(
        s3.get_object("bkt", "b").unwrap(),
        big,
        "moto stored the de-chunked body"
    );

    let reqs = proxy.requests();
    assert_eq!(reqs.len(), 5);
    assert!(
        reqs.iter().all(|r| r.conn == reqs[0].conn),
        "one connection: {reqs:?}"
    );
    assert_eq!(reqs[3].body_len, big.len());
    // A second connection gets its own number.
    let other = request(&proxy.endpoint(), "GET", "/bkt/a", &[AUTH], b"").unwrap();
    assert_eq!(other.status, 200);
    assert_ne!(proxy.requests()[5].conn, reqs[0].conn);
}

#[test]
fn s3_proxy_injects_errors_where_told() {
    let s3 = moto_with_bucket("bkt");
    let faults = Faults {
        error_rate: 1.0,
        path_contains: Some("/bkt/packs/".into()),
        method: Some("PUT".into()),
        after: 1,
        seed: 42,
        ..Faults::none()
    };
    let proxy = FaultProxy::start(&s3.endpoint, faults);
    let ep = proxy.endpoint();

    let first = request(&ep, "PUT", "/bkt/packs/0", &[AUTH, OCTET], b"pack").unwrap();
    assert_eq!(
        first.status, 200,
        "the first eligible request passes (after: 1)"
    );
    let mut statuses = Vec::new();
    let mut c = Conn::open(&ep).unwrap();
    for i in 1..=12 {
        let r = c
            .send("PUT", &format!("/bkt/packs/{i}"), &[AUTH, OCTET], b"pack")
            .unwrap();
        let code = r.error_code();
        match r.status {
            503 => assert_eq!(code.as_deref(), Some("SlowDown"), "{}", r.text()),
            500 => assert_eq!(code.as_deref(), Some("InternalError"), "{}", r.text()),
            s => panic!("PUT {i}: {s} {}", r.text()),
        }
        statuses.push(r.status);
    }
    assert!(statuses.contains(&503), "{statuses:?}");
    // Not eligible: another path, another method. Same connection, still usable.
    let index = c
        .send("PUT", "/bkt/index/0", &[AUTH, OCTET], b"idx")
        .unwrap();
    assert_eq!(index.status, 200);
    let get = c.send("GET", "/bkt/packs/0", &[AUTH], b"").unwrap();
    assert_eq!((get.status, get.body.as_slice()), (200, &b"pack"[..]));

    // Injected errors never reached moto.
    assert_eq!(s3.keys("bkt", ""), ["index/0", "packs/0"]);
    assert_eq!(
        proxy.count(|r| matches!(r.outcome, Outcome::Injected(_))),
        12
    );
    assert_eq!(proxy.count(|r| r.outcome.reached_upstream()), 3);
    assert_eq!(
        proxy.count(|r| r.method == "PUT" && r.path.contains("/packs/")),
        13
    );

    // HEAD: an error without a body, and the connection stays in step.
    proxy.set_faults(Faults {
        error_rate: 1.0,
        method: Some("HEAD".into()),
        ..Faults::none()
    });
    let head = c.send("HEAD", "/bkt/packs/0", &[AUTH], b"").unwrap();
    assert!(
        matches!(head.status, 500 | 503) && head.body.is_empty(),
        "{head:?}"
    );
    let after = c.send("GET", "/bkt/index/0", &[AUTH], b"").unwrap();
    assert_eq!((after.status, after.body.as_slice()), (200, &b"idx"[..]));

    proxy.set_faults(Faults::none());
    let healed = c
        .send("PUT", "/bkt/packs/13", &[AUTH, OCTET], b"pack")
        .unwrap();
    assert_eq!(healed.status, 200);
    assert_eq!(s3.keys("bkt", "packs/"), ["packs/0", "packs/13"]);
}

#[test]
fn s3_proxy_resets_and_stalls() {
    let s3 = moto_with_bucket("bkt");
    let proxy = FaultProxy::start(
        &s3.endpoint,
        Faults {
            reset_rate: 1.0,
            reset_after_forward: 0.0,
            ..Faults::none()
        },
    );
    let ep = proxy.endpoint();

    let lost = request(&ep, "PUT", "/bkt/packs/r1", &[AUTH, OCTET], b"one");
    assert!(lost.is_err(), "{lost:?}");
    assert_eq!(
        s3.get_object("bkt", "packs/r1"),
        None,
        "reset before forwarding"
    );

    proxy.set_faults(Faults {
        reset_rate: 1.0,
        reset_after_forward: 1.0,
        ..Faults::none()
    });
    let lost = request(&ep, "PUT", "/bkt/packs/r2", &[AUTH, OCTET], b"two");
    let err = lost.expect_err("a reset");
    assert_eq!(
        err.kind(),
        io::ErrorKind::ConnectionReset,
        "an RST, not a FIN: {err}"
    );
    assert_eq!(
        s3.get_object("bkt", "packs/r2").as_deref(),
        Some(&b"two"[..]),
        "the write happened although the client saw a reset"
    );

    proxy.set_faults(Faults {
        stall_rate: 1.0,
        stall: Duration::from_millis(1500),
        ..Faults::none()
    });
    let mut c = Conn::open(&ep).unwrap();
    c.set_read_timeout(Duration::from_millis(300));
    let t = Instant::now();
    let err = c
        .send("GET", "/bkt/packs/r2", &[AUTH], b"")
        .expect_err("a stall");
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ),
        "{err}"
    );
    assert!(
        t.elapsed() < Duration::from_millis(1400),
        "{:?}",
        t.elapsed()
    );
    // After the stall the proxy hangs up without an answer.
    c.set_read_timeout(Duration::from_secs(5));
    c.expect_closed().unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );

    let outcomes: Vec<_> = proxy.requests().iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Reset,
            Outcome::ResetAfterForward(200),
            Outcome::Stalled
        ]
    );

    // Dropping the proxy ends a stall at once and closes idle keep-alive connections.
    proxy.set_faults(Faults::none());
    let mut idle = Conn::open(&ep).unwrap();
    assert_eq!(
        idle.send("GET", "/bkt/packs/r2", &[AUTH], b"")
            .unwrap()
            .status,
        200
    );
    proxy.set_faults(Faults {
        stall_rate: 1.0,
        ..Faults::none()
    });
    let mut stalled = Conn::open(&ep).unwrap();
    stalled.set_read_timeout(Duration::from_millis(300));
    assert!(stalled.send("GET", "/bkt/packs/r2", &[AUTH], b"").is_err());
    let t = Instant::now();
    drop(proxy);
    idle.set_read_timeout(Duration::from_secs(5));
    stalled.set_read_timeout(Duration::from_secs(5));
    idle.expect_closed().unwrap();
    stalled.expect_closed().unwrap();
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert!(
        TcpStream::connect(host_port(&ep)).is_err(),
        "no longer accepting"
    );
}

/// Upload `sizes` as the parts of one multipart upload of `key` and complete it.
fn multipart(endpoint: &str, key: &str, sizes: &[usize]) -> Response {
    let target = format!("/bkt/{key}");
    let init = request(
        endpoint,
        "POST",
        &format!("{target}?uploads"),
        &[AUTH, OCTET],
        b"",
    )
    .unwrap();
    assert_eq!(init.status, 200, "{}", init.text());
    let text = init.text();
    let id = tag(&text, "UploadId").expect("an upload id").to_string();
    let mut parts = String::new();
    for (i, &n) in sizes.iter().enumerate() {
        let part = noise(n, i as u32 + 1);
        let url = format!(
            "{target}?partNumber={}&uploadId={}",
            i + 1,
            encode(&id, false)
        );
        let r = request(endpoint, "PUT", &url, &[AUTH, OCTET], &part).unwrap();
        assert_eq!(r.status, 200, "part {} ({n} bytes): {}", i + 1, r.text());
        let etag = r.header("ETag").expect("an ETag");
        write!(
            parts,
            "<Part><PartNumber>{}</PartNumber><ETag>{etag}</ETag></Part>",
            i + 1
        )
        .unwrap();
    }
    let done = format!("<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>");
    let url = format!("{target}?uploadId={}", encode(&id, false));
    request(endpoint, "POST", &url, &[AUTH, OCTET], done.as_bytes()).unwrap()
}

#[test]
fn s3_moto_enforces_the_5_mib_part_minimum() {
    let s3 = moto_with_bucket("bkt");
    let proxy = FaultProxy::start(&s3.endpoint, Faults::none());
    let ep = proxy.endpoint();

    let small = multipart(&ep, "small", &[1024, 1024]);
    assert_eq!(small.status, 400, "{}", small.text());
    assert_eq!(small.error_code().as_deref(), Some("EntityTooSmall"));
    let short = multipart(&ep, "short", &[MIN_PART_SIZE - 1, 1024]);
    assert_eq!(short.error_code().as_deref(), Some("EntityTooSmall"));
    let mut pending: Vec<_> = s3
        .multipart_uploads("bkt")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    pending.sort();
    assert_eq!(
        pending,
        ["short", "small"],
        "failed completions stay pending"
    );

    let exact = multipart(&ep, "exact", &[MIN_PART_SIZE, 1024]);
    assert_eq!(exact.status, 200, "{}", exact.text());
    let single = multipart(&ep, "single", &[10]);
    assert_eq!(single.status, 200, "{}", single.text());
    assert_eq!(
        s3.list("bkt", ""),
        [
            ("exact".to_string(), (MIN_PART_SIZE + 1024) as u64),
            ("single".to_string(), 10)
        ]
    );
    assert_eq!(
        proxy.count(|r| r.method == "PUT" && r.query.starts_with("partNumber=")),
        7
    );
}
