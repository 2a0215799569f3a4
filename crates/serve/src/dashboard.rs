//! The web dashboard: a page and a script embedded in the binary (works offline, no CDN),
//! and the endpoints behind it. Charts and tables are rendered here in Rust by the same
//! code as `nodewarden report --html`, from the recording the watch is writing.
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use nodewarden_analyze::{AnalyzeOptions, Run, compare};
use nodewarden_record::Recording;
use nodewarden_report::{BundleInput, RunPass, RunResult, write_bundle};
use serde::Deserialize;

const INDEX: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const ACTIONS_JS: &str = include_str!("../assets/actions.js");
const STYLE: &str = include_str!("../assets/style.css");

/// Where the history behind the node pages comes from: the watch's recording and run.
#[derive(Debug, Clone)]
pub struct History {
    pub path: PathBuf,
    pub run: String,
    pub analyze: AnalyzeOptions,
}

pub fn routes(history: Option<Arc<History>>) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { asset(INDEX, "text/html; charset=utf-8") }),
        )
        .route(
            "/assets/app.js",
            get(|| async { asset(APP_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/assets/actions.js",
            get(|| async { asset(ACTIONS_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/assets/style.css",
            get(|| async { asset(STYLE, "text/css; charset=utf-8") }),
        )
        .route(
            "/assets/report.css",
            get(|| async { asset(nodewarden_report::REPORT_CSS, "text/css; charset=utf-8") }),
        )
        .route("/api/nodes/{name}/section", get(section))
        .route("/api/nodes/{name}/samples.csv", get(csv))
        .route("/api/nodes/{name}/report.html", get(report))
        .route("/api/nodes/{name}/bundle.tar.zst", get(bundle))
        .route("/api/compare", get(compare_nodes))
        .with_state(history)
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn typed(body: impl Into<Bytes>, content_type: &'static str) -> Response {
    let mut r = (StatusCode::OK, body.into()).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn fail(status: StatusCode, message: String) -> Response {
    (status, message).into_response()
}

#[derive(Deserialize)]
struct Range {
    /// Only the last N seconds (0 or absent: the whole run).
    last: Option<u64>,
}

type Failed = (StatusCode, String);

/// Streams a node's recorded samples (the newest `last` seconds only, when given) through
/// one [`RunPass`]: nothing holds the run, however long it is.
fn pass(h: &History, node: &str, last: Option<u64>, pass: RunPass) -> Result<RunResult, Failed> {
    let unavailable =
        |e: nodewarden_record::RecordError| (StatusCode::SERVICE_UNAVAILABLE, e.to_string());
    let recording = Recording::open(&h.path).map_err(unavailable)?;
    let run = recording.resolve(&h.run).map_err(unavailable)?;
    let newest = recording
        .last_sample_ms(run.id, node)
        .map_err(unavailable)?;
    let Some(newest) = newest else {
        return Err((
            StatusCode::NOT_FOUND,
            format!("no samples of node `{node}` in run `{}`", h.run),
        ));
    };
    let from = match last.filter(|&s| s > 0) {
        Some(secs) => newest.saturating_sub((secs as i64).saturating_mul(1000)),
        None => i64::MIN,
    };
    // The watchdog's restarts: bands on the height chart, as in the report.
    let restarts = recording.remedies(run.id, Some(node)).unwrap_or_default();
    let mut pass = pass.with_restarts(restarts);
    recording
        .for_each_sample_from(run.id, Some(node), from, |s| pass.push(&s))
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    // The database chart is an extra: a recording that cannot give it still gives the page.
    let db: Vec<_> = recording
        .db_points(run.id, node, DB_POINTS)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.t_ms >= from)
        .collect();
    pass.finish()
        .map(|r| r.with_db([(node.to_string(), db)].into()))
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

/// Database points per node page: about one per pixel of its chart.
const DB_POINTS: usize = 2_000;

fn analyse(h: &History, node: &str, last: Option<u64>) -> Result<RunResult, Failed> {
    pass(h, node, last, RunPass::new(h.analyze.clone(), true))
}

/// A writer the pass can own while the handler keeps the bytes.
#[derive(Clone, Default)]
struct Buffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
}

fn internal(e: impl ToString) -> Failed {
    (StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// Run blocking work (SQLite, analysis) off the async workers.
async fn blocking(
    f: impl FnOnce() -> Result<Response, (StatusCode, String)> + Send + 'static,
) -> Response {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(r)) => r,
        Ok(Err((status, msg))) => fail(status, msg),
        Err(e) => fail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// Run `f` on the history off the async workers, or say why there is none.
async fn with_history(
    history: Option<Arc<History>>,
    f: impl FnOnce(&History) -> Result<Response, (StatusCode, String)> + Send + 'static,
) -> Response {
    match history {
        Some(h) => blocking(move || f(&h)).await,
        None => fail(
            StatusCode::NOT_FOUND,
            "no history: this watch writes no recording".into(),
        ),
    }
}

async fn section(
    State(h): State<Option<Arc<History>>>,
    Path(name): Path<String>,
    Query(r): Query<Range>,
) -> Response {
    with_history(h, move |h| {
        let result = analyse(h, &name, r.last)?;
        let mut html = result.node_fragment().unwrap_or_default();
        // The evidence captured when this node's stalls began, below its charts.
        if let Ok(rec) = Recording::open(&h.path)
            && let Ok(run) = rec.resolve(&h.run)
        {
            let evidence = rec.forensics(run.id, Some(&name)).unwrap_or_default();
            html.push_str(&nodewarden_report::forensics_html(&evidence));
            let restarts = rec.remedies(run.id, Some(&name)).unwrap_or_default();
            html.push_str(&nodewarden_report::remedies_html(&restarts));
        }
        Ok(typed(html, "text/html; charset=utf-8"))
    })
    .await
}

async fn csv(State(h): State<Option<Arc<History>>>, Path(name): Path<String>) -> Response {
    with_history(h, move |h| {
        let out = Buffer::default();
        let p = RunPass::new(h.analyze.clone(), false)
            .export_csv(Box::new(out.clone()))
            .map_err(internal)?;
        pass(h, &name, None, p)?;
        Ok(typed(out.take(), "text/csv; charset=utf-8"))
    })
    .await
}

async fn report(State(h): State<Option<Arc<History>>>, Path(name): Path<String>) -> Response {
    with_history(h, move |h| {
        let result = analyse(h, &name, None)?;
        let source = format!("run {} of {}", h.run, h.path.display());
        let html = result.html(&name, &source, env!("CARGO_PKG_VERSION"));
        Ok(typed(html, "text/html; charset=utf-8"))
    })
    .await
}

/// The same shareable bundle as `report --bundle`, scrubbed of addresses and keys.
async fn bundle(State(h): State<Option<Arc<History>>>, Path(name): Path<String>) -> Response {
    with_history(h, move |h| {
        let csv = Buffer::default();
        let p = RunPass::new(h.analyze.clone(), true)
            .export_scrubbed_csv(Box::new(csv.clone()))
            .map_err(internal)?;
        let result = pass(h, &name, None, p)?;
        let clean = nodewarden_report::redact(&name);
        let source = format!("run {} (dashboard)", h.run);
        let html = result.html(&clean, &source, env!("CARGO_PKG_VERSION"));
        let created_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let csv = csv.take();
        let input = BundleInput {
            scrubbed_csv_len: csv.len() as u64,
            scrubbed_csv: csv.as_slice(),
            html: &html,
            probe_json: None,
            source: &source,
            version: env!("CARGO_PKG_VERSION"),
            created_ms,
            extra: &[],
        };
        let out = write_bundle(Vec::new(), &result, input).map_err(internal)?;
        let mut r = typed(out, "application/zstd");
        r.headers_mut().insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"nodewarden-bundle.tar.zst\""),
        );
        Ok(r)
    })
    .await
}

#[derive(Deserialize)]
struct Pair {
    a: String,
    b: String,
}

async fn compare_nodes(State(h): State<Option<Arc<History>>>, Query(p): Query<Pair>) -> Response {
    with_history(h, move |h| {
        let a = only(analyse(h, &p.a, None)?)?;
        let b = only(analyse(h, &p.b, None)?)?;
        let c = compare(
            &Run {
                label: p.a.clone(),
                analysis: a.clone(),
            },
            &Run {
                label: p.b.clone(),
                analysis: b.clone(),
            },
        );
        Ok(typed(
            nodewarden_report::compare_fragment(&c, &a, &b),
            "text/html; charset=utf-8",
        ))
    })
    .await
}

/// The one node's analysis of a per-node pass.
fn only(r: RunResult) -> Result<nodewarden_analyze::Analysis, Failed> {
    r.analyses
        .into_iter()
        .next()
        .ok_or_else(|| internal("no analysis"))
}
