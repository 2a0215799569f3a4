//! S3 repositories end to end: the real binary against moto on loopback, often through
//! [`FaultProxy`] (errors, resets, stalls, request records). Credentials reach the binary
//! only through its environment ([`S3Server::env`]).
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use crate::backup::ok;
use crate::s3::*;
use crate::support::*;

const BUCKET: &str = "bkt";
const PASSWORD: &str = "correct horse";

/// moto with one bucket, a scratch dir (also `$HOME`, so no developer's
/// `~/.aws/credentials` is read) and the environment every `nodewarden` child gets.
struct Setup {
    s3: S3Server,
    tmp: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
}

impl Setup {
    fn new() -> Setup {
        let s3 = S3Server::start();
        s3.create_bucket(BUCKET);
        let tmp = tempfile::tempdir().unwrap();
        let mut env = s3.env();
        env.push(("NODEWARDEN_PASSWORD", PASSWORD.into()));
        env.push(("HOME", tmp.path().display().to_string()));
        Setup { s3, tmp, env }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// `nodewarden ARGS` with this setup's environment.
    fn nw(&self, args: &[&str]) -> Output {
        run_env(&self.env, args)
    }

    /// A config file with `[repository]` for `url` on `endpoint` plus `extra` keys.
    fn config(&self, name: &str, url: &str, endpoint: &str, extra: &str) -> String {
        let path = self.path(name);
        std::fs::write(
            &path,
            format!("[repository]\nurl = {url:?}\ns3_endpoint = {endpoint:?}\n{extra}"),
        )
        .unwrap();
        path.display().to_string()
    }

    /// `nodewarden --config CONFIG ARGS`.
    fn nwc(&self, config: &str, args: &[&str]) -> Output {
        let mut all = vec!["--config", config];
        all.extend_from_slice(args);
        self.nw(&all)
    }

    /// Objects under `prefix/packs/`: key → size.
    fn packs(&self, prefix: &str) -> BTreeMap<String, u64> {
        self.s3
            .list(BUCKET, &format!("{prefix}/packs/"))
            .into_iter()
            .collect()
    }

    fn snapshot_keys(&self, prefix: &str) -> Vec<String> {
        self.s3.keys(BUCKET, &format!("{prefix}/snapshots/"))
    }
}

fn json(o: &Output) -> serde_json::Value {
    let text = ok(o);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn snapshots(setup: &Setup, config: &str) -> Vec<serde_json::Value> {
    json(&setup.nwc(config, &["snapshots", "--json"]))
        .as_array()
        .unwrap()
        .clone()
}

/// Pseudo-random bytes (xorshift64*, seeded): incompressible and reproducible.
fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(n);
    out
}

/// A directory of `mib` MiB of random data in files of 1–4 MiB plus a few small files.
fn random_tree(dir: &Path, seed: u64, mib: usize) {
    std::fs::create_dir_all(dir.join("db")).unwrap();
    let mut left = mib << 20;
    let mut i = 0u64;
    while left > 0 {
        let n = left.min(((i as usize % 4) + 1) << 20);
        std::fs::write(
            dir.join(format!("db/{:06}.ldb", i + 1)),
            noise(seed * 1000 + i, n),
        )
        .unwrap();
        left -= n;
        i += 1;
    }
    std::fs::write(dir.join("db/CURRENT"), "MANIFEST-000007\n").unwrap();
    std::fs::write(dir.join("db/LOG"), format!("seed {seed}\n").repeat(200)).unwrap();
    std::fs::write(dir.join("empty"), b"").unwrap();
}

/// Every file and directory under `dir` (relative path → bytes; empty for directories),
/// plus symlink targets.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.file_type().is_symlink() {
                let t = std::fs::read_link(&p).unwrap();
                out.insert(format!("{rel} ->"), t.to_string_lossy().as_bytes().to_vec());
            } else if meta.is_dir() {
                stack.push(p);
                out.insert(format!("{rel}/"), Vec::new());
            } else {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn bytes_in(dir: &Path) -> u64 {
    tree(dir)
        .iter()
        .filter(|(k, _)| !k.ends_with(" ->"))
        .map(|(_, v)| v.len() as u64)
        .sum()
}

/// `a` and `b` hold the same tree; names the first difference otherwise.
fn assert_same_tree(a: &Path, b: &Path) {
    let (ta, tb) = (tree(a), tree(b));
    let ka: BTreeSet<_> = ta.keys().collect();
    let kb: BTreeSet<_> = tb.keys().collect();
    assert_eq!(
        ka,
        kb,
        "{} and {} list different entries",
        a.display(),
        b.display()
    );
    for (k, v) in &ta {
        assert!(
            *v == tb[k],
            "{k} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
    assert!(!ta.is_empty(), "{} is empty", a.display());
}

/// Restores `which` from the repository of `config` into a fresh dir under the setup and
/// checks it against `want`.
fn restore_same(setup: &Setup, config: &str, which: &str, want: &Path) {
    let target = setup.path(&format!("restore-{}", next_suffix()));
    let r = json(&setup.nwc(
        config,
        &[
            "restore",
            which,
            "--target",
            target.to_str().unwrap(),
            "--json",
        ],
    ));
    assert_same_tree(want, &target);
    assert_eq!(r["bytes"].as_u64(), Some(bytes_in(want)), "{r}");
    std::fs::remove_dir_all(&target).unwrap();
}

fn next_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed).to_string()
}

/// `verify --read-data` succeeds and says so.
fn verify_read_data(setup: &Setup, config: &str) {
    let out = ok(&setup.nwc(config, &["verify", "--read-data"]));
    assert!(out.starts_with("ok:"), "{out}");
}

/// Everything under `prefix/` is repository data: no temp objects and no locks left over.
fn assert_only_repository_objects(setup: &Setup, prefix: &str) {
    let keys = setup.s3.keys(BUCKET, &format!("{prefix}/"));
    assert!(
        keys.iter().any(|k| k == &format!("{prefix}/config")),
        "{keys:?}"
    );
    for k in &keys {
        let rest = k.strip_prefix(&format!("{prefix}/")).unwrap();
        assert!(
            rest == "config"
                || ["keys/", "index/", "packs/", "snapshots/"]
                    .iter()
                    .any(|p| rest.starts_with(p)),
            "unexpected object {k} in {keys:?}"
        );
    }
    assert_eq!(
        setup.s3.multipart_uploads(BUCKET),
        [],
        "no multipart upload is left pending"
    );
}

/// The sim's real LevelDB data dir, after a short sync; the sim is stopped.
fn sim_data_dir(dir: &Path) {
    let sim = SimProc::quick("zenon", dir);
    wait_until(
        "the sim to sync some blocks",
        Duration::from_secs(30),
        || {
            rpc(&sim.url, "stats.syncInfo", "[]")["result"]["currentHeight"]
                .as_u64()
                .unwrap_or(0)
                > 300
        },
    );
    let (status, _) = sim.stop();
    assert!(status.success(), "{status}");
}

/// One stderr line: the binary's error, and nothing about panics.
fn one_line_error(o: &Output) -> String {
    let err = stderr(o);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("nodewarden: "))
        .collect();
    assert_eq!(lines.len(), 1, "one error line: {err}");
    assert!(
        err.trim_end().ends_with(lines[0]),
        "the error comes last: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    lines[0].to_string()
}

#[test]
fn s3_full_cycle_with_encryption() {
    let setup = Setup::new();
    let data = setup.path("data");
    sim_data_dir(&data.join("znn"));
    let marker = b"NODEWARDEN-PLAINTEXT-MARKER-d41d8cd98f00";
    let mut secret = noise(1, 300_000);
    secret.extend_from_slice(marker);
    secret.extend(noise(2, 300_000));
    std::fs::write(data.join("wallet.bin"), &secret).unwrap();
    std::fs::write(data.join("small.txt"), b"first version\n").unwrap();
    std::fs::write(data.join("big.bin"), noise(3, 6 << 20)).unwrap();
    std::os::unix::fs::symlink("znn", data.join("current")).unwrap();
    let data_s = data.to_str().unwrap();
    let url = "s3://bkt/r1";
    let config = setup.config("nw.toml", url, &setup.s3.endpoint, "");

    // Unencrypted: refused, nothing written.
    let env: Vec<_> = setup
        .env
        .iter()
        .filter(|(k, _)| *k != "NODEWARDEN_PASSWORD")
        .cloned()
        .collect();
    let o = run_env(&env, &["--config", &config, "init", "--pack-size", "1MiB"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = one_line_error(&o);
    assert!(
        err.contains("s3://bkt/r1 is a remote repository and must be encrypted"),
        "{err}"
    );
    assert_eq!(setup.s3.keys(BUCKET, ""), Vec::<String>::new());

    let out = ok(&setup.nwc(&config, &["init", "--pack-size", "1MiB"]));
    assert!(out.contains("encrypted"), "{out}");
    let cfg: serde_json::Value =
        serde_json::from_slice(&setup.s3.get_object(BUCKET, "r1/config").unwrap()).unwrap();
    assert_eq!(cfg["pack_size"], 1 << 20, "{cfg}");
    assert!(cfg["encryption"].is_object(), "{cfg}");
    let o = setup.nwc(&config, &["init"]);
    assert_eq!(o.status.code(), Some(2), "init twice: {}", stderr(&o));

    let first = json(&setup.nwc(
        &config,
        &["backup", "--hot", data_s, "--node", "znn", "--json"],
    ));
    let id = first["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 64, "{first}");
    assert!(
        first["name"]
            .as_str()
            .unwrap()
            .starts_with("znn-h0-00000000-"),
        "{first}"
    );
    let size = first["size_bytes"].as_u64().unwrap();
    assert_eq!(size, bytes_in(&data), "{first}");
    assert!(size > 6 << 20, "{first}");
    assert_eq!(first["bytes_read"].as_u64(), Some(size), "{first}");
    assert!(first["files"].as_u64().unwrap() > 5, "{first}");
    assert_eq!(first["files_read"], first["files"], "{first}");
    assert!(first["new_chunks"].as_u64().unwrap() > 7, "{first}");
    let stored = first["stored_bytes"].as_u64().unwrap();
    assert!(stored > 6 << 20 && stored < size + (1 << 20), "{first}");
    assert_eq!(first["signed_by"], serde_json::Value::Null);
    let packs = setup.packs("r1");
    assert!(packs.len() >= 5, "1 MiB packs: {packs:?}");
    assert!(
        packs.values().all(|&s| s < 5 << 20),
        "packs are cut near 1 MiB: {packs:?}"
    );

    let snaps = snapshots(&setup, &config);
    assert_eq!(snaps.len(), 1);
    let s = &snaps[0];
    assert_eq!(s["id"], id.as_str());
    assert_eq!(s["name"], first["name"]);
    assert_eq!(s["node"], "znn");
    assert_eq!(s["kind"], "dir");
    assert_eq!(s["size_bytes"].as_u64(), Some(size));
    assert_eq!(s["signed"], false);
    verify_read_data(&setup, &config);

    // Change one small file: the second backup stores little.
    std::fs::write(data.join("small.txt"), b"second version\n").unwrap();
    let second = json(&setup.nwc(
        &config,
        &["backup", "--hot", data_s, "--node", "znn", "--json"],
    ));
    assert!(
        second["stored_bytes"].as_u64().unwrap() < 64 << 10,
        "an unchanged tree is not stored again: {second}"
    );
    assert!(second["files_read"].as_u64().unwrap() <= 2, "{second}");
    assert_eq!(snapshots(&setup, &config).len(), 2);

    let o = setup.nwc(&config, &["forget", "--keep-last", "1", "--prune"]);
    ok(&o);
    let snaps = snapshots(&setup, &config);
    assert_eq!(snaps.len(), 1);
    assert_eq!(snaps[0]["id"], second["id"]);
    assert_eq!(setup.snapshot_keys("r1").len(), 1);
    verify_read_data(&setup, &config);

    restore_same(&setup, &config, "latest", &data);
    assert_only_repository_objects(&setup, "r1");

    // verify reads what is in the bucket: a flipped byte in a pack is found and named.
    let (pack, _) = setup
        .packs("r1")
        .into_iter()
        .max_by_key(|(_, s)| *s)
        .unwrap();
    let good = setup.s3.get_object(BUCKET, &pack).unwrap();
    let mut bad = good.clone();
    bad[good.len() / 3] ^= 0x40;
    setup.s3.put_object(BUCKET, &pack, &bad);
    let o = setup.nwc(&config, &["verify", "--read-data"]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let id = pack.rsplit('/').next().unwrap();
    assert!(stdout(&o).contains(&id[..16]), "{}", stdout(&o));
    assert!(stdout(&o).contains("DAMAGED"), "{}", stdout(&o));
    setup.s3.put_object(BUCKET, &pack, &good);
    verify_read_data(&setup, &config);

    // Encrypted: no object shows the marker, nor the plain JSON of a snapshot.
    for (key, _) in setup.s3.list(BUCKET, "r1/") {
        let bytes = setup.s3.get_object(BUCKET, &key).unwrap();
        assert!(
            !bytes.windows(marker.len()).any(|w| w == marker),
            "{key} holds plaintext"
        );
        if key != "r1/config" {
            assert!(
                !bytes.windows(9).any(|w| w == b"small.txt"),
                "{key} names a file in plaintext"
            );
        }
    }
}

#[test]
fn s3_credentials_never_from_argv() {
    let setup = Setup::new();
    let endpoint = setup.s3.endpoint.clone();
    let home = setup.path("home");
    std::fs::create_dir_all(&home).unwrap();
    let base = vec![
        ("HOME", home.display().to_string()),
        ("NODEWARDEN_PASSWORD", PASSWORD.to_string()),
    ];
    let args = [
        "init",
        "--repo",
        "s3://bkt/creds",
        "--s3-endpoint",
        &endpoint,
    ];

    let o = run_env(&base, &args);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("nodewarden: "), "{err}");
    assert!(
        err.contains("no S3 credentials for s3://bkt/creds: "),
        "names the repository: {err}"
    );
    assert!(setup.s3.keys(BUCKET, "").is_empty());

    // No flag takes a key.
    for flag in [
        "--aws-access-key-id",
        "--access-key",
        "--s3-secret-access-key",
    ] {
        let mut a = args.to_vec();
        a.extend([flag, "AKIAEXAMPLE"]);
        let o = run_env(&setup.env, &a);
        assert_eq!(o.status.code(), Some(2), "{flag}: {}", stderr(&o));
    }
    let help = stdout(&run_env(&base, &["init", "--help"])).to_lowercase();
    assert!(
        !help.contains("--aws") && !help.contains("secret-access"),
        "{help}"
    );

    // A credentials file, with the profile chosen by AWS_PROFILE.
    let creds = setup.path("aws-credentials");
    std::fs::write(
        &creds,
        "[default]\naws_access_key_id = \n\n[backup]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    let mut file_env = base.clone();
    file_env.push(("AWS_SHARED_CREDENTIALS_FILE", creds.display().to_string()));
    file_env.push(("AWS_PROFILE", "backup".into()));
    let out = ok(&run_env(&file_env, &args));
    assert!(out.contains("created repository"), "{out}");
    assert!(setup.s3.get_object(BUCKET, "creds/config").is_some());
    let listed = ok(&run_env(
        &file_env,
        &[
            "snapshots",
            "--repo",
            "s3://bkt/creds",
            "--s3-endpoint",
            &endpoint,
        ],
    ));
    assert!(listed.contains("no snapshots"), "{listed}");

    let mut missing = file_env.clone();
    missing.retain(|(k, _)| *k != "AWS_PROFILE");
    missing.push(("AWS_PROFILE", "nope".into()));
    let o = run_env(
        &missing,
        &[
            "snapshots",
            "--repo",
            "s3://bkt/creds",
            "--s3-endpoint",
            &endpoint,
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = one_line_error(&o);
    assert!(
        err.contains("s3://bkt/creds") && err.contains("profile `nope`"),
        "{err}"
    );

    // A bad endpoint is named.
    let o = run_env(
        &setup.env,
        &[
            "snapshots",
            "--repo",
            "s3://bkt/creds",
            "--s3-endpoint",
            "localhost:9",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = one_line_error(&o);
    assert!(err.contains("localhost:9"), "{err}");
}

#[test]
fn s3_faults_10_percent() {
    let setup = Setup::new();
    let data = setup.path("data");
    random_tree(&data, 7, 20);
    let direct = setup.config("direct.toml", "s3://bkt/f", &setup.s3.endpoint, "");
    ok(&setup.nwc(&direct, &["init", "--pack-size", "1MiB"]));

    let proxy = FaultProxy::start(
        &setup.s3.endpoint,
        Faults {
            error_rate: 0.05,
            reset_rate: 0.03,
            stall_rate: 0.02,
            stall: Duration::from_secs(5),
            seed: 534,
            ..Faults::none()
        },
    );
    let config = setup.config(
        "faulty.toml",
        "s3://bkt/f",
        &proxy.endpoint(),
        "request_timeout = \"1s\"\n",
    );
    let started = Instant::now();
    let r = json(&setup.nwc(
        &config,
        &["backup", "--hot", data.to_str().unwrap(), "--json"],
    ));
    eprintln!(
        "backup through faults: {:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(r["size_bytes"].as_u64(), Some(bytes_in(&data)), "{r}");
    verify_read_data(&setup, &config);
    restore_same(&setup, &config, "latest", &data);

    let reqs = proxy.requests();
    let count = |f: &dyn Fn(Outcome) -> bool| reqs.iter().filter(|r| f(r.outcome)).count();
    let errors = count(&|o| matches!(o, Outcome::Injected(_)));
    let resets = count(&|o| matches!(o, Outcome::Reset | Outcome::ResetAfterForward(_)));
    let stalls = count(&|o| o == Outcome::Stalled);
    eprintln!(
        "{} requests: {errors} errors, {resets} resets, {stalls} stalls",
        reqs.len()
    );
    assert!(reqs.len() > 40, "{}", reqs.len());
    assert!(
        errors > 0 && resets > 0 && stalls > 0,
        "{errors} {resets} {stalls}"
    );
    assert!(
        reqs.iter()
            .any(|r| r.method == "PUT" && r.path.contains("/packs/") && r.outcome.is_fault()),
        "some pack upload was harmed"
    );
    // Everything the faults interrupted was finished by a retry.
    assert_eq!(
        setup.s3.keys(BUCKET, "f/snapshots/").len(),
        1,
        "one snapshot"
    );
    drop(proxy);
    assert_only_repository_objects(&setup, "f");
}

#[test]
fn s3_retry_budget_names_the_object() {
    let setup = Setup::new();
    let data = setup.path("data");
    random_tree(&data, 11, 3);
    let proxy = FaultProxy::start(&setup.s3.endpoint, Faults::none());
    let config = setup.config(
        "nw.toml",
        "s3://bkt/b",
        &proxy.endpoint(),
        "retries = 1\nrequest_timeout = \"5s\"\n",
    );
    ok(&setup.nwc(&config, &["init", "--pack-size", "1MiB"]));
    let good = json(&setup.nwc(
        &config,
        &["backup", "--hot", data.to_str().unwrap(), "--json"],
    ));
    let good_copy = setup.path("good");
    std::fs::create_dir_all(&good_copy).unwrap();
    for (rel, bytes) in tree(&data) {
        let p = good_copy.join(rel.trim_end_matches('/'));
        if rel.ends_with('/') {
            std::fs::create_dir_all(&p).unwrap();
        } else {
            std::fs::write(&p, bytes).unwrap();
        }
    }
    let snaps_before = setup.snapshot_keys("b");
    assert_eq!(snaps_before.len(), 1);

    std::fs::write(data.join("db/new.ldb"), noise(99, 10 << 20)).unwrap();
    proxy.set_faults(Faults {
        error_rate: 1.0,
        path_contains: Some("/packs/".into()),
        seed: 3,
        ..Faults::none()
    });
    let started = Instant::now();
    // Two connections, so two uploaders, and more new packs than that: every uploader
    // fails while the packer still has packs to hand over.
    let o = setup.nwc(
        &config,
        &[
            "backup",
            "--hot",
            data.to_str().unwrap(),
            "--connections",
            "2",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}\n{}", stdout(&o), stderr(&o));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "retries = 1 gives up soon: {:?}",
        started.elapsed()
    );
    let err = one_line_error(&o);
    eprintln!("{err}");
    assert!(err.contains("packs/"), "names the pack object: {err}");
    let pack_puts = proxy.count(|r| r.method == "PUT" && r.path.contains("/packs/"));
    assert!(pack_puts >= 2, "tried and retried: {pack_puts}");
    assert_eq!(
        setup.s3.keys(BUCKET, "b/locks/"),
        Vec::<String>::new(),
        "the failed backup released its lock"
    );

    proxy.set_faults(Faults::none());
    let snaps = snapshots(&setup, &config);
    assert_eq!(snaps.len(), 1, "{snaps:?}");
    assert_eq!(snaps[0]["id"], good["id"]);
    assert_eq!(
        setup.snapshot_keys("b"),
        snaps_before,
        "no new snapshot object"
    );
    restore_same(&setup, &config, "latest", &good_copy);
}

/// `nodewarden ARGS` with the setup's environment, running; killed (SIGKILL) on drop.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn pack_puts(proxy: &FaultProxy) -> Vec<Request> {
    proxy
        .requests()
        .into_iter()
        .filter(|r| {
            r.method == "PUT" && r.path.contains("/packs/") && r.outcome == Outcome::Forwarded(200)
        })
        .collect()
}

#[test]
fn s3_killed_backup_resumes_without_resending_packs() {
    let setup = Setup::new();
    let data = setup.path("data");
    random_tree(&data, 21, 30);
    let proxy = FaultProxy::start(&setup.s3.endpoint, Faults::none());
    let config = setup.config("nw.toml", "s3://bkt/k", &proxy.endpoint(), "");
    ok(&setup.nwc(&config, &["init", "--pack-size", "2MiB"]));
    proxy.clear();

    let data_s = data.to_str().unwrap();
    let child = command(&setup.env)
        .args([
            "--config",
            &config,
            "backup",
            "--hot",
            data_s,
            "--limit-upload",
            "4MiB",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    wait_until("4 pack uploads", Duration::from_secs(30), || {
        assert!(
            running.0.try_wait().unwrap().is_none(),
            "the capped backup ended before 4 packs were stored"
        );
        pack_puts(&proxy).len() >= 4
    });
    running.0.kill().unwrap();
    running.0.wait().unwrap();
    drop(running);
    let after_kill = setup.packs("k");
    assert!(after_kill.len() >= 4, "{after_kill:?}");
    let kill_bytes: u64 = after_kill.values().sum();
    assert!(
        setup.snapshot_keys("k").is_empty(),
        "killed before a snapshot"
    );

    proxy.clear();
    let o = setup.nwc(&config, &["backup", "--hot", data_s, "--json"]);
    let r = json(&o);
    let err = stderr(&o);
    assert!(err.contains("note: resuming: "), "{err}");
    let at_end = setup.packs("k");
    for k in after_kill.keys() {
        assert!(at_end.contains_key(k), "{k} was deleted");
    }
    let run2 = pack_puts(&proxy);
    for p in &run2 {
        assert!(
            !after_kill.keys().any(|k| p.path.ends_with(k.as_str())),
            "{} was sent again",
            p.path
        );
    }
    let sent: u64 = run2.iter().map(|p| p.body_len as u64).sum();
    let end_bytes: u64 = at_end.values().sum();
    let biggest = at_end.values().copied().max().unwrap();
    let total = bytes_in(&data);
    assert!(
        kill_bytes >= 4 * (2 << 20),
        "4 packs of 2+ MiB: {after_kill:?}"
    );
    assert!(
        end_bytes <= total + (64 << 10),
        "nothing is stored twice: {end_bytes} pack bytes for {total} bytes of random data"
    );
    assert!(
        sent <= end_bytes - kill_bytes + 2 * biggest,
        "run 2 sent {sent} pack bytes; {end_bytes} at the end, {kill_bytes} already there after the kill"
    );
    assert!(
        r["stored_bytes"].as_u64().unwrap() <= total - kill_bytes + 2 * biggest,
        "{r}"
    );
    verify_read_data(&setup, &config);
    restore_same(&setup, &config, "latest", &data);
}

#[test]
fn s3_multipart_packs() {
    let setup = Setup::new();
    let data = setup.path("data");
    random_tree(&data, 31, 30);
    let proxy = FaultProxy::start(&setup.s3.endpoint, Faults::none());
    let config = setup.config(
        "nw.toml",
        "s3://bkt/m",
        &proxy.endpoint(),
        "part_size = \"5MiB\"\n",
    );
    ok(&setup.nwc(&config, &["init", "--pack-size", "12MiB"]));
    ok(&setup.nwc(&config, &["backup", "--hot", data.to_str().unwrap()]));

    let reqs = proxy.requests();
    let packs = |r: &&Request| r.path.contains("/packs/");
    let starts = reqs
        .iter()
        .filter(packs)
        .filter(|r| {
            r.method == "POST"
                && r.query
                    .split('&')
                    .any(|q| q == "uploads" || q == "uploads=")
        })
        .count();
    let parts = reqs
        .iter()
        .filter(packs)
        .filter(|r| {
            r.method == "PUT"
                && r.query.contains("partNumber=")
                && r.outcome == Outcome::Forwarded(200)
        })
        .collect::<Vec<_>>();
    let completes = reqs
        .iter()
        .filter(packs)
        .filter(|r| {
            r.method == "POST"
                && r.query.contains("uploadId=")
                && r.outcome == Outcome::Forwarded(200)
        })
        .count();
    assert!(starts >= 2, "{reqs:#?}");
    assert_eq!(completes, starts, "{reqs:#?}");
    assert!(parts.len() >= 2 * starts, "{parts:#?}");
    assert!(
        parts.iter().all(|p| p.body_len <= MIN_PART_SIZE),
        "5 MiB parts: {parts:#?}"
    );
    assert!(
        parts.iter().any(|p| p.body_len == MIN_PART_SIZE),
        "{parts:#?}"
    );
    let packs = setup.packs("m");
    assert!(
        packs.values().filter(|&&s| s > 12 << 20).count() >= 2,
        "{packs:?}"
    );
    assert_eq!(setup.s3.multipart_uploads(BUCKET), []);
    verify_read_data(&setup, &config);
}

#[test]
fn s3_copy_round_trip_keeps_ids_and_signatures() {
    let setup = Setup::new();
    let data = setup.path("data");
    random_tree(&data, 41, 4);
    let local = setup.path("local");
    let local_s = local.to_str().unwrap();
    let key = setup.path("sign.key");
    std::fs::write(&key, "42".repeat(32)).unwrap();
    let plain: Vec<_> = setup
        .env
        .iter()
        .filter(|(k, _)| *k != "NODEWARDEN_PASSWORD")
        .cloned()
        .collect();
    let out = ok(&run_env(&plain, &["init", "--repo", local_s]));
    assert!(out.contains("NOT encrypted"), "{out}");
    let backup = |sign: bool| {
        let mut a = vec!["backup", "--hot", data.to_str().unwrap(), "--repo", local_s];
        if sign {
            a.extend(["--sign", key.to_str().unwrap()]);
        }
        ok(&run_env(&plain, &a));
    };
    backup(true);
    std::fs::write(data.join("db/CURRENT"), "MANIFEST-000009\n").unwrap();
    backup(true);
    let listed = |env: &[(&'static str, String)], repo: &str| -> Vec<(String, String)> {
        let v = json(&run_env(
            env,
            &[
                "snapshots",
                "--json",
                "--repo",
                repo,
                "--s3-endpoint",
                &setup.s3.endpoint,
            ],
        ));
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["id"].as_str().unwrap().to_string(),
                    s["signer"].as_str().unwrap_or("unsigned").to_string(),
                )
            })
            .collect()
    };
    let want = listed(&plain, local_s);
    assert_eq!(want.len(), 2);
    assert!(want.iter().all(|(_, s)| s.len() == 64), "{want:?}");

    let ep = &setup.s3.endpoint;
    let remote = "s3://bkt/copy";
    let copy = |from: &str, to: &str| {
        json(&setup.nw(&[
            "copy",
            "--from",
            from,
            "--to",
            to,
            "--s3-endpoint",
            ep,
            "--json",
        ]))
    };
    let r = copy(local_s, remote);
    assert_eq!(r["created"], true, "{r}");
    assert_eq!(r["copied"].as_array().unwrap().len(), 2, "{r}");
    assert_eq!(r["present"].as_array().unwrap().len(), 0, "{r}");
    assert!(r["chunks"].as_u64().unwrap() > 4, "{r}");
    assert!(
        r["destination_transfer"]["bytes_up"].as_u64().unwrap() > 4 << 20,
        "{r}"
    );
    assert_eq!(r["source_transfer"]["requests"], 0, "a local source: {r}");
    let cfg: serde_json::Value =
        serde_json::from_slice(&setup.s3.get_object(BUCKET, "copy/config").unwrap()).unwrap();
    assert!(
        cfg["encryption"].is_object(),
        "an S3 copy is encrypted: {cfg}"
    );
    assert_eq!(listed(&setup.env, remote), want);

    let again = copy(local_s, remote);
    assert_eq!(again["created"], false, "{again}");
    assert_eq!(again["copied"].as_array().unwrap().len(), 0, "{again}");
    assert_eq!(again["present"].as_array().unwrap().len(), 2, "{again}");
    assert_eq!(again["chunks"], 0, "{again}");
    assert!(
        again["destination_transfer"]["bytes_up"].as_u64().unwrap() < 4096,
        "{again}"
    );

    let back = setup.path("back");
    let back_s = back.to_str().unwrap();
    let r = copy(remote, back_s);
    assert_eq!(r["created"], true, "{r}");
    assert_eq!(r["copied"].as_array().unwrap().len(), 2, "{r}");
    assert_eq!(listed(&setup.env, back_s), want);
    let target = setup.path("restored");
    let out = ok(&setup.nw(&[
        "restore",
        "latest",
        "--target",
        target.to_str().unwrap(),
        "--repo",
        back_s,
        "--trust",
        &want[1].1,
    ]));
    assert!(out.contains("restored"), "{out}");
    assert_same_tree(&data, &target);

    let other = setup.path("other");
    let other_s = other.to_str().unwrap();
    ok(&setup.nw(&["init", "--repo", other_s]));
    let o = setup.nw(&[
        "copy",
        "--from",
        remote,
        "--to",
        other_s,
        "--s3-endpoint",
        ep,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = one_line_error(&o);
    assert!(
        err.contains(other_s) && err.contains(remote),
        "names both: {err}"
    );
}

#[test]
fn s3_interrupted_restore_resumes() {
    let setup = Setup::new();
    let data = setup.path("data");
    random_tree(&data, 51, 20);
    let proxy = FaultProxy::start(&setup.s3.endpoint, Faults::none());
    let config = setup.config("nw.toml", "s3://bkt/x", &proxy.endpoint(), "");
    ok(&setup.nwc(&config, &["init", "--pack-size", "1MiB"]));
    ok(&setup.nwc(&config, &["backup", "--hot", data.to_str().unwrap()]));
    let packs = setup.packs("x");
    assert!(packs.len() >= 6, "{packs:?}");
    proxy.clear();

    let target = setup.path("restored");
    let target_s = target.to_str().unwrap();
    let child = command(&setup.env)
        .args([
            "--config",
            &config,
            "restore",
            "latest",
            "--target",
            target_s,
            "--limit-download",
            "2MiB",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let pack_gets = |proxy: &FaultProxy| {
        proxy.count(|r| {
            r.method == "GET"
                && r.path.contains("/packs/")
                && matches!(r.outcome, Outcome::Forwarded(200 | 206))
        })
    };
    // Packs finished and journaled (one line each) next to the staging dir.
    let journal_lines = || -> usize {
        std::fs::read_dir(setup.tmp.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let n = p.file_name().unwrap().to_string_lossy();
                n.starts_with(".restored.nodewarden-staging-") && n.ends_with(".journal")
            })
            .map(|p| {
                std::fs::read(p)
                    .unwrap_or_default()
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
            })
            .sum()
    };
    wait_until("2 packs in the journal", Duration::from_secs(30), || {
        assert!(
            running.0.try_wait().unwrap().is_none(),
            "the capped restore ended before 2 packs were journaled"
        );
        journal_lines() >= 2
    });
    running.0.kill().unwrap();
    running.0.wait().unwrap();
    drop(running);
    assert!(!target.exists(), "nothing swapped in yet");
    let first_gets = pack_gets(&proxy);

    proxy.clear();
    let r = json(&setup.nwc(
        &config,
        &["restore", "latest", "--target", target_s, "--json"],
    ));
    let resumed = r["resumed_bytes"].as_u64().unwrap();
    assert!(resumed > 0 && resumed < bytes_in(&data), "{r}");
    let fetched = r["packs"].as_u64().unwrap();
    assert!(fetched > 0 && fetched < packs.len() as u64, "{r}");
    let second_gets = pack_gets(&proxy);
    assert!(
        second_gets < packs.len(),
        "packs fetched again: {second_gets} of {}",
        packs.len()
    );
    assert!(first_gets >= 2, "{first_gets}");
    assert_same_tree(&data, &target);
    let leftovers: Vec<String> = std::fs::read_dir(setup.tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("nodewarden-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "staging and journal are gone: {leftovers:?}"
    );
}

/// A create-if-absent PUT (the repository config, every lock) whose answer is lost after
/// the server stored it: retried, and the object found is recognised as our own.
#[test]
fn s3_lost_answer_to_a_conditional_put_is_retried() {
    let setup = Setup::new();
    let data = setup.path("data");
    random_tree(&data, 3, 1);
    let proxy = FaultProxy::start(&setup.s3.endpoint, Faults::none());
    let config = setup.config("nw.toml", "s3://bkt/l", &proxy.endpoint(), "");
    // Seed 208 with rate 0.5: the first eligible request is reset, the next five pass.
    let lose_first = |path: &str| Faults {
        reset_rate: 0.5,
        reset_after_forward: 1.0,
        path_contains: Some(path.into()),
        method: Some("PUT".into()),
        seed: 208,
        ..Faults::none()
    };
    proxy.set_faults(lose_first("/bkt/l/config"));
    ok(&setup.nwc(&config, &["init", "--pack-size", "1MiB"]));
    proxy.set_faults(lose_first("/bkt/l/locks/"));
    let r = json(&setup.nwc(
        &config,
        &["backup", "--hot", data.to_str().unwrap(), "--json"],
    ));
    let lost: Vec<String> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.outcome == Outcome::ResetAfterForward(200))
        .map(|r| r.path)
        .collect();
    assert_eq!(lost.len(), 2, "{lost:?}");
    assert!(
        lost[0].ends_with("/l/config") && lost[1].contains("/l/locks/"),
        "{lost:?}"
    );
    assert_eq!(setup.snapshot_keys("l").len(), 1, "{r}");
    assert_only_repository_objects(&setup, "l");
    proxy.set_faults(Faults::none());
    let o = setup.nwc(&config, &["init"]);
    assert_eq!(o.status.code(), Some(2), "a second init is still refused");
    assert!(stderr(&o).contains("already"), "{}", stderr(&o));
}
