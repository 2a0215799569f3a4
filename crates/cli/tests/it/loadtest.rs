//! `nodewarden loadtest` end to end: the real binary against sims, anvil and a test server
//! that stalls, on loopback, each run a few seconds long.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

/// These tests measure latencies: run them one at a time so they do not load each other.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn report(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

const ZENON_MIX: &str = r#"
executor = "constant-arrival-rate"
rate = 100
duration = "2s"
[[request]]
method = "stats.syncInfo"
weight = 3
[[request]]
method = "ledger.getMomentumsByHeight"
params = [{ range = [1, 50] }, 5]
"#;

#[test]
fn thresholds_pass_and_fail_against_the_sim() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let sim = SimProc::quick("zenon", &dir.path().join("znn"));
    let pass = write(
        dir.path(),
        "pass.toml",
        &format!(
            "thresholds = [\"p99 < 1s\", \"errors < 1%\", \"stats.syncInfo: p95 < 500ms\"]\n{ZENON_MIX}"
        ),
    );
    let json = dir.path().join("pass.json");
    let html = dir.path().join("pass.html");
    let o = run(&[
        "loadtest",
        &pass,
        "--target",
        &sim.url,
        "--json",
        json.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let r = report(&json);
    // The open model sends exactly rate × duration, whatever the answers take.
    assert_eq!(r["requests"], 200, "{r}");
    assert_eq!(r["errors"], 0);
    for k in ["p50", "p90", "p95", "p99", "max"] {
        assert!(r["latency_ms"][k].as_f64().unwrap() > 0.0, "{k}: {r}");
    }
    let methods = r["methods"].as_object().unwrap();
    assert_eq!(methods.len(), 2);
    let calls: u64 = methods
        .values()
        .map(|m| m["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(calls, 200);
    assert!(
        methods["stats.syncInfo"]["requests"].as_u64().unwrap() > 100,
        "weights: {r}"
    );
    assert_eq!(r["thresholds"].as_array().unwrap().len(), 3);
    assert!(
        r["thresholds"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["pass"] == true)
    );
    assert_eq!(r["scenario"]["rate"], 100.0);
    // The sim's own process, found by the port it listens on, with no --pid.
    let t = &r["target_process"];
    assert_eq!(t["pid"], sim.child.id(), "{t}");
    assert_eq!(t["found_by"], format!("port {}", sim.port));
    assert!(t["rss_peak_bytes"].as_u64().unwrap() > 1 << 20, "{t}");
    assert!(t["cpu_ms_per_request"].as_f64().is_some(), "{t}");
    assert_eq!(t["died"], false);
    assert!(stdout(&o).contains(&format!("target process {}", sim.child.id())));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg") && page.contains("Latency by percentile"));
    assert!(
        !page.contains("<script") && !page.contains("src="),
        "self-contained"
    );

    // An impossible latency bound and a method the node lacks: both fail, exit 99.
    let fail = write(
        dir.path(),
        "fail.toml",
        &format!(
            "thresholds = [\"p50 < 1us\", \"errors < 1%\"]\n{ZENON_MIX}[[request]]\nmethod = \"no.suchMethod\"\n"
        ),
    );
    let json = dir.path().join("fail.json");
    let o = run(&[
        "loadtest",
        &fail,
        "--target",
        &sim.url,
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 99, "{}{}", stdout(&o), stderr(&o));
    let r = report(&json);
    assert!(
        r["thresholds"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["pass"] == false),
        "{r}"
    );
    // JSON-RPC errors inside HTTP 200 are failures, by code.
    let by_kind = &r["methods"]["no.suchMethod"]["errors_by_kind"];
    assert!(by_kind["rpc -32601"].as_u64().unwrap() > 0, "{r}");
    assert!(
        stdout(&o).contains("threshold FAIL p50 < 1us"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn ctrl_c_stops_and_still_reports() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let sim = SimProc::quick("zenon", &dir.path().join("znn"));
    let s = write(
        dir.path(),
        "long.toml",
        &ZENON_MIX.replace("duration = \"2s\"", "duration = \"60s\""),
    );
    let json = dir.path().join("partial.json");
    let mut child = bin()
        .args([
            "loadtest",
            &s,
            "--target",
            &sim.url,
            "--json",
            json.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    thread::sleep(Duration::from_millis(1500));
    // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let deadline = Instant::now() + Duration::from_secs(15);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "no exit after SIGINT");
        thread::sleep(Duration::from_millis(20));
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(code(&o), 130, "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("interrupted"), "{}", stderr(&o));
    let sent = report(&json)["requests"].as_u64().unwrap();
    assert!(
        (50..1000).contains(&sent),
        "about 1.5 s at 100/s, not 60 s: {sent}"
    );
}

#[test]
fn sweep_and_baseline() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let sim = SimProc::quick("ethereum", &dir.path().join("eth"));
    let s = write(
        dir.path(),
        "s.toml",
        "rate = 50\nduration = \"1s\"\nthresholds = [\"p99 < 2s\"]\ntolerance_floor = \"300ms\"\n\
         [[request]]\nmethod = \"eth_blockNumber\"\n",
    );
    let sweep = dir.path().join("sweep.json");
    let o = run(&[
        "loadtest",
        &s,
        "--target",
        &sim.url,
        "--rates",
        "50,150",
        "--duration",
        "1s",
        "--json",
        sweep.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let v = report(&sweep);
    let steps = v["sweep"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(
        (steps[0]["rate"].as_f64(), steps[0]["requests"].as_u64()),
        (Some(50.0), Some(50))
    );
    assert_eq!(
        (steps[1]["rate"].as_f64(), steps[1]["requests"].as_u64()),
        (Some(150.0), Some(150))
    );
    assert!(
        stdout(&o).contains("highest rate passing every threshold: 150/s"),
        "{}",
        stdout(&o)
    );

    let old = dir.path().join("old.json");
    let o = run(&[
        "loadtest",
        &s,
        "--target",
        &sim.url,
        "--json",
        old.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // The same node twice is not a regression (the floor absorbs this machine's hiccups).
    let o = run(&[
        "loadtest",
        &s,
        "--target",
        &sim.url,
        "--baseline",
        old.to_str().unwrap(),
        "--tolerance",
        "300%",
    ]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("0 regression(s)"), "{}", stdout(&o));
    // A baseline that was 1000 times faster: this run regressed, exit 99.
    let mut fast = report(&old);
    for scope in ["/latency_ms", "/methods/eth_blockNumber/latency_ms"] {
        let l = fast.pointer_mut(scope).unwrap();
        for k in ["p50", "p95", "p99"] {
            l[k] = (l[k].as_f64().unwrap() / 1000.0).into();
        }
    }
    // Without a floor, so that sub-millisecond latencies count.
    let s = write(
        dir.path(),
        "s0.toml",
        &std::fs::read_to_string(&s).unwrap().replace("300ms", "0ms"),
    );
    let fast_path = dir.path().join("fast.json");
    std::fs::write(&fast_path, fast.to_string()).unwrap();
    let o = run(&[
        "loadtest",
        &s,
        "--target",
        &sim.url,
        "--baseline",
        fast_path.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 99, "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("REGRESSION") && out.contains("eth_blockNumber"),
        "{out}"
    );
}

#[test]
fn thresholds_against_anvil() {
    let _serial = serial();
    let anvil = Anvil::start(&[]);
    let url = anvil.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let mix = "executor = \"constant-vus\"\nvus = 4\nduration = \"2s\"\nbatch = 2\n\
        [[request]]\nmethod = \"eth_blockNumber\"\n\
        [[request]]\nmethod = \"eth_getBlockByNumber\"\nparams = [\"latest\", false]\n\
        [[request]]\nmethod = \"eth_chainId\"\n";
    let ok = write(
        dir.path(),
        "ok.toml",
        &format!("thresholds = [\"p95 < 1s\", \"errors < 1%\"]\n{mix}"),
    );
    let json = dir.path().join("ok.json");
    let o = run(&[
        "loadtest",
        &ok,
        "--target",
        &url,
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let r = report(&json);
    assert!(r["requests"].as_u64().unwrap() > 100, "{r}");
    assert_eq!(r["errors"], 0, "{r}");
    // Batches of two: twice as many calls as HTTP requests.
    assert_eq!(
        r["requests"].as_u64().unwrap(),
        2 * r["http_requests"].as_u64().unwrap()
    );
    let bad = write(
        dir.path(),
        "bad.toml",
        &format!("thresholds = [\"errors < 1%\"]\n{mix}[[request]]\nmethod = \"net_peerCount\"\n"),
    );
    let o = run(&["loadtest", &bad, "--target", &url]);
    // anvil has no net_peerCount: -32601 inside HTTP 200, counted, threshold fails.
    assert_eq!(code(&o), 99, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("errors of net_peerCount: rpc -32601"),
        "{}",
        stdout(&o)
    );
}

/// A JSON-RPC server that answers at once, except that for `pause` out of every `period`
/// (counted from its start) it holds every answer until the pause ends.
fn pausing_server(period: Duration, pause: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let start = Instant::now();
    thread::spawn(move || {
        for stream in listener.incoming().take(4000) {
            let Ok(stream) = stream else { continue };
            thread::spawn(move || serve_pausing(stream, start, period, pause));
        }
    });
    format!("http://{addr}")
}

fn serve_pausing(stream: TcpStream, start: Instant, period: Duration, pause: Duration) {
    let _ = stream.set_nodelay(true);
    let mut w = stream.try_clone().unwrap();
    let mut r = BufReader::new(stream);
    loop {
        let mut len = 0usize;
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        let into = start.elapsed().as_secs_f64() % period.as_secs_f64();
        if into < pause.as_secs_f64() {
            thread::sleep(Duration::from_secs_f64(pause.as_secs_f64() - into));
        }
        let answer = r#"{"jsonrpc":"2.0","id":1,"result":"0x1"}"#;
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if w.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}

#[test]
fn a_stalling_target_shows_in_the_corrected_tail() {
    let _serial = serial();
    // Pause P = 1 s every T = 3 s; over whole periods a uniform arrival lands in a pause
    // with probability P/T and then waits P − u for u uniform in [0, P). So the latency
    // quantile q is ~0 for q < 1 − P/T and T·(q − 1) + P above: p90 0.7 s, p95 0.85 s,
    // p99 0.97 s. A closed-loop tool timing from the send would report p90 ≈ 0.
    let url = pausing_server(Duration::from_secs(3), Duration::from_secs(1));
    let dir = tempfile::tempdir().unwrap();
    let s = write(
        dir.path(),
        "pause.toml",
        "rate = 100\nduration = \"6s\"\ntimeout = \"5s\"\n[[request]]\nmethod = \"eth_blockNumber\"\n",
    );
    let json = dir.path().join("pause.json");
    let o = run(&[
        "loadtest",
        &s,
        "--target",
        &url,
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let r = report(&json);
    assert_eq!(r["requests"], 600);
    assert_eq!(r["errors"], 0, "{r}");
    let ms = |k: &str| r["latency_ms"][k].as_f64().unwrap();
    assert!(ms("p50") < 50.0, "p50 {} {r}", ms("p50"));
    // Measured may run a little above the model: the answers a pause held are released
    // together and drain through a debug build on a shared machine.
    for (k, expected) in [("p90", 700.0), ("p95", 850.0), ("p99", 970.0)] {
        let err = ms(k) - expected;
        println!("{k}: measured {:.1} ms, model {expected} ms", ms(k));
        assert!(
            (-80.0..250.0).contains(&err),
            "{k}: {} ms, expected {expected} ms (-80/+250)\n{}",
            ms(k),
            stdout(&o)
        );
    }
    // The whole pause is seen; the answers held by it drain in a burst, which adds a little.
    assert!(ms("max") > 900.0 && ms("max") < 2000.0, "max {}", ms("max"));
}

#[test]
fn equality_mode_finds_a_planted_difference() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let node = |name: &str, version: &str| {
        SimProc::start(SimSpec {
            kind: "ethereum",
            scenario: Some(&format!(
                "start_height = 1000\ntip_height = 1000\nblock_time = \"1h\"\nclient_version = \"{version}\"\n"
            )),
            speed: 1.0,
            data_dir: &dir.path().join(name),
            port: 0,
        })
    };
    let a = node("a", "Geth/v1.14.0-stable/linux-amd64/go1.22");
    let b = node("b", "besu/v24.5.0/linux-x86_64/openjdk-java-21");
    let s = write(
        dir.path(),
        "eq.toml",
        "rate = 50\nduration = \"1s\"\n\
         [[request]]\nmethod = \"web3_clientVersion\"\n\
         [[request]]\nmethod = \"eth_chainId\"\n\
         [[request]]\nmethod = \"eth_getBlockByHash\"\nparams = [\"0x00\", false]\n",
    );
    let json = dir.path().join("eq.json");
    let o = run(&[
        "loadtest",
        &s,
        "--target",
        &a.url,
        "--compare",
        &b.url,
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 99, "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("web3_clientVersion: "), "{out}");
    assert!(
        out.contains("Geth/v1.14.0") && out.contains("besu/v24.5.0"),
        "a short diff: {out}"
    );
    let r = report(&json);
    let eq = |m: &str| r["methods"][m]["equality"].clone();
    assert_eq!(
        eq("web3_clientVersion")["differing"],
        eq("web3_clientVersion")["compared"]
    );
    assert_eq!(eq("eth_chainId")["differing"], 0, "{r}");
    assert!(eq("eth_chainId")["compared"].as_u64().unwrap() > 0);
    // Errors compare by code: both refuse the bad hash the same way.
    assert_eq!(eq("eth_getBlockByHash")["differing"], 0, "{r}");

    // The control: a node compared with itself differs nowhere.
    let o = run(&["loadtest", &s, "--target", &a.url, "--compare", &a.url]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("equal those from"), "{}", stdout(&o));
}

#[test]
fn bad_input_is_one_line_naming_the_culprit() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "bad.toml",
        "rate = 10\nduration = \"1s\"\n[[request]]\nmethod = \"eth_chainId\"\nweight = -1\n",
    );
    let o = run(&["loadtest", &bad, "--target", "http://127.0.0.1:1"]);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(
        err.contains("bad.toml:5: key `request[0].weight`: must be > 0"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let typo = write(dir.path(), "typo.toml", "rate = 10\ndurration = \"1s\"\n");
    let err = stderr(&run(&["loadtest", &typo]));
    assert!(
        err.contains("typo.toml:2") && err.contains("durration"),
        "{err}"
    );

    let ok = write(
        dir.path(),
        "ok.toml",
        "rate = 10\nduration = \"1s\"\n[[request]]\nmethod = \"x\"\n",
    );
    let o = run(&["loadtest", &ok]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no target"), "{}", stderr(&o));
    let o = run(&[
        "loadtest",
        &ok,
        "--rates",
        "100,zero",
        "--target",
        "http://127.0.0.1:1",
    ]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("`zero` is not a positive rate"),
        "{}",
        stderr(&o)
    );
    let o = run(&[
        "loadtest",
        &dir.path().join("missing.toml").display().to_string(),
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("missing.toml"), "{}", stderr(&o));
    // Nothing listens: a run-time failure naming the URL, not a report of 100% errors.
    let url = format!("http://127.0.0.1:{}", dead_port());
    let o = run(&["loadtest", &ok, "--target", &url]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains(&format!("no answer from {url}")),
        "{}",
        stderr(&o)
    );
}
