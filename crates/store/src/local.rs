//! A repository in a local directory. Objects are files; `put` writes a temp file in
//! `.tmp/`, fsyncs it, renames it into place and fsyncs the directory, so a crash leaves
//! either the old object or the new one (plus, at worst, an orphaned temp file).
use std::fs::{self, File};
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;

use crate::{ObjectMeta, Store, StoreError, StoreResult, check_key};

const TMP: &str = ".tmp";

#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
    /// Whether large objects still go around the page cache (`direct`): cleared once the
    /// filesystem refuses O_DIRECT.
    direct: Arc<AtomicBool>,
}

impl LocalStore {
    pub fn new(root: impl Into<PathBuf>) -> LocalStore {
        LocalStore {
            root: root.into(),
            direct: Arc::new(AtomicBool::new(true)),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn err(&self, key: &str, e: std::io::Error) -> StoreError {
        if e.kind() == ErrorKind::NotFound {
            StoreError::NotFound {
                store: self.describe(),
                key: key.to_string(),
            }
        } else {
            StoreError::Io {
                store: self.describe(),
                key: key.to_string(),
                message: e.to_string(),
            }
        }
    }

    fn path(&self, key: &str) -> StoreResult<PathBuf> {
        check_key(key)?;
        Ok(self.root.join(key))
    }

    /// Writes `data` to a fresh temp file, durably; the caller moves it into place.
    fn write_temp(&self, data: &[u8]) -> std::io::Result<PathBuf> {
        let dir = self.root.join(TMP);
        fs::create_dir_all(&dir)?;
        let mut rnd = [0u8; 12];
        getrandom::getrandom(&mut rnd).map_err(|e| std::io::Error::other(e.to_string()))?;
        let name: String = rnd.iter().map(|b| format!("{b:02x}")).collect();
        let tmp = dir.join(name);
        crate::direct::create_durable(&tmp, data, &self.direct)?;
        Ok(tmp)
    }

    fn put_blocking(&self, key: &str, data: &[u8], exclusive: bool) -> StoreResult<()> {
        let path = self.path(key)?;
        let parent = path.parent().expect("keys have a parent: the root");
        fs::create_dir_all(parent).map_err(|e| self.err(key, e))?;
        let tmp = self.write_temp(data).map_err(|e| self.err(key, e))?;
        let placed = if exclusive {
            // link(2) fails if the target exists: an atomic create-if-absent.
            let r = fs::hard_link(&tmp, &path);
            let _ = fs::remove_file(&tmp);
            r
        } else {
            fs::rename(&tmp, &path)
        };
        match placed {
            Ok(()) => {}
            Err(e) if exclusive && e.kind() == ErrorKind::AlreadyExists => {
                return Err(StoreError::AlreadyExists {
                    store: self.describe(),
                    key: key.to_string(),
                });
            }
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(self.err(key, e));
            }
        }
        sync_dir(parent).map_err(|e| self.err(key, e))
    }

    fn get_range_blocking(&self, key: &str, offset: u64, len: u64) -> StoreResult<Bytes> {
        let path = self.path(key)?;
        match crate::direct::read_range(&path, offset, len, &self.direct) {
            Ok(Some(b)) => return Ok(b),
            Ok(None) => {}
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => {
                return Err(StoreError::Io {
                    store: self.describe(),
                    key: key.to_string(),
                    message: format!(
                        "object is shorter than {} bytes",
                        offset.saturating_add(len)
                    ),
                });
            }
            Err(e) => return Err(self.err(key, e)),
        }
        let mut f = File::open(&path).map_err(|e| self.err(key, e))?;
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| self.err(key, e))?;
        let mut buf = vec![0u8; len as usize];
        f.read_exact(&mut buf).map_err(|e| {
            if e.kind() == ErrorKind::UnexpectedEof {
                StoreError::Io {
                    store: self.describe(),
                    key: key.to_string(),
                    message: format!("object is shorter than {} bytes", offset + len),
                }
            } else {
                self.err(key, e)
            }
        })?;
        Ok(Bytes::from(buf))
    }

