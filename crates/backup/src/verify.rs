//! `verify`: structure (every referenced chunk indexed, every indexed pack present and big
//! enough), and with `read_data` every blob of the chosen packs re-read and re-hashed.
//! Damage is reported per snapshot and file.
use std::collections::{BTreeSet, HashMap, HashSet};

use crate::crypto::Id;
use crate::error::Result;
use crate::format::*;
use crate::progress::Progress;
use crate::repo::Repository;
use crate::snapshots;

/// What `verify --json` prints and the dashboard shows; `ok` and `read_data` are derived
/// but serialised, so readers need no rules of their own.
#[derive(Debug, Default, serde::Serialize)]
pub struct VerifyReport {
    pub ok: bool,
    /// Whether blobs were read back (`--read-data` or a subset), or only the structure checked.
    pub read_data: bool,
    pub snapshots: usize,
    pub packs: usize,
    pub packs_read: usize,
    pub chunks: usize,
    pub chunks_read: usize,
    /// One line per problem.
    pub problems: Vec<String>,
    /// `snapshot-name: path` for every file touched by a problem.
    pub damaged: Vec<String>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A blob to re-read: its id, offset and length in its pack.
type Listed<'a> = (&'a Id, u64, u32);

/// `read_fraction`: `None` for structure only, `Some(1.0)` for every pack.
pub fn verify(
    repo: &Repository,
    read_fraction: Option<f64>,
    progress: &dyn Progress,
) -> Result<VerifyReport> {
    let mut r = VerifyReport::default();
    // Every snapshot and index object is opened and checked against its name here.
    let (all, unreadable) = snapshots::scan(repo)?;
    let index = repo.load_index()?;
    for u in &unreadable {
        r.problems.push(u.error.clone());
    }
    for (_, e) in &index.unreadable {
        r.problems.push(e.clone());
    }
    r.snapshots = all.len() + unreadable.len();
    r.packs = index.packs.len();
    r.chunks = index.chunks.len();
    let present: HashMap<String, u64> = repo
        .list("packs/")?
        .into_iter()
        .filter_map(|m| Some((m.key.rsplit('/').next()?.to_string(), m.size)))
        .collect();
    let mut bad: HashSet<Id> = HashSet::new();
    let mut max_end = vec![0u64; index.packs.len()];
    for loc in index.chunks.values() {
        let end = loc.offset.saturating_add(loc.length as u64);
        max_end[loc.pack as usize] = max_end[loc.pack as usize].max(end);
    }
    let mut bad_packs = HashSet::new();
    for (i, p) in index.packs.iter().enumerate() {
        match present.get(p) {
            None => {
                r.problems.push(format!("pack {p} is indexed but missing"));
                bad_packs.insert(i as u32);
            }
            Some(&size) if size < max_end[i] || size != index.pack_sizes[i] => {
                r.problems.push(format!(
                    "pack {p} has {size} bytes, the index says {}",
                    index.pack_sizes[i]
                ));
                bad_packs.insert(i as u32);
            }
            _ => {}
        }
    }
    for (id, loc) in &index.chunks {
        if bad_packs.contains(&loc.pack) {
            bad.insert(*id);
        }
    }
    if let Some(fraction) = read_fraction {
        let mut order: Vec<usize> = (0..index.packs.len())
            .filter(|i| !bad_packs.contains(&(*i as u32)))
            .collect();
        // A fresh random subset each run, so repeated partial checks cover everything.
        let key: [u8; 32] = crate::crypto::random();
        order.sort_by_key(|&i| *blake3::keyed_hash(&key, index.packs[i].as_bytes()).as_bytes());
        let n = ((order.len() as f64 * fraction).ceil() as usize).min(order.len());
        let chosen: HashSet<u32> = order[..n].iter().map(|&i| i as u32).collect();
        let mut by_pack: HashMap<u32, Vec<Listed>> = HashMap::new();
        for (id, loc) in &index.chunks {
            if chosen.contains(&loc.pack) {
                by_pack
                    .entry(loc.pack)
                    .or_default()
                    .push((id, loc.offset, loc.length));
            }
        }
        progress.phase(
            "verify",
            Some(chosen.iter().map(|&p| index.pack_sizes[p as usize]).sum()),
        );
        // Packs are read on `parallelism()` threads: on S3 one pack at a time would leave
        // the link idle between requests.
        let jobs: Vec<(&u32, &Vec<Listed>)> = by_pack.iter().collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let found = std::sync::Mutex::new((Vec::<String>::new(), Vec::<Id>::new(), 0usize));
        std::thread::scope(|s| {
            for _ in 0..repo.store().parallelism().min(jobs.len()).max(1) {
                s.spawn(|| {
                    let mut buf = Vec::new();
                    while let Some(&(&pack, blobs)) =
                        jobs.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                    {
                        let (problems, damaged, chunks) =
                            check_pack(repo, &index, pack, blobs, &mut buf);
                        let mut f = found.lock().expect("not poisoned");
                        f.0.extend(problems);
                        f.1.extend(damaged);
                        f.2 += chunks;
                        drop(f);
                        progress.advance(index.pack_sizes[pack as usize]);
                    }
                });
            }
        });
        let (problems, damaged, chunks_read) = found.into_inner().expect("not poisoned");
        r.packs_read += jobs.len();
        r.chunks_read += chunks_read;
        r.problems.extend(problems);
        bad.extend(damaged);
    }
    let mut damaged = BTreeSet::new();
    for s in &all {
        let name = s.name();
        let check = |chunks: &[String],
                     path: &str,
                     damaged: &mut BTreeSet<String>,
                     problems: &mut Vec<String>| {
            for c in chunks {
                match parse_id(c) {
                    Some(id) if !index.chunks.contains_key(&id) => {
                        problems.push(format!(
                            "snapshot {name}: {path}: chunk {c} is not in the index"
                        ));
                        damaged.insert(format!("{name}: {path}"));
                        return;
                    }
                    Some(id) if bad.contains(&id) => {
                        damaged.insert(format!("{name}: {path}"));
                        return;
                    }
                    None => {
                        problems.push(format!("snapshot {name}: {path}: bad chunk id {c}"));
                        return;
                    }
                    _ => {}
                }
            }
        };
        for e in &s.snapshot.tree {
            check(&e.chunks, &e.path, &mut damaged, &mut r.problems);
        }
        for d in &s.snapshot.pg {
            check(
                &d.chunks,
                &format!("pg:{}", d.database),
                &mut damaged,
                &mut r.problems,
            );
        }
    }
    r.damaged = damaged.into_iter().collect();
    r.ok = r.problems.is_empty();
    r.read_data = read_fraction.is_some();
    Ok(r)
}

