//! JSON-RPC 2.0 over HTTP POST: one client per node, calls with a timeout, batched calls.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::Kind;
use crate::error::{ErrorKind, RpcError, one_line};

/// The answer of one JSON-RPC call: the `result`, or the node's `error` object. Transport
/// failures are the outer `Err` of [`Transport::call`].
pub type CallResult = Result<Value, JsonRpcError>;

#[derive(Debug, Clone, PartialEq)]
pub struct JsonRpcError {
    pub code: i64,
    pub message: String,
}

impl JsonRpcError {
    pub const METHOD_NOT_FOUND: i64 = -32601;

    pub fn is_method_not_found(&self) -> bool {
        self.code == Self::METHOD_NOT_FOUND
    }
}

/// JSON-RPC 2.0 over HTTP POST to one node, with errors that name it.
#[derive(Clone)]
pub struct Transport {
    http: reqwest::Client,
    inner: Arc<Inner>,
}

/// Answers past this are refused unread: a status is a few KiB, a page of 1,024 zenon
/// momentums about 2 MiB.
pub const DEFAULT_MAX_ANSWER: usize = 8 << 20;

struct Inner {
    node: String,
    url: String,
    /// What errors show: the URL without credentials.
    shown: String,
    max_answer: usize,
    timeout: Duration,
    /// Only used to word a 403: go-zenon's Host check is the usual culprit.
    kind_hint: Option<Kind>,
    next_id: AtomicU64,
}

impl Transport {
    pub fn new(node: &str, url: &str, timeout: Duration) -> Result<Transport, RpcError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .pool_max_idle_per_host(8)
            .user_agent(concat!("nodewarden/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RpcError {
                node: node.to_string(),
                url: crate::error::redact_url(url),
                kind: ErrorKind::Transport(format!("cannot build HTTP client: {e}")),
            })?;
        Ok(Transport {
            http,
            inner: Arc::new(Inner {
                node: node.to_string(),
                url: url.to_string(),
                shown: crate::error::redact_url(url),
                max_answer: DEFAULT_MAX_ANSWER,
                timeout,
                kind_hint: None,
                next_id: AtomicU64::new(1),
            }),
        })
    }

    pub(crate) fn with_kind_hint(self, kind: Kind) -> Transport {
        let i = &self.inner;
        Transport {
            http: self.http.clone(),
            inner: Arc::new(Inner {
                node: i.node.clone(),
                url: i.url.clone(),
                shown: i.shown.clone(),
                max_answer: i.max_answer,
                timeout: i.timeout,
                kind_hint: Some(kind),
                next_id: AtomicU64::new(1),
            }),
        }
    }

    pub fn node(&self) -> &str {
        &self.inner.node
    }

    pub fn url(&self) -> &str {
        &self.inner.url
    }

    pub fn error(&self, kind: ErrorKind) -> RpcError {
        RpcError {
            node: self.inner.node.clone(),
            url: self.inner.shown.clone(),
            kind,
        }
    }

    /// The same transport with another answer-size limit.
    pub fn with_max_answer(self, bytes: usize) -> Transport {
        let i = &self.inner;
        Transport {
            http: self.http.clone(),
            inner: Arc::new(Inner {
                node: i.node.clone(),
                url: i.url.clone(),
                shown: i.shown.clone(),
                max_answer: bytes,
                timeout: i.timeout,
                kind_hint: i.kind_hint,
                next_id: AtomicU64::new(1),
            }),
        }
    }

    /// The body, read up to the limit: a hostile endpoint's gigabyte answer costs nothing.
    async fn body(&self, mut resp: reqwest::Response) -> Result<Vec<u8>, RpcError> {
        let limit = self.inner.max_answer;
        let too_large = || self.error(ErrorKind::TooLarge { limit });
        if resp.content_length().is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| self.error(self.classify(&e)))?
        {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// POSTs a JSON body and returns the answer's bytes (capped); any status but 200 is an
    /// error with the hint its code deserves.
    async fn post(&self, body: &Value) -> Result<Vec<u8>, RpcError> {
        let resp = self
            .http
            .post(&self.inner.url)
            .json(body)
            .send()
            .await
            .map_err(|e| self.error(self.classify(&e)))?;
        let status = resp.status().as_u16();
        let bytes = self.body(resp).await?;
        if status == 200 {
            return Ok(bytes);
        }
        Err(self.error(match status {
            403 => ErrorKind::Forbidden {
                zenon: self.inner.kind_hint == Some(Kind::Zenon),
            },
            415 => ErrorKind::UnsupportedMediaType,
            _ => ErrorKind::Http {
                status,
                body: one_line(&String::from_utf8_lossy(&bytes), 120),
            },
        }))
    }

    /// One call. `Ok(Err(_))` is the node answering with a JSON-RPC error object, which some
    /// callers tolerate (e.g. `net_peerCount` missing on anvil).
    pub async fn call(&self, method: &str, params: Value) -> Result<CallResult, RpcError> {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let bytes = self.post(&body).await?;
        parse_envelope(method, &bytes).map_err(|kind| self.error(kind))
    }

    /// One HTTP request carrying a JSON-RPC batch of `method` calls, one per entry of
    /// `params`; the answers come back in the order of `params`, whatever order the node
    /// used. A node that answers with anything but one envelope per call is malformed.
    pub async fn batch(
        &self,
        method: &str,
        params: Vec<Value>,
    ) -> Result<Vec<CallResult>, RpcError> {
        let n = params.len();
        let first = self.inner.next_id.fetch_add(n as u64, Ordering::Relaxed);
        let body: Vec<Value> = params
            .into_iter()
            .enumerate()
            .map(|(i, p)| json!({"jsonrpc": "2.0", "id": first + i as u64, "method": method, "params": p}))
            .collect();
        let bytes = self.post(&Value::Array(body)).await?;
        parse_batch(method, &bytes, first, n).map_err(|kind| self.error(kind))
    }

    /// A call whose JSON-RPC error is fatal, with method-not-found reworded as a dialect mismatch.
    pub async fn call_required(
        &self,
        kind: Kind,
        method: &str,
        params: Value,
    ) -> Result<Value, RpcError> {
        match self.call(method, params).await? {
            Ok(v) => Ok(v),
            Err(e) if e.is_method_not_found() => Err(self.error(ErrorKind::WrongDialect {
                method: method.to_string(),
                kind,
            })),
            Err(e) => Err(self.error(ErrorKind::JsonRpc {
                method: method.to_string(),
                code: e.code,
                message: crate::error::one_line(&e.message, 200),
            })),
        }
    }

    fn classify(&self, e: &reqwest::Error) -> ErrorKind {
        if e.is_timeout() {
            return ErrorKind::Timeout(self.inner.timeout);
        }
        let mut source: Option<&dyn std::error::Error> = Some(e);
        let mut innermost = e.to_string();
        while let Some(s) = source {
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                match io.kind() {
                    std::io::ErrorKind::ConnectionRefused => return ErrorKind::ConnectionRefused,
                    std::io::ErrorKind::TimedOut => return ErrorKind::Timeout(self.inner.timeout),
                    _ => {}
                }
            }
            innermost = s.to_string();
            source = s.source();
        }
        ErrorKind::Transport(one_line(&innermost, 160))
    }
}

