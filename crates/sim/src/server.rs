//! The HTTP side: axum over HTTP/1.1, POST only, with go-zenon's host and
//! content-type checks. Handlers copy the snapshot and never wait on a lock.

use std::net::IpAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
use nodewarden_model::Kind;
use tokio::net::TcpListener;

use crate::dialect::Dialect;
use crate::jsonrpc;
use crate::state::Shared;

/// go-ethereum's default request size limit.
const MAX_BODY: usize = 5 * 1024 * 1024;

pub struct App {
    pub dialect: Dialect,
    pub shared: Arc<Shared>,
}

/// Serves until `stop` resolves, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    stop: impl Future<Output = ()> + Send + 'static,
) {
    // One handler for every path and method: no routing table to walk.
    let service = handle.with_state(app).into_make_service();
    let listener = listener.tap_io(|tcp| {
        // Small answers: send them now rather than waiting for Nagle.
        let _ = tcp.set_nodelay(true);
    });
    if let Err(e) = axum::serve(listener, service)
        .with_graceful_shutdown(stop)
        .await
    {
        tracing::warn!("sim server stopped: {e}");
    }
}

async fn handle(State(app): State<Arc<App>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let zenon = app.dialect.kind() == Kind::Zenon;
    if zenon && !host_is_ip(&parts.headers) {
        return plain(StatusCode::FORBIDDEN, "invalid host specified\n");
    }
    if parts.method != Method::POST {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    }
    if !content_type_ok(&parts.headers, zenon) {
        return plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid content type, only application/json is supported\n",
        );
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return plain(StatusCode::PAYLOAD_TOO_LARGE, "content length too large\n");
    };
    let snap = app.shared.get();
    match jsonrpc::handle(&bytes, &app.dialect, &snap) {
        Some(answer) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            answer,
        )
            .into_response(),
        None => StatusCode::OK.into_response(),
    }
}

fn plain(status: StatusCode, body: &'static str) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// go-zenon (go-ethereum's virtual-host check with no names allowed) serves
/// only requests whose Host is an IP literal, port optional.
fn host_is_ip(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else if host.matches(':').count() == 1 {
        host.split(':').next().unwrap_or("")
    } else {
        host
    };
    name.parse::<IpAddr>().is_ok()
}

/// The JSON media types go-ethereum accepts, parameters (charset) allowed.
/// Only zenon insists on the header being present; the others, like anvil, take a bare POST.
fn content_type_ok(headers: &HeaderMap, required: bool) -> bool {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return !required;
    };
    let Ok(ct) = ct.to_str() else {
        return false;
    };
    let media = ct.split(';').next().unwrap_or("").trim();
    [
        "application/json",
        "application/json-rpc",
        "application/jsonrequest",
    ]
    .iter()
    .any(|m| media.eq_ignore_ascii_case(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn host_must_be_an_ip_literal() {
        assert!(host_is_ip(&headers(&[("host", "127.0.0.1:35997")])));
        assert!(host_is_ip(&headers(&[("host", "127.0.0.1")])));
        assert!(host_is_ip(&headers(&[("host", "[::1]:35997")])));
        assert!(host_is_ip(&headers(&[("host", "::1")])));
        assert!(!host_is_ip(&headers(&[("host", "localhost:35997")])));
        assert!(!host_is_ip(&headers(&[("host", "node.example")])));
        assert!(!host_is_ip(&headers(&[])));
    }

    #[test]
    fn json_content_types() {
        let ok = |v| content_type_ok(&headers(&[("content-type", v)]), true);
        assert!(ok("application/json"));
        assert!(ok("application/json; charset=utf-8"));
        assert!(ok("Application/JSON"));
        assert!(!ok("text/plain"));
        assert!(!ok("application/x-www-form-urlencoded"));
        assert!(!content_type_ok(&headers(&[]), true));
        assert!(content_type_ok(&headers(&[]), false));
    }
}