/// Reads one pack whole and re-opens every listed blob: (problems, damaged chunk ids,
/// chunks read).
fn check_pack(
    repo: &Repository,
    index: &crate::repo::Index,
    pack: u32,
    blobs: &[Listed],
    buf: &mut Vec<u8>,
) -> (Vec<String>, Vec<Id>, usize) {
    let name = &index.packs[pack as usize];
    let place = format!("pack {name}");
    let data = match repo.get(&pack_key(name)) {
        Ok(d) => d,
        Err(e) => {
            return (
                vec![format!("pack {name}: {e}")],
                blobs.iter().map(|b| *b.0).collect(),
                0,
            );
        }
    };
    let mut problems = Vec::new();
    let mut damaged = Vec::new();
    if !data.starts_with(PACK_MAGIC)
        || crate::pack::pack_header(&data)
            .map(crate::pack::pack_id)
            .as_deref()
            != Some(name.as_str())
    {
        problems.push(format!("pack {name}: content does not match its id"));
    }
    for &(id, off, len) in blobs {
        let slice = usize::try_from(off)
            .ok()
            .and_then(|o| data.get(o..o.checked_add(len as usize)?))
            .unwrap_or(&[]);
        if let Err(e) = repo.open_blob_into(id, slice, &place, buf) {
            problems.push(e.to_string());
            damaged.push(*id);
        }
    }
    (problems, damaged, blobs.len())
}
