//! The write side of the pipeline: chunk → hash → compress (or not) → seal (on worker threads), then
//! pack (one thread) → store. A pack is `magic ‖ blobs ‖ sealed header ‖ u32 LE header
//! length`; its id is the BLAKE3 of all of it.
use std::collections::HashSet;
use std::io::Read;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};

use crate::crypto::Id;
use crate::error::{BackupError, Result};
use crate::format::*;
use crate::progress::Progress;
use crate::repo::{Index, Repository};
use crate::sniff::{Codec, Hint};

pub struct Blob {
    pub id: Id,
    pub sealed: Vec<u8>,
    pub raw_len: u64,
}

/// The blob a chunk is stored as: zstd unless that saves under 1/16, then sealed. `hint`
/// (what the chunk's file said about itself, `sniff`) decides how hard to try first: blocks
/// an engine entropy-coded already are stored raw outright; snappy/LZ4 table blocks and
/// anything unknown first get a trial on a sample, and raw they stay where it saves little.
pub fn encode_blob(repo: &Repository, id: Id, data: &[u8], level: Level, hint: Hint) -> Blob {
    let z = match plan(data, level, hint) {
        Some(l) => with_zstd(l, |c| c.compress(data).expect("zstd compresses in memory")),
        None => Vec::new(),
    };
    let keep_raw = z.is_empty() || z.len() >= data.len() - data.len() / 16;
    let payload: &[u8] = if keep_raw { data } else { &z };
    // Room for the nonce in front and the tag behind, so sealing works in place.
    let prefix = repo.keys.prefix_len();
    let mut buf = Vec::with_capacity(prefix + 1 + payload.len() + 16);
    buf.resize(prefix, 0);
    buf.push(if keep_raw { BLOB_RAW } else { BLOB_ZSTD });
    buf.extend_from_slice(payload);
    Blob {
        id,
        sealed: repo.keys.seal_reserved(buf, &repo.keys.blob_ad(&id)),
        raw_len: data.len() as u64,
    }
}

/// The zstd levels a backup uses.
#[derive(Debug, Clone, Copy)]
pub struct Level {
    /// For data nothing is known about, and for tables stored uncompressed.
    pub normal: i32,
    /// For snappy/LZ4 table blocks. On real LevelDB/RocksDB tables (scripts/bench) level 2
    /// stores 2–3 % more than level 3 at about the CPU of level 1 (half of level 3's);
    /// level 1 stores 4–6 % more than level 2. What is left to gain there is mostly the entropy coding those
    /// codecs lack, which every level does.
    pub lz_tables: i32,
}

impl Level {
    /// `--zstd-level`, when given, is used for everything.
    pub fn new(configured: Option<i32>) -> Level {
        Level {
            normal: configured.unwrap_or(3),
            lz_tables: configured.unwrap_or(2),
        }
    }
}

/// Chunks up to this size are compressed without a trial (the trial would cost as much).
const TRIAL_MIN: usize = 256 << 10;
/// The sample the trial compresses, from the middle of the chunk (the start of a file is
/// often a header unlike the rest).
const TRIAL_SAMPLE: usize = 64 << 10;

/// The level to compress `data` at, or `None` to store it raw without trying.
fn plan(data: &[u8], level: Level, hint: Hint) -> Option<i32> {
    let l = match hint {
        Hint::Engine(Codec::Entropy) => return None,
        Hint::Engine(Codec::Lz) => level.lz_tables,
        Hint::Plain => return Some(level.normal),
        Hint::Unknown => level.normal,
    };
    if data.len() >= TRIAL_MIN {
        let mid = (data.len() - TRIAL_SAMPLE) / 2;
        let sample = &data[mid..mid + TRIAL_SAMPLE];
        let z = with_zstd(1, |c| c.compress(sample).map_or(usize::MAX, |z| z.len()));
        // Level 1 on a sample sees less than the real pass; only a clear miss skips it.
        if z >= sample.len() - sample.len() / 32 {
            return None;
        }
    }
    Some(l)
}

