//! What a restore downloads: every chunk of every file, deduplicated and grouped by the
//! pack that holds it (`crate::fetch` cuts a pack's list into few range reads).
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::crypto::Id;
use crate::error::{BackupError, Result};
use crate::format::*;
use crate::repo::{Index, Loc};

/// One place a chunk goes: a file (its number in the restore's file list) and an offset.
#[derive(Debug, Clone, Copy)]
pub(super) struct Dest {
    pub file: u32,
    pub offset: u64,
}

#[derive(Debug)]
pub(super) struct Blob {
    pub id: Id,
    pub loc: Loc,
    pub dests: Vec<Dest>,
}

#[derive(Debug)]
pub(super) struct PackPlan {
    /// The pack's number in the index.
    pub pack: u32,
    /// Names the set of the snapshot's chunks this pack supplies (before `--delta` takes
    /// any away), so a journal entry is honoured only for the same set: after a prune or
    /// with duplicate blobs the same pack may have to supply other chunks.
    pub digest: String,
    /// By offset in the pack.
    pub blobs: Vec<Blob>,
}

impl PackPlan {
    /// The journal's line for this pack.
    pub fn line(&self, index: &Index) -> String {
        format!("{} {}", index.packs[self.pack as usize], self.digest)
    }

    /// Bytes this pack's chunks fill in the restored files.
    pub fn bytes(&self) -> u64 {
        self.blobs
            .iter()
            .map(|b| b.loc.raw_len as u64 * b.dests.len() as u64)
            .sum()
    }
}

/// Every chunk of `files` by pack; checks that each file's chunks add up to its size.
pub(super) fn build(index: &Index, files: &[&Entry]) -> Result<Vec<PackPlan>> {
    let mut packs: Vec<PackPlan> = Vec::new();
    let mut pack_slot: HashMap<u32, usize> = HashMap::new();
    let mut blob_slot: HashMap<Id, (usize, usize)> = HashMap::new();
    for (no, e) in files.iter().enumerate() {
        let mut offset = 0u64;
        for c in &e.chunks {
            let (id, loc) = locate(index, e, c)?;
            let (p, b) = *blob_slot.entry(id).or_insert_with(|| {
                let p = *pack_slot.entry(loc.pack).or_insert_with(|| {
                    packs.push(PackPlan {
                        pack: loc.pack,
                        digest: String::new(),
                        blobs: Vec::new(),
                    });
                    packs.len() - 1
                });
                packs[p].blobs.push(Blob {
                    id,
                    loc,
                    dests: Vec::new(),
                });
                (p, packs[p].blobs.len() - 1)
            });
            packs[p].blobs[b].dests.push(Dest {
                file: no as u32,
                offset,
            });
            offset += loc.raw_len as u64;
        }
        if offset != e.size {
            return Err(BackupError::Integrity(format!(
                "{}: chunks add up to {offset} bytes, the manifest says {}",
                e.path, e.size
            )));
        }
    }
    for p in &mut packs {
        p.blobs.sort_by_key(|b| b.loc.offset);
        let mut h = blake3::Hasher::new();
        for b in &p.blobs {
            h.update(&b.id);
        }
        p.digest = hex(&h.finalize().as_bytes()[..8]);
    }
    Ok(packs)
}

fn locate(index: &Index, e: &Entry, c: &str) -> Result<(Id, Loc)> {
    let id = parse_id(c)
        .ok_or_else(|| BackupError::Integrity(format!("{}: bad chunk id {c}", e.path)))?;
    let loc = index.chunks.get(&id).ok_or_else(|| {
        BackupError::Integrity(format!("{}: chunk {c} is not in the index", e.path))
    })?;
    Ok((id, *loc))
}

/// Copies every chunk that the old target still holds at the same offset of the same file
/// (checked against the chunk id) into the staging files, and takes it out of the plan.
/// Returns the bytes copied, and what the journal must wait for: the files written (to be
/// made durable before its first line) and the packs left with nothing to fetch (recorded
/// as done, so that a resumed restore skips them too).
pub(super) fn delta(
    stage: &super::Stage,
    root: &super::beneath::Root,
    paths: &[PathBuf],
    packs: &mut [PackPlan],
    threads: usize,
) -> Result<(u64, Vec<usize>)> {
    let (repo, index, files, old, progress) = (
        stage.repo,
        stage.index,
        stage.files,
        stage.old,
        stage.progress,
    );
    let next = AtomicUsize::new(0);
    let found: Mutex<Vec<Dest>> = Mutex::new(Vec::new());
    let reused = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| -> Result<()> {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                s.spawn(|| -> Result<()> {
                    let mut buf = Vec::new();
                    loop {
                        let no = next.fetch_add(1, Ordering::Relaxed);
                        let Some(e) = files.get(no) else {
                            return Ok(());
                        };
                        let Ok(base) = File::open(old.join(&e.path)) else {
                            continue;
                        };
                        let mut out: Option<File> = None;
                        let mut offset = 0u64;
                        for c in &e.chunks {
                            let (id, loc) = locate(index, e, c)?;
                            let len = loc.raw_len as u64;
                            buf.resize(len as usize, 0);
                            if base.read_exact_at(&mut buf, offset).is_ok()
                                && repo.keys.chunk_id(&buf) == id
                            {
                                let path = &paths[no];
                                let f = match &mut out {
                                    Some(f) => f,
                                    None => out.insert(root.open_file(path, false)?),
                                };
                                f.write_all_at(&buf, offset)
                                    .map_err(|err| BackupError::io(path, err))?;
                                found.lock().expect("not poisoned").push(Dest {
                                    file: no as u32,
                                    offset,
                                });
                                reused.fetch_add(len, Ordering::Relaxed);
                                progress.advance(len);
                            }
                            offset += len;
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().expect("delta workers do not panic")?;
        }
        Ok(())
    })?;
    let found = found.into_inner().expect("not poisoned");
    let taken: HashSet<(u32, u64)> = found.iter().map(|d| (d.file, d.offset)).collect();
    let mut done = Vec::new();
    for (slot, p) in packs.iter_mut().enumerate() {
        for b in &mut p.blobs {
            b.dests.retain(|d| !taken.contains(&(d.file, d.offset)));
        }
        p.blobs.retain(|b| !b.dests.is_empty());
        if p.blobs.is_empty() {
            done.push(slot);
        }
    }
    Ok((reused.into_inner(), done))
}
