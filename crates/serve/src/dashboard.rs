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
use nodewarden_analyze::{AnalyzeOptions, NodeTracker, Run, Sample, compare, write_csv};
use nodewarden_record::Recording;
use nodewarden_report::{NodeData, Timeline};
use serde::Deserialize;

const INDEX: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const STYLE: &str = include_str!("../assets/style.css");

/// Where the history behind the node pages comes from: the watch's recording and run.
#[derive(Debug, Clone)]
pub struct History {
    pub path: PathBuf,
    pub run: String,
    pub analyze: AnalyzeOptions,
}

/// Chart resolution: enough points for a 1100-pixel-wide chart.
const TIMELINE_BINS: usize = 600;

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

/// A node's recorded samples, newest window only when `last` is given.
fn load(h: &History, node: &str, last: Option<u64>) -> Result<Vec<Sample>, (StatusCode, String)> {
    let store =
        Recording::open(&h.path).map_err(|e| (StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    let run = store
        .resolve(&h.run)
        .map_err(|e| (StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    let mut samples = Vec::new();
    store
        .for_each_sample(run.id, Some(node), |s| samples.push(s))
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    if samples.is_empty() {
        return Err((
            StatusCode::NOT_FOUND,
            format!("no samples of node `{node}` in run `{}`", h.run),
        ));
    }
    if let (Some(secs), Some(newest)) = (last.filter(|&s| s > 0), samples.last().map(|s| s.t_ms)) {
        let from = newest - (secs as i64) * 1000;
        samples.retain(|s| s.t_ms >= from);
    }
    Ok(samples)
}

fn analyse(
    h: &History,
    node: &str,
    samples: &[Sample],
) -> (nodewarden_analyze::Analysis, Timeline) {
    let mut tracker = NodeTracker::new(node, h.analyze.clone());
    let mut timeline = Timeline::new(node, TIMELINE_BINS);
    for s in samples {
        tracker.push(s);
        timeline.push(s);
    }
    (tracker.analysis(), timeline)
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
            "history needs a recording: run watch with --record".into(),
        ),
    }
}

async fn section(
    State(h): State<Option<Arc<History>>>,
    Path(name): Path<String>,
    Query(r): Query<Range>,
) -> Response {
    with_history(h, move |h| {
        let samples = load(h, &name, r.last)?;
        let (analysis, timeline) = analyse(h, &name, &samples);
        let points = timeline.points();
        let html = nodewarden_report::node_fragment(&NodeData {
            analysis: &analysis,
            timeline: &points,
        });
        Ok(typed(html, "text/html; charset=utf-8"))
    })
    .await
}

async fn csv(State(h): State<Option<Arc<History>>>, Path(name): Path<String>) -> Response {
    with_history(h, move |h| {
        let samples = load(h, &name, None)?;
        let mut out = Vec::new();
        write_csv(&mut out, samples.iter())
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        Ok(typed(out, "text/csv; charset=utf-8"))
    })
    .await
}

async fn report(State(h): State<Option<Arc<History>>>, Path(name): Path<String>) -> Response {
    with_history(h, move |h| {
        let samples = load(h, &name, None)?;
        let (analysis, timeline) = analyse(h, &name, &samples);
        let points = timeline.points();
        let source = format!("run {} of {}", h.run, h.path.display());
        let html = nodewarden_report::report_html(
            &name,
            &source,
            env!("CARGO_PKG_VERSION"),
            &[NodeData {
                analysis: &analysis,
                timeline: &points,
            }],
        );
        Ok(typed(html, "text/html; charset=utf-8"))
    })
    .await
}

/// The same shareable bundle as `report --bundle`, scrubbed of addresses and keys.
async fn bundle(State(h): State<Option<Arc<History>>>, Path(name): Path<String>) -> Response {
    with_history(h, move |h| {
        let mut samples = load(h, &name, None)?;
        let (analysis, timeline) = analyse(h, &name, &samples);
        let points = timeline.points();
        let internal = |e: String| (StatusCode::INTERNAL_SERVER_ERROR, e);
        // Node names are the samples' only free text.
        let clean = nodewarden_report::redact(&name);
        for s in &mut samples {
            s.node.clone_from(&clean);
        }
        let csv = write_csv(Vec::new(), samples.iter()).map_err(|e| internal(e.to_string()))?;
        let summary =
            serde_json::to_string_pretty(&[&analysis]).map_err(|e| internal(e.to_string()))?;
        let source = format!("run {} (dashboard)", h.run);
        let html = nodewarden_report::report_html(
            &clean,
            &source,
            env!("CARGO_PKG_VERSION"),
            &[NodeData {
                analysis: &analysis,
                timeline: &points,
            }],
        );
        let created_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let out = nodewarden_report::write_run_bundle(
            Vec::new(),
            nodewarden_report::RunBundle {
                samples_csv_len: csv.len() as u64,
                samples_csv: csv.as_slice(),
                summary_json: &summary,
                report_html: &html,
                probe_json: None,
                source: &source,
                nodes: &[clean.as_str()],
                version: env!("CARGO_PKG_VERSION"),
                created_ms,
            },
        )
        .map_err(|e| internal(e.to_string()))?;
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
        let (a, _) = analyse(h, &p.a, &load(h, &p.a, None)?);
        let (b, _) = analyse(h, &p.b, &load(h, &p.b, None)?);
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
