//! `nodewarden watch`: `--once` polls every node once; otherwise the watch loop with its
//! live view, HTTP server, recorder and backup follower, until a signal stops it.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nodewarden_analyze::AnalyzeOptions;
use nodewarden_config::{Config, DEFAULT_LISTEN};
use nodewarden_record::{Recorder, RunChoice};
use nodewarden_serve::{History, ServeOptions, Shared};
use nodewarden_watch::{WatchOptions, Watcher};

use crate::args::{LiveArgs, WatchArgs};
use crate::exit::{CmdResult, Failure};
use crate::progress::LiveView;

pub async fn run(args: WatchArgs, config: Option<&Path>) -> CmdResult {
    let loaded = Config::load(config).map_err(Failure::usage)?;
    let mut config = loaded.config.with_node_args(&args.nodes);
    if config.nodes.is_empty() {
        return Err(Failure::usage(
            "no nodes to watch: add [[node]] tables to nodewarden.toml or pass --node NAME=KIND@URL",
        ));
    }
    if let Some(t) = args.timeout {
        for n in &mut config.nodes {
            n.timeout = Some(t);
        }
    }
    if args.once {
        let reports = nodewarden_watch::poll_once(&config.nodes).await;
        let out = if args.json {
            serde_json::to_string_pretty(&reports).map_err(Failure::runtime)? + "\n"
        } else {
            nodewarden_report::status_table(&reports)
        };
        crate::out::stdout()
            .write_all(out.as_bytes())
            .map_err(Failure::runtime)?;
        return Ok(if reports.iter().all(|r| r.ok) { 0 } else { 1 });
    }
    let settings = Settings::resolve(&config, &args.live, args.json)?;
    watch(config, settings, std::future::pending()).await
}

/// Work started beside the watch once its state and backups exist (the demo's backups).
pub type Sidecar = Box<
    dyn FnOnce(std::sync::Arc<Shared>, nodewarden_model::Backups) -> tokio::task::JoinHandle<()>
        + Send,
>;

/// Everything the live watch needs beyond the nodes, with flags over config over defaults.
pub struct Settings {
    pub interval: Duration,
    pub listen: Option<SocketAddr>,
    pub auth_token: Option<String>,
    /// Backups from the dashboard without a token (loopback only).
    pub allow_actions: bool,
    pub record: Option<PathBuf>,
    pub run: RunChoice,
    pub analyze: AnalyzeOptions,
    pub duration: Option<Duration>,
    pub log_every: Duration,
    pub json_lines: bool,
    pub sidecar: Option<Sidecar>,
}

impl Settings {
    pub fn resolve(config: &Config, a: &LiveArgs, json_lines: bool) -> Result<Settings, Failure> {
        let listen = if a.no_listen {
            None
        } else {
            let addr = match a.listen {
                Some(l) => l,
                None => config.watch.listen.parse().map_err(|_| {
                    Failure::usage(format!(
                        "watch.listen `{}` is not an address like {DEFAULT_LISTEN}",
                        config.watch.listen
                    ))
                })?,
            };
            let remote_ok = a.allow_remote && a.auth_token_file.is_some();
            if !addr.ip().is_loopback() && !remote_ok {
                return Err(Failure::usage(format!(
                    "refusing to listen on {addr}: it is not loopback; add --allow-remote and --auth-token-file if hosts that can reach it may see your nodes"
                )));
            }
            Some(addr)
        };
        let record = (!a.no_record).then(|| {
            a.record
                .clone()
                .unwrap_or_else(|| config.watch.record.clone())
        });
        let interval = a.interval.unwrap_or(config.watch.interval);
        if interval < Duration::from_millis(100) {
            return Err(Failure::usage("--interval must be at least 100ms"));
        }
        let auth_token = match &a.auth_token_file {
            Some(f) => Some(nodewarden_serve::read_token(f).map_err(Failure::usage)?),
            None => None,
        };
        Ok(Settings {
            interval,
            listen,
            auth_token,
            allow_actions: a.allow_actions,
            record,
            run: a
                .run
                .clone()
                .map(RunChoice::Named)
                .unwrap_or(RunChoice::New),
            analyze: AnalyzeOptions {
                stall_after: a.stall_after.unwrap_or(config.watch.stall_after),
                ..AnalyzeOptions::default()
            },
            duration: a.duration,
            log_every: a.log_every,
            json_lines,
            sidecar: None,
        })
    }
}

