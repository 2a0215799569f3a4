//! HTTP for `watch` and `demo`: Prometheus `/metrics`, `/api/nodes`, `/healthz`. The watch
//! loop publishes a new state once per tick; requests only clone what was published, so a
//! scrape never waits on a node.
mod metrics;

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use nodewarden_watch::WatchState;

pub use metrics::render as render_metrics;

/// The latest state and its pre-rendered exposition text.
#[derive(Default)]
pub struct Shared {
    state: RwLock<Arc<WatchState>>,
    metrics: RwLock<Bytes>,
    json: RwLock<Bytes>,
}

impl Shared {
    pub fn new() -> Arc<Shared> {
        let shared = Shared::default();
        shared.publish(&WatchState::default());
        Arc::new(shared)
    }

    pub fn publish(&self, state: &WatchState) {
        let metrics = Bytes::from(metrics::render(state));
        let json = Bytes::from(serde_json::to_vec(&state.nodes).unwrap_or_else(|_| b"[]".to_vec()));
        *self.state.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(state.clone());
        *self.metrics.write().unwrap_or_else(|p| p.into_inner()) = metrics;
        *self.json.write().unwrap_or_else(|p| p.into_inner()) = json;
    }

    pub fn state(&self) -> Arc<WatchState> {
        self.state.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn metrics(&self) -> Bytes {
        self.metrics
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn nodes_json(&self) -> Bytes {
        self.json.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/api/nodes", get(nodes_handler))
        .route("/healthz", get(|| async { "ok\n" }))
        .with_state(shared)
}

/// Serve until `shutdown` resolves. The caller binds, so it can report the bound address
/// and refuse non-loopback addresses before anything listens.
pub async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(shared))
        .with_graceful_shutdown(shutdown)
        .await
}

pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, String> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))
}

async fn metrics_handler(State(s): State<Arc<Shared>>) -> Response {
    text(s.metrics(), "text/plain; version=0.0.4; charset=utf-8")
}

async fn nodes_handler(State(s): State<Arc<Shared>>) -> Response {
    text(s.nodes_json(), "application/json")
}

fn text(body: Bytes, content_type: &'static str) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}