/// Split a JSON-RPC envelope into result or error object; anything else is malformed.
pub fn parse_envelope(method: &str, bytes: &[u8]) -> Result<CallResult, ErrorKind> {
    let malformed = |detail: String| ErrorKind::Malformed {
        method: method.to_string(),
        detail,
    };
    let v: Value = serde_json::from_slice(bytes).map_err(|e| {
        malformed(format!(
            "not JSON ({e}); the answer began with {:?}",
            one_line(&String::from_utf8_lossy(&bytes[..bytes.len().min(40)]), 40)
        ))
    })?;
    envelope_value(method, v)
}

/// [`parse_envelope`] for an answer already parsed (one entry of a batch).
fn envelope_value(method: &str, v: Value) -> Result<CallResult, ErrorKind> {
    let malformed = |detail: String| ErrorKind::Malformed {
        method: method.to_string(),
        detail,
    };
    let Value::Object(mut obj) = v else {
        return Err(malformed("expected a JSON-RPC object".into()));
    };
    if let Some(err) = obj.remove("error").filter(|e| !e.is_null()) {
        let code = err.get("code").and_then(Value::as_i64).unwrap_or(0);
        let message = err
            .get("message")
            .and_then(Value::as_str)
            .map(|m| one_line(m, 160))
            .unwrap_or_else(|| one_line(&err.to_string(), 160));
        return Ok(Err(JsonRpcError { code, message }));
    }
    match obj.remove("result") {
        Some(result) => Ok(Ok(result)),
        None => Err(malformed(
            "neither `result` nor `error` in the answer".into(),
        )),
    }
}

/// Split a batch answer into per-call results ordered by id `first..first + n`.
pub fn parse_batch(
    method: &str,
    bytes: &[u8],
    first: u64,
    n: usize,
) -> Result<Vec<CallResult>, ErrorKind> {
    let malformed = |detail: String| ErrorKind::Malformed {
        method: method.to_string(),
        detail,
    };
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| malformed(format!("batch answer is not JSON ({e})")))?;
    let items = match v {
        Value::Array(items) => items,
        // A node without batch support answers one error object for the whole request.
        Value::Object(_) => {
            return match envelope_value(method, v)? {
                Err(e) => Err(ErrorKind::JsonRpc {
                    method: method.to_string(),
                    code: e.code,
                    message: format!("batch refused: {}", e.message),
                }),
                Ok(_) => Err(malformed("expected an array of answers to a batch".into())),
            };
        }
        _ => return Err(malformed("expected an array of answers to a batch".into())),
    };
    if items.len() != n {
        return Err(malformed(format!(
            "{} answers to a batch of {n} calls",
            items.len()
        )));
    }
    let mut out: Vec<Option<CallResult>> = (0..n).map(|_| None).collect();
    for item in items {
        let id = item.get("id").and_then(Value::as_u64);
        let slot = id
            .and_then(|id| id.checked_sub(first))
            .and_then(|i| usize::try_from(i).ok())
            .filter(|&i| i < n)
            .ok_or_else(|| malformed(format!("an answer carries an unknown id {id:?}")))?;
        if out[slot].is_some() {
            return Err(malformed(format!(
                "two answers carry id {}",
                first + slot as u64
            )));
        }
        out[slot] = Some(envelope_value(method, item)?);
    }
    out.into_iter()
        .map(|r| r.ok_or_else(|| malformed("an answer is missing".into())))
        .collect()
}
