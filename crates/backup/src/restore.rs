//! `restore`: write the snapshot into a staging dir next to the target (every chunk checked
//! against its id, every file fsync'd), then swap it in with renames, keeping the old dir
//! aside until the node has started fine.
use std::fs::{self, File, FileTimes, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use crate::error::{BackupError, Result};
use crate::format::*;
use crate::progress::Progress;
use crate::repo::{Index, Repository};
use crate::snapshots::Listed;

/// Stops and starts the node around the swap; `start` returns once the node answers.
pub trait ServiceControl {
    fn stop(&self) -> Result<()>;
    fn start(&self) -> Result<()>;
}

#[derive(Debug, Default, Clone)]
pub struct RestoreOptions {
    /// Reuse chunks of files already at the target that match.
    pub delta: bool,
    pub threads: Option<usize>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RestoreReport {
    pub files: u64,
    pub bytes: u64,
    pub reused_bytes: u64,
    pub seconds: f64,
}

/// Refuses absolute paths, `..`, and symlinks that point outside the restored tree.
pub fn check_entry(e: &Entry) -> Result<()> {
    let bad = |why: &str| {
        Err(BackupError::Integrity(format!(
            "manifest entry `{}`: {why}; refusing the snapshot",
            e.path
        )))
    };
    let p = Path::new(&e.path);
    if e.path.is_empty() || !p.components().all(|c| matches!(c, Component::Normal(_))) {
        return bad("not a plain relative path (absolute, `.` or `..`)");
    }
    if let Some(t) = &e.target {
        let t = Path::new(t);
        if t.is_absolute() {
            return bad("symlink to an absolute path");
        }
        let mut depth = p.components().count() as i64 - 1;
        for c in t.components() {
            match c {
                Component::Normal(_) => depth += 1,
                Component::CurDir => {}
                _ => depth -= 1,
            }
            if depth < 0 {
                return bad("symlink escaping the target");
            }
        }
    }
    Ok(())
}

pub fn restore(
    repo: &Repository,
    snap: &Listed,
    target: &Path,
    opts: &RestoreOptions,
    service: Option<&dyn ServiceControl>,
    progress: &dyn Progress,
) -> Result<RestoreReport> {
    let started = std::time::Instant::now();
    let tree = &snap.snapshot.tree;
    for e in tree {
        check_entry(e)?;
    }
    let index = repo.load_index()?;
    let target = absolute(target)?;
    let parent = target
        .parent()
        .ok_or_else(|| BackupError::Input("--target must not be /".into()))?;
    fs::create_dir_all(parent).map_err(|e| BackupError::io(parent, e))?;
    let name = target.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
        BackupError::Input(format!("--target {}: no usable name", target.display()))
    })?;
    let tag = hex(&crate::crypto::random::<4>());
    let staging = parent.join(format!(".{name}.nodewarden-staging-{tag}"));
    // Private until swapped in: wallets and keys must not be readable on the way (the
    // snapshot does not record the root's mode; node data dirs are normally 0700).
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&staging)
        .map_err(|e| BackupError::io(&staging, e))?;

    let written = write_tree(repo, &index, tree, &staging, &target, opts, progress);
    let (bytes, reused) = match written {
        Ok(v) => v,
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    swap(
        &staging,
        &target,
        &parent.join(format!(".{name}.nodewarden-old-{tag}")),
        service,
    )?;
    Ok(RestoreReport {
        files: tree.iter().filter(|e| e.kind == EntryKind::File).count() as u64,
        bytes,
        reused_bytes: reused,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).map_err(|e| BackupError::Input(format!("--target {}: {e}", p.display())))
}

fn write_tree(
    repo: &Repository,
    index: &Index,
    tree: &[Entry],
    staging: &Path,
    old: &Path,
    opts: &RestoreOptions,
    progress: &dyn Progress,
) -> Result<(u64, u64)> {
    for e in tree.iter().filter(|e| e.kind == EntryKind::Dir) {
        let p = staging.join(&e.path);
        fs::create_dir_all(&p).map_err(|err| BackupError::io(&p, err))?;
    }
    let files: Vec<&Entry> = tree.iter().filter(|e| e.kind == EntryKind::File).collect();
    progress.phase("restore", Some(files.iter().map(|e| e.size).sum()));
    let next = AtomicUsize::new(0);
    let bytes = AtomicU64::new(0);
    let reused = AtomicU64::new(0);
    let threads = opts
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    std::thread::scope(|s| -> Result<()> {
        let mut workers = Vec::new();
        for _ in 0..threads {
            workers.push(s.spawn(|| -> Result<()> {
                while let Some(e) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let base = opts.delta.then(|| old.join(&e.path));
                    let r = write_file(
                        repo,
                        index,
                        e,
                        &staging.join(&e.path),
                        base.as_deref(),
                        progress,
                    )?;
                    bytes.fetch_add(e.size, Ordering::Relaxed);
                    reused.fetch_add(r, Ordering::Relaxed);
                }
                Ok(())
            }));
        }
        for w in workers {
            w.join().expect("restore workers do not panic")?;
        }
        Ok(())
    })?;
    for e in &files {
        let p = staging.join(&e.path);
        File::open(&p)
            .and_then(|f| f.sync_all())
            .map_err(|err| BackupError::io(&p, err))?;
    }
    for e in tree.iter().filter(|e| e.kind == EntryKind::Symlink) {
        let p = staging.join(&e.path);
        std::os::unix::fs::symlink(e.target.as_deref().unwrap_or(""), &p)
            .map_err(|err| BackupError::io(&p, err))?;
    }
    // Directory modes and times last (deepest first), after their contents are in place.
    for e in tree.iter().rev().filter(|e| e.kind == EntryKind::Dir) {
        let p = staging.join(&e.path);
        set_meta(&p, e)?;
        File::open(&p)
            .and_then(|f| f.sync_all())
            .map_err(|err| BackupError::io(&p, err))?;
    }
    File::open(staging)
        .and_then(|f| f.sync_all())
        .map_err(|err| BackupError::io(staging, err))?;
    Ok((bytes.into_inner(), reused.into_inner()))
}

