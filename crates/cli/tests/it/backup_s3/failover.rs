//! The failover drill end to end: a sim backed up with `backup --node` into an encrypted S3
//! repository (moto), brought up again from it in a fresh directory by its service
//! commands, caught up with the running original, its hashes compared, and failed back.
use std::path::Path;
use std::time::Duration;

use super::{Setup, json};
use crate::backup::ok;
use crate::support::*;

/// One chain for every sim of the test (the same seed gives the same hashes).
const SCENARIO: &str = "kind = \"zenon\"\nseed = 11\nstart_height = 1\ntip_height = 3000\nblock_time = \"10s\"\npeers = 9\n[[phase]]\nuntil = \"tip\"\nrate = 500\n";

/// `[[node]]` of a sim run by shell commands on `port`, the way an operator's config runs a
/// node; the commands for starting it are returned too.
fn node(tmp: &Path, name: &str, port: u16) -> (String, String) {
    let dir = tmp.join(name);
    let pid = tmp.join(format!("{name}.pid"));
    let start = format!(
        "{} sim --kind zenon --listen 127.0.0.1:{port} --speed 5 --scenario {} --data-dir {} >>{} 2>&1 & echo $! > {}",
        env!("CARGO_BIN_EXE_nodewarden"),
        tmp.join("scenario.toml").display(),
        dir.display(),
        tmp.join(format!("{name}.log")).display(),
        pid.display()
    );
    let stop = format!(
        "p=$(cat {} 2>/dev/null) || exit 0; kill $p 2>/dev/null; while kill -0 $p 2>/dev/null; do sleep 0.02; done",
        pid.display()
    );
    let toml = format!(
        "[[node]]\nname = \"{name}\"\nkind = \"zenon\"\nrpc = \"http://127.0.0.1:{port}\"\ndata_dir = {:?}\nservice = {{ stop = {stop:?}, start = {start:?} }}\n\n",
        dir.display().to_string(),
    );
    (toml, start)
}

fn height(port: u16) -> u64 {
    if closed(port) {
        return 0;
    }
    rpc(&format!("http://127.0.0.1:{port}"), "stats.syncInfo", "[]")["result"]["currentHeight"]
        .as_u64()
        .unwrap_or(0)
}

fn closed(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
}

#[test]
fn s3_failover_drill_restores_starts_catches_up_and_fails_back() {
    let setup = Setup::new();
    let tmp = setup.path("drill");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(tmp.join("scenario.toml"), SCENARIO).unwrap();
    let ports = [dead_port(), dead_port(), dead_port()];
    let (main, start_main) = node(&tmp, "main", ports[0]);
    let (standby, _) = node(&tmp, "standby", ports[1]);
    let (back, _) = node(&tmp, "main-2", ports[2]);
    let url = "s3://bkt/drill";
    let cfg = setup.config(
        "drill.toml.conf",
        url,
        &setup.s3.endpoint,
        &format!("\n{main}{standby}{back}"),
    );
    std::fs::write(tmp.join("sh.sh"), format!("{start_main}\n")).unwrap();
    assert!(
        std::process::Command::new("sh")
            .arg(tmp.join("sh.sh"))
            .status()
            .unwrap()
            .success()
    );
    wait_until("main at its tip", Duration::from_secs(30), || {
        height(ports[0]) >= 3000
    });
    ok(&setup.nwc(&cfg, &["init"]));
    ok(&setup.nwc(&cfg, &["backup", "--node", "main"]));

    let drill = tmp.join("znn-drill.toml");
    std::fs::write(
        &drill,
        "output = \"drills\"\nnode = \"standby\"\nfrom = \"main\"\nreference = \"main\"\nwithin = 20\ncrosscheck = 500\ntimeout = \"2m\"\n[failback]\nnode = \"main-2\"\n",
    )
    .unwrap();
    let out = setup.nwc(
        &cfg,
        &["experiment", "failover", drill.to_str().unwrap(), "--json"],
    );
    let r = json(&out);
    assert_eq!(r["ok"], true, "{r}");
    let names = |leg: &serde_json::Value| -> Vec<String> {
        leg["phases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    };
    let over = &r["failover"];
    assert_eq!(names(over), ["restore", "start", "catch-up", "crosscheck"]);
    assert_eq!(over["agree"], true, "{over}");
    assert_eq!(over["compared"], 500, "{over}");
    assert!(over["snapshot_height"].as_u64().unwrap() >= 3000, "{over}");
    assert!(over["bytes"].as_u64().unwrap() > 0);
    let sum: f64 = over["phases"].as_array().unwrap()[..3]
        .iter()
        .map(|p| p["seconds"].as_f64().unwrap())
        .sum();
    assert!((over["recovery_seconds"].as_f64().unwrap() - sum).abs() < 1e-6);
    let fb = &r["failback"];
    assert_eq!(
        names(fb),
        ["backup", "restore", "start", "catch-up", "crosscheck"]
    );
    assert_eq!(fb["agree"], true, "{fb}");
    // Nothing of the drill is left running or on disk; the original never stopped.
    assert!(
        closed(ports[1]) && closed(ports[2]),
        "drilled nodes stopped"
    );
    assert!(!tmp.join("standby").exists() && !tmp.join("main-2").exists());
    assert!(height(ports[0]) >= 3000, "the original still serves");

    // A second drill reads like the first and sits beside it in the history.
    std::fs::write(
        &drill,
        "output = \"drills\"\nnode = \"standby\"\nfrom = \"main\"\nreference = \"main\"\nwithin = 20\ntimeout = \"2m\"\n",
    )
    .unwrap();
    let text = ok(&setup.nwc(&cfg, &["experiment", "failover", drill.to_str().unwrap()]));
    assert!(text.contains("failover: standby from "), "{text}");
    assert!(
        text.contains("recovery") && text.contains("earlier recoveries: "),
        "{text}"
    );
    let lines = std::fs::read_to_string(tmp.join("drills/drills.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 2, "{lines}");

    // A snapshot that is not there fails the drill, names it, and is recorded as failed.
    std::fs::write(
        &drill,
        "output = \"drills\"\nnode = \"standby\"\nsnapshot = \"deadbeef\"\n",
    )
    .unwrap();
    let out = setup.nwc(&cfg, &["experiment", "failover", drill.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("deadbeef"), "{}", stderr(&out));
    let last = std::fs::read_to_string(tmp.join("drills/drills.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(last.lines().last().unwrap()).unwrap();
    assert_eq!(last["ok"], false);

    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "kill $(cat {}) 2>/dev/null",
            tmp.join("main.pid").display()
        ))
        .status()
        .unwrap();
}
