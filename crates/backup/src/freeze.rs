//! Freeze: with the node stopped, hard-link the immutable table files and copy the rest
//! into a freeze dir on the same filesystem; the backup then reads the freeze dir while the
//! node runs again. Where links are impossible (another filesystem) everything is copied.
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{BackupError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Hardlink,
    Copy,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Hardlink => "hardlink",
            Method::Copy => "copy",
        }
    }
}

#[derive(Debug)]
pub struct Frozen {
    pub dir: PathBuf,
    pub method: Method,
    pub linked: u64,
    pub copied: u64,
    pub copied_bytes: u64,
    /// Time spent linking and copying (the node is down for this plus its stop and start).
    pub freeze_time: Duration,
}

impl Drop for Frozen {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// LevelDB/RocksDB table files are written once and never changed, so a link is a copy.
pub fn immutable(name: &str) -> bool {
    name.ends_with(".ldb") || name.ends_with(".sst")
}

/// The freeze dir for `data_dir`: a sibling, so it is on the same filesystem.
pub fn freeze_dir_for(data_dir: &Path) -> PathBuf {
    let name = data_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "data".into());
    data_dir.with_file_name(format!(".{name}.nodewarden-freeze-{}", std::process::id()))
}

/// Copies the tree; call only while the node is stopped.
pub fn freeze(data_dir: &Path, dir: &Path, force_copy: bool) -> Result<Frozen> {
    let started = Instant::now();
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(|e| BackupError::io(dir, e))?;
    }
    fs::create_dir(dir).map_err(|e| BackupError::io(dir, e))?;
    let mut f = Frozen {
        dir: dir.to_path_buf(),
        method: if force_copy {
            Method::Copy
        } else {
            Method::Hardlink
        },
        linked: 0,
        copied: 0,
        copied_bytes: 0,
        freeze_time: Duration::ZERO,
    };
    copy_tree(data_dir, dir, &mut f)?;
    f.freeze_time = started.elapsed();
    Ok(f)
}

fn copy_tree(from: &Path, to: &Path, f: &mut Frozen) -> Result<()> {
    let rd = fs::read_dir(from).map_err(|e| BackupError::io(from, e))?;
    for item in rd {
        let item = item.map_err(|e| BackupError::io(from, e))?;
        let src = item.path();
        let dst = to.join(item.file_name());
        let ft = item.file_type().map_err(|e| BackupError::io(&src, e))?;
        if ft.is_dir() {
            fs::create_dir(&dst).map_err(|e| BackupError::io(&dst, e))?;
            copy_tree(&src, &dst, f)?;
            let meta = fs::metadata(&src).map_err(|e| BackupError::io(&src, e))?;
            fs::set_permissions(&dst, meta.permissions()).map_err(|e| BackupError::io(&dst, e))?;
            keep_mtime(&meta, &dst)?;
        } else if ft.is_symlink() {
            let t = fs::read_link(&src).map_err(|e| BackupError::io(&src, e))?;
            std::os::unix::fs::symlink(t, &dst).map_err(|e| BackupError::io(&dst, e))?;
        } else if ft.is_file() {
            let name = item.file_name();
            if f.method == Method::Hardlink && immutable(&name.to_string_lossy()) {
                match fs::hard_link(&src, &dst) {
                    Ok(()) => {
                        f.linked += 1;
                        continue;
                    }
                    Err(e)
                        if e.raw_os_error() == Some(libc::EXDEV)
                            || e.kind() == ErrorKind::PermissionDenied =>
                    {
                        f.method = Method::Copy;
                    }
                    Err(e) => return Err(BackupError::io(&dst, e)),
                }
            }
            // A copy has a new inode, so the next backup reads it again: copies are the
            // few small mutable files, that is cheap.
            f.copied_bytes += fs::copy(&src, &dst).map_err(|e| BackupError::io(&src, e))?;
            f.copied += 1;
            // The snapshot must carry the node's times, not the moment of the freeze.
            let meta = fs::metadata(&src).map_err(|e| BackupError::io(&src, e))?;
            keep_mtime(&meta, &dst)?;
        }
    }
    Ok(())
}

fn keep_mtime(meta: &fs::Metadata, dst: &Path) -> Result<()> {
    let mtime = meta.modified().map_err(|e| BackupError::io(dst, e))?;
    fs::File::open(dst)
        .and_then(|f| f.set_times(fs::FileTimes::new().set_modified(mtime)))
        .map_err(|e| BackupError::io(dst, e))
}