fn write_file(
    repo: &Repository,
    index: &Index,
    e: &Entry,
    path: &Path,
    base: Option<&Path>,
    progress: &dyn Progress,
) -> Result<u64> {
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|err| BackupError::io(path, err))?;
    let mut base = base.and_then(|b| File::open(b).ok());
    let mut reused = 0u64;
    let mut offset = 0u64;
    let mut buf = Vec::new();
    for c in &e.chunks {
        let id = parse_id(c)
            .ok_or_else(|| BackupError::Integrity(format!("{}: bad chunk id {c}", e.path)))?;
        let loc = index.chunks.get(&id).ok_or_else(|| {
            BackupError::Integrity(format!("{}: chunk {c} is not in the index", e.path))
        })?;
        let len = loc.raw_len as u64;
        let mut from_base = false;
        if let Some(f) = base.as_mut() {
            buf.resize(len as usize, 0);
            if f.seek(SeekFrom::Start(offset)).is_ok()
                && f.read_exact(&mut buf).is_ok()
                && repo.keys.chunk_id(&buf) == id
            {
                from_base = true;
                reused += len;
            }
        }
        if !from_base {
            buf = repo.read_chunk(index, &id).map_err(|err| match err {
                BackupError::Integrity(m) => BackupError::Integrity(format!("{}: {m}", e.path)),
                other => other,
            })?;
        }
        out.write_all(&buf)
            .map_err(|err| BackupError::io(path, err))?;
        offset += len;
        progress.advance(len);
    }
    if offset != e.size {
        return Err(BackupError::Integrity(format!(
            "{}: chunks add up to {offset} bytes, the manifest says {}",
            e.path, e.size
        )));
    }
    // Start writeback now and fsync once every file is written: the disk works while the
    // workers decrypt and decompress instead of each worker waiting for its own flush.
    // SAFETY: sync_file_range on an open descriptor we own; it only schedules writeback.
    unsafe {
        libc::sync_file_range(out.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
    }
    out.set_permissions(fs::Permissions::from_mode(e.mode))
        .and_then(|()| out.set_times(FileTimes::new().set_modified(mtime_of(e))))
        .map_err(|err| BackupError::io(path, err))?;
    Ok(reused)
}

fn mtime_of(e: &Entry) -> std::time::SystemTime {
    if e.mtime_ns >= 0 {
        UNIX_EPOCH + Duration::from_nanos(e.mtime_ns as u64)
    } else {
        UNIX_EPOCH
    }
}

fn set_meta(path: &Path, e: &Entry) -> Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(e.mode))
        .map_err(|err| BackupError::io(path, err))?;
    File::open(path)
        .and_then(|f| f.set_times(FileTimes::new().set_modified(mtime_of(e))))
        .map_err(|err| BackupError::io(path, err))
}

/// target → aside, staging → target; with a service, stop before and start after, and roll
/// back to the old dir if the node does not come up.
fn swap(
    staging: &Path,
    target: &Path,
    aside: &Path,
    service: Option<&dyn ServiceControl>,
) -> Result<()> {
    if let Some(s) = service {
        s.stop()?;
    }
    let had_old = target.exists();
    if had_old {
        fs::rename(target, aside).map_err(|e| BackupError::io(target, e))?;
    }
    if let Err(e) = fs::rename(staging, target) {
        if had_old {
            let _ = fs::rename(aside, target);
        }
        return Err(BackupError::io(target, e));
    }
    sync_parent(target)?;
    if let Some(s) = service
        && let Err(e) = s.start()
    {
        if had_old {
            let _ = s.stop();
            let failed = aside.with_extension("failed");
            let _ = fs::rename(target, &failed);
            let _ = fs::rename(aside, target);
            let _ = sync_parent(target);
            let _ = s.start();
            return Err(BackupError::Other(format!(
                "the node did not start on the restored data ({e}); rolled back to the previous {} (restored copy kept at {})",
                target.display(),
                failed.display()
            )));
        }
        return Err(e);
    }
    if had_old {
        fs::remove_dir_all(aside).map_err(|e| BackupError::io(aside, e))?;
    }
    Ok(())
}

fn sync_parent(p: &Path) -> Result<()> {
    let parent = p.parent().unwrap_or(Path::new("/"));
    File::open(parent)
        .and_then(|f| f.sync_all())
        .map_err(|e| BackupError::io(parent, e))
}
