//! `nodewarden crosscheck` against pairs of real sims on loopback, in every dialect: honest
//! pairs agree, a fork at a random height is found exactly, gaps are listed, zenon pages
//! past 1024, bad input exits 2.
use std::path::Path;

use serde_json::Value;

use crate::support::*;

/// A chain standing still at `head` (an hour per block), optionally forked or with gaps.
fn sim(kind: &str, dir: &Path, head: u64, extra: &str) -> SimProc {
    let scenario = format!(
        "seed = 11\nstart_height = {head}\ntip_height = {head}\nblock_time = \"1h\"\n{extra}"
    );
    SimProc::start(SimSpec {
        kind,
        scenario: Some(&scenario),
        speed: 1.0,
        data_dir: dir,
        port: 0,
    })
}

fn crosscheck(args: &[&str]) -> (Option<i32>, Value, String) {
    let mut all = vec!["crosscheck"];
    all.extend(args);
    all.push("--json");
    let out = run(&all);
    let text = format!("{}{}", stdout(&out), stderr(&out));
    let v = serde_json::from_str(&stdout(&out)).unwrap_or(Value::Null);
    (out.status.code(), v, text)
}

/// Not a hard-coded height: different on every run, printed on failure.
fn random_height(lo: u64, hi: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    let x = (nanos ^ (std::process::id() as u64) << 20).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    lo + (x >> 11) % (hi - lo + 1)
}

#[test]
fn forks_are_found_exactly_and_honest_pairs_agree_in_every_dialect() {
    let dir = tempfile::tempdir().unwrap();
    for kind in ["zenon", "ethereum", "substrate"] {
        let head = 3_000;
        let fork = random_height(2, head);
        let a = sim(kind, &dir.path().join(format!("{kind}-a")), head, "");
        let b = sim(kind, &dir.path().join(format!("{kind}-b")), head, "");
        let c = sim(
            kind,
            &dir.path().join(format!("{kind}-c")),
            head,
            &format!("fork_at = {fork}\n"),
        );
        let (ua, ub, uc) = (
            format!("{kind}@{}", a.url),
            format!("{kind}@{}", b.url),
            format!("{kind}@{}", c.url),
        );

        let (code, v, text) = crosscheck(&[&ua, &ub]);
        assert_eq!(code, Some(0), "{kind} honest: {text}");
        assert_eq!(v["first_divergent_height"], Value::Null, "{text}");
        assert_eq!(v["last_common_height"], head, "{text}");
        // Every height fetched: zenon needs three pages of at most 1024.
        let (code, v, text) = crosscheck(&[&ua, &ub, "--all"]);
        assert_eq!(code, Some(0), "{kind} honest --all: {text}");
        assert_eq!(v["compared"], head, "{text}");

        for extra in [None, Some("--all")] {
            let mut args = vec![ua.as_str(), uc.as_str()];
            args.extend(extra);
            let (code, v, text) = crosscheck(&args);
            assert_eq!(code, Some(1), "{kind} fork {fork} {extra:?}: {text}");
            assert_eq!(
                v["first_divergent_height"], fork,
                "{kind} {extra:?}: {text}"
            );
            assert_eq!(
                v["last_common_height"],
                fork - 1,
                "{kind} {extra:?}: {text}"
            );
            assert_ne!(v["hash_a"], v["hash_b"]);
            if extra.is_some() {
                assert_eq!(
                    v["divergent"]["ranges"],
                    serde_json::json!([[fork, head]]),
                    "{text}"
                );
            } else {
                assert!(v["compared"].as_u64().unwrap() < 20, "bisection: {text}");
            }
        }
        // The text report says the same, for people.
        let out = run(&["crosscheck", &ua, &uc]);
        let text = stdout(&out);
        assert!(
            text.contains(&format!("first divergent height {fork}:")) && text.contains("DIVERGE"),
            "{text}"
        );
        for s in [a, b, c] {
            s.stop();
        }
    }
}

#[test]
fn missing_blocks_and_unequal_heads_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let a = sim("zenon", &dir.path().join("a"), 2_500, "");
    let b = sim(
        "zenon",
        &dir.path().join("b"),
        2_600,
        "missing = [[700, 799], [1500, 1500]]\n",
    );
    let (ua, ub) = (format!("zenon@{}", a.url), format!("zenon@{}", b.url));
    let (code, v, text) = crosscheck(&[&ua, &ub, "--all"]);
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(
        v["b_lacks"]["ranges"],
        serde_json::json!([[700, 799], [1500, 1500]]),
        "{text}"
    );
    assert_eq!(
        (v["b_lacks"]["heights"].as_u64(), v["to"].as_u64()),
        (Some(101), Some(2_500)),
        "{text}"
    );
    assert_eq!(v["compared"], 2_500 - 101, "{text}");
    assert_eq!(v["first_divergent_height"], Value::Null, "{text}");
    // Past A's head, A lacks what B has.
    let (code, v, text) = crosscheck(&[&ua, &ub, "--from", "2400", "--to", "2600"]);
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(
        v["a_lacks"]["ranges"],
        serde_json::json!([[2501, 2600]]),
        "{text}"
    );
    assert_eq!(v["last_common_height"], 2_500, "{text}");
    // Inside the agreeing part: exit 0.
    let (code, _, text) = crosscheck(&[&ua, &ub, "--from", "800", "--to", "1499", "--all"]);
    assert_eq!(code, Some(0), "{text}");
}

