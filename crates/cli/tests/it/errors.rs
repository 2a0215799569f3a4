//! Every failure is one line naming the node and URL, exit 1, never a panic.
use serde_json::Value;

use crate::support::*;

/// `watch --once --json` against one node; returns (exit code, that node's object, stderr).
fn once(node: &str, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["watch", "--once", "--json", "--node", node];
    args.extend_from_slice(extra);
    let out = run(&args);
    let v: Value =
        serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)));
    (out.status.code().unwrap_or(-1), v[0].clone(), stderr(&out))
}

fn assert_failed(node: &str, url: &str, needle: &str, reason: &str) {
    let (code, v, err) = once(node, &["--timeout", "700ms"]);
    assert_eq!(code, 1, "exit 1 when a node fails: {v} {err}");
    assert_eq!(v["ok"], false);
    assert_eq!(v["error_reason"], reason, "{v}");
    let msg = v["error"].as_str().unwrap();
    let name = node.split('=').next().unwrap();
    assert!(
        msg.starts_with(&format!("{name} ({url})")),
        "names node and URL: {msg}"
    );
    assert!(msg.contains(needle), "expected {needle:?} in {msg}");
    assert!(!msg.contains('\n'), "one line: {msg}");
}

#[test]
fn connection_refused() {
    let url = format!("http://127.0.0.1:{}", dead_port());
    assert_failed(
        &format!("down=zenon@{url}"),
        &url,
        "connection refused",
        "refused",
    );
}

#[test]
fn timeout() {
    let url = canned_server(None, 8);
    assert_failed(
        &format!("slow=ethereum@{url}"),
        &url,
        "no answer within 700ms",
        "timeout",
    );
}

#[test]
fn zenon_403_for_a_hostname() {
    let dir = tempfile::tempdir().unwrap();
    let sim = SimProc::quick("zenon", &dir.path().join("znn"));
    let url = format!("http://localhost:{}", sim.port);
    assert_failed(
        &format!("znn=zenon@{url}"),
        &url,
        "use an IP literal such as http://127.0.0.1",
        "http",
    );
    // The same sim over its IP literal is fine.
    let (code, v, _) = once(&format!("znn=zenon@{}", sim.url), &[]);
    assert_eq!((code, &v["ok"]), (0, &Value::Bool(true)), "{v}");
}

#[test]
fn http_415() {
    let url = canned_server(
        Some(
            "HTTP/1.1 415 Unsupported Media Type\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        ),
        8,
    );
    assert_failed(&format!("p=substrate@{url}"), &url, "HTTP 415", "http");
}

#[test]
fn json_rpc_error_object() {
    let body = r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"database closed"}}"#;
    let url = canned_server(Some(Box::leak(json_response(body).into_boxed_str())), 8);
    assert_failed(
        &format!("z=zenon@{url}"),
        &url,
        "JSON-RPC error -32000: database closed",
        "jsonrpc",
    );
}

#[test]
fn malformed_json() {
    let url = canned_server(
        Some(Box::leak(
            json_response("<html>bad gateway</html>").into_boxed_str(),
        )),
        8,
    );
    assert_failed(
        &format!("e=ethereum@{url}"),
        &url,
        "malformed answer to",
        "malformed",
    );
}

#[test]
fn wrong_dialect() {
    let dir = tempfile::tempdir().unwrap();
    let sim = SimProc::quick("ethereum", &dir.path().join("eth"));
    assert_failed(
        &format!("z=zenon@{}", sim.url),
        &sim.url,
        "this does not look like a zenon node",
        "dialect",
    );
    let (code, v, _) = once(&format!("z=auto@{}", sim.url), &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["kind"], "ethereum", "auto detects the dialect");
}

#[test]
fn one_bad_node_does_not_hide_the_good_one() {
    let dir = tempfile::tempdir().unwrap();
    let sim = SimProc::quick("substrate", &dir.path().join("sub"));
    let dead = format!("dead=zenon@http://127.0.0.1:{}", dead_port());
    let good = format!("good=substrate@{}", sim.url);
    let out = run(&["watch", "--once", "--node", &dead, "--node", &good]);
    assert_eq!(out.status.code(), Some(1));
    let table = stdout(&out);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("good") && l.contains("substrate")),
        "{table}"
    );
    assert!(
        table.contains("dead (http://127.0.0.1:") && table.contains("connection refused"),
        "{table}"
    );
}

