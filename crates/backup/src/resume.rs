//! Resuming a killed backup. Checkpoints index most stored packs as a backup runs; the few
//! stored after the last checkpoint are "orphans": complete (a store shows only whole
//! objects) but in no index. Packs are self-describing, so the next backup reads their
//! headers (a range request or two each, no data) and indexes them instead of uploading
//! their chunks again. Prune deletes orphans; a backup adopts them.
use std::collections::HashSet;

use crate::error::{BackupError, Result};
use crate::format::*;
use crate::progress::Progress;
use crate::repo::{Index, Repository};

/// Enough for the header of a pack of a few hundred blobs in one request.
const TAIL: u64 = 64 << 10;
const MAX_HEADER: u64 = 64 << 20;

/// Indexes every stored pack that no index names; returns how many were adopted.
pub fn adopt_orphans(repo: &Repository, index: &mut Index, progress: &dyn Progress) -> Result<u64> {
    let known: HashSet<&str> = index.packs.iter().map(String::as_str).collect();
    let orphans: Vec<_> = repo
        .list("packs/")?
        .into_iter()
        .filter(|m| {
            let id = m.key.rsplit('/').next().unwrap_or("");
            !known.contains(id) && is_id(id) && m.key == pack_key(id)
        })
        .collect();
    if orphans.is_empty() {
        return Ok(0);
    }
    let mut file = IndexFile::default();
    let mut bytes = 0u64;
    for meta in &orphans {
        match header(repo, &meta.key, meta.size) {
            Ok(blobs) => {
                bytes += meta.size;
                file.packs.push(IndexPack {
                    id: meta.key.rsplit('/').next().unwrap_or("").to_string(),
                    size: meta.size,
                    blobs,
                });
            }
            // Not ours, or damaged: leave it to prune and verify rather than fail the backup.
            Err(e) => progress.note(&format!("ignoring unindexed {}: {e}", meta.key)),
        }
    }
    if file.packs.is_empty() {
        return Ok(0);
    }
    let n = file.packs.len() as u64;
    let id = repo.save("index", &file)?;
    progress.note(&format!(
        "resuming: {n} packs ({:.1} MiB) stored by an interrupted backup are reused, not sent again",
        bytes as f64 / (1 << 20) as f64
    ));
    index.add(&format!("index/{id}"), file)?;
    Ok(n)
}

/// The blob list of a stored pack, checked against the pack's id.
pub(crate) fn header(repo: &Repository, key: &str, size: u64) -> Result<Vec<BlobEntry>> {
    let bad = |why: &str| BackupError::Integrity(format!("{key}: {why}"));
    if size < (PACK_MAGIC.len() + 4) as u64 {
        return Err(bad("too short for a pack"));
    }
    let tail_len = size.min(TAIL);
    let tail = repo.get_range(key, size - tail_len, tail_len)?;
    let n = tail.len();
    if n < 4 {
        return Err(bad("too short for a pack"));
    }
    let hlen = u32::from_le_bytes(tail[n - 4..].try_into().expect("4 bytes")) as u64;
    // A header lists blobs of at most `pack_size` (1 GiB) bytes: tens of MiB at most.
    if hlen + 4 + PACK_MAGIC.len() as u64 > size || hlen > MAX_HEADER {
        return Err(bad("header length points outside the pack"));
    }
    let sealed = if hlen + 4 <= tail_len {
        tail.slice(n - 4 - hlen as usize..n - 4)
    } else {
        repo.get_range(key, size - 4 - hlen, hlen)?
    };
    let id = key.rsplit('/').next().unwrap_or("");
    if crate::pack::pack_id(&sealed) != id {
        return Err(bad("header does not match the pack's name"));
    }
    let plain = repo.keys.open_header(&sealed, key)?;
    let blobs: Vec<BlobEntry> =
        serde_json::from_slice(&plain).map_err(|e| bad(&format!("header: {e}")))?;
    let file = IndexFile {
        packs: vec![IndexPack {
            id: id.to_string(),
            size,
            blobs,
        }],
    };
    Index::check(key, &file)?;
    Ok(file.packs.into_iter().flat_map(|p| p.blobs).collect())
}
