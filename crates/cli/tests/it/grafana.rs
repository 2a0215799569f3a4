//! The shipped monitoring files proven on a real Prometheus: it scrapes a running demo
//! through the shipped `prometheus.yml` (file-SD) and rule file, then every panel query of
//! the shipped Grafana dashboard must return data and every alert rule must evaluate
//! without error. The dashboard's structure is checked too (ids, datasource, grid).
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::*;

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn dashboard() -> Value {
    let text =
        std::fs::read_to_string(repo_file("deploy/grafana/nodewarden-dashboard.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Every query of every panel, with Grafana's variables as a dashboard showing all nodes
/// would substitute them.
fn panel_queries(d: &Value) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    for p in d["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = t["expr"].as_str() {
                let q = expr
                    .replace("$__rate_interval", "1m")
                    .replace("$__interval", "15s")
                    .replace("$node", ".*");
                out.push((p["id"].as_u64().unwrap(), q));
            }
        }
    }
    out
}

#[test]
fn the_dashboard_is_well_formed() {
    let d = dashboard();
    let vars = d["templating"]["list"].as_array().unwrap();
    assert!(
        vars.iter()
            .any(|v| v["type"] == "datasource" && v["query"] == "prometheus"),
        "a datasource variable, so the dashboard imports into any Grafana"
    );
    let panels = d["panels"].as_array().unwrap();
    let mut ids = std::collections::HashSet::new();
    let mut cells = std::collections::HashSet::new();
    for p in panels {
        let id = p["id"].as_u64().expect("panel id");
        assert!(ids.insert(id), "panel id {id} twice");
        if let Some(ds) = p.get("datasource") {
            assert_eq!(ds["uid"], "${datasource}", "panel {id} uses the variable");
        }
        let g = &p["gridPos"];
        let [x, y, w, h] = ["x", "y", "w", "h"].map(|k| g[k].as_u64().unwrap());
        assert!(
            x + w <= 24 && w > 0 && h > 0,
            "panel {id} off the grid: {g}"
        );
        for cx in x..x + w {
            for cy in y..y + h {
                assert!(
                    cells.insert((cx, cy)),
                    "panel {id} overlaps another at ({cx},{cy})"
                );
            }
        }
    }
    assert!(!panel_queries(&d).is_empty());
}

/// Percent-encodes a query for a URL.
fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

struct Prometheus(Child);

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The answer to an instant query, or `None` while Prometheus is still starting (503).
fn try_query(base: &str, q: &str) -> Option<Value> {
    let (status, body) = http_get(&format!("{base}/api/v1/query?query={}", encode(q)));
    (status == 200).then(|| serde_json::from_str(&body).unwrap())
}

fn query(base: &str, q: &str) -> Value {
    try_query(base, q).unwrap_or_else(|| panic!("{q}: Prometheus did not answer"))
}

#[test]
fn every_panel_and_alert_works_on_a_real_prometheus() {
    let prometheus = external("NODEWARDEN_PROMETHEUS", "/usr/bin/prometheus");
    let tmp = tempfile::tempdir().unwrap();
    let mut demo = Spawned::start(&[
        "demo",
        "--dir",
        tmp.path().join("demo").to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--duration",
        "300s",
        "--speed",
        "20",
        "--interval",
        "250ms",
    ]);
    let target = demo.http_base().trim_start_matches("http://").to_string();

    // The shipped config and rules, scraping every second instead of every 15.
    let conf_dir = tmp.path().join("prometheus");
    std::fs::create_dir_all(conf_dir.join("targets")).unwrap();
    let shipped = std::fs::read_to_string(repo_file("deploy/prometheus/prometheus.yml")).unwrap();
    assert!(
        shipped.contains("targets/*.yml"),
        "file-SD in the shipped config"
    );
    let conf = shipped
        .replace("scrape_interval: 15s", "scrape_interval: 1s")
        .replace("evaluation_interval: 15s", "evaluation_interval: 1s")
        .replace("refresh_interval: 1m", "refresh_interval: 1s");
    std::fs::write(conf_dir.join("prometheus.yml"), conf).unwrap();
    std::fs::copy(
        repo_file("deploy/prometheus/alerts.yml"),
        conf_dir.join("alerts.yml"),
    )
    .unwrap();
    std::fs::write(
        conf_dir.join("targets/demo.yml"),
        format!("- targets: [\"{target}\"]\n  labels:\n    network: demo\n"),
    )
    .unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let prom = Prometheus(
        Command::new(&prometheus)
            .arg(format!(
                "--config.file={}",
                conf_dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                tmp.path().join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_until("Prometheus is ready", Duration::from_secs(60), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            && http_get(&format!("{base}/-/ready")).0 == 200
    });
    wait_until(
        "Prometheus scrapes the demo",
        Duration::from_secs(60),
        || {
            try_query(&base, "count(nodewarden_sync_current_height)")
                .is_some_and(|v| v["data"]["result"][0]["value"][1] == "4")
        },
    );
    // rate() and increase() need a few scrapes in their window.
    std::thread::sleep(Duration::from_secs(8));

    // The demo compresses the RSS trend's windows with its sims' time: at speed 20 its
    // leaking node (eth) has a trend and a forecast after a minute or two.
    let forecast = "nodewarden_memory_exhaustion_seconds{node=\"eth\"}";
    let mut last = Value::Null;
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    while std::time::Instant::now() < deadline {
        last = try_query(&base, forecast).unwrap_or(Value::Null);
        if last["data"]["result"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        last["data"]["result"]
            .as_array()
            .is_some_and(|r| !r.is_empty()),
        "no memory forecast for the leaking node: {last}"
    );
    let mut empty = Vec::new();
    for (id, q) in panel_queries(&dashboard()) {
        let v = query(&base, &q);
        assert_eq!(v["status"], "success", "panel {id}: {q}: {v}");
        if v["data"]["result"].as_array().is_none_or(|r| r.is_empty()) {
            empty.push(format!("panel {id}: {q}"));
        }
    }
    assert!(
        empty.is_empty(),
        "queries without data:\n{}",
        empty.join("\n")
    );

    wait_until("every rule evaluated", Duration::from_secs(20), || {
        let (_, body) = http_get(&format!("{base}/api/v1/rules"));
        let v: Value = serde_json::from_str(&body).unwrap();
        let rules: Vec<&Value> = v["data"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["rules"].as_array().unwrap())
            .collect();
        !rules.is_empty()
            && rules.iter().all(|r| {
                assert_ne!(r["health"], "err", "rule {}: {}", r["name"], r["lastError"]);
                r["health"] == "ok"
            })
    });
    drop(prom);
    demo.signal(libc::SIGTERM);
    let (status, lines) = demo.finish(Duration::from_secs(30));
    assert!(status.success(), "{lines:?}");
}

/// Every alert rule is unit-tested (`promtool test rules`, run by the watch tests) both
/// firing and held back: each is named in at least two cases of alerts_test.yml.
#[test]
fn every_alert_has_firing_and_quiet_cases() {
    let rules = std::fs::read_to_string(repo_file("deploy/prometheus/alerts.yml")).unwrap();
    let tests = std::fs::read_to_string(repo_file("deploy/prometheus/alerts_test.yml")).unwrap();
    let alerts: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .collect();
    assert!(alerts.len() >= 10, "{alerts:?}");
    for a in alerts {
        let cases = tests
            .lines()
            .filter(|l| l.trim() == format!("alertname: {a}"))
            .count();
        assert!(
            cases >= 2,
            "{a} has {cases} test case(s) in alerts_test.yml"
        );
    }
}
