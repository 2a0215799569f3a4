//! Backups end to end: the real binary, a real sim (real LevelDB) stopped and started by
//! its configured service commands, a local repository.
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use crate::support::*;

const SCENARIO: &str = "kind = \"zenon\"\nseed = 5\nstart_height = 1\ntip_height = 1000000\nblock_time = \"10s\"\n[[phase]]\nuntil = \"tip\"\nrate = 40\n";

/// A sim run by shell commands, the way an operator's config runs a node; stopped on drop.
pub struct ManagedNode {
    pub dir: PathBuf,
    pub config: PathBuf,
    pub url: String,
    stop: String,
    pub start: String,
}

impl ManagedNode {
    pub fn new(tmp: &Path) -> ManagedNode {
        ManagedNode::with_pg(tmp, &[])
    }

    /// With PostgreSQL databases to dump into each snapshot (`pg = [...]`).
    pub fn with_pg(tmp: &Path, pg: &[String]) -> ManagedNode {
        ManagedNode::custom(tmp, SCENARIO, 2.0, &format!("pg = {pg:?}\n"))
    }

    /// A sim following `scenario` at `speed`; `extra` is added to its `[[node]]` table.
    pub fn custom(tmp: &Path, scenario_text: &str, speed: f64, extra: &str) -> ManagedNode {
        let dir = tmp.join("znn");
        let port = dead_port();
        let scenario = tmp.join("scenario.toml");
        std::fs::write(&scenario, scenario_text).unwrap();
        let pid = tmp.join("sim.pid");
        let start = format!(
            "{} sim --kind zenon --listen 127.0.0.1:{port} --speed {speed} --scenario {} --data-dir {} >>{} 2>&1 & echo $! > {}",
            env!("CARGO_BIN_EXE_nodewarden"),
            scenario.display(),
            dir.display(),
            tmp.join("sim.log").display(),
            pid.display()
        );
        let p = pid.display();
        let stop = format!(
            "p=$(cat {p} 2>/dev/null) || exit 0; kill $p 2>/dev/null; while kill -0 $p 2>/dev/null; do sleep 0.02; done"
        );
        let repo = tmp.join("repo");
        let config = tmp.join("nodewarden.toml");
        let toml = format!(
            "[[node]]\nname = \"znn\"\nkind = \"zenon\"\nrpc = \"http://127.0.0.1:{port}\"\ndata_dir = {:?}\nservice = {{ stop = {:?}, start = {:?} }}\n{extra}\n[repository]\nurl = {:?}\n",
            dir.display().to_string(),
            stop,
            start,
            repo.display().to_string()
        );
        std::fs::write(&config, toml).unwrap();
        let node = ManagedNode {
            dir,
            config,
            url: format!("http://127.0.0.1:{port}"),
            stop,
            start: start.clone(),
        };
        sh(&start);
        node.wait_answering();
        node
    }

    pub fn wait_answering(&self) {
        wait_until("the sim answering", Duration::from_secs(20), || {
            std::net::TcpStream::connect(self.url.trim_start_matches("http://")).is_ok()
        });
    }

    pub fn height(&self) -> u64 {
        rpc(&self.url, "stats.syncInfo", "[]")["result"]["currentHeight"]
            .as_u64()
            .unwrap()
    }

    pub fn stop(&self) {
        sh(&self.stop);
    }

    pub fn stop_command(&self) -> &str {
        &self.stop
    }

    /// `nodewarden --config C ARGS...`
    pub fn nw(&self, args: &[&str]) -> Output {
        let mut all = vec!["--config", self.config.to_str().unwrap()];
        all.extend_from_slice(args);
        run(&all)
    }
}

impl Drop for ManagedNode {
    fn drop(&mut self) {
        self.stop();
    }
}

fn sh(cmd: &str) {
    let st = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .status()
        .unwrap();
    assert!(st.success(), "{cmd}");
}

pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status,
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