#[test]
fn bad_arguments_and_config_are_usage_errors() {
    let out = run(&["watch", "--once", "--node", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("NAME=KIND@URL"), "{}", stderr(&out));

    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("nodewarden.toml");
    std::fs::write(
        &cfg,
        "[[node]]\nname = \"a\"\nkind = \"zenon\"\nrpcurl = \"http://127.0.0.1:1\"\n",
    )
    .unwrap();
    let out = run(&["--config", cfg.to_str().unwrap(), "watch", "--once"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("nodewarden.toml") && err.contains("line 4") && err.contains("rpcurl"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let out = run(&["sim", "--scenario", "/nonexistent/scenario.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("/nonexistent/scenario.toml"),
        "{}",
        stderr(&out)
    );
}

/// A reader that goes away (`nodewarden … | head -c 64`) ends the command quietly with
/// success: no "Broken pipe" message, no panic.
#[test]
fn a_closed_pipe_ends_quietly() {
    use std::io::{Read, Write};
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("many.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
    writeln!(f, "t_ms,node,state,current,target,peers,head_hash,head_time,cpu_s,rss_bytes,read_bytes,write_bytes,data_dir_bytes").unwrap();
    // 300 nodes: the JSON is far larger than a pipe's buffer.
    for t in 0..20u64 {
        for n in 0..300 {
            writeln!(
                f,
                "{},node-{n},syncing,{},100000,8,,,,,,,",
                t * 2000,
                t * 50
            )
            .unwrap();
        }
    }
    drop(f);
    let mut child = bin()
        .args(["analyze", csv.to_str().unwrap(), "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 64];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap();
    // The reader is gone now.
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {err}", out.status);
    assert!(err.is_empty(), "nothing on stderr: {err}");
    assert!(head.starts_with(b"["), "the JSON had begun");
}

/// A server that answers every request with an endless chunked JSON body (no length),
/// stopping when the client goes away; at most `max` connections.
fn endless_server(max: usize) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(max) {
            let Ok(mut s) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
                let chunk = format!("{:x}\r\n{}\r\n", 65536, "[".repeat(65536));
                // Bounded: 4 GiB at most, ending as soon as the reader hangs up.
                for _ in 0..65536 {
                    if s.write_all(chunk.as_bytes()).is_err() {
                        break;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

/// A huge answer is refused unread at the limit, with a one-line error, not read into
/// memory; `max_answer` in the node's config lowers the limit.
#[test]
fn an_endless_answer_is_cut_at_the_limit() {
    let url = endless_server(8);
    let started = std::time::Instant::now();
    let (code, v, _) = once(&format!("big=ethereum@{url}"), &["--timeout", "20s"]);
    assert_eq!(code, 1);
    assert_eq!(v["error_reason"], "malformed", "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("larger than 8 MiB"),
        "{v}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(15));

    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("n.toml");
    std::fs::write(
        &cfg,
        format!("[[node]]\nname = \"big\"\nkind = \"ethereum\"\nrpc = \"{url}\"\nmax_answer = \"1MiB\"\n"),
    )
    .unwrap();
    let out = run(&[
        "--config",
        cfg.to_str().unwrap(),
        "watch",
        "--once",
        "--json",
    ]);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(
        v[0]["error"]
            .as_str()
            .unwrap()
            .contains("larger than 1 MiB"),
        "{v}"
    );
}

/// Credentials in an RPC URL never reach the output: JSON, errors, tables.
#[test]
fn credentials_in_rpc_urls_are_never_shown() {
    let port = dead_port();
    let node = format!("n=ethereum@http://alice:hunter2@127.0.0.1:{port}/?apikey=s3cr3t&x=1");
    let (code, v, err) = once(&node, &["--timeout", "700ms"]);
    assert_eq!(code, 1);
    let all = format!("{v}{err}");
    assert!(
        !all.contains("hunter2") && !all.contains("alice") && !all.contains("s3cr3t"),
        "{all}"
    );
    assert_eq!(
        v["url"],
        format!("http://***@127.0.0.1:{port}/?apikey=***&x=1")
    );
    let table = run(&["watch", "--once", "--node", &node, "--timeout", "700ms"]);
    let shown = format!("{}{}", stdout(&table), stderr(&table));
    assert!(
        !shown.contains("hunter2") && !shown.contains("s3cr3t"),
        "{shown}"
    );
}
