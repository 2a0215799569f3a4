//! Backups from the browser: `POST /api/actions/{backup,verify,restore}` start a job, `GET
//! /api/actions/{id}/events` streams its progress as server-sent events, `GET /api/actions`
//! says whether actions are on and hands out the CSRF token. The work itself is done by
//! an [`Actions`] implementation the binary passes in (this crate is a sink and knows no
//! backup engine); here are the guards: same origin, CSRF token, one job of a kind at a
//! time, and an audit line for every start, end and refusal.
use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use crate::auth::{Who, constant_time_eq};

/// What the binary implements with the backup engine. Every call runs on a blocking thread
/// and returns a one-line result or a one-line error.
pub trait Actions: Send + Sync + 'static {
    /// The nodes "Back up now" is offered for (those with a data dir and a `service`).
    fn backup_nodes(&self) -> Vec<String>;
    fn backup(&self, node: &str, job: &Job) -> Result<String, String>;
    /// Structure, plus `read_percent` of the packs read back and re-hashed.
    fn verify(&self, read_percent: u8, job: &Job) -> Result<String, String>;
    fn restore(&self, req: &RestoreRequest, job: &Job) -> Result<String, String>;
    /// One audit line: who did what, and how it ended.
    fn audit(&self, line: &str);
}

#[derive(Debug, Clone, Deserialize)]
pub struct RestoreRequest {
    /// A snapshot name, id or id prefix.
    pub snapshot: String,
    /// An absolute directory on this host.
    pub target: String,
    /// The node's name, typed by the operator, to restore over its live data dir.
    pub confirm: Option<String>,
}

#[derive(Deserialize)]
struct BackupRequest {
    node: String,
}

#[derive(Deserialize)]
struct VerifyRequest {
    read_percent: u8,
}

/// Progress notes kept per job for a late subscriber; the rest are only counted.
const MAX_NOTES: usize = 200;
/// Finished jobs kept for `/api/actions`.
const KEEP_JOBS: usize = 20;
/// At most this often a progress event: a gigabyte read must not become a million events.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

#[derive(Default)]
struct JobState {
    notes: Vec<(&'static str, String)>,
    phase: String,
    done: u64,
    total: Option<u64>,
    progress_seq: u64,
    last_progress: Option<Instant>,
    result: Option<(bool, String)>,
}

/// One running or finished action; the implementation reports through it.
pub struct Job {
    pub id: u64,
    pub kind: &'static str,
    pub what: String,
    pub who: String,
    state: Mutex<JobState>,
    changed: tokio::sync::watch::Sender<u64>,
}

impl Job {
    fn new(id: u64, kind: &'static str, what: String, who: String) -> Job {
        Job {
            id,
            kind,
            what,
            who,
            state: Mutex::new(JobState::default()),
            changed: tokio::sync::watch::channel(0).0,
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut JobState) -> R) -> R {
        let r = f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()));
        self.changed.send_modify(|v| *v += 1);
        r
    }

    /// A new phase (`total` bytes to go when known).
    pub fn phase(&self, name: &str, total: Option<u64>) {
        self.with(|s| {
            s.phase = name.to_string();
            s.done = 0;
            s.total = total;
            s.progress_seq += 1;
            s.last_progress = Some(Instant::now());
        });
    }

    /// Bytes done in the current phase.
    pub fn advance(&self, bytes: u64) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.done += bytes;
        if s.last_progress
            .is_some_and(|t| t.elapsed() < PROGRESS_EVERY)
        {
            return;
        }
        s.last_progress = Some(Instant::now());
        s.progress_seq += 1;
        drop(s);
        self.changed.send_modify(|v| *v += 1);
    }

    pub fn note(&self, message: &str) {
        let data = serde_json::json!({ "message": message }).to_string();
        self.with(|s| {
            if s.notes.len() < MAX_NOTES {
                s.notes.push(("note", data));
            }
        });
    }

    fn finish(&self, ok: bool, message: String) {
        self.with(|s| {
            s.progress_seq += 1;
            s.result = Some((ok, message));
        });
    }

    fn result(&self) -> Option<(bool, String)> {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .result
            .clone()
    }
}

