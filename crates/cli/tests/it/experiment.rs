//! `experiment ab` end to end: two sims with different speeds raced, recorded, stopped and
//! compared with no other command; interrupted and run again, the same run continues.
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::support::*;

fn plan(dir: &Path, height: u64) -> std::path::PathBuf {
    let bin = env!("CARGO_BIN_EXE_nodewarden");
    let side = |name: &str, rate: u32, port: u16| {
        let scenario = dir.join(format!("{name}.toml"));
        std::fs::write(
            &scenario,
            format!("kind = \"zenon\"\nstart_height = 1\ntip_height = 100000\npeers = 12\n[[phase]]\nuntil = \"tip\"\nrate = {rate}\n"),
        )
        .unwrap();
        format!(
            "[{key}]\nname = \"{name}\"\nkind = \"zenon\"\nrpc_port = {port}\ndata_dir = \"data-{name}\"\ncommand = [\"{bin}\", \"sim\", \"--kind\", \"zenon\", \"--listen\", \"127.0.0.1:{port}\", \"--data-dir\", \"data-{name}\", \"--scenario\", \"{}\", \"--speed\", \"20\"]\nenv = {{ NODEWARDEN_LOG = \"warn\" }}\n",
            scenario.display(),
            key = if name == "fast" { "a" } else { "b" },
        )
    };
    let text = format!(
        "output = \"out\"\ninterval = \"250ms\"\n[stop]\nheight = {height}\ndeadline = \"2m\"\n{}{}",
        side("fast", 60, dead_port()),
        side("slow", 25, dead_port())
    );
    let file = dir.join("race.toml");
    std::fs::write(&file, text).unwrap();
    file
}

/// Runs nodewarden in `dir` (the files' relative data dirs are there), requires exit 0 and
/// returns its JSON.
fn succeed_in(dir: &Path, args: &[&str]) -> Value {
    let mut cmd = bin();
    cmd.current_dir(dir)
        .env("NODEWARDEN_PASSWORD", "drill pass");
    let out = run_command(cmd, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[test]
fn two_builds_raced_and_compared_in_one_command() {
    let tmp = tempfile::tempdir().unwrap();
    let file = plan(tmp.path(), 12_000);
    // The data dirs are relative to the file: the sims run from there.
    let args = [
        "experiment",
        "ab",
        file.to_str().unwrap(),
        "--json",
        "--no-probe",
    ];
    let v = succeed_in(tmp.path(), &args);
    assert_eq!(v["race"]["reason"], "height-reached", "{v}");
    assert_eq!(v["comparison"]["verdict"], "a-faster", "{v}");
    let verdict = v["verdict"].as_str().unwrap();
    assert!(
        verdict.contains("A 2.") || verdict.contains("A 1.") || verdict.contains("A 3."),
        "{verdict}"
    );
    assert!(verdict.contains("faster overall"), "{verdict}");
    let o = tmp.path().join("out");
    for f in [
        "comparison.html",
        "comparison.json",
        "samples.csv",
        "bundle.tar.zst",
        "verdict.txt",
        "experiment.db",
    ] {
        assert!(o.join(f).is_file(), "{f}");
    }
    assert!(
        std::fs::read_to_string(o.join("comparison.html"))
            .unwrap()
            .contains("<svg")
    );
    // Both sims were stopped cleanly (their SIGTERM line is in their logs).
    for n in ["fast", "slow"] {
        let log = std::fs::read_to_string(o.join(format!("{n}.log"))).unwrap();
        assert!(log.contains("stopped at height"), "{n}: {log}");
    }
}

#[test]
fn an_interrupted_experiment_continues_the_same_run() {
    let tmp = tempfile::tempdir().unwrap();
    let file = plan(tmp.path(), 9_000);
    let args = [
        "experiment",
        "ab",
        file.to_str().unwrap(),
        "--json",
        "--no-probe",
    ];
    let first = Spawned::start_in(tmp.path(), &args);
    std::thread::sleep(Duration::from_millis(2500));
    first.signal(libc::SIGTERM);
    let (status, lines) = first.finish(Duration::from_secs(40));
    assert_eq!(status.code(), Some(130), "{lines:?}");
    let v = succeed_in(tmp.path(), &args);
    assert_eq!(v["race"]["resumed"], true, "{v}");
    assert!(
        v["race"]["seconds"].as_f64().unwrap() >= 2.0,
        "the deadline clock kept running"
    );
    let runs = nodewarden_record::Recording::open(&tmp.path().join("out/experiment.db"))
        .unwrap()
        .runs()
        .unwrap();
    assert_eq!(runs.len(), 1, "one run across both invocations");
}

#[test]
fn clashing_builds_are_refused_before_anything_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let file = plan(tmp.path(), 100);
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("data-slow\"\ncommand", "data-fast\"\ncommand");
    std::fs::write(&file, text).unwrap();
    let out = run(&["experiment", "ab", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("b.data_dir"), "{}", stderr(&out));
    assert!(!tmp.path().join("out").exists(), "nothing started");
}

/// `--repeat`: fresh rounds alternating which build starts first, and the spread; refused
/// unless the file asks for fresh data dirs.
#[test]
fn repeated_rounds_report_the_spread() {
    let tmp = tempfile::tempdir().unwrap();
    let file = plan(tmp.path(), 6_000);
    let args = [
        "experiment",
        "ab",
        file.to_str().unwrap(),
        "--json",
        "--no-probe",
        "--repeat",
        "2",
    ];
    let out = run(&args);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("fresh = true"), "{}", stderr(&out));

    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("fresh = true\n{text}")).unwrap();
    let v = succeed_in(tmp.path(), &args);
    let speedups = v["speedups"].as_array().unwrap();
    assert_eq!(speedups.len(), 2, "{v}");
    assert!(
        speedups.iter().all(|s| s.as_f64().unwrap() < 1.0),
        "A is faster in both: {v}"
    );
    assert!(v["speedup_median"].as_f64().is_some());
    for r in ["round-1", "round-2"] {
        assert!(
            tmp.path()
                .join("out")
                .join(r)
                .join("comparison.json")
                .is_file(),
            "{r}"
        );
    }
}

