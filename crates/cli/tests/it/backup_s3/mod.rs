//! S3 repositories end to end: the real binary against moto on loopback, often through
//! [`FaultProxy`] (errors, resets, stalls, request records). Credentials reach the binary
//! only through its environment ([`S3Server::env`]).
mod copy;
mod cycle;
mod failover;
mod faults;
mod integrity;
mod resume;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;

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

fn bytes_in(dir: &Path) -> u64 {
    dir_tree(dir)
        .iter()
        .filter(|(k, _)| !k.ends_with(" ->"))
        .map(|(_, v)| v.len() as u64)
        .sum()
}

/// `a` and `b` hold the same tree; names the first difference otherwise.
fn assert_same_tree(a: &Path, b: &Path) {
    let (ta, tb) = (dir_tree(a), dir_tree(b));
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
