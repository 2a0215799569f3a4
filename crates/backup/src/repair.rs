//! `repair index` and `repair snapshots`: make a damaged repository whole again without
//! losing what is still good. Both are crash-safe by write order: the new object is stored
//! before the old one is removed, so a kill leaves at worst both.
use crate::error::{BackupError, Result};
use crate::format::*;
use crate::lock::Lock;
use crate::progress::Progress;
use crate::repo::Repository;
use crate::snapshots;

/// Where `repair snapshots` moves snapshot objects that cannot be read: out of the way of
/// every command, but kept (the damage may be a bug of ours, or recoverable by hand).
pub const QUARANTINE: &str = "quarantine/";

#[derive(Debug, Default, serde::Serialize)]
pub struct RepairReport {
    /// Packs whose headers were read into the new index.
    pub packs_indexed: usize,
    /// Packs left out (header unreadable or not matching the pack's name).
    pub packs_skipped: Vec<String>,
    /// Index files replaced by the rebuilt one.
    pub index_files_replaced: usize,
    /// Snapshot objects moved under `quarantine/`.
    pub quarantined: Vec<String>,
}

/// Rebuilds the index from the packs' own headers (each checked against the pack's name)
/// and replaces every index file with it, damaged ones included. A pack whose header
/// cannot be read keeps what a readable index file says about it.
pub fn repair_index(repo: &Repository, progress: &dyn Progress) -> Result<RepairReport> {
    let _lock = Lock::exclusive(repo, "repair index", progress)?;
    let mut report = RepairReport::default();
    let mut file = IndexFile::default();
    let known = repo.load_index()?;
    let packs = repo.list("packs/")?;
    progress.phase("repair index", Some(packs.len() as u64));
    for meta in &packs {
        let id = meta.key.rsplit('/').next().unwrap_or("");
        if meta.key != pack_key(id) || !is_id(id) {
            progress.note(&format!(
                "leaving {} alone: not a pack",
                meta.key.escape_debug()
            ));
            report.packs_skipped.push(meta.key.clone());
            continue;
        }
        match crate::resume::header(repo, &meta.key, meta.size) {
            Ok(blobs) => {
                file.packs.push(IndexPack {
                    id: meta.key.rsplit('/').next().unwrap_or("").to_string(),
                    size: meta.size,
                    blobs,
                });
                report.packs_indexed += 1;
            }
            Err(BackupError::Store(e)) => return Err(BackupError::Store(e)),
            Err(e) => {
                let id = meta.key.rsplit('/').next().unwrap_or("");
                match from_index(&known, id) {
                    Some(p) => {
                        progress.note(&format!("{}: {e}; kept as the index lists it", meta.key));
                        file.packs.push(p);
                        report.packs_indexed += 1;
                    }
                    None => {
                        progress.note(&format!("leaving out {}: {e}", meta.key));
                        report.packs_skipped.push(meta.key.clone());
                    }
                }
            }
        }
        progress.advance(1);
    }
    let old = repo.list("index/")?;
    let new_key = format!("index/{}", repo.save("index", &file)?);
    for meta in old {
        if meta.key != new_key && is_id(meta.key.trim_start_matches("index/")) {
            repo.delete(&meta.key)?;
            report.index_files_replaced += 1;
        }
    }
    Ok(report)
}

/// A pack's entry as the readable index files list it.
fn from_index(index: &crate::repo::Index, id: &str) -> Option<IndexPack> {
    let no = index.packs.iter().position(|p| p == id)?;
    let mut blobs: Vec<BlobEntry> = index
        .chunks
        .iter()
        .filter(|(_, l)| l.pack as usize == no)
        .map(|(c, l)| BlobEntry {
            id: hex(c),
            offset: l.offset,
            length: l.length as u64,
            raw_len: l.raw_len as u64,
        })
        .collect();
    blobs.sort_by_key(|b| b.offset);
    Some(IndexPack {
        id: id.to_string(),
        size: index.pack_sizes[no],
        blobs,
    })
}

/// Moves every unreadable snapshot object to `quarantine/snapshots/<name>`: copied
/// first, then deleted, so a kill never loses one.
pub fn repair_snapshots(repo: &Repository, progress: &dyn Progress) -> Result<RepairReport> {
    let _lock = Lock::exclusive(repo, "repair snapshots", progress)?;
    let mut report = RepairReport::default();
    let (_, bad) = snapshots::scan(repo)?;
    for b in bad {
        let raw = repo.get(&b.key)?;
        let dest = format!("{QUARANTINE}{}", b.key);
        repo.put(&dest, raw.to_vec())?;
        repo.delete(&b.key)?;
        progress.note(&format!("quarantined {} as {dest}: {}", b.key, b.error));
        report.quarantined.push(b.key);
    }
    Ok(report)
}
