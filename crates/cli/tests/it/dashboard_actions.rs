//! The dashboard's backup actions over plain HTTP: a real sim stopped and started by its
//! service commands, a real repository, `watch --allow-actions` on loopback. Backup, one
//! job of a kind at a time, the server-sent events, a restore over the live data dir with
//! the node's name, and actions refused when they are off.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::backup::{ManagedNode, ok, snapshots_json};
use crate::support::*;

/// POST a JSON body with the given extra headers; status and body.
fn post(base: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = resp.split_once("\r\n\r\n").map_or("", |p| p.1).to_string();
    (status, body)
}

/// Reads a job's event stream to its `done` event: (event names seen, the done data).
fn events(base: &str, id: u64) -> (Vec<String>, serde_json::Value) {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    write!(
        s,
        "GET /api/actions/{id}/events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut names = Vec::new();
    let mut current = String::new();
    for line in BufReader::new(s).lines() {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("event: ") {
            current = n.to_string();
            names.push(current.clone());
        } else if let Some(d) = line.strip_prefix("data: ")
            && current == "done"
        {
            return (names, serde_json::from_str(d).unwrap());
        }
    }
    panic!("the stream ended without a result: {names:?}");
}

/// `watch` with HTTP on a free loopback port, no recording; the process and its base URL.
fn watch_http(config: &std::path::Path, extra: &[&str]) -> (Spawned, String) {
    let mut args = vec![
        "--config",
        config.to_str().unwrap(),
        "watch",
        "--listen",
        "127.0.0.1:0",
        "--no-record",
        "--interval",
        "500ms",
        "--duration",
        "120s",
    ];
    args.extend_from_slice(extra);
    let mut watch = Spawned::start(&args);
    let base = watch.http_base();
    (watch, base)
}

fn job_id(body: &str) -> u64 {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    v["id"].as_u64().unwrap()
}

#[test]
fn backup_and_live_restore_from_the_dashboard() {
    let tmp = tempfile::tempdir().unwrap();
    let node = ManagedNode::new(tmp.path());
    wait_until("some blocks", Duration::from_secs(30), || {
        node.height() > 100
    });
    ok(&node.nw(&["init"]));
    let (watch, base) = watch_http(&node.config, &["--allow-actions"]);
    let actions = get_json(&format!("{base}/api/actions"));
    assert_eq!(actions["enabled"], true, "{actions}");
    assert_eq!(actions["nodes"], serde_json::json!(["znn"]));
    let csrf = actions["csrf"].as_str().unwrap().to_string();
    let origin = base.clone();
    let good = [("Origin", origin.as_str()), ("X-CSRF-Token", csrf.as_str())];

    // A backup, and a second one refused while the first runs.
    let (status, body) = post(&base, "/api/actions/backup", &good, r#"{"node":"znn"}"#);
    assert_eq!(status, 202, "{body}");
    let id = job_id(&body);
    let (status, body) = post(&base, "/api/actions/backup", &good, r#"{"node":"znn"}"#);
    assert_eq!(status, 409, "one backup at a time: {body}");
    let (names, done) = events(&base, id);
    assert_eq!(done["ok"], true, "{done}");
    assert!(names.iter().any(|n| n == "progress"), "{names:?}");
    assert!(
        names.iter().any(|n| n == "note"),
        "the downtime note: {names:?}"
    );
    let snaps = snapshots_json(&node);
    assert_eq!(snaps.len(), 1);
    let name = snaps[0]["name"].as_str().unwrap().to_string();
    let height = snaps[0]["height"].as_u64().unwrap();
    assert!(done["message"].as_str().unwrap().contains(&name), "{done}");
    // The backups page follows at once, without waiting for the 5-minute re-read.
    let listed = get_json(&format!("{base}/api/snapshots"));
    assert_eq!(listed[0]["name"], name.as_str(), "{listed}");
    // A late subscriber replays the finished job.
    assert_eq!(events(&base, id).1, done);

    // Over the live data dir: refused without the node's name, done with it.
    wait_until("the node moves on", Duration::from_secs(30), || {
        node.height() > height + 100
    });
    let target = node.dir.to_str().unwrap();
    let req = |confirm: &str| {
        format!(r#"{{"snapshot":"{name}","target":"{target}","confirm":{confirm}}}"#)
    };
    let (status, body) = post(&base, "/api/actions/restore", &good, &req("null"));
    assert_eq!(status, 202, "{body}");
    let (_, done) = events(&base, job_id(&body));
    assert_eq!(done["ok"], false, "{done}");
    assert!(
        done["message"]
            .as_str()
            .unwrap()
            .contains("needs its name typed"),
        "{done}"
    );
    // The node's own pace, to tell "went back to the snapshot" from "kept syncing" however
    // slowly this machine answers.
    let (h1, t1) = (node.height(), Instant::now());
    std::thread::sleep(Duration::from_secs(1));
    let (h2, t2) = (node.height(), Instant::now());
    let pace = (h2 - h1) as f64 / (t2 - t1).as_secs_f64();
    let (status, body) = post(&base, "/api/actions/restore", &good, &req("\"znn\""));
    assert_eq!(status, 202, "{body}");
    let (_, done) = events(&base, job_id(&body));
    assert_eq!(done["ok"], true, "{done}");
    node.wait_answering();
    let back = node.height();
    let unrestored = h2 as f64 + pace * t2.elapsed().as_secs_f64();
    assert!(
        back >= height && (back as f64) < unrestored - 50.0,
        "snapshot at {height}, node came back at {back}; without the restore it would be near {unrestored:.0}"
    );
    watch.signal(libc::SIGTERM);
    let (status, _) = watch.finish(Duration::from_secs(20));
    assert!(status.success());
}

#[test]
fn actions_are_off_without_a_token_or_allow_actions() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    ok(&run(&["init", "--repo", repo.to_str().unwrap()]));
    let cfg = tmp.path().join("nodewarden.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[node]]\nname = \"x\"\nkind = \"zenon\"\nrpc = \"http://127.0.0.1:{}\"\ndata_dir = \"/nonexistent\"\nservice = {{ systemd = \"x\" }}\n\n[repository]\nurl = {:?}\n",
            dead_port(),
            repo.display().to_string()
        ),
    )
    .unwrap();
    let (watch, base) = watch_http(&cfg, &[]);
    let actions = get_json(&format!("{base}/api/actions"));
    assert_eq!(actions["enabled"], false, "{actions}");
    assert!(
        actions["reason"]
            .as_str()
            .unwrap()
            .contains("--allow-actions"),
        "{actions}"
    );
    assert!(
        actions.get("csrf").is_none(),
        "no token handed out: {actions}"
    );
    let (status, body) = post(
        &base,
        "/api/actions/backup",
        &[("Origin", base.as_str()), ("X-CSRF-Token", "x")],
        r#"{"node":"x"}"#,
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("--allow-actions"), "{body}");
    watch.signal(libc::SIGTERM);
    watch.finish(Duration::from_secs(20));
}
