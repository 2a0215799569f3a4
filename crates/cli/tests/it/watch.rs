//! The live watch: metrics that promtool accepts, recording, and robustness when nodes die,
//! hang, or answer garbage.
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nodewarden_record::Recording;

use crate::support::*;

const METRICS: [&str; 23] = [
    "nodewarden_sync_current_height",
    "nodewarden_sync_target_height",
    "nodewarden_sync_state",
    "nodewarden_synced",
    "nodewarden_peers",
    "nodewarden_sync_rate_blocks_per_second",
    "nodewarden_sync_eta_seconds",
    "nodewarden_stalled",
    "nodewarden_stalls_total",
    "nodewarden_sync_eta_stalled",
    "nodewarden_outages_total",
    "nodewarden_peer_losses_total",
    "nodewarden_peer_loss_seconds",
    "nodewarden_head_age_seconds",
    "nodewarden_rpc_up",
    "nodewarden_rpc_errors_total",
    "nodewarden_rpc_latency_seconds_bucket",
    "nodewarden_process_cpu_seconds_total",
    "nodewarden_process_resident_memory_bytes",
    "nodewarden_process_read_bytes_total",
    "nodewarden_process_written_bytes_total",
    "nodewarden_data_dir_bytes",
    "nodewarden_build_info",
];

fn promtool() -> std::path::PathBuf {
    external("NODEWARDEN_PROMTOOL", "/usr/bin/promtool")
}

