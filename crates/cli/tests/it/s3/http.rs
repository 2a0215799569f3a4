//! Raw std-only HTTP/1.1: one-shot [`request`]s, keep-alive [`Conn`]ections, and the
//! message parsing the proxy shares.
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::xml::tag;

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
pub(super) struct Head {
    pub(super) start: String,
    pub(super) headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// Whether a comma-separated header (`Connection`, `Transfer-Encoding`, `Expect`)
    /// holds `token`.
    pub(super) fn has_token(&self, name: &str, token: &str) -> bool {
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
pub(super) fn read_head(r: &mut impl BufRead) -> io::Result<Option<Head>> {
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
pub(super) enum Framing {
    Empty,
    Length(usize),
    Chunked,
    UntilClose,
}

pub(super) fn request_framing(h: &Head) -> io::Result<Framing> {
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

pub(super) fn read_body(r: &mut impl BufRead, framing: Framing) -> io::Result<Vec<u8>> {
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
pub(super) fn read_response(
    r: &mut impl BufRead,
    method: &str,
) -> io::Result<(Head, u16, Vec<u8>, Vec<u16>)> {
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

pub(super) fn host_port(endpoint: &str) -> &str {
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
