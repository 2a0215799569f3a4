//! Failures reading a node, each naming the node and its URL, with a short reason label.

use std::fmt;
use std::time::Duration;

use crate::Kind;

/// A failure to get a status from one node, always naming the node and its URL so that a
/// one-line message is enough for the operator to act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{node} ({url}): {kind}")]
pub struct RpcError {
    pub node: String,
    pub url: String,
    pub kind: ErrorKind,
}

impl RpcError {
    /// A short, stable label for metrics (`nodewarden_rpc_errors_total{reason}`).
    pub fn reason(&self) -> &'static str {
        self.kind.reason()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ErrorKind {
    ConnectionRefused,
    Timeout(Duration),
    /// Any other transport failure (DNS, reset, TLS); the text is reqwest's innermost cause.
    Transport(String),
    /// HTTP 403. go-zenon (like geth) refuses requests whose Host header is a hostname.
    Forbidden {
        zenon: bool,
    },
    /// HTTP 415: the server insists on `Content-Type: application/json`.
    UnsupportedMediaType,
    Http {
        status: u16,
        body: String,
    },
    /// A JSON-RPC error object in an otherwise fine answer.
    JsonRpc {
        method: String,
        code: i64,
        message: String,
    },
    /// The answer is not JSON, or not the JSON the method should return.
    Malformed {
        method: String,
        detail: String,
    },
    /// The node does not know a method its dialect must have.
    WrongDialect {
        method: String,
        kind: Kind,
    },
    /// `--kind auto` found nothing it recognises.
    UnknownDialect,
    /// The answer was larger than the limit: a broken or hostile endpoint, never a status.
    TooLarge {
        limit: usize,
    },
}

impl ErrorKind {
    pub fn reason(&self) -> &'static str {
        match self {
            ErrorKind::ConnectionRefused => "refused",
            ErrorKind::Timeout(_) => "timeout",
            ErrorKind::Transport(_) => "transport",
            ErrorKind::Forbidden { .. }
            | ErrorKind::UnsupportedMediaType
            | ErrorKind::Http { .. } => "http",
            ErrorKind::JsonRpc { .. } => "jsonrpc",
            ErrorKind::Malformed { .. } | ErrorKind::TooLarge { .. } => "malformed",
            ErrorKind::WrongDialect { .. } | ErrorKind::UnknownDialect => "dialect",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::ConnectionRefused => {
                write!(
                    f,
                    "connection refused: is the node running with its RPC server enabled on this port?"
                )
            }
            ErrorKind::Timeout(d) => write!(f, "no answer within {}", humanize(*d)),
            ErrorKind::Transport(e) => write!(f, "{e}"),
            ErrorKind::Forbidden { zenon: true } => write!(
                f,
                "HTTP 403 Forbidden: go-zenon refuses a hostname in the Host header; use an IP literal such as http://127.0.0.1:35997"
            ),
            ErrorKind::Forbidden { zenon: false } => write!(
                f,
                "HTTP 403 Forbidden: the node refuses this Host header or origin (check its vhosts / allowed-hosts setting, or use an IP literal)"
            ),
            ErrorKind::UnsupportedMediaType => write!(
                f,
                "HTTP 415 Unsupported Media Type: the endpoint wants Content-Type: application/json (is a proxy rewriting requests?)"
            ),
            ErrorKind::Http { status, body } if body.is_empty() => write!(f, "HTTP {status}"),
            ErrorKind::Http { status, body } => write!(f, "HTTP {status}: {body}"),
            ErrorKind::JsonRpc {
                method,
                code,
                message,
            } => {
                write!(f, "{method} failed: JSON-RPC error {code}: {message}")
            }
            ErrorKind::Malformed { method, detail } => {
                write!(f, "malformed answer to {method}: {detail}")
            }
            ErrorKind::WrongDialect { method, kind } => write!(
                f,
                "method not found ({method}): this does not look like a {kind} node (kind `auto` detects the dialect)"
            ),
            ErrorKind::UnknownDialect => write!(
                f,
                "no known dialect answered (tried zenon stats.syncInfo, ethereum eth_blockNumber, substrate system_health)"
            ),
            ErrorKind::TooLarge { limit } => write!(
                f,
                "answer larger than {} MiB: refused unread (the node's max_answer setting raises the limit)",
                limit >> 20
            ),
        }
    }
}

fn humanize(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// A URL fit to show: user-info and secret-looking query values replaced by `***`
/// (`http://user:pass@host` and `?apikey=…` carry credentials into logs and dashboards).
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (format!("{s}://"), r),
        None => (String::new(), url),
    };
    let (authority, tail) = match rest.find(['/', '?', '#']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let q: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if secretish(k) => format!("{k}=***"),
                    _ => pair.to_string(),
                })
                .collect();
            format!("{path}?{}", q.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}{authority}{tail}")
}

fn secretish(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["key", "token", "secret", "pass", "auth", "sig"]
        .iter()
        .any(|s| k.contains(s))
}

/// Cut a server's body down to something that fits on one line.
pub(crate) fn one_line(body: &str, max: usize) -> String {
    let flat: String = body
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = flat.trim();
    if flat.chars().count() <= max {
        flat.to_string()
    } else {
        let cut: String = flat.chars().take(max).collect();
        format!("{cut}…")
    }
}