#[derive(Default)]
struct Jobs {
    next: u64,
    list: VecDeque<Arc<Job>>,
    running: HashMap<&'static str, u64>,
}

pub(crate) struct Hub {
    actions: Option<Arc<dyn Actions>>,
    /// Why actions are off, for the page to say.
    off_reason: &'static str,
    csrf: String,
    jobs: Mutex<Jobs>,
}

impl Hub {
    pub(crate) fn new(actions: Option<Arc<dyn Actions>>, off_reason: &'static str) -> Hub {
        let mut seed = [0u8; 24];
        // Without randomness there is no unguessable token: actions stay off.
        let (actions, off_reason) = match getrandom::getrandom(&mut seed) {
            Ok(()) => (actions, off_reason),
            Err(_) => (None, "actions are off: no randomness for a CSRF token"),
        };
        Hub {
            actions,
            off_reason,
            csrf: seed.iter().map(|b| format!("{b:02x}")).collect(),
            jobs: Mutex::default(),
        }
    }

    fn jobs(&self) -> std::sync::MutexGuard<'_, Jobs> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub(crate) fn routes(hub: Arc<Hub>) -> Router {
    Router::new()
        .route("/api/actions", get(overview))
        .route("/api/actions/backup", post(backup))
        .route("/api/actions/verify", post(verify))
        .route("/api/actions/restore", post(restore))
        .route("/api/actions/{id}/events", get(events))
        .with_state(hub)
}

#[derive(Serialize)]
struct JobRow {
    id: u64,
    kind: &'static str,
    what: String,
    who: String,
    ok: Option<bool>,
    message: Option<String>,
}

async fn overview(State(hub): State<Arc<Hub>>) -> Response {
    let Some(actions) = hub.actions.clone() else {
        return axum::Json(serde_json::json!({ "enabled": false, "reason": hub.off_reason }))
            .into_response();
    };
    let nodes = tokio::task::spawn_blocking(move || actions.backup_nodes())
        .await
        .unwrap_or_default();
    let jobs = hub.jobs();
    let row = |j: &Arc<Job>| {
        let r = j.result();
        JobRow {
            id: j.id,
            kind: j.kind,
            what: j.what.clone(),
            who: j.who.clone(),
            ok: r.as_ref().map(|r| r.0),
            message: r.map(|r| r.1),
        }
    };
    let running: Vec<JobRow> = jobs
        .list
        .iter()
        .filter(|j| jobs.running.get(j.kind) == Some(&j.id))
        .map(row)
        .collect();
    let recent: Vec<JobRow> = jobs.list.iter().map(row).collect();
    axum::Json(serde_json::json!({
        "enabled": true,
        "csrf": hub.csrf,
        "nodes": nodes,
        "running": running,
        "recent": recent,
    }))
    .into_response()
}

fn guard(hub: &Hub, headers: &HeaderMap) -> Result<Arc<dyn Actions>, (StatusCode, String)> {
    let Some(actions) = hub.actions.clone() else {
        return Err((StatusCode::FORBIDDEN, format!("{}\n", hub.off_reason)));
    };
    same_origin_with_token(&hub.csrf, headers)
        .map_err(|why| (StatusCode::FORBIDDEN, format!("refused: {why}\n")))?;
    Ok(actions)
}

/// Same origin and the CSRF token, or why not. A browser on another site sends its own
/// `Origin` (or `Sec-Fetch-Site: cross-site`) and cannot read the token.
fn same_origin_with_token(csrf: &str, headers: &HeaderMap) -> Result<(), String> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let host = get(header::HOST.as_str()).unwrap_or("");
    if let Some(origin) = get(header::ORIGIN.as_str()) {
        let ours = [format!("http://{host}"), format!("https://{host}")];
        if host.is_empty() || !ours.iter().any(|o| o == origin) {
            return Err(format!("origin {origin:?} is not this dashboard"));
        }
    } else if let Some(site) = get("sec-fetch-site")
        && site != "same-origin"
        && site != "none"
    {
        return Err(format!("a {site} request"));
    }
    match get("x-csrf-token") {
        Some(t) if constant_time_eq(t.as_bytes(), csrf.as_bytes()) => Ok(()),
        _ => Err("missing or wrong X-CSRF-Token (reload the page)".into()),
    }
}

