//! SIGKILL `backup` and `forget --prune` at random points: afterwards `verify --read-data`
//! passes, every snapshot still listed restores bit-exact, and the next backup succeeds.
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

use crate::backup::ok;
use crate::support::*;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: enough to spread kill points; the seed is printed for replays.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut r = Rng(seed | 1);
    (0..n / 8).flat_map(|_| r.next().to_le_bytes()).collect()
}

/// A compaction step: a new table file, the oldest one deleted, the log rewritten.
fn churn(dir: &Path, generation: u64) {
    std::fs::create_dir_all(dir.join("db")).unwrap();
    std::fs::write(
        dir.join(format!("db/{generation:06}.ldb")),
        noise(generation + 1, 400_000),
    )
    .unwrap();
    if generation >= 6 {
        let _ = std::fs::remove_file(dir.join(format!("db/{:06}.ldb", generation - 6)));
    }
    let log: String = (0..5000)
        .map(|i| format!("gen {generation} record {i}\n"))
        .collect();
    std::fs::write(dir.join("db/000000.log"), log).unwrap();
    std::fs::write(
        dir.join("db/CURRENT"),
        format!("MANIFEST-{generation:06}\n"),
    )
    .unwrap();
}

struct Repo {
    path: String,
    tmp: PathBuf,
    /// Snapshot id → the data it must restore to.
    expected: HashMap<String, BTreeMap<String, Vec<u8>>>,
}

impl Repo {
    fn ids(&self) -> Vec<String> {
        let out = ok(&run(&["snapshots", "--json", "--repo", &self.path]));
        let v: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
        v.iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect()
    }

    /// New snapshots were made from `data` as it is now.
    fn adopt(&mut self, data: &Path) {
        let now = dir_tree(data);
        for id in self.ids() {
            self.expected.entry(id).or_insert_with(|| now.clone());
        }
    }

    /// Runs `args` and kills it with SIGKILL after a random delay; true if it was still
    /// running then (the kill interrupted it).
    fn kill_during(&self, args: &[&str], rng: &mut Rng, max_ms: u64) -> bool {
        let mut child = bin()
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_millis(rng.next() % max_ms);
        while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(2));
        }
        let running = child.try_wait().unwrap().is_none();
        let _ = child.kill();
        let _ = child.wait();
        running
    }

    fn check(&self, round: usize, must_have: &[String]) {
        let o = run(&["verify", "--read-data", "--repo", &self.path]);
        assert!(
            o.status.success(),
            "round {round}: verify failed:\n{}{}",
            stdout(&o),
            stderr(&o)
        );
        let ids = self.ids();
        for id in must_have {
            assert!(ids.contains(id), "round {round}: snapshot {id} vanished");
        }
        for id in ids {
            let want = self
                .expected
                .get(&id)
                .unwrap_or_else(|| panic!("round {round}: unknown snapshot {id}"));
            let target = self.tmp.join(format!("restore-{}", &id[..8]));
            ok(&run(&[
                "restore",
                &id,
                "--target",
                target.to_str().unwrap(),
                "--repo",
                &self.path,
            ]));
            assert!(
                dir_tree(&target) == *want,
                "round {round}: snapshot {id} restores different data"
            );
            std::fs::remove_dir_all(&target).unwrap();
        }
    }
}

#[test]
fn sigkill_during_backup_and_prune_never_loses_a_snapshot() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("crash test seed {seed}");
    let mut rng = Rng(seed | 1);
    let mut repo = Repo {
        path: tmp.path().join("repo").to_str().unwrap().to_string(),
        tmp: tmp.path().to_path_buf(),
        expected: HashMap::new(),
    };
    ok(&run(&["init", "--repo", &repo.path]));
    // Small packs, so that a backup writes many objects and a kill lands between them.
    let cfg = tmp.path().join("repo/config");
    let mut c: serde_json::Value = serde_json::from_slice(&std::fs::read(&cfg).unwrap()).unwrap();
    c["pack_size"] = (128 * 1024).into();
    std::fs::write(&cfg, serde_json::to_vec(&c).unwrap()).unwrap();
    for g in 0..6 {
        churn(&data, g);
    }
    let (data_s, repo_s) = (data.to_str().unwrap().to_string(), repo.path.clone());
    let backup = ["backup", "--hot", &data_s, "--repo", &repo_s];
    // Kill points spread over a whole run: the window is a little longer than a backup.
    let started = Instant::now();
    ok(&run(&backup));
    let window = (started.elapsed().as_millis() as u64 * 6 / 5).max(20);
    repo.adopt(&data);
    let (mut kills, mut interrupted) = (0, 0);
    for round in 0..20 {
        churn(&data, 6 + round as u64);
        let before = repo.ids();
        kills += 1;
        interrupted += repo.kill_during(&backup, &mut rng, window) as u32;
        repo.adopt(&data);
        repo.check(round, &before);
        if round % 2 == 1 {
            let ids = repo.ids();
            let newest: Vec<String> = ids.iter().rev().take(3).cloned().collect();
            kills += 1;
            interrupted += repo.kill_during(
                &[
                    "forget",
                    "--keep-last",
                    "3",
                    "--prune",
                    "--repo",
                    &repo.path,
                ],
                &mut rng,
                window,
            ) as u32;
            repo.check(round, &newest);
        }
        ok(&run(&backup));
        repo.adopt(&data);
    }
    assert!(
        interrupted * 3 >= kills,
        "only {interrupted} of {kills} kills landed while the process ran (window {window} ms)"
    );
    // A clean prune at the end still leaves everything listed restorable.
    ok(&run(&[
        "forget",
        "--keep-last",
        "2",
        "--prune",
        "--repo",
        &repo.path,
    ]));
    let left = repo.ids();
    assert_eq!(left.len(), 2);
    repo.check(99, &left);
}
