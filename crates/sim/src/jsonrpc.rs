//! JSON-RPC 2.0 envelopes: single and batch requests, ids echoed verbatim,
//! notifications unanswered, and the error codes and messages of each server
//! family (go-ethereum's rpc package for zenon/ethereum, jsonrpsee for substrate).

use std::borrow::Cow;
use std::io::Write;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::dialect::Dialect;
use crate::state::Snapshot;

/// go-ethereum refuses larger batches.
pub const MAX_BATCH: usize = 1000;

/// Which server family's error texts to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Geth,
    Jsonrpsee,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MethodError {
    MethodNotFound,
    /// -32602 with the given (geth-style) detail.
    InvalidParams(String),
    Custom {
        code: i64,
        message: String,
    },
}

impl MethodError {
    pub fn invalid(msg: impl Into<String>) -> MethodError {
        MethodError::InvalidParams(msg.into())
    }
}

/// Positional parameters, parsed only by the methods that take any.
pub struct Params<'a> {
    raw: Option<&'a RawValue>,
}

impl<'a> Params<'a> {
    pub fn new(raw: Option<&'a RawValue>) -> Self {
        Params { raw }
    }

    /// The positional arguments; `null` or no params at all means none.
    pub fn list(&self) -> Result<Vec<serde_json::Value>, MethodError> {
        match self.raw {
            None => Ok(Vec::new()),
            Some(r) if r.get() == "null" => Ok(Vec::new()),
            Some(r) => serde_json::from_str::<Vec<serde_json::Value>>(r.get())
                .map_err(|_| MethodError::invalid("non-array args")),
        }
    }

    /// At most `max` arguments, padded with nulls, like geth's argument reader.
    pub fn at_most(&self, max: usize) -> Result<Vec<serde_json::Value>, MethodError> {
        let mut args = self.list()?;
        if args.len() > max {
            return Err(MethodError::invalid(format!(
                "too many arguments, want at most {max}"
            )));
        }
        args.resize(max, serde_json::Value::Null);
        Ok(args)
    }
}

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow, default)]
    jsonrpc: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
}

/// Keeps `"id": null` apart from a missing id (a notification).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

const NULL_ID: &str = "null";

/// Answers a request body; `None` when there is nothing to send (only notifications).
pub fn handle(body: &[u8], dialect: &Dialect, snap: &Snapshot) -> Option<Vec<u8>> {
    let style = dialect.style();
    let mut out = Vec::with_capacity(128);
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'[') {
        return one(body, dialect, snap, &mut out).then_some(out);
    }
    match serde_json::from_slice::<Vec<&RawValue>>(body) {
        Err(_) => write_error(&mut out, NULL_ID, -32700, parse_error(style)),
        Ok(items) if items.is_empty() => {
            let msg = match style {
                Style::Geth => "empty batch",
                Style::Jsonrpsee => "Invalid request",
            };
            write_error(&mut out, NULL_ID, -32600, msg);
        }
        Ok(items) if items.len() > MAX_BATCH => {
            let msg = match style {
                Style::Geth => "batch too large",
                Style::Jsonrpsee => "Invalid request",
            };
            write_error(&mut out, NULL_ID, -32600, msg);
        }
        Ok(items) => {
            out.push(b'[');
            let mut any = false;
            for item in items {
                let mark = out.len();
                if any {
                    out.push(b',');
                }
                if one(item.get().as_bytes(), dialect, snap, &mut out) {
                    any = true;
                } else {
                    out.truncate(mark);
                }
            }
            if !any {
                return None;
            }
            out.push(b']');
        }
    }
    Some(out)
}

/// Appends the answer to one request; false for a notification.
fn one(raw: &[u8], dialect: &Dialect, snap: &Snapshot, out: &mut Vec<u8>) -> bool {
    let style = dialect.style();
    let req = match serde_json::from_slice::<Request>(raw) {
        Ok(r) => r,
        Err(e) => {
            let (code, msg) = if e.is_syntax() || e.is_eof() {
                (-32700, parse_error(style))
            } else {
                (-32600, invalid_request(style))
            };
            write_error(out, NULL_ID, code, msg);
            return true;
        }
    };
    let Some(id) = req.id else {
        if req.method.is_none() {
            write_error(out, NULL_ID, -32600, invalid_request(style));
            return true;
        }
        // A notification gets no answer, not even an error.
        return false;
    };
    if !matches!(
        id.get().as_bytes().first(),
        Some(b'"' | b'-' | b'0'..=b'9' | b'n')
    ) {
        write_error(out, NULL_ID, -32600, invalid_request(style));
        return true;
    }
    let id = id.get();
    let version_ok = req.jsonrpc.as_deref().is_none_or(|v| v == "2.0");
    let Some(method) = req.method.filter(|_| version_ok) else {
        write_error(out, id, -32600, invalid_request(style));
        return true;
    };
    let start = out.len();
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
    out.extend_from_slice(id.as_bytes());
    out.extend_from_slice(b",\"result\":");
    match dialect.call(&method, &Params::new(req.params), snap, out) {
        Ok(()) => out.push(b'}'),
        Err(err) => {
            out.truncate(start);
            let (code, msg) = describe(style, &method, err);
            write_error(out, id, code, &msg);
        }
    }
    true
}

fn describe(style: Style, method: &str, err: MethodError) -> (i64, String) {
    match (err, style) {
        (MethodError::MethodNotFound, Style::Geth) => (
            -32601,
            format!("the method {method} does not exist/is not available"),
        ),
        (MethodError::MethodNotFound, Style::Jsonrpsee) => (-32601, "Method not found".into()),
        (MethodError::InvalidParams(m), Style::Geth) => (-32602, m),
        (MethodError::InvalidParams(_), Style::Jsonrpsee) => (-32602, "Invalid params".into()),
        (MethodError::Custom { code, message }, _) => (code, message),
    }
}

fn parse_error(style: Style) -> &'static str {
    match style {
        Style::Geth => "parse error",
        Style::Jsonrpsee => "Parse error",
    }
}

fn invalid_request(style: Style) -> &'static str {
    match style {
        Style::Geth => "invalid request",
        Style::Jsonrpsee => "Invalid request",
    }
}

fn write_error(out: &mut Vec<u8>, id: &str, code: i64, message: &str) {
    let _ = write!(
        out,
        "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"error\":{{\"code\":{code},\"message\":"
    );
    let _ = serde_json::to_writer(&mut *out, message);
    out.extend_from_slice(b"}}");
}

/// Helpers the dialects use to write result JSON straight into the answer.
pub mod emit {
    use std::io::Write;

    pub fn u64_hex(out: &mut Vec<u8>, n: u64) {
        let _ = write!(out, "\"0x{n:x}\"");
    }

    pub fn num(out: &mut Vec<u8>, n: impl std::fmt::Display) {
        let _ = write!(out, "{n}");
    }

    pub fn json<T: serde::Serialize>(out: &mut Vec<u8>, v: &T) {
        // Serializing our own plain structs cannot fail.
        let _ = serde_json::to_writer(&mut *out, v);
    }

    pub fn raw(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(s.as_bytes());
    }
}
