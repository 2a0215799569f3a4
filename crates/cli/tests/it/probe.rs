//! `nodewarden probe`: the JSON contract, verdicts, bad input, and scratch files removed
//! on completion and on SIGINT.
use std::time::{Duration, Instant};

use crate::support::*;

#[test]
fn quick_probe_json_has_every_figure_and_a_verdict_per_item() {
    let tmp = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let o = run(&[
        "probe",
        "--quick",
        "--json",
        "--data-dir",
        tmp.path().to_str().unwrap(),
        "--role",
        "zenon-pillar",
    ]);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "quick took {:?}",
        started.elapsed()
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    for path in [
        "/cpu/single_core_score",
        "/cpu/steal_percent",
        "/memory/total_bytes",
        "/disk/fsync_p50_ms",
        "/disk/fsync_p99_ms",
        "/disk/rand_read_iops",
        "/disk/seq_read_mb_s",
        "/disk/seq_write_mb_s",
    ] {
        let x = v.pointer(path).and_then(|x| x.as_f64());
        assert!(
            x.is_some_and(|x| x >= 0.0),
            "{path} = {:?}",
            v.pointer(path)
        );
    }
    assert!(v["disk"]["fsync_p99_ms"].as_f64() >= v["disk"]["fsync_p50_ms"].as_f64());
    let verdicts = v["verdicts"].as_array().unwrap();
    assert_eq!(verdicts.len(), 9, "every item the role sets: {verdicts:?}");
    for x in verdicts {
        assert_eq!(x["role"], "zenon-pillar");
        assert!(["meets", "below", "unknown"].contains(&x["status"].as_str().unwrap()));
        assert!(x["minimum"].is_number() && x["value"].is_number(), "{x}");
    }
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "scratch files removed"
    );
}

#[test]
fn bad_input_names_the_culprit() {
    let o = run(&["probe", "--quick", "--role", "miner"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(
            "no role `miner` (roles: ethereum-full, substrate-validator, zenon-node, zenon-pillar)"
        ),
        "{}",
        stderr(&o)
    );
    let o = run(&["probe", "--quick", "--data-dir", "/nonexistent/dir"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--data-dir /nonexistent/dir: not an existing directory"));
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("m.toml");
    std::fs::write(&m, "[role.x]\nlabel = \"x\"\ndisk.iops = 3\n").unwrap();
    let o = run(&["probe", "--quick", "--minimums", m.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("m.toml, line 3") && e.contains("iops") && e.lines().count() == 1,
        "{e}"
    );
}

#[test]
fn sigint_removes_the_scratch_files() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Spawned::start(&["probe", "--data-dir", tmp.path().to_str().unwrap()]);
    wait_until("scratch dir created", Duration::from_secs(20), || {
        std::fs::read_dir(tmp.path()).unwrap().count() > 0
    });
    std::thread::sleep(Duration::from_millis(300));
    p.signal(libc::SIGINT);
    let (status, _) = p.finish(Duration::from_secs(15));
    assert_eq!(status.code(), Some(130));
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "scratch files removed"
    );
}