/// The live watch: HTTP, recording, live view; returns when a signal, `--duration` or
/// `stop` ends it, with the recording flushed.
pub async fn watch(
    config: Config,
    mut s: Settings,
    stop: impl std::future::Future<Output = ()>,
) -> CmdResult {
    let signalled = crate::shutdown::signal();
    let shared = Shared::new();
    let mut out = crate::out::stdout();
    let recorder = match &s.record {
        Some(path) => {
            let r = Recorder::open(path, s.run.clone(), env!("CARGO_PKG_VERSION"))
                .map_err(Failure::runtime)?;
            for n in &config.nodes {
                r.register_node(&n.name, &n.kind.to_string())
                    .map_err(Failure::runtime)?;
            }
            let _ = writeln!(
                out,
                "recording run `{}` into {}",
                r.run_name(),
                path.display()
            );
            Some(r)
        }
        None => None,
    };
    let watcher = Watcher::new(
        &config.nodes,
        WatchOptions {
            interval: s.interval,
            analyze: s.analyze.clone(),
        },
    )
    .with_priors(match (&s.record, &recorder) {
        (Some(path), Some(r)) => earlier_profiles(path, r.run_name(), &config, &s.analyze),
        _ => Default::default(),
    });
    let (http_stop_tx, http_stop_rx) = tokio::sync::oneshot::channel::<()>();
    let mut http = None;
    if let Some(addr) = s.listen {
        let listener = nodewarden_serve::bind(addr)
            .await
            .map_err(Failure::runtime)?;
        let bound = listener.local_addr().map_err(Failure::runtime)?;
        let _ = writeln!(
            out,
            "serving http://{bound}/ (dashboard), http://{bound}/metrics and http://{bound}/api/nodes"
        );
        let opts = ServeOptions {
            auth_token: s.auth_token.clone(),
            history: match (&s.record, &recorder) {
                (Some(path), Some(r)) => Some(History {
                    path: path.clone(),
                    run: r.run_name().to_string(),
                    analyze: s.analyze.clone(),
                }),
                _ => None,
            },
            actions: crate::cmd::actions::BackupActions::new(
                &config,
                shared.clone(),
                watcher.backups(),
            )
            .map(|a| std::sync::Arc::new(a) as std::sync::Arc<dyn nodewarden_serve::Actions>),
            allow_actions: s.allow_actions,
        };
        http = Some(tokio::spawn(nodewarden_serve::serve(
            listener,
            shared.clone(),
            opts,
            async {
                let _ = http_stop_rx.await;
            },
        )));
    }
    let _ = out.flush();
    let follower = config.repository.clone().map(|repo| {
        tokio::spawn(crate::cmd::follow_backups::follow(
            repo,
            watcher.backups(),
            shared.clone(),
        ))
    });
    let sidecar = s
        .sidecar
        .take()
        .map(|f| f(shared.clone(), watcher.backups()));
    let mut view = LiveView::new(&config.nodes, s.log_every, s.json_lines);
    let evidence = watcher.evidence();
    let remedies = watcher.remedies();
    let mut record_error = None;
    let shutdown = async {
        let limit = async {
            match s.duration {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = signalled => {}
            _ = limit => {}
            _ = stop => {}
        }
    };
    nodewarden_watch::run(watcher, s.interval, shutdown, |state, rows| {
        shared.publish(state);
        view.update(state);
        if let Some(r) = &recorder
            && record_error.is_none()
        {
            for row in rows {
                if let Err(e) = r.record(row) {
                    record_error = Some(e);
                    break;
                }
            }
            let captured = evidence.lock().map(|mut v| std::mem::take(&mut *v));
            for f in captured.unwrap_or_default() {
                if let Err(e) = r.record_forensics(f) {
                    record_error.get_or_insert(e);
                }
            }
            let restarts = remedies.lock().map(|mut v| std::mem::take(&mut *v));
            for e in restarts.unwrap_or_default() {
                if let Err(e) = r.record_remedy(e) {
                    record_error.get_or_insert(e);
                }
            }
        }
    })
    .await;
    view.finish();
    for f in [follower, sidecar].into_iter().flatten() {
        f.abort();
    }
    let _ = http_stop_tx.send(());
    if let Some(h) = http {
        let _ = h.await;
    }
    if let Some(r) = recorder {
        let name = r.run_name().to_string();
        r.close().map_err(Failure::runtime)?;
        let _ = writeln!(crate::out::stdout(), "recorded run `{name}`");
    }
    match record_error {
        Some(e) => Err(Failure::runtime(e)),
        None => Ok(0),
    }
}

/// Cost shapes of the nodes' earlier syncs in the recording, for their ETAs; none when the
/// recording cannot be read back (the watch goes on without).
fn earlier_profiles(
    path: &std::path::Path,
    run: &str,
    config: &Config,
    opts: &AnalyzeOptions,
) -> std::collections::HashMap<String, nodewarden_analyze::CostProfile> {
    let store = match nodewarden_record::Recording::open(path).and_then(|r| {
        let id = r.resolve(run)?.id;
        Ok((r, id))
    }) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("earlier runs for the ETA: {e}");
            return Default::default();
        }
    };
    let nodes: Vec<(String, String)> = config
        .nodes
        .iter()
        .map(|n| (n.name.clone(), n.kind.to_string()))
        .collect();
    crate::cmd::input::earlier_profiles(&store.0, store.1, &nodes, opts)
}
