//! A data dir's size, kept current incrementally.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A data dir's size, kept up to date without walking millions of files every tick.
///
/// Database dirs change in a known way: immutable table files appear and disappear (the
/// directory's mtime moves), while a few files grow in place (logs, manifests). So a pass
/// lists only directories whose mtime changed, re-stats only files modified recently, and
/// every `FULL_EVERY` passes re-stats everything to catch anything else.
pub struct DirSizer {
    root: PathBuf,
    dirs: HashMap<PathBuf, DirCache>,
    passes: u64,
}

const FULL_EVERY: u64 = 30;
/// A file modified within this many seconds is "hot" and re-stat'ed on every pass.
const HOT_SECONDS: i64 = 600;

struct DirCache {
    mtime_ns: i128,
    files: Vec<(OsString, u64, i64)>,
    subdirs: Vec<PathBuf>,
}

impl DirSizer {
    pub fn new(root: impl Into<PathBuf>) -> DirSizer {
        DirSizer {
            root: root.into(),
            dirs: HashMap::new(),
            passes: 0,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Total apparent size of the regular files below the root (symlinks not followed).
    pub fn size(&mut self) -> std::io::Result<u64> {
        let full = self.passes.is_multiple_of(FULL_EVERY);
        self.passes += 1;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        fs::symlink_metadata(&self.root)?;
        let mut total = 0;
        let mut stack = vec![self.root.clone()];
        let mut live = std::collections::HashSet::new();
        while let Some(dir) = stack.pop() {
            let Ok(meta) = fs::symlink_metadata(&dir) else {
                continue;
            };
            let mtime_ns = meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128;
            let cache = match self.dirs.remove(&dir) {
                Some(mut c) if !full && c.mtime_ns == mtime_ns => {
                    for (name, size, mtime) in &mut c.files {
                        if now - *mtime < HOT_SECONDS
                            && let Ok(m) = fs::symlink_metadata(dir.join(&*name))
                        {
                            (*size, *mtime) = (m.size(), m.mtime());
                        }
                    }
                    c
                }
                _ => list(&dir, mtime_ns),
            };
            total += cache.files.iter().map(|f| f.1).sum::<u64>();
            stack.extend(cache.subdirs.iter().cloned());
            live.insert(dir.clone());
            self.dirs.insert(dir, cache);
        }
        self.dirs.retain(|d, _| live.contains(d));
        Ok(total)
    }
}

fn list(dir: &Path, mtime_ns: i128) -> DirCache {
    let mut files = Vec::new();
    let mut subdirs = Vec::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            let Ok(m) = e.metadata() else { continue };
            if m.is_dir() {
                subdirs.push(e.path());
            } else if m.is_file() {
                files.push((e.file_name(), m.size(), m.mtime()));
            }
        }
    }
    DirCache {
        mtime_ns,
        files,
        subdirs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_new_deleted_and_growing_files() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("db/sub")).unwrap();
        fs::write(d.path().join("db/000001.ldb"), vec![0u8; 1000]).unwrap();
        fs::write(d.path().join("db/sub/LOG"), vec![0u8; 10]).unwrap();
        let mut s = DirSizer::new(d.path());
        assert_eq!(s.size().unwrap(), 1010);
        // A growing file in an unchanged directory (its mtime is recent, so it is hot).
        fs::write(d.path().join("db/sub/LOG"), vec![0u8; 50]).unwrap();
        assert_eq!(s.size().unwrap(), 1050);
        fs::write(d.path().join("db/000002.ldb"), vec![0u8; 500]).unwrap();
        fs::remove_file(d.path().join("db/000001.ldb")).unwrap();
        assert_eq!(s.size().unwrap(), 550);
        fs::remove_dir_all(d.path().join("db/sub")).unwrap();
        assert_eq!(s.size().unwrap(), 500);
        assert!(DirSizer::new(d.path().join("missing")).size().is_err());
    }
}
