//! A minimal HTTP/1.1 client for JSON-RPC POSTs over plain TCP with keep-alive.
//!
//! Why not hyper/reqwest: every request here is known before the run starts, so each is
//! rendered once into its final bytes (request line, headers, body); a send is then one
//! `write` and usually one `read` into a buffer the connection keeps. That makes the
//! generator cheaper than the servers it measures (docs/BENCHMARKS.md), which is the point.
use std::fmt;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where requests go: parsed once from an `http://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub url: String,
    /// `host:port` to connect to.
    pub authority: String,
    path: String,
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Endpoint, EndpointError> {
        let err = |m: &str| EndpointError(format!("bad target URL {url:?}: {m}"));
        if url.starts_with("https://") {
            return Err(err(
                "https is not supported; load-test the node's plain HTTP port (or a local proxy)",
            ));
        }
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| err("expected http://HOST:PORT[/PATH]"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty()
            || authority.contains('@')
            || authority.contains(char::is_whitespace)
        {
            return Err(err("expected http://HOST:PORT[/PATH]"));
        }
        let authority = if authority.rsplit_once(':').is_some_and(|(h, p)| {
            !h.is_empty() && !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())
        }) {
            authority.to_string()
        } else if authority.ends_with(']') || !authority.contains(':') {
            format!("{authority}:80")
        } else {
            return Err(err("bad port"));
        };
        Ok(Endpoint {
            url: url.to_string(),
            authority,
            path: path.to_string(),
        })
    }

    /// The complete request bytes for one JSON body.
    pub fn render(&self, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(body.len() + 128);
        out.extend_from_slice(b"POST ");
        out.extend_from_slice(self.path.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        // The Host header is the authority as written: go-zenon refuses names, so an IP
        // literal in the URL must reach it unchanged.
        out.extend_from_slice(self.authority.as_bytes());
        out.extend_from_slice(b"\r\nContent-Type: application/json\r\nContent-Length: ");
        out.extend_from_slice(body.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n\r\n");
        out.extend_from_slice(body);
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointError(String);

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a request produced no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetError {
    Connect(String),
    Timeout,
    Io(String),
    BadResponse(String),
}

/// One keep-alive connection; reconnects lazily after a failure or a `Connection: close`.
pub struct Conn {
    authority: String,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
    body: Vec<u8>,
}

enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

impl Conn {
    pub fn new(endpoint: &Endpoint) -> Conn {
        Conn {
            authority: endpoint.authority.clone(),
            stream: None,
            buf: Vec::with_capacity(16 * 1024),
            body: Vec::new(),
        }
    }

    /// Sends `request` and returns the status and body. On error the connection is dropped.
    pub async fn exchange(
        &mut self,
        request: &[u8],
        timeout: Duration,
    ) -> Result<(u16, &[u8]), NetError> {
        match tokio::time::timeout(timeout, self.exchange_inner(request)).await {
            Ok(Ok(range)) => Ok(range),
            Ok(Err(e)) => {
                self.stream = None;
                Err(e)
            }
            Err(_) => {
                self.stream = None;
                Err(NetError::Timeout)
            }
        }
        .map(|(status, chunked, start, end)| {
            let body = if chunked {
                &self.body[..]
            } else {
                &self.buf[start..end]
            };
            (status, body)
        })
    }

    async fn exchange_inner(
        &mut self,
        request: &[u8],
    ) -> Result<(u16, bool, usize, usize), NetError> {
        // A kept-alive connection the server closed meanwhile fails on first use: retry once
        // on a fresh one (no answer was received, so the request was not processed).
        let reused = self.stream.is_some();
        match self.try_once(request).await {
            Err(NetError::Io(_)) if reused => {
                self.stream = None;
                self.try_once(request).await
            }
            other => other,
        }
    }

    async fn try_once(&mut self, request: &[u8]) -> Result<(u16, bool, usize, usize), NetError> {
        if self.stream.is_none() {
            let s = TcpStream::connect(&self.authority)
                .await
                .map_err(|e| NetError::Connect(e.to_string()))?;
            let _ = s.set_nodelay(true);
            self.stream = Some(s);
        }
        let stream = self.stream.as_mut().expect("connected above");
        stream
            .write_all(request)
            .await
            .map_err(|e| NetError::Io(e.to_string()))?;
        self.buf.clear();
        let (status, header_len, framing, close) = loop {
            if read_more(stream, &mut self.buf).await? == 0 {
                return Err(NetError::Io("connection closed before an answer".into()));
            }
            if let Some(head) = parse_head(&self.buf)? {
                break head;
            }
        };
        let result = match framing {
            Framing::Length(n) => {
                while self.buf.len() < header_len + n {
                    if read_more(stream, &mut self.buf).await? == 0 {
                        return Err(NetError::Io("connection closed mid-body".into()));
                    }
                }
                (status, false, header_len, header_len + n)
            }
            Framing::UntilClose => {
                while read_more(stream, &mut self.buf).await? != 0 {}
                self.stream = None;
                return Ok((status, false, header_len, self.buf.len()));
            }
            Framing::Chunked => {
                self.body.clear();
                let mut pos = header_len;
                loop {
                    match dechunk_step(&self.buf, pos, &mut self.body)? {
                        Step::Need => {
                            if read_more(stream, &mut self.buf).await? == 0 {
                                return Err(NetError::Io("connection closed mid-body".into()));
                            }
                        }
                        Step::Chunk(next) => pos = next,
                        Step::Done => break,
                    }
                }
                (status, true, 0, 0)
            }
        };
        if close {
            self.stream = None;
        }
        Ok(result)
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<usize, NetError> {
    if buf.capacity() - buf.len() < 4096 {
        buf.reserve(buf.capacity().max(4096));
    }
    stream
        .read_buf(buf)
        .await
        .map_err(|e| NetError::Io(e.to_string()))
}

fn parse_head(buf: &[u8]) -> Result<Option<(u16, usize, Framing, bool)>, NetError> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    let header_len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(NetError::BadResponse(format!("not HTTP: {e}"))),
    };
    let status = resp.code.unwrap_or(0);
    let mut framing = Framing::UntilClose;
    let mut close = resp.version == Some(0);
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| NetError::BadResponse("bad Content-Length".into()))?;
            framing = Framing::Length(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding")
            && h.value.eq_ignore_ascii_case(b"chunked")
        {
            framing = Framing::Chunked;
        } else if h.name.eq_ignore_ascii_case("connection") {
            close = h.value.eq_ignore_ascii_case(b"close");
        }
    }
    if status == 204 || status == 304 || (100..200).contains(&status) {
        framing = Framing::Length(0);
    }
    Ok(Some((status, header_len, framing, close)))
}

enum Step {
    Need,
    Chunk(usize),
    Done,
}

/// Decodes the chunk starting at `pos` if it is complete in `buf`.
fn dechunk_step(buf: &[u8], pos: usize, out: &mut Vec<u8>) -> Result<Step, NetError> {
    let Some(eol) = memchr::memmem::find(&buf[pos..], b"\r\n") else {
        return Ok(Step::Need);
    };
    let line = &buf[pos..pos + eol];
    let hex = line.split(|&b| b == b';').next().unwrap_or(line);
    let size = std::str::from_utf8(hex)
        .ok()
        .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
        .ok_or_else(|| NetError::BadResponse("bad chunk size".into()))?;
    let data = pos + eol + 2;
    if size == 0 {
        // Trailers are not used by JSON-RPC servers; wait for the final empty line.
        return Ok(match memchr::memmem::find(&buf[data - 2..], b"\r\n\r\n") {
            Some(_) => Step::Done,
            None => Step::Need,
        });
    }
    if buf.len() < data + size + 2 {
        return Ok(Step::Need);
    }
    out.extend_from_slice(&buf[data..data + size]);
    Ok(Step::Chunk(data + size + 2))
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::Connect(e) => write!(f, "cannot connect: {e}"),
            NetError::Timeout => f.write_str("timed out"),
            NetError::Io(e) => write!(f, "connection failed: {e}"),
            NetError::BadResponse(e) => write!(f, "bad answer: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let e = Endpoint::parse("http://127.0.0.1:35997").unwrap();
        assert_eq!(e.authority, "127.0.0.1:35997");
        assert_eq!(e.path, "/");
        let e = Endpoint::parse("http://node.lan/rpc").unwrap();
        assert_eq!(
            (e.authority.as_str(), e.path.as_str()),
            ("node.lan:80", "/rpc")
        );
        assert!(
            Endpoint::parse("https://x")
                .unwrap_err()
                .0
                .contains("https")
        );
        assert!(Endpoint::parse("127.0.0.1:1").is_err());
        assert!(Endpoint::parse("http://h:x").is_err());
    }

    #[test]
    fn chunked_bodies_are_joined() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n2;x=1\r\n\":\r\n1\r\n1\r\n1\r\n}\r\n0\r\n\r\n";
        let (status, hl, framing, _) = parse_head(raw).unwrap().unwrap();
        assert_eq!(status, 200);
        assert!(matches!(framing, Framing::Chunked));
        let mut out = Vec::new();
        let mut pos = hl;
        loop {
            match dechunk_step(raw, pos, &mut out).unwrap() {
                Step::Chunk(p) => pos = p,
                Step::Done => break,
                Step::Need => panic!("incomplete"),
            }
        }
        assert_eq!(out, b"{\"a\":1}");
        assert!(matches!(
            dechunk_step(b"5\r\nab", 0, &mut out).unwrap(),
            Step::Need
        ));
    }
}
