//! `restore`: write the snapshot into a staging dir next to the target (every chunk checked
//! against its id, everything made durable), then swap it in with renames, keeping the old dir
//! aside until the node has started fine.
//!
//! The data comes pack by pack (`plan`: every chunk the snapshot needs, grouped by pack;
//! `download`: concurrent workers fetching each pack in few range reads and writing every
//! chunk at its offsets). The staging dir is named after the snapshot, and a journal next
//! to it lists finished packs, so re-running an interrupted restore downloads the rest only.
//! The journal's first line names the snapshot in full: a staging dir is resumed only for
//! the very snapshot that started it, and is otherwise started afresh.
//!
//! Nothing in the staging dir is reached through a symlink (`beneath`): links are created
//! as stored, like tar does, and never followed while restoring.
mod beneath;
mod download;
mod plan;

use std::fs::{self, File, FileTimes};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use self::beneath::Root;
use self::download::{Fetch, Fetched, Journal};
use self::plan::PackPlan;
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
    /// Threads comparing files for `delta`; default: the number of CPUs.
    pub threads: Option<usize>,
    /// Packs downloaded at the same time; default: `threads` if set, else the CPU count or
    /// the store's connection count, whichever is larger.
    pub connections: Option<usize>,
    /// Restore setuid, setgid and sticky bits as stored (they are dropped otherwise: a
    /// snapshot from someone else must not plant a setuid binary).
    pub keep_setid: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RestoreReport {
    pub files: u64,
    pub bytes: u64,
    pub reused_bytes: u64,
    /// Bytes an interrupted earlier run of the same restore had already written.
    pub resumed_bytes: u64,
    /// Packs downloaded by this run.
    pub packs: u64,
    /// Range reads this run made.
    pub requests: u64,
    pub seconds: f64,
}

/// Refuses absolute paths, `.`/`..` components, NUL bytes and symlinks without a target.
/// Where a symlink points is not checked: it is recreated as stored and never followed
/// while restoring, so a link out of the tree (a keystore shared by several nodes) comes
/// back as it was.
pub fn check_entry(e: &Entry) -> Result<()> {
    let bad = |why: &str| {
        Err(BackupError::Integrity(format!(
            "manifest entry `{}`: {why}; refusing the snapshot",
            e.path.escape_debug()
        )))
    };
    let p = Path::new(&e.path);
    if e.path.is_empty()
        || e.path.contains('\0')
        || !p.components().all(|c| matches!(c, Component::Normal(_)))
    {
        return bad("not a plain relative path (absolute, `.` or `..`)");
    }
    if e.kind == EntryKind::Symlink {
        match link_target(e) {
            Some(t) if !t.is_empty() && !t.contains(&0) => {}
            _ => return bad("symlink without a usable target"),
        }
    }
    Ok(())
}

