//! Shared fixtures: a runtime, repositories, a data dir with every kind of entry, and a
//! bit-exact tree comparison.
use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;

use nodewarden_store::LocalStore;

use crate::*;

pub struct Fixture {
    pub rt: tokio::runtime::Runtime,
    pub tmp: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Fixture {
        Fixture {
            rt: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
            tmp: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, p: &str) -> std::path::PathBuf {
        self.tmp.path().join(p)
    }

    pub fn init(&self, secret: Option<Secret>) -> Repository {
        let store = Arc::new(LocalStore::new(self.path("repo")));
        let mut repo = Repository::init(
            store,
            self.rt.handle().clone(),
            InitOptions {
                secret,
                ..Default::default()
            },
        )
        .unwrap();
        // Small packs so that a test repository has several.
        repo.config.pack_size = 1 << 20;
        repo
    }

    pub fn open(&self, secret: Option<&Secret>) -> Result<Repository> {
        let store = Arc::new(LocalStore::new(self.path("repo")));
        Repository::open(store, self.rt.handle().clone(), secret)
    }

    pub fn hot(&self, repo: &Repository, dir: &Path, time: Option<&str>) -> BackupReport {
        let src = hot_source(dir, Some("test")).unwrap();
        let opts = BackupOptions {
            time: time.map(|t| parse_time(t).unwrap()),
            ..Default::default()
        };
        backup(repo, &src, &opts, &Silent).unwrap()
    }

    pub fn restore_to(
        &self,
        repo: &Repository,
        sel: &str,
        target: &Path,
        delta: bool,
    ) -> RestoreReport {
        let all = list_snapshots(repo).unwrap();
        let snap = select(&all, sel).unwrap();
        let opts = RestoreOptions {
            delta,
            ..Default::default()
        };
        restore(repo, snap, target, &opts, None, &Silent).unwrap()
    }
}

/// Deterministic pseudo-random bytes (incompressible).
pub fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 32);
    let mut i = 0u64;
    while out.len() < n {
        out.extend_from_slice(
            blake3::hash(&[seed.to_le_bytes(), i.to_le_bytes()].concat()).as_bytes(),
        );
        i += 1;
    }
    out.truncate(n);
    out
}

/// A chain-like data dir: table files (incompressible), a log and a manifest (compressible),
/// a big file that FastCDC splits, an empty file, a key with mode 0600, a symlink.
pub fn make_data(dir: &Path) {
    std::fs::create_dir_all(dir.join("nom")).unwrap();
    std::fs::create_dir_all(dir.join("wallet/keys")).unwrap();
    for i in 0..6 {
        std::fs::write(
            dir.join(format!("nom/{i:06}.ldb")),
            noise(i, 300_000 + i as usize * 1000),
        )
        .unwrap();
    }
    let text: String = (0..20000).map(|i| format!("momentum {i} ok\n")).collect();
    std::fs::write(dir.join("nom/000007.log"), &text).unwrap();
    std::fs::write(dir.join("nom/MANIFEST-000002"), b"manifest").unwrap();
    std::fs::write(dir.join("nom/CURRENT"), b"MANIFEST-000002\n").unwrap();
    let mut big = noise(99, 3 << 20);
    big.extend_from_slice(text.as_bytes());
    std::fs::write(dir.join("big.bin"), &big).unwrap();
    std::fs::write(dir.join("empty"), b"").unwrap();
    std::fs::write(dir.join("wallet/keys/k1"), b"secret key").unwrap();
    std::fs::set_permissions(
        dir.join("wallet/keys/k1"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::os::unix::fs::symlink("nom/CURRENT", dir.join("current-link")).unwrap();
}

/// path → (kind, mode, mtime, content or link target).
pub fn tree(dir: &Path) -> BTreeMap<String, (u32, u32, i64, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            let content = if m.is_dir() {
                stack.push(p.clone());
                Vec::new()
            } else if m.file_type().is_symlink() {
                std::fs::read_link(&p)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
                    .into_bytes()
            } else {
                std::fs::read(&p).unwrap()
            };
            let mtime = if m.file_type().is_symlink() {
                0
            } else {
                m.mtime() * 1_000_000_000 + m.mtime_nsec()
            };
            out.insert(
                rel,
                (m.mode() & 0o170000, m.mode() & 0o7777, mtime, content),
            );
        }
    }
    out
}

pub fn assert_same(a: &Path, b: &Path) {
    let (ta, tb) = (tree(a), tree(b));
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (k, va) in &ta {
        let vb = &tb[k];
        assert_eq!(va.0, vb.0, "{k}: kind");
        assert_eq!(va.1, vb.1, "{k}: mode");
        assert_eq!(va.2, vb.2, "{k}: mtime");
        assert!(va.3 == vb.3, "{k}: content differs");
    }
}

/// Records notes, for asserting what the operator is told.
#[derive(Default)]
pub struct Notes(pub std::sync::Mutex<Vec<String>>);

impl Progress for Notes {
    fn note(&self, message: &str) {
        self.0.lock().unwrap().push(message.to_string());
    }
}

impl Notes {
    pub fn all(&self) -> String {
        self.0.lock().unwrap().join("\n")
    }
}

impl Fixture {
    /// The repository's files, for attacks that edit them as an attacker would.
    pub fn object(&self, key: &str) -> std::path::PathBuf {
        self.path("repo").join(key)
    }

    pub fn keys_under(&self, prefix: &str) -> Vec<String> {
        let mut out: Vec<String> = std::fs::read_dir(self.object(prefix))
            .map(|rd| {
                rd.map(|e| format!("{prefix}/{}", e.unwrap().file_name().to_string_lossy()))
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    pub fn edit_config(&self, f: impl FnOnce(&mut serde_json::Value)) {
        let p = self.object("config");
        let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        f(&mut v);
        std::fs::write(&p, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    }
}

impl Fixture {
    /// A second repository in the same fixture.
    pub fn init_other(&self, secret: Option<Secret>) -> Repository {
        let store = Arc::new(LocalStore::new(self.path("repo-other")));
        Repository::init(
            store,
            self.rt.handle().clone(),
            InitOptions {
                secret,
                ..Default::default()
            },
        )
        .unwrap()
    }
}
