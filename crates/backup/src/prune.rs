//! `prune` and `forget`: drop what no snapshot references. Order of writes keeps every live
//! snapshot restorable whenever the process dies: (1) repacked packs, (2) the new complete
//! index, (3) deletion of the old index files, (4) deletion of packs nothing indexes.
use std::collections::{HashMap, HashSet};

use crate::crypto::Id;
use crate::error::{BackupError, Result};
use crate::forget::{Decision, KeepPolicy, apply};
use crate::format::*;
use crate::lock::Lock;
use crate::pack::PackBuf;
use crate::progress::Progress;
use crate::repo::Repository;
use crate::snapshots;

/// Packs with less than this share of live bytes are rewritten.
const REPACK_BELOW: f64 = 0.5;

#[derive(Debug, Default, serde::Serialize)]
pub struct PruneReport {
    pub packs_deleted: usize,
    pub packs_repacked: usize,
    pub packs_written: usize,
    pub bytes_freed: u64,
    pub chunks_dropped: usize,
    /// Temp files of killed writers (local repositories) removed.
    pub temp_files_removed: usize,
}

pub fn forget(
    repo: &Repository,
    policy: &KeepPolicy,
    dry_run: bool,
    progress: &dyn Progress,
) -> Result<Vec<Decision>> {
    if policy.is_empty() {
        return Err(BackupError::Input(
            "forget needs at least one keep rule (it would forget every snapshot)".into(),
        ));
    }
    let _lock = if dry_run {
        None
    } else {
        Some(Lock::exclusive(repo, "forget", progress)?)
    };
    let all = snapshots::list_noting(repo, progress)?;
    let list: Vec<(String, chrono::DateTime<chrono::Utc>)> =
        all.iter().map(|s| (s.id.clone(), s.time)).collect();
    let decisions = apply(policy, &list);
    if !dry_run {
        let gone: Vec<String> = decisions
            .iter()
            .filter(|d| !d.keep)
            .map(|d| format!("snapshots/{}", d.id))
            .collect();
        repo.delete_many(&gone)?;
    }
    Ok(decisions)
}

/// Older than this, a temp file cannot belong to a live writer.
const STALE_TEMP: std::time::Duration = std::time::Duration::from_secs(3600);