/// A symlink's target as bytes (`target_hex` holds one that is not UTF-8).
pub fn link_target(e: &Entry) -> Option<Vec<u8>> {
    match (&e.target, &e.target_hex) {
        (Some(t), None) => Some(t.as_bytes().to_vec()),
        (None, Some(h)) => unhex(h),
        _ => None,
    }
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
    crate::backup::note_unreadable(&index, progress);
    let files: Vec<&Entry> = tree.iter().filter(|e| e.kind == EntryKind::File).collect();
    let mut packs = plan::build(&index, &files)?;
    let target = absolute(target)?;
    let parent = target
        .parent()
        .ok_or_else(|| BackupError::Input("the restore target must not be /".into()))?;
    fs::create_dir_all(parent).map_err(|e| BackupError::io(parent, e))?;
    let name = target.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
        BackupError::Input(format!(
            "restore target {}: no usable name",
            target.display()
        ))
    })?;
    // Named after the snapshot, so that running the same restore again finds its work.
    let stem = format!(
        ".{name}.nodewarden-staging-{}",
        snap.id.get(..16).unwrap_or(&snap.id)
    );
    let staging = parent.join(&stem);
    let journal = parent.join(format!("{stem}.journal"));
    let stage = Stage {
        repo,
        index: &index,
        tree,
        files: &files,
        staging: &staging,
        journal: &journal,
        old: &target,
        opts,
        progress,
    };
    let written = stage.write(&snap.id, &mut packs).map_err(resumable)?;
    let tag = hex(&crate::crypto::random::<4>());
    let swapped = swap(
        &staging,
        &target,
        &parent.join(format!(".{name}.nodewarden-old-{tag}")),
        service,
    );
    // The journal describes the staging dir; once that is swapped in (or kept aside as
    // `.failed` after a rollback) there is nothing left to resume.
    if !staging.exists() {
        let _ = fs::remove_file(&journal);
    }
    swapped?;
    Ok(RestoreReport {
        files: files.len() as u64,
        bytes: files.iter().map(|e| e.size).sum(),
        reused_bytes: written.reused,
        resumed_bytes: written.resumed,
        packs: written.fetched.packs,
        requests: written.fetched.requests,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Store and disk errors are worth a retry, which resumes; damage and bad input are not.
fn resumable(e: BackupError) -> BackupError {
    match e {
        e @ (BackupError::Io { .. } | BackupError::Store(_)) => BackupError::Resumable(Box::new(e)),
        e => e,
    }
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p)
        .map_err(|e| BackupError::Input(format!("restore target {}: {e}", p.display())))
}

/// Everything `write` needs to fill the staging dir.
struct Stage<'a> {
    repo: &'a Repository,
    index: &'a Index,
    tree: &'a [Entry],
    files: &'a [&'a Entry],
    staging: &'a Path,
    journal: &'a Path,
    /// The target as it is now, for `delta`.
    old: &'a Path,
    opts: &'a RestoreOptions,
    progress: &'a dyn Progress,
}

struct Written {
    reused: u64,
    resumed: u64,
    fetched: Fetched,
}