fn with_zstd<T>(level: i32, f: impl FnOnce(&mut zstd::bulk::Compressor<'static>) -> T) -> T {
    ZSTD.with(|c| {
        let mut c = c.borrow_mut();
        let i = match c.iter().position(|(l, _)| *l == level) {
            Some(i) => i,
            None => {
                let fresh = zstd::bulk::Compressor::new(level).expect("zstd level is valid");
                c.push((level, fresh));
                c.len() - 1
            }
        };
        f(&mut c[i].1)
    })
}

thread_local! {
    /// Compression contexts per worker thread, one per level used (the trial's and the
    /// real pass's): a fresh context per chunk costs an allocation and a table reset.
    static ZSTD: std::cell::RefCell<Vec<(i32, zstd::bulk::Compressor<'static>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Cuts readers into chunks and hands new ones to the packer. Shared by the worker threads.
pub struct Ingest<'a> {
    pub repo: &'a Repository,
    pub index: &'a Index,
    pub claimed: Mutex<HashSet<Id>>,
    /// `None` tells the packer that no more blobs come.
    pub tx: SyncSender<Option<Blob>>,
    pub progress: &'a dyn Progress,
    pub level: Level,
}

impl Ingest<'_> {
    /// Lets the packer flush its last pack and return.
    pub fn finish(&self) {
        let _ = self.tx.send(None);
    }

    /// One chunk of data: its id, and the blob if nobody has stored it yet.
    fn chunk(&self, data: &[u8], hint: Hint) -> Result<String> {
        let id = self.repo.keys.chunk_id(data);
        let new = !self.index.chunks.contains_key(&id)
            && self.claimed.lock().expect("not poisoned").insert(id);
        if new {
            let blob = encode_blob(self.repo, id, data, self.level, hint);
            self.tx
                .send(Some(blob))
                .map_err(|_| BackupError::Stopped("pack writer"))?;
        }
        self.progress.advance(data.len() as u64);
        Ok(hex(&id))
    }

    /// Small inputs are one chunk; large tables are cut in fixed pieces and anything else
    /// large goes through FastCDC. Returns the chunk ids and
    /// the bytes actually read (a live file may have grown or shrunk since it was listed).
    pub fn read(
        &self,
        mut r: impl Read,
        size_hint: Option<u64>,
        hint: Hint,
        what: &str,
    ) -> Result<(Vec<String>, u64)> {
        let p = self.repo.config.chunker;
        if let Some(n) = size_hint.filter(|&n| n <= p.small_file) {
            let mut buf = Vec::with_capacity(n as usize);
            r.read_to_end(&mut buf)
                .map_err(|e| BackupError::io(what, e))?;
            return if buf.is_empty() {
                Ok((Vec::new(), 0))
            } else {
                Ok((vec![self.chunk(&buf, hint)?], buf.len() as u64))
            };
        }
        let mut out = Vec::new();
        let mut total = 0u64;
        if matches!(hint, Hint::Engine(_) | Hint::Plain) {
            // A table is immutable once written and a compaction writes new content, never
            // shifted old content: content-defined cuts find nothing to share that fixed
            // ones miss (a copy of the table still yields the same chunks), and cost a gear
            // hash over every byte (6 % of a first backup's CPU on RocksDB tables).
            let mut buf = vec![0u8; p.max as usize];
            loop {
                let n = read_full(&mut r, &mut buf).map_err(|e| BackupError::io(what, e))?;
                if n == 0 {
                    break;
                }
                total += n as u64;
                out.push(self.chunk(&buf[..n], hint)?);
                if n < buf.len() {
                    break;
                }
            }
            return Ok((out, total));
        }
        for c in fastcdc::v2020::StreamCDC::new(r, p.min, p.avg, p.max) {
            let c = c.map_err(|e| match e {
                fastcdc::v2020::Error::IoError(e) => BackupError::io(what, e),
                e => BackupError::io(what, std::io::Error::other(e.to_string())),
            })?;
            total += c.data.len() as u64;
            out.push(self.chunk(&c.data, hint)?);
        }
        Ok((out, total))
    }
}

/// Fills `buf` as far as the reader goes; the count is short only at its end.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// What the packer stored: every pack it indexed, and their bytes.
pub struct Packed {
    pub packs: Vec<IndexPack>,
    pub stored: u64,
}

/// Packs stored before they are indexed: an index file (a checkpoint) is written after this
/// many, or after `CHECKPOINT_EVERY`, so a killed backup loses at most that much upload.
const CHECKPOINT_PACKS: usize = 8;
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// Collects blobs into packs of about `pack_size` bytes and stores each one on `uploaders`
/// threads, so a slow `put` (fsync, or a network round trip) overlaps with packing instead
/// of stalling the workers. Stored packs are indexed in checkpoints as they complete; runs
/// on its own thread until told that no more blobs come.
pub fn packer(repo: &Repository, rx: Receiver<Option<Blob>>, uploaders: usize) -> Result<Packed> {
    let (up_tx, up_rx) = std::sync::mpsc::sync_channel::<(IndexPack, Vec<u8>)>(1);
    let up_rx = Mutex::new(up_rx);
    let book = Mutex::new(Checkpoints {
        pending: Vec::new(),
        done: Vec::new(),
        since: std::time::Instant::now(),
    });
    // Set by a failed uploader. It then drains the channel, so the packer never blocks
    // on a full one that nobody reads, and the packer stops at its next pack.
    let failed = AtomicBool::new(false);
    let (packed, err) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..uploaders.max(1))
            .map(|_| {
                s.spawn(|| -> Result<()> {
                    let r = (|| loop {
                        let job = up_rx.lock().expect("not poisoned").recv();
                        let Ok((entry, data)) = job else {
                            return Ok(());
                        };
                        repo.put(&pack_key(&entry.id), data)?;
                        let mut b = book.lock().expect("not poisoned");
                        b.pending.push(entry);
                        if b.pending.len() >= CHECKPOINT_PACKS
                            || b.since.elapsed() >= CHECKPOINT_EVERY
                        {
                            b.flush(repo)?;
                        }
                    })();
                    if r.is_err() {
                        failed.store(true, Ordering::Relaxed);
                        while up_rx.lock().expect("not poisoned").recv().is_ok() {}
                    }
                    r
                })
            })
            .collect();
        let packed = pack_all(repo, rx, &up_tx, &failed);
        drop(up_tx);
        let mut err = None;
        for u in workers {
            if let Err(e) = u.join().expect("uploaders do not panic") {
                err.get_or_insert(e);
            }
        }
        (packed, err)
    });
    // Index what did get stored even when something failed: the re-run reuses it.
    let mut b = book.into_inner().expect("not poisoned");
    let flushed = b.flush(repo);
    match (packed, err, flushed) {
        (Ok(stored), None, Ok(())) => Ok(Packed {
            packs: b.done,
            stored,
        }),
        // An uploader's error is the cause; the packer's ("stopped") its consequence.
        (_, Some(e), _) | (Err(e), _, _) | (_, _, Err(e)) => Err(e),
    }
}