pub fn snapshots_json(node: &ManagedNode) -> Vec<serde_json::Value> {
    let o = node.nw(&["snapshots", "--json"]);
    serde_json::from_str::<serde_json::Value>(&ok(&o))
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn freeze_backup_of_a_running_sim_then_restore_brings_it_back_at_that_height() {
    let tmp = tempfile::tempdir().unwrap();
    let node = ManagedNode::new(tmp.path());
    wait_until("some blocks", Duration::from_secs(30), || {
        node.height() > 200
    });
    ok(&node.nw(&["init"]));
    let out = ok(&node.nw(&["backup", "--node", "znn"]));
    assert!(out.contains("downtime"), "{out}");
    node.wait_answering();
    assert!(node.height() > 0, "the node runs again after the freeze");

    let snaps = snapshots_json(&node);
    assert_eq!(snaps.len(), 1);
    let s = &snaps[0];
    for key in [
        "id",
        "name",
        "time",
        "node",
        "kind",
        "height",
        "head_hash",
        "size_bytes",
        "signed",
    ] {
        assert!(s.get(key).is_some(), "snapshots --json lacks {key}: {s}");
    }
    let height = s["height"].as_u64().unwrap();
    let hash = s["head_hash"].as_str().unwrap();
    assert!(height > 200, "{s}");
    assert_eq!(s["kind"], "zenon");
    let name = s["name"].as_str().unwrap();
    assert!(
        name.starts_with(&format!("znn-h{height}-{}-", &hash[..8])),
        "{name}"
    );
    assert!(s["downtime_ms"].as_u64().unwrap() < 10_000, "{s}");
    assert_eq!(s["signed"], false);

    // Incremental: table files are hard-linked, so their inodes stay and a later backup
    // does not read them again. (The sim turns its log into a table on every start, so
    // after the first restart there are tables to link.)
    wait_until("more blocks", Duration::from_secs(30), || {
        node.height() > height + 50
    });
    ok(&node.nw(&["backup", "--node", "znn"]));
    wait_until("more blocks", Duration::from_secs(30), || {
        node.height() > height + 100
    });
    let out = ok(&node.nw(&["backup", "--node", "znn", "--json"]));
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["freeze_method"], "hardlink", "{r}");
    assert!(r["linked_files"].as_u64() > Some(0), "{r}");
    assert!(r["files_read"].as_u64() < r["files"].as_u64(), "{r}");

    // Restore the first snapshot over the live node: stopped, swapped, started, and it
    // comes back at the snapshot's height (plus what it synced between the RPC read and
    // the stop, well under a second at this speed).
    let out = ok(&node.nw(&[
        "restore",
        name,
        "--target",
        node.dir.to_str().unwrap(),
        "--node",
        "znn",
    ]));
    assert!(out.contains("restored"), "{out}");
    let back = node.height();
    assert!(
        back >= height && back < height + 150,
        "snapshot at {height}, node came back at {back}"
    );
    // A hot backup of the running node's dir (files growing while read) still restores.
    let dir = node.dir.to_str().unwrap();
    ok(&node.nw(&["backup", "--hot", dir, "--node", "znn-hot"]));
    let copy = tmp.path().join("hot-copy");
    ok(&node.nw(&["restore", "latest", "--target", copy.to_str().unwrap()]));
    std::fs::remove_dir_all(&copy).unwrap();
    let out = ok(&node.nw(&["verify", "--read-data"]));
    assert!(out.starts_with("ok:"), "{out}");
    let leftovers = nodewarden_leftovers(tmp.path());
    assert!(
        leftovers.is_empty(),
        "freeze, staging and old dirs are gone: {leftovers:?}"
    );
}