    fn list_blocking(&self, prefix: &str) -> StoreResult<Vec<ObjectMeta>> {
        // Walk the deepest directory the prefix names, then filter by the full prefix.
        let dir_part = match prefix.rfind('/') {
            Some(i) => &prefix[..i],
            None => "",
        };
        let start = if dir_part.is_empty() {
            self.root.clone()
        } else {
            self.path(dir_part)?
        };
        let mut out = Vec::new();
        let mut stack = vec![start];
        while let Some(dir) = stack.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(self.err(prefix, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| self.err(prefix, e))?;
                let path = entry.path();
                let rel = path
                    .strip_prefix(&self.root)
                    .expect("walk stays under the root")
                    .to_string_lossy()
                    .into_owned();
                if rel == TMP {
                    continue;
                }
                let meta = entry.metadata().map_err(|e| self.err(&rel, e))?;
                if meta.is_dir() {
                    stack.push(path);
                } else if rel.starts_with(prefix) {
                    out.push(ObjectMeta {
                        key: rel,
                        size: meta.len(),
                    });
                }
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// Removes `keys` (absent ones too); returns the directory of each removed, with its key.
    fn remove_each(&self, keys: &[String]) -> StoreResult<Vec<(PathBuf, String)>> {
        let mut out = Vec::new();
        for k in keys {
            let path = self.path(k)?;
            match fs::remove_file(&path) {
                Ok(()) => {
                    let dir = path.parent().expect("has a parent").to_path_buf();
                    out.push((dir, k.clone()));
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(self.err(k, e)),
            }
        }
        Ok(out)
    }

    fn delete_blocking(&self, key: &str) -> StoreResult<()> {
        for (dir, key) in self.remove_each(&[key.to_string()])? {
            sync_dir(&dir).map_err(|e| self.err(&key, e))?;
        }
        Ok(())
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Runs blocking file IO off the async workers (or inline when there is no runtime).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    match tokio::runtime::Handle::try_current() {
        Ok(h) => h.spawn_blocking(f).await.unwrap_or_else(|e| {
            Err(StoreError::Io {
                store: "local".into(),
                key: String::new(),
                message: format!("IO task failed: {e}"),
            })
        }),
        Err(_) => f(),
    }
}

impl Store for LocalStore {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    /// Large reads and writes wait for the device (`direct`): with two per core, one
    /// thread's wait overlaps another's decrypting and decompressing.
    fn parallelism(&self) -> usize {
        2 * std::thread::available_parallelism().map_or(2, |n| n.get())
    }

    fn remove_stale_temp(&self, age: std::time::Duration) -> BoxFuture<'_, StoreResult<usize>> {
        let s = self.clone();
        blocking(move || {
            let dir = s.root.join(TMP);
            let entries = match fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(0),
                Err(e) => return Err(s.err(TMP, e)),
            };
            let mut removed = 0;
            for entry in entries.flatten() {
                // A live writer renames its temp file within seconds; an old one is a
                // killed writer's leftover.
                let old = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|a| a >= age);
                if old && fs::remove_file(entry.path()).is_ok() {
                    removed += 1;
                }
            }
            Ok(removed)
        })
        .boxed()
    }

    fn put<'a>(&'a self, key: &'a str, data: Bytes) -> BoxFuture<'a, StoreResult<()>> {
        let (s, k) = (self.clone(), key.to_string());
        blocking(move || s.put_blocking(&k, &data, false)).boxed()
    }

    fn put_new<'a>(&'a self, key: &'a str, data: Bytes) -> BoxFuture<'a, StoreResult<()>> {
        let (s, k) = (self.clone(), key.to_string());
        blocking(move || s.put_blocking(&k, &data, true)).boxed()
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StoreResult<Bytes>> {
        let (s, k) = (self.clone(), key.to_string());
        blocking(move || {
            let path = s.path(&k)?;
            fs::read(path).map(Bytes::from).map_err(|e| s.err(&k, e))
        })
        .boxed()
    }

    fn get_range<'a>(
        &'a self,
        key: &'a str,
        offset: u64,
        len: u64,
    ) -> BoxFuture<'a, StoreResult<Bytes>> {
        let (s, k) = (self.clone(), key.to_string());
        blocking(move || s.get_range_blocking(&k, offset, len)).boxed()
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, StoreResult<Vec<ObjectMeta>>> {
        let (s, p) = (self.clone(), prefix.to_string());
        blocking(move || s.list_blocking(&p)).boxed()
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StoreResult<()>> {
        let (s, k) = (self.clone(), key.to_string());
        blocking(move || s.delete_blocking(&k)).boxed()
    }

    /// Unlinks every file, then syncs each directory once: forgetting 90 snapshots is one
    /// directory sync, not 90 (on a busy disk each can take tens of milliseconds).
    fn delete_many<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, StoreResult<()>> {
        let (s, keys) = (self.clone(), keys.to_vec());
        blocking(move || {
            // An unlink waits on the filesystem's journal (0.3 ms each on ext4 here, a third
            // of a 100-snapshot prune); a few at once overlap those waits.
            let per = keys.len().div_ceil(4).max(16);
            let removed = std::thread::scope(|scope| {
                let s = &s;
                let workers: Vec<_> = keys
                    .chunks(per)
                    .map(|part| scope.spawn(move || s.remove_each(part)))
                    .collect();
                workers
                    .into_iter()
                    .map(|w| w.join().expect("unlink threads do not panic"))
                    .collect::<StoreResult<Vec<_>>>()
            })?;
            let mut dirs = std::collections::BTreeMap::new();
            for (dir, key) in removed.into_iter().flatten() {
                dirs.entry(dir).or_insert(key);
            }
            for (dir, key) in dirs {
                sync_dir(&dir).map_err(|e| s.err(&key, e))?;
            }
            Ok(())
        })
        .boxed()
    }
}
