//! The download phase: workers take packs from a shared queue, fetch each with a few
//! merged range reads (`crate::fetch`), open and check every blob and write it wherever the snapshot needs
//! it. A journal thread records finished packs once their data is durable, so an
//! interrupted restore resumes instead of downloading everything again.
use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::beneath::Root;
use super::plan::{Dest, PackPlan};
use crate::crypto::Id;
use crate::error::{BackupError, Result};
use crate::format::*;
use crate::progress::Progress;
use crate::repo::{Index, Repository};

/// Packs per journal append. Each append first makes every file written since the last
/// one durable, so this trades syncs against how much a crash costs to download again.
const BATCH: usize = 8;
/// ... or after this long, so that on a slow link a kill costs seconds of download, not
/// eight packs' worth.
const BATCH_TIME: Duration = Duration::from_secs(1);

/// The list of packs whose chunks are all written and durable, one `<pack id> <digest>`
/// line each, appended and fsync'd in batches.
pub(super) struct Journal {
    file: File,
    path: PathBuf,
}

/// The journal's first line: binds the staging dir to one snapshot, in full.
fn header(snapshot_id: &str) -> String {
    format!("nodewarden restore journal v2 snapshot {snapshot_id}\n")
}

impl Journal {
    pub fn create(path: &Path, snapshot_id: &str) -> Result<Journal> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(|e| BackupError::io(path, e))?;
        let mut j = Journal {
            file,
            path: path.to_path_buf(),
        };
        j.append(&header(snapshot_id))?;
        Ok(j)
    }

    /// Opens a journal left by an interrupted restore of `snapshot_id` and returns its
    /// lines; `None` when it belongs to another snapshot (or predates the binding), whose
    /// staging dir must then not be trusted. A torn last line (killed mid-append) is cut
    /// off so that the next append starts a fresh line.
    pub fn resume(path: &Path, snapshot_id: &str) -> Result<Option<(Journal, HashSet<String>)>> {
        let io = |e| BackupError::io(path, e);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(io)?;
        let mut text = Vec::new();
        file.read_to_end(&mut text).map_err(io)?;
        if !text.starts_with(header(snapshot_id).as_bytes()) {
            return Ok(None);
        }
        let whole = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if whole < text.len() {
            file.set_len(whole as u64).map_err(io)?;
        }
        let lines = String::from_utf8_lossy(&text[..whole])
            .lines()
            .map(str::to_string)
            .collect();
        Ok(Some((
            Journal {
                file,
                path: path.to_path_buf(),
            },
            lines,
        )))
    }

    fn append(&mut self, text: &str) -> Result<()> {
        self.file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(|e| BackupError::io(&self.path, e))
    }
}

pub(super) struct Fetch<'a> {
    pub repo: &'a Repository,
    pub index: &'a Index,
    pub packs: &'a [PackPlan],
    pub files: &'a [&'a crate::format::Entry],
    /// The staging dir, and each file's path in it.
    pub root: &'a Root,
    pub paths: &'a [PathBuf],
    pub progress: &'a dyn Progress,
    /// Whether chunks still go around the page cache (`write_direct`).
    pub direct: AtomicBool,
}

#[derive(Debug, Default)]
pub(super) struct Fetched {
    pub packs: u64,
    pub requests: u64,
}

