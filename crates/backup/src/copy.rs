//! `copy`: snapshots from one repository into another (local → S3 and back). Both name
//! chunks alike (the destination was created `like` the source), so a blob moves as it is
//! stored: opened and checked against its id with the source's key, re-sealed with the
//! destination's, never recompressed. Snapshot objects are copied byte for byte in
//! plaintext, so ids and signatures survive. Chunks the destination has are not sent, and
//! a killed copy resumes like a killed backup (checkpointed index, adopted orphan packs).
use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use crate::crypto::Id;
use crate::error::{BackupError, Result};
use crate::format::*;
use crate::lock::Lock;
use crate::pack::{Blob, packer};
use crate::progress::Progress;
use crate::repo::{Loc, Repository};
use crate::snapshots::{self, Listed};

#[derive(Debug, Clone, serde::Serialize)]
pub struct CopyReport {
    /// Snapshots written to the destination.
    pub copied: Vec<String>,
    /// Snapshots the destination already had.
    pub present: Vec<String>,
    pub chunks: u64,
    /// Chunk bytes (uncompressed) sent, and what they took once packed.
    pub bytes: u64,
    pub stored_bytes: u64,
    pub seconds: f64,
}

/// Why `dst` cannot take blobs from `src` as they are, if it cannot.
pub fn compatible(src: &Repository, dst: &Repository) -> Result<()> {
    let same_chunker = src.config.chunker == dst.config.chunker;
    if !same_chunker || !src.keys.same_ids(&dst.keys) {
        return Err(BackupError::Input(format!(
            "{} names chunks differently from {} (it was not created from it); copy into a new repository, which `copy` creates like the source",
            dst.describe(),
            src.describe()
        )));
    }
    Ok(())
}

pub fn copy(
    src: &Repository,
    dst: &Repository,
    selected: &[&Listed],
    progress: &dyn Progress,
) -> Result<CopyReport> {
    let started = Instant::now();
    compatible(src, dst)?;
    let _src_lock = Lock::shared(src, "copy (source)", progress)?;
    let _dst_lock = Lock::shared(dst, "copy", progress)?;
    let have: HashSet<String> = dst
        .list("snapshots/")?
        .into_iter()
        .map(|m| m.key.trim_start_matches("snapshots/").to_string())
        .collect();
    let (present, todo): (Vec<&Listed>, Vec<&Listed>) =
        selected.iter().copied().partition(|l| have.contains(&l.id));

    let src_index = src.load_index()?;
    crate::backup::note_unreadable(&src_index, progress);
    let mut dst_index = dst.load_index()?;
    crate::backup::note_unreadable(&dst_index, progress);
    crate::resume::adopt_orphans(dst, &mut dst_index, progress)?;
    // Every chunk the copied snapshots need that the destination lacks, grouped by the
    // source pack it lives in.
    let mut by_pack: BTreeMap<u32, Vec<(Id, Loc)>> = BTreeMap::new();
    let mut seen = HashSet::new();
    for l in &todo {
        let s = &l.snapshot;
        let ids = s.tree.iter().flat_map(|e| &e.chunks);
        for c in ids.chain(s.pg.iter().flat_map(|d| &d.chunks)) {
            let id = parse_id(c).ok_or_else(|| {
                BackupError::Integrity(format!("snapshot {}: bad chunk id `{c}`", l.id))
            })?;
            if dst_index.chunks.contains_key(&id) || !seen.insert(id) {
                continue;
            }
            let loc = *src_index.chunks.get(&id).ok_or_else(|| {
                BackupError::Integrity(format!(
                    "snapshot {}: chunk {c} is not in {}'s index",
                    l.id,
                    src.describe()
                ))
            })?;
            by_pack.entry(loc.pack).or_default().push((id, loc));
        }
    }
    let bytes: u64 = by_pack
        .values()
        .flatten()
        .map(|(_, l)| l.raw_len as u64)
        .sum();
    let chunks = seen.len() as u64;
    progress.phase("copy", Some(bytes));

    let packs: Vec<(u32, Vec<(Id, Loc)>)> = by_pack.into_iter().collect();
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let readers = src.store().parallelism();
    let (tx, rx) = std::sync::mpsc::sync_channel::<Option<Blob>>(2 * readers);
    let failed: Mutex<Option<BackupError>> = Mutex::new(None);
    let packed = std::thread::scope(|s| {
        let writer = s.spawn(|| packer(dst, rx, dst.store().parallelism()));
        let workers: Vec<_> = (0..readers)
            .map(|_| {
                let tx = tx.clone();
                let (next, stop, failed, packs, src_index) =
                    (&next, &stop, &failed, &packs, &src_index);
                s.spawn(move || {
                    while let Some((pack, blobs)) = packs.get(next.fetch_add(1, Ordering::Relaxed))
                    {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        let name = src_index.packs[*pack as usize].as_str();
                        for span in crate::fetch::spans(blobs.clone()) {
                            let r = crate::fetch::read_span(src, name, &span, |id, loc, sealed| {
                                let place = format!("pack {name}");
                                let plain = src.open_blob_stored(id, sealed, &place)?;
                                let mut buf = vec![0u8; dst.keys.prefix_len()];
                                buf.extend_from_slice(&plain);
                                let blob = Blob {
                                    id: *id,
                                    sealed: dst.keys.seal_reserved(buf, &dst.keys.blob_ad(id)),
                                    raw_len: loc.raw_len as u64,
                                };
                                tx.send(Some(blob))
                                    .map_err(|_| BackupError::Stopped("pack writer"))?;
                                progress.advance(loc.raw_len as u64);
                                Ok(())
                            });
                            if let Err(e) = r {
                                failed.lock().expect("not poisoned").get_or_insert(e);
                                // The others stop at their next pack.
                                stop.store(true, Ordering::Relaxed);
                                return;
                            }
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().expect("copy readers do not panic");
        }
        let _ = tx.send(None);
        writer.join().expect("the packer does not panic")
    });
    // A writer failure shows up in the readers as "the pack writer stopped": report the cause.
    let packed = packed?;
    if let Some(e) = failed.into_inner().expect("not poisoned") {
        return Err(e);
    }
    let mut copied = Vec::new();
    for l in todo {
        // The same plaintext gives the same id: the snapshot keeps its name everywhere.
        let id = dst.save("snapshots", &l.file)?;
        if id != l.id {
            return Err(BackupError::Integrity(format!(
                "snapshot {} re-encoded to a different id {id}",
                l.id
            )));
        }
        copied.push(l.id.clone());
    }
    Ok(CopyReport {
        copied,
        present: present.iter().map(|l| l.id.clone()).collect(),
        chunks,
        bytes,
        stored_bytes: packed.stored,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The snapshots `copy` acts on: the named ones, or all.
pub fn choose<'a>(all: &'a [Listed], names: &[String]) -> Result<Vec<&'a Listed>> {
    if names.is_empty() {
        return Ok(all.iter().collect());
    }
    let mut out: Vec<&Listed> = Vec::new();
    for n in names {
        let l = snapshots::select(all, n)?;
        if !out.iter().any(|o| o.id == l.id) {
            out.push(l);
        }
    }
    Ok(out)
}