#[test]
fn both_builds_start_from_the_same_snapshot() {
    let tmp = tempfile::tempdir().unwrap();
    // A sim's real LevelDB some way into the chain, backed up as it is.
    let seed = tmp.path().join("seed");
    let sim = SimProc::start(SimSpec {
        kind: "zenon",
        scenario: Some(
            "kind = \"zenon\"\nstart_height = 1\ntip_height = 100000\npeers = 12\n[[phase]]\nuntil = \"tip\"\nrate = 200\n",
        ),
        speed: 20.0,
        data_dir: &seed,
        port: 0,
    });
    wait_until("the seed sim past 3000", Duration::from_secs(30), || {
        rpc(&sim.url, "stats.syncInfo", "[]")["result"]["currentHeight"]
            .as_u64()
            .unwrap_or(0)
            >= 3000
    });
    let (status, _) = sim.stop();
    assert!(status.success());
    let repo = tmp.path().join("repo");
    let r = repo.to_str().unwrap();
    let mut init = bin();
    init.env("NODEWARDEN_PASSWORD", "drill pass");
    let out = run_command(init, &["init", "--repo", r]);
    assert!(out.status.success(), "{}", stderr(&out));
    let snap = succeed_in(
        tmp.path(),
        &[
            "backup",
            "--hot",
            seed.to_str().unwrap(),
            "--node",
            "seeder",
            "--repo",
            r,
            "--json",
        ],
    );
    let file = plan(tmp.path(), 9_000);
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("[start]\nfrom = \"seeder\"\n");
    std::fs::write(&file, text).unwrap();
    let f = file.to_str().unwrap();
    let v = succeed_in(
        tmp.path(),
        &["experiment", "ab", f, "--json", "--no-probe", "--repo", r],
    );
    assert_eq!(v["race"]["reason"], "height-reached", "{v}");
    // Both began where the snapshot ends, not at genesis.
    let from = v["comparison"]["common_from_height"].as_u64().unwrap();
    assert!(from >= 3000, "common range from {from}; snapshot {snap}");
}
