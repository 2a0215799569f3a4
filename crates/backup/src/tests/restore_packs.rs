//! The pack-ordered restore: dedup, request counts, resume after an interrupted run.
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::BoxFuture;
use nodewarden_store::{LocalStore, ObjectMeta, Store, StoreError, StoreResult};

use super::harness::*;
use crate::*;

/// A local store that counts range reads, can add latency to them (an S3 stand-in), and
/// can fail every range read after the first `fail_after`.
#[derive(Debug)]
struct Probe {
    inner: LocalStore,
    delay: Duration,
    ranges: AtomicU64,
    fail_after: Option<u64>,
}

impl Probe {
    fn new(root: &Path, delay: Duration, fail_after: Option<u64>) -> Arc<Probe> {
        Arc::new(Probe {
            inner: LocalStore::new(root),
            delay,
            ranges: AtomicU64::new(0),
            fail_after,
        })
    }
}

impl Store for Probe {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn put<'a>(&'a self, key: &'a str, data: Bytes) -> BoxFuture<'a, StoreResult<()>> {
        self.inner.put(key, data)
    }
    fn put_new<'a>(&'a self, key: &'a str, data: Bytes) -> BoxFuture<'a, StoreResult<()>> {
        self.inner.put_new(key, data)
    }
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StoreResult<Bytes>> {
        self.inner.get(key)
    }
    fn get_range<'a>(
        &'a self,
        key: &'a str,
        offset: u64,
        len: u64,
    ) -> BoxFuture<'a, StoreResult<Bytes>> {
        Box::pin(async move {
            let n = self.ranges.fetch_add(1, Ordering::SeqCst);
            if self.fail_after.is_some_and(|f| n >= f) {
                return Err(StoreError::Io {
                    store: self.describe(),
                    key: key.to_string(),
                    message: "connection reset by peer".into(),
                });
            }
            if !self.delay.is_zero() {
                tokio::time::sleep(self.delay).await;
            }
            self.inner.get_range(key, offset, len).await
        })
    }
    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, StoreResult<Vec<ObjectMeta>>> {
        self.inner.list(prefix)
    }
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StoreResult<()>> {
        self.inner.delete(key)
    }
}

fn open_probe(f: &Fixture, probe: Arc<Probe>) -> Repository {
    Repository::open(probe, f.rt.handle().clone(), None).unwrap()
}

/// ~200 MB shaped like a node's data dir: 2 MiB tables (one chunk each), one big file that
/// FastCDC cuts, and many small files.
fn make_big(dir: &Path) {
    std::fs::create_dir_all(dir.join("db")).unwrap();
    std::fs::create_dir_all(dir.join("small")).unwrap();
    for i in 0..80u64 {
        std::fs::write(dir.join(format!("db/{i:06}.ldb")), noise(i, 2 << 20)).unwrap();
    }
    std::fs::write(dir.join("big.bin"), noise(1000, 24 << 20)).unwrap();
    for i in 0..2000u64 {
        std::fs::write(dir.join(format!("small/{i:05}")), noise(5000 + i, 8 << 10)).unwrap();
    }
}

/// `cargo test -p nodewarden-backup --release -- --ignored --nocapture bench_restore`
#[test]
#[ignore]
fn bench_restore() {
    let f = Fixture::new();
    let data = f.path("data");
    make_big(&data);
    let mut repo = f.init(None);
    repo.config.pack_size = 32 << 20;
    let t = Instant::now();
    f.hot(&repo, &data, None);
    eprintln!("backup: {:.2}s", t.elapsed().as_secs_f64());
    let packs = repo.list("packs/").unwrap().len();
    for (delay_ms, connections) in [(0u64, None), (20, None), (20, Some(8))] {
        let probe = Probe::new(&f.path("repo"), Duration::from_millis(delay_ms), None);
        let repo = open_probe(&f, probe.clone());
        let out = f.path(&format!("out-{delay_ms}-{connections:?}"));
        let t = Instant::now();
        let opts = RestoreOptions {
            connections,
            ..Default::default()
        };
        let r = restore_with(&repo, &out, &opts).unwrap();
        eprintln!(
            "restore, {delay_ms} ms per range read, connections {connections:?}: {:.2}s, {} range reads, {packs} packs, {} MiB: {r:?}",
            t.elapsed().as_secs_f64(),
            probe.ranges.load(Ordering::SeqCst),
            r.bytes >> 20
        );
        assert_same(&data, &out);
    }
}

fn restore_with(repo: &Repository, target: &Path, opts: &RestoreOptions) -> Result<RestoreReport> {
    let all = list_snapshots(repo).unwrap();
    restore(
        repo,
        select(&all, "latest").unwrap(),
        target,
        opts,
        None,
        &Silent,
    )
}

fn chunks_of(repo: &Repository, path: &str) -> Vec<String> {
    let all = list_snapshots(repo).unwrap();
    let snap = &select(&all, "latest").unwrap().snapshot;
    snap.tree
        .iter()
        .find(|e| e.path == path)
        .unwrap()
        .chunks
        .clone()
}

