//! HTTP for `watch` and `demo`: the dashboard at `/`, Prometheus `/metrics`, `/api/nodes`,
//! `/healthz`. The watch loop publishes a new state once per tick; requests only clone what
//! was published, so a scrape never waits on a node.
mod actions;
mod auth;
mod dashboard;
mod host;
mod metrics;
mod trends;

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use nodewarden_model::WatchState;

pub use actions::{Actions, Job, RestoreRequest};
pub use dashboard::History;
pub use metrics::render as render_metrics;

/// The latest state and its pre-rendered exposition text.
#[derive(Default)]
pub struct Shared {
    state: RwLock<Arc<WatchState>>,
    metrics: RwLock<Bytes>,
    json: RwLock<Bytes>,
    /// `snapshots --json` of the configured repository; `None` when there is none.
    snapshots: RwLock<Option<Bytes>>,
    /// The last structural verify of that repository.
    verify: RwLock<Option<Bytes>>,
    /// The last hour per node, for the overview's charts.
    trends: std::sync::Mutex<trends::Trends>,
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
        self.trends
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(state);
    }

    pub fn publish_snapshots(&self, json: Vec<u8>) {
        *self.snapshots.write().unwrap_or_else(|p| p.into_inner()) = Some(Bytes::from(json));
    }

    pub fn publish_verify(&self, json: Vec<u8>) {
        *self.verify.write().unwrap_or_else(|p| p.into_inner()) = Some(Bytes::from(json));
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

/// What the HTTP side needs beyond the live state.
#[derive(Default)]
pub struct ServeOptions {
    /// Required on every request but `/healthz` when set (compared in constant time).
    pub auth_token: Option<String>,
    /// The recording behind the dashboard's charts, CSV and reports.
    pub history: Option<History>,
    /// Backups from the browser; used only with `auth_token` or `allow_actions`.
    pub actions: Option<Arc<dyn Actions>>,
    /// Actions without a token: only ever honoured on a loopback listener.
    pub allow_actions: bool,
}

pub fn router(shared: Arc<Shared>, opts: ServeOptions) -> Router {
    let api = Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/api/nodes", get(nodes_handler))
        .route("/api/snapshots", get(snapshots_handler))
        .route("/api/verify", get(verify_handler))
        .route("/api/trends", get(trends_handler))
        .route("/healthz", get(|| async { "ok\n" }))
        .with_state(shared);
    let hub = match (
        &opts.actions,
        opts.auth_token.is_some() || opts.allow_actions,
    ) {
        (None, _) => {
            actions::Hub::new(None, "Actions are off: no backup repository is configured.")
        }
        (Some(_), false) => actions::Hub::new(
            None,
            "Actions are off: start with --auth-token-file, or on loopback with --allow-actions.",
        ),
        (Some(a), true) => actions::Hub::new(Some(a.clone()), ""),
    };
    let app = api
        .merge(dashboard::routes(opts.history.map(Arc::new)))
        .merge(actions::routes(Arc::new(hub)));
    match opts.auth_token {
        Some(t) => app.layer(axum::middleware::from_fn_with_state(
            Arc::new(auth::Token(t)),
            auth::require,
        )),
        None => app,
    }
}

/// Serve until `shutdown` resolves. The caller binds, so it can report the bound address
/// and refuse non-loopback addresses before anything listens.
pub async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    opts: ServeOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut opts = opts;
    // Without a token only a loopback listener may take actions.
    opts.allow_actions &= listener.local_addr()?.ip().is_loopback();
    let mut app = router(shared, opts);
    // On loopback only loopback names may be asked for: a web page elsewhere that rebinds
    // its own DNS name to 127.0.0.1 must not read the dashboard through the browser.
    if listener.local_addr()?.ip().is_loopback() {
        app = app.layer(axum::middleware::from_fn(host::loopback_only));
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("token file {}: {source}", path.display())]
    TokenRead {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("token file {}: {problem}", path.display())]
    TokenWeak {
        path: std::path::PathBuf,
        problem: &'static str,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// A token file's first line; refused when too short to resist guessing or when it holds
/// characters that cannot travel in a header or cookie.
pub fn read_token(path: &std::path::Path) -> Result<String, ServeError> {
    let text = std::fs::read_to_string(path).map_err(|source| ServeError::TokenRead {
        path: path.to_path_buf(),
        source,
    })?;
    let token = text.lines().next().unwrap_or("").trim().to_string();
    let weak = |problem| ServeError::TokenWeak {
        path: path.to_path_buf(),
        problem,
    };
    if token.len() < 16 {
        return Err(weak("the token must be at least 16 characters"));
    }
    if !token
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b';' && b != b',')
    {
        return Err(weak("use printable ASCII without `;` or `,`"));
    }
    Ok(token)
}

pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, ServeError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })
}

async fn metrics_handler(State(s): State<Arc<Shared>>) -> Response {
    text(s.metrics(), "text/plain; version=0.0.4; charset=utf-8")
}

async fn snapshots_handler(State(s): State<Arc<Shared>>) -> Response {
    let snapshots = s
        .snapshots
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    match snapshots {
        Some(json) => text(json, "application/json"),
        None => (
            StatusCode::NOT_FOUND,
            "no backup repository is configured\n",
        )
            .into_response(),
    }
}

async fn verify_handler(State(s): State<Arc<Shared>>) -> Response {
    let verify = s.verify.read().unwrap_or_else(|p| p.into_inner()).clone();
    match verify {
        Some(json) => text(json, "application/json"),
        None => (
            StatusCode::NOT_FOUND,
            "no backup repository is configured\n",
        )
            .into_response(),
    }
}

#[derive(serde::Deserialize)]
struct Window {
    /// Seconds back from now, at most an hour [default: 15 min].
    window: Option<u64>,
}

/// Every card's charts for the last `window` seconds, keyed by node name.
async fn trends_handler(State(s): State<Arc<Shared>>, Query(w): Query<Window>) -> Response {
    let window_ms = (w.window.unwrap_or(900).clamp(60, 3600) * 1000) as i64;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let state = s.state();
    let cards: std::collections::BTreeMap<&str, trends::CardTrend> = {
        let t = s.trends.lock().unwrap_or_else(|p| p.into_inner());
        state
            .nodes
            .iter()
            .map(|n| (n.report.name.as_str(), t.card(n, window_ms, now_ms)))
            .collect()
    };
    let body = serde_json::to_vec(&cards).unwrap_or_else(|_| b"{}".to_vec());
    text(Bytes::from(body), "application/json")
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

#[cfg(test)]
mod tests;