#[test]
fn bad_input_exits_2_with_one_line_naming_the_culprit() {
    let dir = tempfile::tempdir().unwrap();
    let z = sim("zenon", &dir.path().join("z"), 100, "");
    let e = sim("ethereum", &dir.path().join("e"), 100, "");
    let (uz, ue) = (format!("zenon@{}", z.url), format!("ethereum@{}", e.url));
    let config = dir.path().join("nodewarden.toml");
    std::fs::write(
        &config,
        format!(
            "[[node]]\nname = \"z1\"\nkind = \"zenon\"\nrpc = \"{}\"\n",
            z.url
        ),
    )
    .unwrap();
    let cfg = config.to_str().unwrap();
    for (args, want) in [
        (vec!["zenon@ftp://x", uz.as_str()], "A:"),
        (vec![uz.as_str(), "bogus@http://127.0.0.1:1"], "B:"),
        (vec![uz.as_str(), ue.as_str()], "only nodes of one kind"),
        (
            vec![uz.as_str(), uz.as_str(), "--from", "50", "--to", "10"],
            "--from 50 is above --to 10",
        ),
        (
            vec![uz.as_str(), uz.as_str(), "--from", "500"],
            "above the lower head 100",
        ),
        (
            vec!["--config", cfg, "z1", "nosuch"],
            "no node named `nosuch`",
        ),
    ] {
        let mut all = vec!["crosscheck"];
        all.extend(&args);
        let out = run(&all);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(want) && err.lines().count() == 1,
            "{args:?}: {err}"
        );
    }
    // A configured name works like KIND@URL.
    let out = run(&["--config", cfg, "crosscheck", "z1", &uz]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // A node that is down is a run-time failure naming it.
    let out = run(&[
        "crosscheck",
        &uz,
        &format!("zenon@http://127.0.0.1:{}", dead_port()),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("B (http://127.0.0.1:"),
        "{}",
        stderr(&out)
    );
}

/// `blocks` blocks `interval` seconds apart from `start`, each with its timestamp given:
/// anvil otherwise lets the wall clock into later blocks' timestamps.
fn mine(url: &str, start: u64, blocks: u64, interval: u64) {
    for i in 0..blocks {
        let v = rpc(url, "evm_mine", &format!("[{}]", start + i * interval));
        assert!(v.get("error").is_none(), "{v}");
    }
}

#[test]
fn two_anvils_agree_block_for_block_and_part_where_their_timestamps_do() {
    // Same genesis time, same blocks: real ethereum nodes with identical chains.
    let (a, b) = (
        Anvil::start(&["--timestamp", "1700000000"]),
        Anvil::start(&["--timestamp", "1700000000"]),
    );
    let (ua, ub) = (format!("ethereum@{}", a.url), format!("ethereum@{}", b.url));
    let common = random_height(10, 290);
    for url in [&a.url, &b.url] {
        mine(url, 1_700_000_012, common, 12);
    }
    let (code, v, text) = crosscheck(&[&ua, &ub, "--all"]);
    assert_eq!(
        (code, v["compared"].as_u64()),
        (Some(0), Some(common)),
        "{text}"
    );
    // From here on B's blocks carry other timestamps, so other hashes.
    let next = 1_700_000_012 + common * 12;
    mine(&a.url, next, 300 - common, 12);
    mine(&b.url, next + 1, 300 - common, 12);
    for extra in [None, Some("--all")] {
        let mut args = vec![ua.as_str(), ub.as_str()];
        args.extend(extra);
        let (code, v, text) = crosscheck(&args);
        assert_eq!(code, Some(1), "{extra:?}: {text}");
        assert_eq!(v["first_divergent_height"], common + 1, "{extra:?}: {text}");
        assert_eq!(v["last_common_height"], common, "{extra:?}: {text}");
    }
}

#[test]
fn a_hostile_node_is_a_one_line_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let honest = sim("zenon", &dir.path().join("z"), 100, "");
    // Fine as a status (state, heights, frontier, peers), but its momentum list invents a
    // height nobody asked for and a hash that is not hex.
    let body = r#"{"jsonrpc":"2.0","id":1,"result":{"state":2,"currentHeight":100,"targetHeight":100,"height":100,"hash":"zz","timestamp":1700000000,"numPeers":9,"list":[{"height":5000,"hash":"nothex"}],"count":100}}"#;
    let hostile = canned_server(Some(Box::leak(json_response(body).into_boxed_str())), 20);
    let out = run(&[
        "crosscheck",
        &format!("zenon@{hostile}"),
        &format!("zenon@{}", honest.url),
        "--all",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("A ({hostile})"))
            && err.contains("ledger.getMomentumsByHeight")
            && err.contains("5000"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}