type Work = Box<dyn FnOnce(&dyn Actions, &Job) -> Result<String, String> + Send>;

/// Checks, registers and starts a job; answers `202 {"id": N}` at once.
fn start(hub: Arc<Hub>, req: &Request, kind: &'static str, what: String, work: Work) -> Response {
    let who = req
        .extensions()
        .get::<Who>()
        .map_or_else(|| "loopback, no token".to_string(), |w| w.0.clone());
    let actions = match guard(&hub, req.headers()) {
        Ok(a) => a,
        Err((status, msg)) => {
            if let Some(a) = &hub.actions {
                a.audit(&format!("refused {kind} {what} by {who}: {}", msg.trim()));
            }
            return (status, msg).into_response();
        }
    };
    let job = {
        let mut jobs = hub.jobs();
        if let Some(id) = jobs.running.get(kind) {
            return (
                StatusCode::CONFLICT,
                format!("a {kind} is already running (job {id}); one at a time per repository\n"),
            )
                .into_response();
        }
        jobs.next += 1;
        let job = Arc::new(Job::new(jobs.next, kind, what, who));
        jobs.running.insert(kind, job.id);
        jobs.list.push_back(job.clone());
        while jobs.list.len() > KEEP_JOBS {
            let Some(pos) = jobs
                .list
                .iter()
                .position(|j| jobs.running.get(j.kind) != Some(&j.id))
            else {
                break;
            };
            jobs.list.remove(pos);
        }
        job
    };
    actions.audit(&format!(
        "job {}: {} {} started by {}",
        job.id, job.kind, job.what, job.who
    ));
    let id = job.id;
    tokio::task::spawn_blocking(move || {
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            work(actions.as_ref(), &job)
        }))
        .unwrap_or_else(|_| Err("internal error: the action panicked".into()));
        let (ok, msg) = match out {
            Ok(m) => (true, m),
            Err(e) => (false, e),
        };
        actions.audit(&format!(
            "job {}: {} {} by {} {}: {msg}",
            job.id,
            job.kind,
            job.what,
            job.who,
            if ok { "succeeded" } else { "failed" }
        ));
        hub.jobs().running.remove(job.kind);
        job.finish(ok, msg);
    });
    (
        StatusCode::ACCEPTED,
        axum::Json(serde_json::json!({ "id": id })),
    )
        .into_response()
}

/// The JSON body of a POST (64 KiB at most: the requests are a few names and a path).
async fn body<T: serde::de::DeserializeOwned>(req: Request) -> Result<(T, Request), Response> {
    let (parts, b) = req.into_parts();
    let bytes = axum::body::to_bytes(b, 64 * 1024)
        .await
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response())?;
    let v = serde_json::from_slice(&bytes)
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("bad request: {e}\n")).into_response())?;
    Ok((v, Request::from_parts(parts, axum::body::Body::empty())))
}

