//! Bearer-token access for anything but loopback. The token may come as an
//! `Authorization: Bearer` header (Prometheus, curl), a cookie, or once as `?token=` from a
//! link, which then sets the cookie so the page's own requests carry it.
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

const COOKIE: &str = "nodewarden_token";

pub struct Token(pub String);

/// Who made a request, for the audit log: the token's id, never the token.
#[derive(Clone)]
pub struct Who(pub String);

/// A short, stable name for a token: 32 bits of its SipHash, enough to tell tokens apart in
/// a log without letting the log stand in for the token.
pub fn token_id(token: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    token.hash(&mut h);
    format!("token {:08x}", h.finish() >> 32)
}

/// Equal-length comparison that does not stop at the first differing byte, so response
/// timing does not reveal how much of a guess was right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn presented(req: &Request) -> (Option<String>, bool) {
    let h = req.headers();
    if let Some(v) = h.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
        && let Some(t) = v.strip_prefix("Bearer ")
    {
        return (Some(t.trim().to_string()), false);
    }
    for cookies in h
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
    {
        for c in cookies.split(';') {
            if let Some(t) = c
                .trim()
                .strip_prefix(COOKIE)
                .and_then(|r| r.strip_prefix('='))
            {
                return (Some(t.to_string()), false);
            }
        }
    }
    let query = req.uri().query().unwrap_or("");
    for pair in query.split('&') {
        if let Some(t) = pair.strip_prefix("token=") {
            return (Some(t.to_string()), true);
        }
    }
    (None, false)
}

pub async fn require(State(token): State<Arc<Token>>, mut req: Request, next: Next) -> Response {
    if req.uri().path() == "/healthz" {
        return next.run(req).await;
    }
    let (given, from_query) = presented(&req);
    match given {
        Some(t) if constant_time_eq(t.as_bytes(), token.0.as_bytes()) => {
            req.extensions_mut().insert(Who(token_id(&token.0)));
            let mut resp = next.run(req).await;
            if from_query
                && let Ok(v) = HeaderValue::from_str(&format!(
                    "{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/",
                    token.0
                ))
            {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            resp
        }
        _ => {
            let mut r = (
                StatusCode::UNAUTHORIZED,
                "a token is required: Authorization: Bearer TOKEN, or ?token=TOKEN once\n",
            )
                .into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"nodewarden\""),
            );
            r
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