fn write_config(
    dir: &std::path::Path,
    nodes: &[(&str, &str, &str, Option<&std::path::Path>)],
) -> std::path::PathBuf {
    let mut text = String::new();
    for (name, kind, url, pid_dir) in nodes {
        text.push_str(&format!(
            "[[node]]\nname = {name:?}\nkind = \"{kind}\"\nrpc = \"{url}\"\n"
        ));
        if let Some(d) = pid_dir {
            text.push_str(&format!(
                "pid_file = \"{}\"\ndata_dir = \"{}\"\n",
                d.join("sim.pid").display(),
                d.display()
            ));
        }
    }
    let path = dir.join("nodewarden.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `watch` on a config file, recording into `db`, serving HTTP on a free loopback port.
fn watch_recording(
    cfg: &std::path::Path,
    db: &std::path::Path,
    interval: &str,
    duration: &str,
) -> Spawned {
    Spawned::start(&[
        "--config",
        cfg.to_str().unwrap(),
        "watch",
        "--listen",
        "127.0.0.1:0",
        "--record",
        db.to_str().unwrap(),
        "--interval",
        interval,
        "--duration",
        duration,
    ])
}

fn samples(db: &std::path::Path, node: &str) -> Vec<nodewarden_analyze::Sample> {
    let store = Recording::open(db).unwrap();
    let run = store.resolve("latest").unwrap();
    let mut v = Vec::new();
    store
        .for_each_sample(run.id, Some(node), |s| v.push(s))
        .unwrap();
    v
}

#[test]
fn metrics_pass_promtool_and_the_recording_exports() {
    let tmp = tempfile::tempdir().unwrap();
    let znn_dir = tmp.path().join("znn");
    let syncing = "start_height = 1\ntip_height = 5000000\npeers = 12\n[[phase]]\nuntil = \"tip\"\nrate = 40\n";
    let znn = SimProc::start(SimSpec {
        kind: "zenon",
        scenario: Some(syncing),
        speed: 50.0,
        data_dir: &znn_dir,
        port: 0,
    });
    std::fs::write(znn_dir.join("sim.pid"), znn.child.id().to_string()).unwrap();
    let eth = SimProc::quick("ethereum", &tmp.path().join("eth"));
    let cfg = write_config(
        tmp.path(),
        &[
            ("znn", "zenon", &znn.url, Some(&znn_dir)),
            ("eth\\x", "ethereum", &eth.url, None),
        ],
    );
    let db = tmp.path().join("rec.db");
    let mut w = watch_recording(&cfg, &db, "500ms", "30s");
    let base = w.http_base();
    wait_until(
        "two ticks with process samples",
        Duration::from_secs(20),
        || {
            let (_, m) = http_get(&format!("{base}/metrics"));
            metric(&m, "nodewarden_process_cpu_seconds_total", "node=\"znn\"").is_some()
                && metric(&m, "nodewarden_sync_eta_seconds", "node=\"znn\"").is_some()
                && metric(&m, "nodewarden_sync_rate_blocks_per_second", "node=\"znn\"").is_some()
        },
    );
    let (status, text) = http_get(&format!("{base}/metrics"));
    assert_eq!(status, 200);
    for name in METRICS {
        assert!(
            text.contains(&format!("\n{name}{{")),
            "missing {name}:\n{text}"
        );
    }
    assert!(
        text.contains(r#"node="eth\\x""#),
        "label values are escaped"
    );
    // The sim's data dir is a real LevelDB: its levels are exported, read from the MANIFEST.
    for name in [
        "nodewarden_db_level_files",
        "nodewarden_db_compaction_score",
        "nodewarden_db_wal_bytes",
    ] {
        assert!(
            metric(&text, name, "node=\"znn\"").is_some(),
            "{name}:\n{text}"
        );
    }
    let mut check = Command::new(promtool())
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool lint: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let nodes = get_json(&format!("{base}/api/nodes"));
    let names: Vec<&str> = nodes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["znn", "eth\\x"]);
    assert_eq!(nodes[0]["process"]["pid"], znn.child.id());
    // No process or pid file configured: found by the RPC port it listens on.
    assert_eq!(nodes[1]["process"]["pid"], eth.child.id(), "{}", nodes[1]);
    assert!(nodes[1]["process"]["rss_bytes"].as_u64().unwrap() > 0);
    assert!(nodes[0]["data_dir_bytes"].as_u64().unwrap() > 0);
    assert_eq!(
        http_get(&format!("{base}/healthz")),
        (200, "ok\n".to_string())
    );

    w.signal(libc::SIGTERM);
    let (status, lines) = w.finish(Duration::from_secs(20));
    assert!(status.success(), "{lines:?}");
    let recorded = samples(&db, "znn");
    // Process sampling does not depend on the RPC: every sample has it. Heights need the
    // RPC, whose first answers may miss a deadline on a loaded machine.
    assert!(recorded.iter().all(|s| s.cpu_s.is_some()), "{recorded:?}");
    let with_heights = recorded.iter().filter(|s| s.current.is_some()).count();
    assert!(
        with_heights >= 2,
        "{with_heights} of {} have heights",
        recorded.len()
    );
    // The sim's LevelDB as the recording kept it: charted beside the sync graph, summed
    // up in the terminal report. The ethereum sim has no data dir: no chart for it.
    let html = tmp.path().join("report.html");
    let out = run(&[
        "report",
        db.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let chart = "Database: L0 files and compaction debt";
    assert!(std::fs::read_to_string(&html).unwrap().contains(chart));
    assert!(
        stdout(&out).contains("database   worst at +"),
        "{}",
        stdout(&out)
    );
    let out = run(&[
        "report",
        db.to_str().unwrap(),
        "--node",
        "eth\\x",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!std::fs::read_to_string(&html).unwrap().contains(chart));
}

#[test]
fn deploy_rules_and_scrape_config_pass_promtool() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/prometheus");
    for args in [
        vec!["check", "rules", "alerts.yml"],
        vec!["test", "rules", "alerts_test.yml"],
        vec!["check", "config", "prometheus.yml"],
    ] {
        let out = Command::new(promtool())
            .args(&args)
            .current_dir(&root)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "promtool {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let grafana =
        std::fs::read_to_string(root.join("../grafana/nodewarden-dashboard.json")).unwrap();
    let dash: serde_json::Value = serde_json::from_str(&grafana).unwrap();
    assert!(dash["panels"].as_array().unwrap().len() >= 10);
    let config = root.join("../nodewarden.toml");
    let out = run(&[
        "--config",
        config.to_str().unwrap(),
        "watch",
        "--once",
        "--timeout",
        "200ms",
    ]);
    // The example's nodes are not running here: every one fails, but the file is valid.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("hyperqube"), "{}", stdout(&out));
}

/// Kill the node mid-watch: rpc_up drops to 0, errors are recorded, and after a restart on
/// the same port the new process is found and rpc_up returns to 1.
#[test]
fn node_killed_and_restarted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("znn");
    let port = dead_port();
    let spec = |d| SimSpec {
        kind: "zenon",
        scenario: None,
        speed: 20.0,
        data_dir: d,
        port,
    };
    let first = SimProc::start(spec(&dir));
    std::fs::write(dir.join("sim.pid"), first.child.id().to_string()).unwrap();
    let cfg = write_config(tmp.path(), &[("znn", "zenon", &first.url, Some(&dir))]);
    let db = tmp.path().join("rec.db");
    let mut w = watch_recording(&cfg, &db, "500ms", "60s");
    let base = w.http_base();
    let api = format!("{base}/api/nodes");
    let first_pid = first.child.id();
    wait_until("up with the first pid", Duration::from_secs(20), || {
        let n = &get_json(&api)[0];
        n["rpc_up"] == true && n["process"]["pid"] == first_pid
    });
    first.signal(libc::SIGKILL);
    drop(first);
    wait_until("rpc_up 0", Duration::from_secs(20), || {
        let (_, m) = http_get(&format!("{base}/metrics"));
        metric(&m, "nodewarden_rpc_up", "node=\"znn\"") == Some(0.0)
            && metric(&m, "nodewarden_rpc_errors_total", "reason=\"refused\"").unwrap_or(0.0) >= 1.0
    });
    let second = SimProc::start(spec(&dir));
    std::fs::write(dir.join("sim.pid"), second.child.id().to_string()).unwrap();
    let second_pid = second.child.id();
    wait_until("up again with the new pid", Duration::from_secs(20), || {
        let n = &get_json(&api)[0];
        n["rpc_up"] == true && n["process"]["pid"] == second_pid
    });
    w.signal(libc::SIGTERM);
    let (status, lines) = w.finish(Duration::from_secs(20));
    assert!(status.success(), "{lines:?}");
    let s = samples(&db, "znn");
    let first_err = s
        .iter()
        .position(|x| x.is_error())
        .expect("error samples recorded");
    assert!(
        s[..first_err].iter().any(|x| x.current.is_some()),
        "good samples before the kill"
    );
    assert!(
        s[first_err..].iter().any(|x| !x.is_error()),
        "good samples after the restart"
    );
    assert!(
        s.iter()
            .filter(|x| x.is_error())
            .all(|x| x.current.is_none()),
        "error samples carry no heights"
    );
    // A gap of errors, not a gap in the clock.
    let max_gap = s.windows(2).map(|w| w[1].t_ms - w[0].t_ms).max().unwrap();
    assert!(
        max_gap < 2500,
        "ticks kept coming while the node was down: gap {max_gap} ms"
    );
}

/// A node that never answers costs only its own samples; the other node keeps its cadence,
/// and answers that are not JSON are counted by reason.
#[test]
fn hung_and_malformed_nodes_do_not_disturb_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    let good = SimProc::quick("substrate", &tmp.path().join("sub"));
    let hung = canned_server(None, 64);
    let garbage = canned_server(
        Some(Box::leak(
            json_response("{\"jsonrpc\":\"2.0\",\"id\":1,\"resu").into_boxed_str(),
        )),
        1000,
    );
    let cfg = write_config(
        tmp.path(),
        &[
            ("good", "substrate", &good.url, None),
            ("hung", "zenon", &hung, None),
            ("junk", "ethereum", &garbage, None),
        ],
    );
    let db = tmp.path().join("rec.db");
    let started = Instant::now();
    let mut w = watch_recording(&cfg, &db, "1s", "7s");
    let base = w.http_base();
    wait_until("malformed counted", Duration::from_secs(20), || {
        let (_, m) = http_get(&format!("{base}/metrics"));
        metric(
            &m,
            "nodewarden_rpc_errors_total",
            "node=\"junk\",kind=\"ethereum\",reason=\"malformed\"",
        )
        .unwrap_or(0.0)
            >= 2.0
            && metric(
                &m,
                "nodewarden_rpc_errors_total",
                "node=\"hung\",kind=\"zenon\",reason=\"timeout\"",
            )
            .unwrap_or(0.0)
                >= 1.0
    });
    let (status, _) = w.finish(Duration::from_secs(30));
    assert!(status.success());
    assert!(started.elapsed() < Duration::from_secs(15));
    let g = samples(&db, "good");
    assert!(
        g.len() >= 6,
        "the good node was polled on every tick: {} samples",
        g.len()
    );
    // The hung node costs only its own samples; a loaded machine may make the good node
    // miss a deadline now and then, never most of them.
    let errors = g.iter().filter(|s| s.is_error()).count();
    assert!(
        errors * 3 <= g.len(),
        "{errors} of {} good-node samples failed",
        g.len()
    );
    let max_gap = g.windows(2).map(|w| w[1].t_ms - w[0].t_ms).max().unwrap();
    assert!(
        max_gap < 2000,
        "cadence held despite the hung node: gap {max_gap} ms"
    );
    assert!(samples(&db, "hung").iter().all(|s| s.is_error()));
}

/// SIGTERM flushes the recording: the last tick before the signal is in the file.
#[test]
fn sigterm_flushes_the_recording() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = SimProc::quick("ethereum", &tmp.path().join("eth"));
    let db = tmp.path().join("rec.db");
    let node = format!("eth=ethereum@{}", sim.url);
    let mut w = Spawned::start(&[
        "watch",
        "--node",
        &node,
        "--no-listen",
        "--record",
        db.to_str().unwrap(),
        "--interval",
        "100ms",
    ]);
    w.wait_line("recording run", Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(1500));
    let signalled = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    w.signal(libc::SIGTERM);
    let (status, lines) = w.finish(Duration::from_secs(20));
    assert!(status.success(), "{lines:?}");
    assert!(
        lines.iter().any(|l| l.starts_with("recorded run")),
        "{lines:?}"
    );
    let s = samples(&db, "eth");
    assert!(s.len() >= 10, "{} samples", s.len());
    let last = s.last().unwrap().t_ms;
    assert!(
        signalled - last < 400,
        "samples of the last second before SIGTERM are kept: last {last}, signal {signalled}"
    );
}

#[test]
fn non_loopback_needs_allow_remote() {
    let out = run(&[
        "watch",
        "--node",
        "a=zenon",
        "--listen",
        "0.0.0.0:0",
        "--no-record",
        "--duration",
        "1s",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--allow-remote"), "{}", stderr(&out));
}

#[test]
fn demo_runs_four_nodes_and_cleans_up() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let mut d = Spawned::start(&[
        "demo",
        "--dir",
        dir.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--duration",
        "30s",
        "--speed",
        "20",
        "--interval",
        "250ms",
    ]);
    let base = d.http_base();
    let api = format!("{base}/api/nodes");
    wait_until(
        "every demo node up and advancing",
        Duration::from_secs(25),
        || {
            let nodes = get_json(&api);
            let nodes = nodes.as_array().unwrap();
            nodes.len() == 4
                && nodes.iter().all(|n| {
                    // On a loaded machine znn-b may already sit in its first stall at 600.
                    let stalled_b = n["name"] == "znn-b" && n["current"] == 600;
                    n["rpc_up"] == true
                        && (n["rate_blocks_per_second"].as_f64().unwrap_or(0.0) > 0.0 || stalled_b)
                })
        },
    );
    let names: Vec<String> = get_json(&api)
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["znn-a", "znn-b", "eth", "xx"]);
    let pids: Vec<i32> = ["znn-a", "znn-b", "eth", "xx"]
        .iter()
        .map(|n| {
            std::fs::read_to_string(dir.join(format!("{n}.pid")))
                .unwrap()
                .trim()
                .parse()
                .unwrap()
        })
        .collect();
    d.signal(libc::SIGINT);
    let (status, lines) = d.finish(Duration::from_secs(30));
    assert!(status.success(), "{lines:?}");
    for pid in pids {
        // SAFETY: signal 0 only checks for existence.
        let alive = unsafe { libc::kill(pid, 0) } == 0;
        assert!(!alive, "sim {pid} outlived the demo");
    }
    assert!(
        Recording::open(&dir.join("demo.db"))
            .unwrap()
            .resolve("latest")
            .unwrap()
            .samples
            >= 8
    );
}

/// With a repository configured, the newest snapshot of each node shows in /metrics, in
/// /api/nodes (the dashboard cards) and the list in /api/snapshots (its backups page).
#[test]
fn backups_show_in_metrics_and_the_dashboard() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = repo_with_snapshot(tmp.path(), "znn");
    let repo_s = repo.to_str().unwrap();
    let sim = SimProc::quick("zenon", &tmp.path().join("znn"));
    let cfg = tmp.path().join("nodewarden.toml");
    std::fs::write(
        &cfg,
        format!("[[node]]\nname = \"znn\"\nkind = \"zenon\"\nrpc = \"{}\"\n[repository]\nurl = \"{repo_s}\"\n", sim.url),
    )
    .unwrap();
    let mut w = Spawned::start(&[
        "--config",
        cfg.to_str().unwrap(),
        "watch",
        "--listen",
        "127.0.0.1:0",
        "--no-record",
        "--interval",
        "500ms",
        "--duration",
        "30s",
    ]);
    let base = w.http_base();
    wait_until("the backup metric", Duration::from_secs(20), || {
        let (_, m) = http_get(&format!("{base}/metrics"));
        metric(
            &m,
            "nodewarden_backup_last_success_timestamp_seconds",
            "node=\"znn\"",
        )
        .is_some()
    });
    let (_, m) = http_get(&format!("{base}/metrics"));
    let t = metric(
        &m,
        "nodewarden_backup_last_success_timestamp_seconds",
        "node=\"znn\"",
    )
    .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        now - t >= 0.0 && now - t < 120.0,
        "snapshot time {t}, now {now}"
    );
    assert!(
        metric(
            &m,
            "nodewarden_backup_last_duration_seconds",
            "node=\"znn\""
        )
        .is_some()
    );
    let node = &get_json(&format!("{base}/api/nodes"))[0];
    assert!(
        node["backup"]["name"]
            .as_str()
            .unwrap()
            .starts_with("znn-h"),
        "{node}"
    );
    assert!(node["backup_age_seconds"].as_f64().is_some());
    let snaps = get_json(&format!("{base}/api/snapshots"));
    assert_eq!(snaps.as_array().unwrap().len(), 1);
    assert_eq!(snaps[0]["node"], "znn");
    let checked = get_json(&format!("{base}/api/verify"));
    assert_eq!(checked["ok"], true, "{checked}");
    assert_eq!(checked["snapshots"], 1);
    w.signal(libc::SIGTERM);
    assert!(w.finish(Duration::from_secs(20)).0.success());
}
