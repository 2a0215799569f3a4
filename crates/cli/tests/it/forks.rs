//! Fork detection in `watch`: three sims of one chain, one forked at a random height; the
//! forked one is flagged (with its exact fork height) within three ticks, the others not.
use std::time::Duration;

use serde_json::Value;

use crate::support::*;

#[test]
fn watch_flags_the_forked_node_of_three_within_three_ticks() {
    let tmp = tempfile::tempdir().unwrap();
    let head = 5_000u64;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    let fork = 2 + nanos.wrapping_mul(0x9e37_79b9_7f4a_7c15) % (head - 2);
    let sim = |name: &str, extra: &str| {
        let scenario = format!(
            "seed = 5\nstart_height = {head}\ntip_height = {head}\nblock_time = \"1h\"\n{extra}"
        );
        SimProc::start(SimSpec {
            kind: "substrate",
            scenario: Some(&scenario),
            speed: 1.0,
            data_dir: &tmp.path().join(name),
            port: 0,
        })
    };
    let sims = [
        sim("a", ""),
        sim("b", &format!("fork_at = {fork}\n")),
        sim("c", ""),
    ];
    let mut text = String::new();
    for (name, s) in ["a", "b", "c"].iter().zip(&sims) {
        text.push_str(&format!(
            "[[node]]\nname = \"{name}\"\nkind = \"substrate\"\nrpc = \"{}\"\nchain = \"xx\"\n",
            s.url
        ));
    }
    // Two nodes and no reference: both flagged when they differ. A reference outweighs
    // the majority. The same sims serve these groups under other names.
    for (name, sim, chain, reference) in [
        ("p1", 0, "pair", false),
        ("p2", 1, "pair", false),
        ("r1", 1, "trusted", true),
        ("r2", 0, "trusted", false),
        ("r3", 2, "trusted", false),
    ] {
        text.push_str(&format!(
            "[[node]]\nname = \"{name}\"\nkind = \"substrate\"\nrpc = \"{}\"\nchain = \"{chain}\"\nreference = {reference}\n",
            sims[sim].url
        ));
    }
    // A node of no chain is never compared.
    text.push_str(&format!(
        "[[node]]\nname = \"lone\"\nkind = \"substrate\"\nrpc = \"{}\"\n",
        sims[0].url
    ));
    let cfg = tmp.path().join("nodewarden.toml");
    std::fs::write(&cfg, text).unwrap();
    let mut w = Spawned::start(&[
        "--config",
        cfg.to_str().unwrap(),
        "watch",
        "--listen",
        "127.0.0.1:0",
        "--no-record",
        "--interval",
        "1s",
        "--json",
        "--log-every",
        "1ms",
        "--duration",
        "60s",
    ]);
    let base = w.http_base();
    let api = format!("{base}/api/nodes");
    let mut nodes = Value::Null;
    wait_until(
        "every node of the chain compared",
        Duration::from_secs(30),
        || {
            nodes = get_json(&api);
            let list = nodes.as_array().unwrap();
            // Every node, once its fork height is known (the bisection may take a check).
            list.len() == 9
                && list
                    .iter()
                    .filter(|n| !n["chain"].is_null())
                    .all(|n| n["fork_detected"] == false || !n["fork_height"].is_null())
        },
    );
    let by = |name: &str| {
        nodes
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == name)
            .unwrap_or_else(|| panic!("no node {name}: {nodes}"))
            .clone()
    };
    let b = by("b");
    assert_eq!(b["fork_detected"], true, "{b}");
    assert_eq!(b["fork_height"], fork, "{b}");
    assert_eq!(
        (b["health"].as_str(), b["health_reason"].as_str()),
        (Some("critical"), Some(&*format!("forked at {fork}")))
    );
    for name in ["a", "c"] {
        let n = by(name);
        assert_eq!(
            (n["fork_detected"].as_bool(), &n["fork_height"]),
            (Some(false), &Value::Null),
            "{n}"
        );
    }
    assert_eq!(by("lone")["fork_detected"], Value::Null);
    for (name, forked) in [
        ("p1", true),
        ("p2", true),
        ("r1", false),
        ("r2", true),
        ("r3", true),
    ] {
        let n = by(name);
        assert_eq!(n["fork_detected"], forked, "{n}");
        if forked {
            assert_eq!(n["fork_height"], fork, "{n}");
        }
    }
    let (_, m) = http_get(&format!("{base}/metrics"));
    assert_eq!(
        metric(&m, "nodewarden_fork_detected", "node=\"b\""),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        metric(&m, "nodewarden_fork_detected", "node=\"a\""),
        Some(0.0)
    );
    assert_eq!(
        metric(&m, "nodewarden_fork_height", "node=\"b\""),
        Some(fork as f64)
    );
    assert_eq!(metric(&m, "nodewarden_fork_height", "node=\"a\""), None);
    assert_eq!(
        metric(&m, "nodewarden_fork_detected", "node=\"lone\""),
        None
    );
    // One JSON line per node per tick: b is flagged by its third sample at the latest.
    let flagged = w
        .lines_so_far(Duration::from_millis(100))
        .iter()
        .filter(|l| l.starts_with(r#"{"name":"b","#))
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["fork_detected"] == true)
        .expect("a line flagging b");
    assert!(
        flagged["samples"].as_u64().unwrap() <= 3,
        "flagged within three ticks: {flagged}"
    );
    // `check` says the same, as a monitoring plugin.
    let out = run(&[
        "--config",
        cfg.to_str().unwrap(),
        "check",
        "--node",
        "b",
        "--observe",
        "0s",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(2), "CRITICAL: {}", stdout(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let fork_check = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "fork")
        .cloned();
    let fork_check = fork_check.unwrap_or_else(|| panic!("no fork check: {v}"));
    assert_eq!(fork_check["status"], "CRITICAL", "{v}");
    assert!(
        fork_check["message"]
            .as_str()
            .unwrap()
            .contains(&format!("forked at {fork}")),
        "{v}"
    );
    let out = run(&[
        "--config",
        cfg.to_str().unwrap(),
        "check",
        "--node",
        "a",
        "--observe",
        "0s",
        "--json",
    ]);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let fork_check = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "fork")
        .cloned();
    assert_eq!(
        fork_check.map(|c| c["status"].clone()),
        Some(Value::from("OK")),
        "{v}"
    );
    w.signal(libc::SIGTERM);
    w.finish(Duration::from_secs(20));
}
