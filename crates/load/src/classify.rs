//! Turns an HTTP answer into one outcome per JSON-RPC call. An `error` object inside an
//! HTTP 200 is a failure, by its code.
use serde::Deserialize;
use serde_json::Value;

use crate::stats::ErrKind;

#[derive(Deserialize)]
struct RpcErr {
    code: i64,
}

#[derive(Deserialize)]
struct Env {
    #[serde(default)]
    error: Option<RpcErr>,
    #[serde(default)]
    result: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct EnvId {
    #[serde(default)]
    id: Value,
    #[serde(default)]
    error: Option<RpcErr>,
}

/// Fills `out` with one outcome per call (`None` = success). `calls` is the number of calls
/// in the request; `batch` whether it was sent as a JSON array.
pub fn classify(
    status: u16,
    body: &[u8],
    calls: usize,
    batch: bool,
    out: &mut Vec<Option<ErrKind>>,
) {
    out.clear();
    if status != 200 {
        out.resize(calls, Some(ErrKind::Http(status)));
        return;
    }
    if !batch {
        // The common case costs two substring scans and no parse.
        let has_error = memchr::memmem::find(body, b"\"error\"").is_some();
        if !has_error && memchr::memmem::find(body, b"\"result\"").is_some() {
            out.push(None);
            return;
        }
        out.push(match serde_json::from_slice::<Env>(body) {
            Ok(Env { error: Some(e), .. }) => Some(ErrKind::Rpc(e.code)),
            Ok(Env {
                result: Some(_), ..
            }) => None,
            _ => Some(ErrKind::BadResponse),
        });
        return;
    }
    out.resize(calls, Some(ErrKind::BadResponse));
    match serde_json::from_slice::<Vec<EnvId>>(body) {
        Ok(answers) => {
            // Batch answers may come in any order: match by the ids 1..=calls we sent.
            for a in answers {
                if let Some(i) = a.id.as_u64().filter(|i| (1..=calls as u64).contains(i)) {
                    out[i as usize - 1] = a.error.map(|e| ErrKind::Rpc(e.code));
                }
            }
        }
        Err(_) => {
            // A whole batch refused with one error object (e.g. -32600 batch too large).
            if let Ok(Env { error: Some(e), .. }) = serde_json::from_slice::<Env>(body) {
                out.fill(Some(ErrKind::Rpc(e.code)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(status: u16, body: &str) -> Option<ErrKind> {
        let mut out = Vec::new();
        classify(status, body.as_bytes(), 1, false, &mut out);
        out[0]
    }

    #[test]
    fn single_calls() {
        assert_eq!(one(200, r#"{"jsonrpc":"2.0","id":1,"result":"0x1"}"#), None);
        assert_eq!(
            one(200, r#"{"jsonrpc":"2.0","id":1,"result":"error"}"#),
            None
        );
        assert_eq!(
            one(
                200,
                r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"x"}}"#
            ),
            Some(ErrKind::Rpc(-32601))
        );
        assert_eq!(one(503, "busy"), Some(ErrKind::Http(503)));
        assert_eq!(one(200, "<html>"), Some(ErrKind::BadResponse));
        assert_eq!(one(200, r#"{"result":null}"#), None);
    }

    #[test]
    fn batches_by_id() {
        let mut out = Vec::new();
        let body = r#"[{"id":2,"result":1},{"id":1,"error":{"code":-32602,"message":""}}]"#;
        classify(200, body.as_bytes(), 3, true, &mut out);
        assert_eq!(
            out,
            vec![Some(ErrKind::Rpc(-32602)), None, Some(ErrKind::BadResponse)]
        );
        classify(200, br#"{"error":{"code":-32600}}"#, 2, true, &mut out);
        assert_eq!(out, vec![Some(ErrKind::Rpc(-32600)); 2]);
    }
}
