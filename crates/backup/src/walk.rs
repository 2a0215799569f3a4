//! Reading a directory tree into manifest entries.
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{BackupError, Result};
use crate::format::{Entry, EntryKind};

/// Which top-level paths to take (`include`, empty = everything) and which to leave out
/// (`exclude`: a relative path or a bare file name, matched anywhere).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

impl Selection {
    fn wants(&self, rel: &str) -> bool {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        if self
            .exclude
            .iter()
            .any(|x| x == rel || x == name || rel.starts_with(&format!("{x}/")))
        {
            return false;
        }
        self.include.is_empty()
            || self.include.iter().any(|i| {
                let i = i.trim_end_matches('/');
                rel == i || rel.starts_with(&format!("{i}/")) || i.starts_with(&format!("{rel}/"))
            })
    }
}

/// Every directory, regular file and symlink under `root`, sorted by path; sockets and
/// other special files are skipped (returned as the second value).
pub fn walk(root: &Path, sel: &Selection) -> Result<(Vec<Entry>, Vec<String>)> {
    let meta = std::fs::metadata(root).map_err(|e| BackupError::io(root, e))?;
    if !meta.is_dir() {
        return Err(BackupError::Input(format!(
            "{} is not a directory",
            root.display()
        )));
    }
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    let mut stack: Vec<PathBuf> = vec![PathBuf::new()];
    while let Some(rel_dir) = stack.pop() {
        let dir = root.join(&rel_dir);
        let rd = std::fs::read_dir(&dir).map_err(|e| BackupError::io(&dir, e))?;
        for item in rd {
            let item = item.map_err(|e| BackupError::io(&dir, e))?;
            let rel_path = rel_dir.join(item.file_name());
            let Some(rel) = rel_path.to_str().map(str::to_string) else {
                return Err(BackupError::Input(format!(
                    "{}: file names must be UTF-8",
                    root.join(&rel_path).display()
                )));
            };
            if !sel.wants(&rel) {
                continue;
            }
            let path = root.join(&rel_path);
            let m = match std::fs::symlink_metadata(&path) {
                Ok(m) => m,
                // Vanished between listing and stat: a live directory; not ours to keep.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(BackupError::io(&path, e)),
            };
            let ft = m.file_type();
            let (kind, target, target_hex) = if ft.is_dir() {
                stack.push(rel_path.clone());
                (EntryKind::Dir, None, None)
            } else if ft.is_file() {
                (EntryKind::File, None, None)
            } else if ft.is_symlink() {
                let t = std::fs::read_link(&path).map_err(|e| BackupError::io(&path, e))?;
                // Link targets are bytes: one that is not UTF-8 is kept exactly, as hex.
                match t.into_os_string().into_string() {
                    Ok(s) => (EntryKind::Symlink, Some(s), None),
                    Err(raw) => (
                        EntryKind::Symlink,
                        None,
                        Some(crate::format::hex(raw.as_bytes())),
                    ),
                }
            } else {
                skipped.push(rel);
                continue;
            };
            out.push(Entry {
                path: rel,
                kind,
                mode: m.permissions().mode() & 0o7777,
                size: if kind == EntryKind::File { m.len() } else { 0 },
                mtime_ns: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
                inode: m.ino(),
                target,
                target_hex,
                chunks: Vec::new(),
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((out, skipped))
}