/// Files that share chunks, one that holds the same chunk three times, an empty one, and
/// many small ones, over many 1 MiB packs.
fn make_shared(dir: &Path) {
    make_data(dir);
    std::fs::create_dir_all(dir.join("small")).unwrap();
    // Zeros never give FastCDC a cut point: three identical chunks of the maximum size.
    std::fs::write(dir.join("zeros.bin"), vec![0u8; 12 << 20]).unwrap();
    let table = noise(7, 700_000);
    std::fs::write(dir.join("nom/copy-a.ldb"), &table).unwrap();
    std::fs::write(dir.join("nom/copy-b.ldb"), &table).unwrap();
    let mut big = noise(8, 6 << 20);
    std::fs::write(dir.join("big-a.bin"), &big).unwrap();
    big[..1000].fill(1);
    std::fs::write(dir.join("big-b.bin"), &big).unwrap();
    for i in 0..300u64 {
        std::fs::write(dir.join(format!("small/{i:04}")), noise(100 + i, 3000)).unwrap();
    }
}

#[test]
fn restore_by_pack_writes_shared_and_repeated_chunks_everywhere() {
    let f = Fixture::new();
    let data = f.path("data");
    make_shared(&data);
    let repo = f.init(None);
    f.hot(&repo, &data, None);
    let zeros = chunks_of(&repo, "zeros.bin");
    assert!(zeros.len() == 3 && zeros[0] == zeros[1] && zeros[1] == zeros[2]);
    assert_eq!(
        chunks_of(&repo, "nom/copy-a.ldb"),
        chunks_of(&repo, "nom/copy-b.ldb")
    );
    let (a, b) = (chunks_of(&repo, "big-a.bin"), chunks_of(&repo, "big-b.bin"));
    assert!(
        a[0] != b[0] && a.iter().skip(1).any(|c| b.contains(c)),
        "{a:?} {b:?}"
    );
    let packs = repo.list("packs/").unwrap().len() as u64;
    assert!(packs > 5, "{packs} packs");

    let out = f.path("out");
    let r = restore_with(
        &repo,
        &out,
        &RestoreOptions {
            connections: Some(3),
            ..Default::default()
        },
    )
    .unwrap();
    assert_same(&data, &out);
    assert_eq!(
        (r.packs, r.resumed_bytes, r.reused_bytes),
        (packs, 0, 0),
        "{r:?}"
    );
    assert_eq!(r.bytes, tree_bytes(&data), "{r:?}");
}

fn tree_bytes(dir: &Path) -> u64 {
    tree(dir)
        .values()
        .filter(|v| v.0 == 0o100000)
        .map(|v| v.3.len() as u64)
        .sum()
}

#[test]
fn range_reads_follow_packs_not_chunks() {
    let f = Fixture::new();
    let data = f.path("data");
    std::fs::create_dir_all(&data).unwrap();
    for i in 0..2000u64 {
        std::fs::write(data.join(format!("{i:05}")), noise(i, 8000)).unwrap();
    }
    let mut repo = f.init(None);
    repo.config.pack_size = 4 << 20;
    f.hot(&repo, &data, None);
    let packs = repo.list("packs/").unwrap().len() as u64;
    let probe = Probe::new(&f.path("repo"), Duration::ZERO, None);
    let repo = open_probe(&f, probe.clone());
    let out = f.path("out");
    let r = f.restore_to(&repo, "latest", &out, false);
    assert_same(&data, &out);
    assert_eq!(r.requests, probe.ranges.load(Ordering::SeqCst));
    assert!(
        r.requests <= 2 * packs && r.requests * 100 < r.files,
        "{} range reads for {packs} packs and {} chunks",
        r.requests,
        r.files
    );
}