pub fn prune(repo: &Repository, progress: &dyn Progress) -> Result<PruneReport> {
    let _lock = Lock::exclusive(repo, "prune", progress)?;
    let mut report = PruneReport {
        temp_files_removed: repo.block_on(repo.store().remove_stale_temp(STALE_TEMP))?,
        ..Default::default()
    };
    // Deleting data because a snapshot or index could not be read would turn damage into
    // loss: refuse until `repair` has dealt with them.
    let (all, unreadable) = snapshots::scan(repo)?;
    if let Some(b) = unreadable.first() {
        return Err(BackupError::Integrity(format!(
            "{} unreadable snapshots ({}: {}); nothing was deleted — run `nodewarden repair snapshots` to quarantine them first",
            unreadable.len(),
            b.key,
            b.error
        )));
    }
    let mut used: HashSet<Id> = HashSet::new();
    for s in all {
        let chunks = s.snapshot.tree.iter().flat_map(|e| &e.chunks);
        let pg = s.snapshot.pg.iter().flat_map(|d| &d.chunks);
        for c in chunks.chain(pg) {
            used.insert(parse_id(c).ok_or_else(|| {
                BackupError::Integrity(format!("snapshot {}: bad chunk id {c}", s.id))
            })?);
        }
    }
    let index = repo.load_index()?;
    if let Some((key, e)) = index.unreadable.first() {
        return Err(BackupError::Integrity(format!(
            "{} unreadable index files ({key}: {e}); nothing was deleted — run `nodewarden repair index` first",
            index.unreadable.len()
        )));
    }
    for id in &used {
        if !index.chunks.contains_key(id) {
            return Err(BackupError::Integrity(format!(
                "chunk {} is referenced but not indexed; run `nodewarden verify` (nothing was deleted)",
                hex(id)
            )));
        }
    }
    // Live bytes per pack decide: keep as is, rewrite the live part, or drop.
    let mut live = vec![0u64; index.packs.len()];
    let mut stored = vec![0u64; index.packs.len()];
    let mut blobs_of: HashMap<u32, Vec<(Id, u64, u32, u32)>> = HashMap::new();
    for (id, loc) in &index.chunks {
        stored[loc.pack as usize] += loc.length as u64;
        if used.contains(id) {
            live[loc.pack as usize] += loc.length as u64;
            blobs_of
                .entry(loc.pack)
                .or_default()
                .push((*id, loc.offset, loc.length, loc.raw_len));
        } else {
            report.chunks_dropped += 1;
        }
    }
    let mut new_index = IndexFile::default();
    let mut obsolete: Vec<usize> = Vec::new();
    let mut buf = PackBuf::new();
    for (i, pack) in index.packs.iter().enumerate() {
        // Shares count blob bytes only: a pack holding one tiny, live blob is mostly
        // header, and rewriting it would produce the very same pack.
        let share = live[i] as f64 / stored[i].max(1) as f64;
        let blobs = blobs_of.remove(&(i as u32)).unwrap_or_default();
        if blobs.is_empty() {
            obsolete.push(i);
        } else if share < REPACK_BELOW {
            progress.note(&format!(
                "repacking pack {} ({:.0}% live)",
                &pack[..12],
                share * 100.0
            ));
            let data = repo.get(&pack_key(pack))?;
            for (id, off, len, raw) in blobs {
                let sealed = data
                    .get(off as usize..(off + len as u64) as usize)
                    .ok_or_else(|| {
                        BackupError::Integrity(format!(
                            "pack {pack} is shorter than its index says"
                        ))
                    })?;
                repo.open_blob(&id, sealed, &format!("pack {pack}"))?;
                buf.add_sealed(hex(&id), sealed, raw as u64);
                if buf.len() >= repo.config.pack_size {
                    new_index.packs.push(std::mem::take(&mut buf).finish(repo)?);
                    report.packs_written += 1;
                }
            }
            obsolete.push(i);
            report.packs_repacked += 1;
        } else {
            new_index.packs.push(IndexPack {
                id: pack.clone(),
                size: index.pack_sizes[i],
                blobs: blobs
                    .into_iter()
                    .map(|(id, offset, length, raw)| BlobEntry {
                        id: hex(&id),
                        offset,
                        length: length as u64,
                        raw_len: raw as u64,
                    })
                    .collect(),
            });
        }
    }
    if !buf.is_empty() {
        new_index.packs.push(buf.finish(repo)?);
        report.packs_written += 1;
    }
    // Packs just written by the repack are not orphans: the new index names them.
    let indexed: HashSet<&str> = index
        .packs
        .iter()
        .map(String::as_str)
        .chain(new_index.packs.iter().map(|p| p.id.as_str()))
        .collect();
    let mut orphans = Vec::new();
    for m in repo.list("packs/")? {
        let id = m.key.rsplit('/').next().unwrap_or("");
        if m.key != pack_key(id) || !is_id(id) {
            // Not a pack of ours: not ours to delete either.
            progress.note(&format!(
                "leaving {} alone: not a pack",
                m.key.escape_debug()
            ));
        } else if !indexed.contains(id) {
            orphans.push(m.key);
        }
    }
    // Nothing to do: leave the repository untouched.
    if obsolete.is_empty() && orphans.is_empty() && index.files.len() <= 1 {
        return Ok(report);
    }
    let new_key = format!("index/{}", repo.save("index", &new_index)?);
    // The old index files go (durably) before any pack they name.
    let old: Vec<String> = index
        .files
        .iter()
        .filter(|f| **f != new_key)
        .cloned()
        .collect();
    repo.delete_many(&old)?;
    let rewritten: HashSet<&str> = new_index.packs.iter().map(|p| p.id.as_str()).collect();
    let mut packs = Vec::new();
    for &i in &obsolete {
        if rewritten.contains(index.packs[i].as_str()) {
            // A repack that came out byte-identical (same id): it is the new copy.
            continue;
        }
        report.bytes_freed += index.pack_sizes[i];
        packs.push(pack_key(&index.packs[i]));
    }
    // Orphans: left by a backup that died before writing its index; nothing can
    // reference them.
    packs.extend(orphans);
    repo.delete_many(&packs)?;
    report.packs_deleted += packs.len();
    Ok(report)
}