struct Checkpoints {
    pending: Vec<IndexPack>,
    done: Vec<IndexPack>,
    since: std::time::Instant,
}

impl Checkpoints {
    fn flush(&mut self, repo: &Repository) -> Result<()> {
        if !self.pending.is_empty() {
            let file = IndexFile {
                packs: std::mem::take(&mut self.pending),
            };
            repo.save("index", &file)?;
            self.done.extend(file.packs);
        }
        self.since = std::time::Instant::now();
        Ok(())
    }
}

fn pack_all(
    repo: &Repository,
    rx: Receiver<Option<Blob>>,
    up: &SyncSender<(IndexPack, Vec<u8>)>,
    failed: &AtomicBool,
) -> Result<u64> {
    let mut stored = 0u64;
    let mut cur = PackBuf::new();
    let stopped = || BackupError::Stopped("pack uploader");
    let mut send = |buf: PackBuf| -> Result<()> {
        if failed.load(Ordering::Relaxed) {
            return Err(stopped());
        }
        let (entry, data) = buf.seal(repo);
        stored += entry.size;
        up.send((entry, data)).map_err(|_| stopped())
    };
    while let Ok(Some(blob)) = rx.recv() {
        cur.add(blob);
        if cur.data.len() as u64 >= repo.config.pack_size {
            send(std::mem::take(&mut cur))?;
        }
    }
    if !cur.blobs.is_empty() {
        send(cur)?;
    }
    Ok(stored)
}

pub struct PackBuf {
    data: Vec<u8>,
    blobs: Vec<BlobEntry>,
}

impl PackBuf {
    pub fn new() -> PackBuf {
        PackBuf {
            data: PACK_MAGIC.to_vec(),
            blobs: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }

    pub fn len(&self) -> u64 {
        self.data.len() as u64
    }

    pub fn add(&mut self, blob: Blob) {
        self.add_sealed(hex(&blob.id), &blob.sealed, blob.raw_len);
    }

    pub fn add_sealed(&mut self, id: String, sealed: &[u8], raw_len: u64) {
        self.blobs.push(BlobEntry {
            id,
            offset: self.data.len() as u64,
            length: sealed.len() as u64,
            raw_len,
        });
        self.data.extend_from_slice(sealed);
    }

    /// Appends the header; returns the pack's index entry and its bytes.
    pub fn seal(mut self, repo: &Repository) -> (IndexPack, Vec<u8>) {
        let header = serde_json::to_vec(&self.blobs).expect("blob list serialises");
        let sealed = repo.keys.seal_header(header);
        self.data.extend_from_slice(&sealed);
        self.data
            .extend_from_slice(&(sealed.len() as u32).to_le_bytes());
        let id = pack_id(&sealed);
        let entry = IndexPack {
            id,
            size: self.data.len() as u64,
            blobs: self.blobs,
        };
        (entry, self.data)
    }

    /// Seals and stores the pack; returns its index entry.
    pub fn finish(self, repo: &Repository) -> Result<IndexPack> {
        let (entry, data) = self.seal(repo);
        repo.put(&pack_key(&entry.id), data)?;
        Ok(entry)
    }
}

impl Default for PackBuf {
    fn default() -> Self {
        PackBuf::new()
    }
}

/// A pack's id is the BLAKE3 of its sealed header, which names every blob by content id and
/// offset: unique per content without hashing the whole pack a second time.
pub fn pack_id(sealed_header: &[u8]) -> String {
    hex(blake3::hash(sealed_header).as_bytes())
}

/// The sealed header of a whole pack, from its trailer.
pub fn pack_header(pack: &[u8]) -> Option<&[u8]> {
    let n = pack.len().checked_sub(4)?;
    let len = u32::from_le_bytes(pack[n..].try_into().ok()?) as usize;
    pack.get(n.checked_sub(len)?..n)
}