#[test]
fn an_interrupted_restore_resumes_where_it_stopped() {
    let f = Fixture::new();
    let data = f.path("data");
    make_shared(&data);
    let repo = f.init(None);
    f.hot(&repo, &data, None);
    let packs = repo.list("packs/").unwrap().len() as u64;
    let target = f.path("live");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("old-state"), b"the node's own data").unwrap();

    // The connection drops after four range reads (one pack each with 1 MiB packs).
    let flaky = open_probe(&f, Probe::new(&f.path("repo"), Duration::ZERO, Some(4)));
    let one = RestoreOptions {
        connections: Some(1),
        ..Default::default()
    };
    let e = restore_with(&flaky, &target, &one).unwrap_err().to_string();
    assert!(
        e.contains("connection reset") && e.ends_with("; re-run the same restore to resume"),
        "{e}"
    );
    assert_eq!(
        std::fs::read(target.join("old-state")).unwrap(),
        b"the node's own data",
        "the target is untouched"
    );
    let id16 = &list_snapshots(&repo).unwrap()[0].id[..16];
    let journal = f.path(&format!(".live.nodewarden-staging-{id16}.journal"));
    assert!(f.path(&format!(".live.nodewarden-staging-{id16}")).is_dir());
    let lines = std::fs::read_to_string(&journal).unwrap();
    // A header binding it to the snapshot, then one line per finished pack.
    assert_eq!(lines.lines().count(), 1 + 4, "{lines}");
    // Killed mid-append: a torn line is ignored.
    let mut torn = lines.clone();
    torn.push_str(&lines[..30]);
    std::fs::write(&journal, torn).unwrap();

    let probe = Probe::new(&f.path("repo"), Duration::ZERO, None);
    let again = open_probe(&f, probe.clone());
    let r = restore_with(
        &again,
        &target,
        &RestoreOptions {
            connections: Some(3),
            ..Default::default()
        },
    )
    .unwrap();
    assert_same(&data, &target);
    assert!(r.resumed_bytes > 0, "{r:?}");
    assert_eq!(r.packs, packs - 4, "{r:?}");
    assert_eq!(r.requests, probe.ranges.load(Ordering::SeqCst));
    let leftovers: Vec<_> = std::fs::read_dir(f.tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("nodewarden"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_staging_dir_without_its_journal_is_started_afresh() {
    let f = Fixture::new();
    let data = f.path("data");
    make_data(&data);
    let repo = f.init(None);
    f.hot(&repo, &data, None);
    let id16 = &list_snapshots(&repo).unwrap()[0].id[..16];
    let staging = f.path(&format!(".out.nodewarden-staging-{id16}"));
    std::fs::create_dir_all(staging.join("nom")).unwrap();
    std::fs::write(staging.join("nom/CURRENT"), b"half-written garbage").unwrap();
    std::fs::write(staging.join("stray"), b"x").unwrap();
    let out = f.path("out");
    let r = f.restore_to(&repo, "latest", &out, false);
    assert_same(&data, &out);
    assert_eq!(r.resumed_bytes, 0);
}

#[test]
fn an_interrupted_delta_restore_resumes_with_what_delta_copied() {
    let f = Fixture::new();
    let data = f.path("data");
    make_data(&data);
    let repo = f.init(None);
    f.hot(&repo, &data, None);
    let out = f.path("out");
    f.restore_to(&repo, "latest", &out, false);
    for damaged in ["nom/000001.ldb", "nom/000005.ldb", "big.bin"] {
        std::fs::write(out.join(damaged), b"garbage").unwrap();
    }
    let flaky = open_probe(&f, Probe::new(&f.path("repo"), Duration::ZERO, Some(1)));
    let opts = RestoreOptions {
        delta: true,
        connections: Some(1),
        ..Default::default()
    };
    let e = restore_with(&flaky, &out, &opts).unwrap_err().to_string();
    assert!(e.ends_with("; re-run the same restore to resume"), "{e}");
    let r = restore_with(&repo, &out, &opts).unwrap();
    assert_same(&data, &out);
    assert_eq!(
        r.reused_bytes, 0,
        "a resumed run does not compare again: {r:?}"
    );
    assert!(r.resumed_bytes > r.bytes / 2, "{r:?}");
    assert!(r.packs >= 1, "{r:?}");
}

struct StopFailsOnce(std::cell::Cell<bool>);

impl ServiceControl for StopFailsOnce {
    fn stop(&self) -> Result<()> {
        if self.0.replace(false) {
            return Err(BackupError::Service("systemctl stop timed out".into()));
        }
        Ok(())
    }
    fn start(&self) -> Result<()> {
        Ok(())
    }
}

#[test]
fn a_failed_swap_is_resumed_without_downloading_again() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::new();
    let data = f.path("data");
    make_data(&data);
    // Final modes that a resumed run must get past: a read-only file in a read-only dir.
    std::fs::create_dir_all(data.join("ro")).unwrap();
    std::fs::write(data.join("ro/sealed"), b"read only").unwrap();
    std::os::unix::fs::symlink("sealed", data.join("ro/link")).unwrap();
    let ro = |p: &str, mode| {
        std::fs::set_permissions(data.join(p), std::fs::Permissions::from_mode(mode)).unwrap()
    };
    ro("ro/sealed", 0o444);
    ro("ro", 0o555);
    let repo = f.init(None);
    f.hot(&repo, &data, None);
    let all = list_snapshots(&repo).unwrap();
    let out = f.path("out");
    let node = StopFailsOnce(std::cell::Cell::new(true));
    let opts = RestoreOptions::default();
    let e = restore(&repo, &all[0], &out, &opts, Some(&node), &Silent).unwrap_err();
    assert!(e.to_string().contains("timed out"), "{e}");
    let r = restore(&repo, &all[0], &out, &opts, Some(&node), &Silent).unwrap();
    assert_eq!((r.packs, r.requests), (0, 0), "{r:?}");
    assert_eq!(r.resumed_bytes, r.bytes, "{r:?}");
    assert_same(&data, &out);
    ro("ro", 0o755);
    std::fs::set_permissions(out.join("ro"), std::fs::Permissions::from_mode(0o755)).unwrap();
}