impl Stage<'_> {
    fn write(&self, snapshot_id: &str, packs: &mut [PackPlan]) -> Result<Written> {
        let staging = self.staging;
        let resumed = match fs::symlink_metadata(staging) {
            Ok(m) if m.is_dir() && self.journal.is_file() => {
                Journal::resume(self.journal, snapshot_id)?
            }
            _ => None,
        };
        let resuming = resumed.is_some();
        if !resuming {
            // Without its journal, or with one naming another snapshot, a staging dir says
            // nothing trustworthy about what it holds: start afresh.
            remove_file_if_present(self.journal)?;
            match fs::symlink_metadata(staging) {
                Ok(m) if m.is_dir() => {
                    fs::remove_dir_all(staging).map_err(|e| BackupError::io(staging, e))?
                }
                Ok(_) => remove_file_if_present(staging)?,
                Err(_) => {}
            }
            // Private until swapped in: wallets and keys must not be readable on the way
            // (the snapshot does not record the root's mode; node data dirs are normally 0700).
            fs::DirBuilder::new()
                .mode(0o700)
                .create(staging)
                .map_err(|e| BackupError::io(staging, e))?;
        }
        let root = Root::open(staging)?;
        let dirs: Vec<&Path> = self
            .tree
            .iter()
            .filter(|e| e.kind == EntryKind::Dir)
            .map(|e| Path::new(&e.path))
            .collect();
        for p in &dirs {
            root.create_dir_all(p)?;
            if resuming {
                // Writable again in case the resumed run had set the final modes.
                root.open_dir(p)?
                    .set_permissions(fs::Permissions::from_mode(0o700))
                    .map_err(|err| BackupError::io(staging.join(p), err))?;
            }
        }
        let paths: Vec<PathBuf> = self.files.iter().map(|e| PathBuf::from(&e.path)).collect();
        for (e, p) in self.files.iter().zip(&paths) {
            root.open_file(p, true)?
                .set_len(e.size)
                .map_err(|err| BackupError::io(staging.join(p), err))?;
        }
        let (journal, done) = match resumed {
            Some(r) => r,
            None => {
                // A journal line claims that data is durable, the files' names included.
                root.sync_all_below()?;
                let j = Journal::create(self.journal, snapshot_id)?;
                sync_parent(self.journal)?;
                (j, Default::default())
            }
        };
        self.progress
            .phase("restore", Some(self.files.iter().map(|e| e.size).sum()));
        let mut resumed = 0;
        let mut todo = Vec::new();
        for (slot, p) in packs.iter().enumerate() {
            if done.contains(&p.line(self.index)) {
                resumed += p.bytes();
            } else {
                todo.push(slot);
            }
        }
        self.progress.advance(resumed);
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        let threads = self.opts.threads.unwrap_or(cpus).max(1);
        // Files a resumed run finds complete would be compared for nothing.
        let (reused, pending) = if self.opts.delta && !resuming {
            plan::delta(self, &root, &paths, packs, threads)?
        } else {
            (0, Vec::new())
        };
        todo.retain(|&slot| !packs[slot].blobs.is_empty());
        let fetch = Fetch {
            repo: self.repo,
            index: self.index,
            packs,
            files: self.files,
            root: &root,
            paths: &paths,
            progress: self.progress,
            direct: std::sync::atomic::AtomicBool::new(true),
        };
        // A remote store wants as many requests in flight as it has connections, whatever
        // the CPU count.
        let connections = self
            .opts
            .connections
            .or(self.opts.threads)
            .unwrap_or_else(|| cpus.max(self.repo.store().parallelism()))
            .max(1);
        let fetched = fetch.run(&todo, connections, journal, pending)?;
        self.finish(&root, &paths)?;
        Ok(Written {
            reused,
            resumed,
            fetched,
        })
    }

    /// Metadata once every chunk is written (a later write would move the mtime again),
    /// then everything made durable.
    fn finish(&self, root: &Root, paths: &[PathBuf]) -> Result<()> {
        let keep = self.opts.keep_setid;
        for (e, p) in self.files.iter().zip(paths) {
            let f = root.open_file(p, false)?;
            set_meta(&f, e, keep).map_err(|err| BackupError::io(self.staging.join(p), err))?;
        }
        for e in self.tree.iter().filter(|e| e.kind == EntryKind::Symlink) {
            let target = link_target(e).unwrap_or_default();
            root.symlink(Path::new(&e.path), &target)?;
        }
        // Directory modes and times last (deepest first), after their contents are in place.
        for e in self.tree.iter().rev().filter(|e| e.kind == EntryKind::Dir) {
            let f = root.open_dir(Path::new(&e.path))?;
            set_meta(&f, e, keep)
                .map_err(|err| BackupError::io(self.staging.join(&e.path), err))?;
        }
        root.sync_all_below()
    }
}

fn remove_file_if_present(p: &Path) -> Result<()> {
    match fs::remove_file(p) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(BackupError::io(p, e)),
        _ => Ok(()),
    }
}

fn mtime_of(e: &Entry) -> std::time::SystemTime {
    if e.mtime_ns >= 0 {
        UNIX_EPOCH + Duration::from_nanos(e.mtime_ns as u64)
    } else {
        UNIX_EPOCH
    }
}

/// Mode (without setuid/setgid/sticky unless `keep_setid`) and mtime, on the open file,
/// never through its path; made durable by the caller.
fn set_meta(f: &File, e: &Entry, keep_setid: bool) -> std::io::Result<()> {
    let mode = if keep_setid {
        e.mode & 0o7777
    } else {
        e.mode & 0o777
    };
    f.set_permissions(fs::Permissions::from_mode(mode))?;
    f.set_times(FileTimes::new().set_modified(mtime_of(e)))
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
            return Err(BackupError::Service(format!(
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
