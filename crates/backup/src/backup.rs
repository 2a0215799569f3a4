//! `backup`: walk, reuse what the parent snapshot already has, chunk the rest on every core,
//! then write packs, the index and finally the snapshot (data before index before snapshot:
//! a visible snapshot is complete).
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;

use crate::error::{BackupError, Result};
use crate::format::*;
use crate::lock::Lock;
use crate::pack::{Ingest, Level, packer};
use crate::progress::Progress;
use crate::repo::Repository;
use crate::snapshots::{self, display_name};
use crate::walk::{Selection, walk};

/// What is being backed up and what the chain said about it.
#[derive(Debug, Clone)]
pub struct Source {
    /// The directory read (the freeze dir, or the `--hot` path).
    pub root: PathBuf,
    /// Shown in the snapshot (the node's data dir, not the freeze dir).
    pub origin: String,
    pub node: String,
    pub kind: String,
    pub height: Option<u64>,
    pub head_hash: Option<String>,
    pub downtime: Option<Duration>,
    pub freeze: Option<String>,
}

#[derive(Default)]
pub struct Options {
    pub time: Option<DateTime<Utc>>,
    pub sign: Option<SigningKey>,
    pub selection: Selection,
    /// PostgreSQL URLs to dump into the snapshot.
    pub pg: Vec<String>,
    pub threads: Option<usize>,
    pub zstd_level: Option<i32>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub id: String,
    pub name: String,
    pub files: u64,
    pub files_read: u64,
    pub size_bytes: u64,
    pub bytes_read: u64,
    pub new_chunks: u64,
    pub stored_bytes: u64,
    pub seconds: f64,
    pub skipped: Vec<String>,
    pub signed_by: Option<String>,
}

