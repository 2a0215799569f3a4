//! The sim's data dir is a real LevelDB: the C++ implementation (plyvel) opens and reads it.
use std::process::Command;
use std::time::Duration;

use crate::support::*;

const SCRIPT: &str = r#"
import json, sys, plyvel
db = plyvel.DB(sys.argv[1], create_if_missing=False)
keys = 0
value_bytes = 0
for k, v in db:
    keys += 1
    value_bytes += len(v)
db.close()
print(json.dumps({"keys": keys, "value_bytes": value_bytes}))
"#;

#[test]
fn cpp_leveldb_reads_the_sims_database() {
    let python = external("NODEWARDEN_PYTHON", ".cache/py/bin/python");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("znn");
    let scenario = "kind = \"zenon\"\nstart_height = 1\ntip_height = 100000\npeers = 12\n[[phase]]\nuntil = \"tip\"\nrate = 100\n";
    let sim = SimProc::start(SimSpec {
        kind: "zenon",
        scenario: Some(scenario),
        speed: 40.0,
        data_dir: &dir,
        port: 0,
    });
    wait_until("blocks", Duration::from_secs(30), || {
        rpc(&sim.url, "stats.syncInfo", "[]")["result"]["currentHeight"]
            .as_u64()
            .unwrap()
            > 2000
    });
    let (status, lines) = sim.stop();
    assert!(status.success());
    let stopped: u64 = lines
        .iter()
        .find_map(|l| l.strip_prefix("stopped at height "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();

    let out = Command::new(python)
        .arg("-c")
        .arg(SCRIPT)
        .arg(dir.join("nom"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "plyvel failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys = v["keys"].as_u64().unwrap();
    assert!(
        keys >= stopped,
        "one key per block: {keys} keys for height {stopped}"
    );
    assert!(v["value_bytes"].as_u64().unwrap() > stopped * 64, "{v}");
}
