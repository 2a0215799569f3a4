//! `db inspect` against databases written by the real C++ engines (plyvel, rocksdict): per
//! level, nodewarden's file counts equal the engine's own `num-files-at-level<N>`, read while
//! the engine holds the database open; plus the command's errors.
use std::process::Command;

use crate::support::*;

#[test]
fn file_counts_per_level_match_the_engines_own() {
    let python = external("NODEWARDEN_PYTHON", ".cache/py/bin/python");
    let tmp = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/db/engines.py");
    let out = Command::new(python)
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_nodewarden"))
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "engines.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 7, "every shape reported: {lines:?}");
    let mut multi_level = 0;
    for l in &lines {
        assert_eq!(l["expected"], l["got"], "{}", l["shape"]);
        let shape = l["shape"].as_str().unwrap();
        let engine = if shape.starts_with("leveldb") {
            "leveldb"
        } else {
            "rocksdb"
        };
        assert_eq!(l["engine"], engine, "{shape}");
        let nonempty = l["got"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n.as_u64() > Some(0))
            .count();
        multi_level += usize::from(nonempty > 1);
    }
    assert!(
        multi_level >= 1,
        "some shape spans several levels: {lines:?}"
    );
    let l0 = lines
        .iter()
        .find(|l| l["shape"] == "rocksdb many L0 files")
        .unwrap();
    assert!(l0["got"][0].as_u64().unwrap() >= 5, "{l0}");
    let cf = lines
        .iter()
        .find(|l| l["shape"] == "rocksdb column family")
        .unwrap();
    assert_eq!(cf["families"], serde_json::json!(["blocks", "default"]));
}

#[test]
fn the_sims_leveldb_and_bad_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("znn");
    let sim = SimProc::quick("zenon", &dir);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // While the sim holds its databases open.
    let out = run(&["db", "inspect", dir.to_str().unwrap(), "--json"]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["engine"], "leveldb");
    assert!(v["levels"].as_array().is_some_and(|l| !l.is_empty()));
    assert!(
        v["databases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["path"].as_str().unwrap().ends_with("nom")),
        "{v}"
    );
    let text = stdout(&run(&["db", "inspect", dir.to_str().unwrap()]));
    assert!(text.contains("level") && text.contains("L0"), "{text}");
    drop(sim);

    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = run(&["db", "inspect", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no LevelDB or RocksDB"),
        "{}",
        stderr(&out)
    );
    let bad = tmp.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(bad.join("CURRENT"), "MANIFEST-000001\n").unwrap();
    std::fs::write(bad.join("MANIFEST-000001"), vec![0x41u8; 100]).unwrap();
    let out = run(&["db", "inspect", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("MANIFEST-000001") && err.lines().count() == 1,
        "{err}"
    );
}