pub fn backup(
    repo: &Repository,
    src: &Source,
    opts: &Options,
    progress: &dyn Progress,
) -> Result<Report> {
    let started = Instant::now();
    let _lock = Lock::shared(repo, &format!("backup {}", src.node), progress)?;
    let time = opts.time.unwrap_or_else(Utc::now);
    let all = snapshots::list_noting(repo, progress)?;
    let parent = all
        .iter()
        .rev()
        .find(|s| s.snapshot.node == src.node && s.snapshot.kind == src.kind);
    let mut index = repo.load_index()?;
    note_unreadable(&index, progress);
    crate::resume::adopt_orphans(repo, &mut index, progress)?;

    let (mut entries, skipped) = walk(&src.root, &opts.selection)?;
    let by_path: HashMap<&str, &Entry> = parent
        .map(|p| {
            p.snapshot
                .tree
                .iter()
                .map(|e| (e.path.as_str(), e))
                .collect()
        })
        .unwrap_or_default();
    let mut jobs = Vec::new();
    for (i, e) in entries.iter_mut().enumerate() {
        if e.kind != EntryKind::File {
            continue;
        }
        match by_path.get(e.path.as_str()) {
            Some(p) if unchanged(p, e) && p.chunks.iter().all(|c| known(&index, c)) => {
                e.chunks = p.chunks.clone();
            }
            _ => jobs.push(i),
        }
    }
    let to_read: u64 = jobs.iter().map(|&i| entries[i].size).sum();
    progress.phase("backup", Some(to_read));

    let threads = opts
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let (tx, rx) = std::sync::mpsc::sync_channel(2 * threads);
    let ingest = Ingest {
        repo,
        index: &index,
        claimed: Mutex::new(Default::default()),
        tx,
        progress,
        level: Level::new(opts.zstd_level),
    };
    let next = AtomicUsize::new(0);
    type Read = Option<(Vec<String>, u64)>;
    let results: Mutex<Vec<(usize, Read)>> = Mutex::new(Vec::new());
    let mut pg_dumps = Vec::new();
    let (packed, worker_err) = std::thread::scope(|s| {
        let packer = s.spawn(|| packer(repo, rx, repo.store().parallelism()));
        let mut workers = Vec::new();
        for _ in 0..threads {
            workers.push(s.spawn(|| -> Result<()> {
                loop {
                    let j = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&i) = jobs.get(j) else { return Ok(()) };
                    let path = src.root.join(&entries[i].path);
                    let chunks = match File::open(&path) {
                        Ok(f) => {
                            let size = entries[i].size;
                            let hint = crate::sniff::table(&crate::sniff::SizedFile(&f, size));
                            let what = path.display().to_string();
                            Some(ingest.read(f, Some(size), hint, &what)?)
                        }
                        // Gone since the walk (a live dir compacting): leave it out.
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                        Err(e) => return Err(BackupError::io(&path, e)),
                    };
                    results.lock().expect("not poisoned").push((i, chunks));
                }
            }));
        }
        let mut err = None;
        for w in workers {
            if let Err(e) = w.join().expect("worker threads do not panic") {
                err.get_or_insert(e);
            }
        }
        if err.is_none() {
            for url in &opts.pg {
                match crate::pg::dump(url, &ingest) {
                    Ok(d) => pg_dumps.push(d),
                    Err(e) => {
                        err.get_or_insert(e);
                        break;
                    }
                }
            }
        }
        ingest.finish();
        (packer.join().expect("the packer does not panic"), err)
    });
    // A failed upload stops the packer, and the workers then fail with "the pack writer
    // stopped": report the packer's error, the cause, first.
    let packed = packed?;
    if let Some(e) = worker_err {
        return Err(e);
    }
    let stored_bytes = packed.stored;
    let new_chunks = packed.packs.iter().map(|p| p.blobs.len() as u64).sum();

    let mut vanished = std::collections::HashSet::new();
    let files_read = results.lock().expect("not poisoned").len() as u64;
    for (i, chunks) in results.into_inner().expect("not poisoned") {
        match chunks {
            Some((c, size)) => {
                entries[i].chunks = c;
                entries[i].size = size;
            }
            None => {
                vanished.insert(i);
            }
        }
    }
    let entries: Vec<Entry> = entries
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !vanished.contains(i))
        .map(|(_, e)| e)
        .collect();
    let files = entries.iter().filter(|e| e.kind == EntryKind::File).count() as u64;
    let size_bytes = entries.iter().map(|e| e.size).sum::<u64>()
        + pg_dumps.iter().map(|d: &PgDump| d.size).sum::<u64>();
    let snapshot = Snapshot {
        version: repo.config.version,
        time: time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        node: src.node.clone(),
        kind: src.kind.clone(),
        height: src.height,
        head_hash: src.head_hash.clone(),
        hostname: crate::lock::hostname(),
        source: src.origin.clone(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        parent: parent.map(|p| p.id.clone()),
        size_bytes,
        files,
        downtime_ms: src.downtime.map(|d| d.as_millis() as u64),
        duration_ms: Some(started.elapsed().as_millis() as u64),
        freeze: src.freeze.clone(),
        repository: Some(repo.config.family().to_string()),
        tree: entries,
        pg: pg_dumps,
    };
    let body = serde_json::to_string(&snapshot).expect("snapshot serialises");
    let signature = opts.sign.as_ref().map(|k| snapshots::sign(&body, k));
    let signed_by = signature.as_ref().map(|s| s.public_key.clone());
    let id = repo.save("snapshots", &SnapshotFile { body, signature })?;
    Ok(Report {
        name: display_name(&snapshot, &time),
        id,
        files,
        files_read,
        size_bytes,
        bytes_read: to_read,
        new_chunks,
        stored_bytes,
        seconds: started.elapsed().as_secs_f64(),
        skipped,
        signed_by,
    })
}

/// Damaged index files are skipped: their chunks are stored again if needed.
pub(crate) fn note_unreadable(index: &crate::repo::Index, progress: &dyn Progress) {
    for (key, e) in &index.unreadable {
        progress.note(&format!("skipping unreadable {key}: {e}"));
    }
}

fn unchanged(p: &Entry, e: &Entry) -> bool {
    p.kind == EntryKind::File && p.size == e.size && p.mtime_ns == e.mtime_ns && p.inode == e.inode
}

fn known(index: &crate::repo::Index, chunk: &str) -> bool {
    parse_id(chunk).is_some_and(|id| index.chunks.contains_key(&id))
}

/// For callers that only have a path (`--hot`).
pub fn hot_source(path: &Path, node: Option<&str>) -> Result<Source> {
    let root = std::fs::canonicalize(path)
        .map_err(|e| BackupError::Input(format!("{}: {e}", path.display())))?;
    let node = match node {
        Some(n) => n.to_string(),
        None => root
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("dir")
            .to_string(),
    };
    Ok(Source {
        origin: root.display().to_string(),
        root,
        node,
        kind: "dir".into(),
        height: None,
        head_hash: None,
        downtime: None,
        freeze: None,
    })
}