impl Fetch<'_> {
    /// Fetches the packs `todo` (slots in `packs`) on `connections` threads. On an error
    /// the other workers finish their current pack and stop; what finished is journaled
    /// either way, and so are `pending`, packs `--delta` supplied from the old target
    /// before the download (written, not yet durable or journaled).
    pub fn run(
        &self,
        todo: &[usize],
        connections: usize,
        journal: Journal,
        pending: Vec<usize>,
    ) -> Result<Fetched> {
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let requests = AtomicU64::new(0);
        let fetched = AtomicU64::new(0);
        let failed: Mutex<Option<BackupError>> = Mutex::new(None);
        let (tx, rx) = mpsc::channel::<usize>();
        let journaled = std::thread::scope(|s| {
            let writer = s.spawn(|| self.journal(journal, pending, rx, &stop));
            for _ in 0..connections.clamp(1, todo.len().max(1)) {
                let tx = tx.clone();
                let (next, stop, requests, fetched, failed) =
                    (&next, &stop, &requests, &fetched, &failed);
                s.spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let Some(&slot) = todo.get(next.fetch_add(1, Ordering::Relaxed)) else {
                            return;
                        };
                        match self.pack(slot, requests) {
                            Ok(()) => {
                                fetched.fetch_add(1, Ordering::Relaxed);
                                // Only fails when the journal writer gave up; its error wins.
                                let _ = tx.send(slot);
                            }
                            Err(e) => {
                                stop.store(true, Ordering::Relaxed);
                                failed.lock().expect("not poisoned").get_or_insert(e);
                                return;
                            }
                        }
                    }
                });
            }
            drop(tx);
            writer.join().expect("the journal writer does not panic")
        });
        if let Some(e) = failed.into_inner().expect("not poisoned") {
            return Err(e);
        }
        journaled?;
        Ok(Fetched {
            packs: fetched.into_inner(),
            requests: requests.into_inner(),
        })
    }

    /// Downloads one pack and writes its chunks.
    fn pack(&self, slot: usize, requests: &AtomicU64) -> Result<()> {
        let plan = &self.packs[slot];
        let name = &self.index.packs[plan.pack as usize];
        let place = format!("pack {name}");
        let dests: HashMap<Id, &[Dest]> = plan
            .blobs
            .iter()
            .map(|b| (b.id, b.dests.as_slice()))
            .collect();
        // Only the last file stays open: a pack holds a big file's chunks in a row, and
        // hundreds of workers must stay within the descriptor limit.
        let mut open: Option<(u32, File, Option<File>)> = None;
        let mut buf = Vec::new();
        let blobs = plan.blobs.iter().map(|b| (b.id, b.loc)).collect();
        for span in crate::fetch::spans(blobs) {
            requests.fetch_add(1, Ordering::Relaxed);
            crate::fetch::read_span(self.repo, name, &span, |id, loc, sealed| {
                let dests = dests[id];
                let first = &self.files[dests[0].file as usize].path;
                let name_file = |m: String| BackupError::Integrity(format!("{first}: {m}"));
                self.repo
                    .open_blob_into(id, sealed, &place, &mut buf)
                    .map_err(|e| match e {
                        BackupError::Integrity(m) => name_file(m),
                        other => other,
                    })?;
                let data = &buf;
                if data.len() != loc.raw_len as usize {
                    return Err(name_file(format!(
                        "chunk {} in {place} has {} bytes, the index says {}",
                        hex(id),
                        data.len(),
                        loc.raw_len
                    )));
                }
                for d in dests {
                    let path = &self.paths[d.file as usize];
                    let (f, direct) = match &mut open {
                        Some(o) if o.0 == d.file => (&o.1, &mut o.2),
                        _ => {
                            let f = self.root.open_file(path, false)?;
                            let o = open.insert((d.file, f, None));
                            (&o.1, &mut o.2)
                        }
                    };
                    let done = self.write_direct(path, direct, data, d.offset)?;
                    f.write_all_at(&data[done..], d.offset + done as u64)
                        .map_err(|e| BackupError::io(path, e))?;
                    self.progress.advance(data.len() as u64);
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    /// Writes what it can of a chunk around the page cache and returns how many bytes that
    /// was: whole blocks from a block-aligned offset (every chunk of a table cut in fixed
    /// pieces, and every single-chunk file). Buffered writes would copy each byte into
    /// fresh page-cache pages and write it back on the next sync; on a small VPS that is
    /// most of a restore's CPU (docs/BENCHMARKS.md). The rest goes through the buffered
    /// descriptor; a filesystem that refuses O_DIRECT turns it off for the restore.
    fn write_direct(
        &self,
        path: &Path,
        fd: &mut Option<File>,
        data: &[u8],
        offset: u64,
    ) -> Result<usize> {
        use nodewarden_store::direct;
        if data.len() < direct::DIRECT_MIN
            || !direct::aligned(offset)
            || !self.direct.load(Ordering::Relaxed)
        {
            return Ok(0);
        }
        if fd.is_none() {
            *fd = self.root.open_file_direct(path);
        }
        let Some(f) = fd else {
            self.direct.store(false, Ordering::Relaxed);
            return Ok(0);
        };
        match direct::write_blocks_at(f, data, offset) {
            Ok(n) => Ok(n),
            Err(e) if direct::refused(&e) => {
                self.direct.store(false, Ordering::Relaxed);
                Ok(0)
            }
            Err(e) => Err(BackupError::io(path, e)),
        }
    }

    fn journal(
        &self,
        mut journal: Journal,
        mut done: Vec<usize>,
        rx: Receiver<usize>,
        stop: &AtomicBool,
    ) -> Result<()> {
        let mut last = Instant::now();
        let mut record = || -> Result<()> {
            loop {
                match rx.recv_timeout(BATCH_TIME) {
                    Ok(slot) => done.push(slot),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => break,
                }
                if done.len() >= BATCH || (!done.is_empty() && last.elapsed() >= BATCH_TIME) {
                    self.flush(&mut journal, &mut done)?;
                    last = Instant::now();
                }
            }
            self.flush(&mut journal, &mut done)
        };
        let r = record();
        if r.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        r
    }

    /// Makes the written data durable, then says so: a journal line never outruns data.
    fn flush(&self, journal: &mut Journal, done: &mut Vec<usize>) -> Result<()> {
        if done.is_empty() {
            return Ok(());
        }
        self.root.sync_all_below()?;
        let mut text = String::new();
        for &slot in done.iter() {
            text.push_str(&self.packs[slot].line(self.index));
            text.push('\n');
        }
        journal.append(&text)?;
        done.clear();
        Ok(())
    }
}