#[test]
fn signed_snapshots_and_trust() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(data.join("db")).unwrap();
    std::fs::write(data.join("db/000001.ldb"), vec![7u8; 100_000]).unwrap();
    let repo = tmp.path().join("repo");
    let repo_s = repo.to_str().unwrap();
    let key = tmp.path().join("sign.key");
    std::fs::write(&key, "11".repeat(32)).unwrap();
    ok(&run(&["init", "--repo", repo_s]));
    let out = ok(&run(&[
        "backup",
        "--hot",
        data.to_str().unwrap(),
        "--repo",
        repo_s,
        "--sign",
        key.to_str().unwrap(),
    ]));
    let pubkey = out.split("ed25519 key ").nth(1).unwrap().trim().to_string();
    ok(&run(&[
        "backup",
        "--hot",
        data.to_str().unwrap(),
        "--repo",
        repo_s,
        "--time",
        "2030-01-01T00:00:00Z",
    ]));
    let snaps: Vec<serde_json::Value> =
        serde_json::from_str(&ok(&run(&["snapshots", "--json", "--repo", repo_s]))).unwrap();
    assert_eq!(
        (snaps[0]["signed"].as_bool(), snaps[1]["signed"].as_bool()),
        (Some(true), Some(false))
    );
    let signed = snaps[0]["id"].as_str().unwrap();
    let target = tmp.path().join("out");
    let t = target.to_str().unwrap();
    ok(&run(&[
        "restore",
        &signed[..10],
        "--target",
        t,
        "--repo",
        repo_s,
        "--trust",
        &pubkey,
    ]));
    let o = run(&["verify", "--read-data-subset", "50%", "--repo", repo_s]);
    assert!(ok(&o).starts_with("ok:"), "{}", stdout(&o));
    let o = run(&[
        "forget",
        "--keep-last",
        "1",
        "--dry-run",
        "--json",
        "--repo",
        repo_s,
    ]);
    let d: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(d[0]["keep"], false, "{d}");
    assert_eq!(d[1]["reasons"], serde_json::json!(["last"]), "{d}");
    assert_eq!(
        d.as_array().unwrap().len(),
        2,
        "dry run forgets nothing: {d}"
    );
    let o = run(&[
        "restore", "latest", "--target", t, "--repo", repo_s, "--trust", &pubkey,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("is not signed"), "{}", stderr(&o));
    let o = run(&[
        "restore",
        signed,
        "--target",
        t,
        "--repo",
        repo_s,
        "--trust",
        &"22".repeat(32),
    ]);
    assert!(
        stderr(&o).contains("not by the trusted key"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn encrypted_repository_through_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("CURRENT"), "MANIFEST-000001\n").unwrap();
    let repo = tmp.path().join("repo");
    let repo_s = repo.to_str().unwrap();
    let pw = tmp.path().join("pw");
    std::fs::write(&pw, "s3cret\n").unwrap();
    let pw_s = pw.to_str().unwrap();
    let out = ok(&run(&["init", "--repo", repo_s, "--password-file", pw_s]));
    assert!(out.contains("encrypted"), "{out}");
    ok(&run(&[
        "backup",
        "--hot",
        data.to_str().unwrap(),
        "--repo",
        repo_s,
        "--password-file",
        pw_s,
    ]));
    let o = run(&["snapshots", "--repo", repo_s]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("NODEWARDEN_PASSWORD"), "{}", stderr(&o));
    let o = bin()
        .args(["snapshots", "--repo", repo_s])
        .env("NODEWARDEN_PASSWORD", "s3cret")
        .output()
        .unwrap();
    assert!(stdout(&o).contains("data-h0-"), "{}", stderr(&o));
    let o = bin()
        .args(["snapshots", "--repo", repo_s])
        .env("NODEWARDEN_PASSWORD", "wrong")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("wrong passphrase"), "{}", stderr(&o));
}

#[test]
fn bad_input_is_one_line_naming_the_culprit() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let repo_s = repo.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["snapshots", "--repo", repo_s], "no repository at"),
        (vec!["init", "--repo", "s3://bucket/x"], "s3://bucket/x"),
        (
            vec!["backup", "--repo", repo_s],
            "--node NAME or --hot PATH",
        ),
        (
            vec!["backup", "--hot", "/nonexistent/dir", "--repo", repo_s],
            "/nonexistent/dir",
        ),
        (vec!["forget", "--repo", repo_s], "--keep-"),
        (
            vec!["verify", "--read-data-subset", "250%", "--repo", repo_s],
            "250%",
        ),
        (
            vec![
                "backup",
                "--hot",
                "/tmp",
                "--time",
                "yesterday",
                "--repo",
                repo_s,
            ],
            "yesterday",
        ),
    ];
    ok(&run(&[
        "init",
        "--repo",
        tmp.path().join("other").to_str().unwrap(),
    ]));
    for (args, needle) in cases {
        let o = run(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