async fn backup(State(hub): State<Arc<Hub>>, req: Request) -> Response {
    let (b, req): (BackupRequest, _) = match body(req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let node = b.node;
    start(
        hub,
        &req,
        "backup",
        node.clone(),
        Box::new(move |a, job| a.backup(&node, job)),
    )
}

async fn verify(State(hub): State<Arc<Hub>>, req: Request) -> Response {
    let (v, req): (VerifyRequest, _) = match body(req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let pct = v.read_percent.min(100);
    start(
        hub,
        &req,
        "verify",
        format!("(read {pct} %)"),
        Box::new(move |a, job| a.verify(pct, job)),
    )
}

async fn restore(State(hub): State<Arc<Hub>>, req: Request) -> Response {
    let (r, req): (RestoreRequest, _) = match body(req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !std::path::Path::new(&r.target).is_absolute() {
        return (
            StatusCode::BAD_REQUEST,
            format!(
                "the restore target {:?} must be an absolute path\n",
                r.target
            ),
        )
            .into_response();
    }
    let what = format!("{} to {}", r.snapshot, r.target);
    start(
        hub,
        &req,
        "restore",
        what,
        Box::new(move |a, job| a.restore(&r, job)),
    )
}

/// The job's notes so far, its progress, then its result; the stream ends after the result.
async fn events(State(hub): State<Arc<Hub>>, Path(id): Path<u64>) -> Response {
    let job = hub.jobs().list.iter().find(|j| j.id == id).cloned();
    let Some(job) = job else {
        return (StatusCode::NOT_FOUND, format!("no job {id}\n")).into_response();
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(64);
    let mut changed = job.changed.subscribe();
    tokio::spawn(async move {
        let (mut notes_sent, mut seq_sent) = (0usize, 0u64);
        loop {
            let (out, end) = {
                let s = job.state.lock().unwrap_or_else(|p| p.into_inner());
                let mut out: Vec<Event> = s.notes[notes_sent..]
                    .iter()
                    .map(|(k, d)| Event::default().event(*k).data(d.clone()))
                    .collect();
                notes_sent = s.notes.len();
                if s.progress_seq != seq_sent && !s.phase.is_empty() {
                    seq_sent = s.progress_seq;
                    let p =
                        serde_json::json!({ "phase": s.phase, "done": s.done, "total": s.total });
                    out.push(Event::default().event("progress").data(p.to_string()));
                }
                if let Some((ok, msg)) = &s.result {
                    let d = serde_json::json!({ "ok": ok, "message": msg });
                    out.push(Event::default().event("done").data(d.to_string()));
                }
                (out, s.result.is_some())
            };
            for e in out {
                if tx.send(e).await.is_err() {
                    return;
                }
            }
            if end || changed.changed().await.is_err() {
                return;
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (Ok::<_, Infallible>(e), rx))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_same_origin_requests_with_the_token_pass() {
        let csrf = "0123456789abcdef";
        let host = ("host", "127.0.0.1:9866");
        let ok = [
            vec![
                host,
                ("origin", "http://127.0.0.1:9866"),
                ("x-csrf-token", csrf),
            ],
            vec![
                host,
                ("sec-fetch-site", "same-origin"),
                ("x-csrf-token", csrf),
            ],
            // curl: no Origin, no Sec-Fetch-Site; the token (read with the bearer) decides.
            vec![host, ("x-csrf-token", csrf)],
        ];
        for h in ok {
            assert_eq!(same_origin_with_token(csrf, &headers(&h)), Ok(()), "{h:?}");
        }
        let refused = [
            (
                vec![host, ("origin", "http://127.0.0.1:9866")],
                "X-CSRF-Token",
            ),
            (
                vec![
                    host,
                    ("origin", "http://127.0.0.1:9866"),
                    ("x-csrf-token", "0123456789abcdeF"),
                ],
                "X-CSRF-Token",
            ),
            (
                vec![
                    host,
                    ("origin", "http://evil.example"),
                    ("x-csrf-token", csrf),
                ],
                "evil.example",
            ),
            (
                vec![host, ("origin", "null"), ("x-csrf-token", csrf)],
                "null",
            ),
            (
                vec![("origin", "http://"), ("x-csrf-token", csrf)],
                "origin",
            ),
            (
                vec![
                    host,
                    ("sec-fetch-site", "cross-site"),
                    ("x-csrf-token", csrf),
                ],
                "cross-site",
            ),
            (
                vec![
                    host,
                    ("sec-fetch-site", "same-site"),
                    ("x-csrf-token", csrf),
                ],
                "same-site",
            ),
        ];
        for (h, why) in refused {
            let e = same_origin_with_token(csrf, &headers(&h)).unwrap_err();
            assert!(e.contains(why), "{h:?}: {e}");
        }
    }

    #[test]
    fn a_job_coalesces_progress_and_keeps_its_result() {
        let job = Job::new(1, "verify", "(read 10 %)".into(), "token 0".into());
        job.phase("read", Some(1_000_000));
        for _ in 0..10_000 {
            job.advance(100);
        }
        job.note("hello");
        job.finish(true, "OK".into());
        let s = job.state.lock().unwrap();
        assert_eq!(s.done, 1_000_000);
        assert!(
            s.progress_seq < 100,
            "{} progress events for a fast phase",
            s.progress_seq
        );
        assert_eq!(s.notes.len(), 1);
        assert_eq!(s.result, Some((true, "OK".into())));
    }
}
