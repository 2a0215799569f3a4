//! Disk figures on the data dir's filesystem, each the twin of a common fio job so the two
//! can be compared (scripts/bench/probe.sh):
//! * fsync latency: 2300-byte appends, each followed by `fdatasync`, timing the sync — the
//!   etcd recipe (`fio --rw=write --ioengine=sync --fdatasync=1 --bs=2300`);
//! * sequential write / read: 1 MiB blocks, O_DIRECT, one at a time (`--bs=1M --direct=1
//!   --ioengine=psync --end_fsync=1`);
//! * random read: 4 KiB at random aligned offsets, O_DIRECT, queue depth 1
//!   (`--rw=randread --bs=4k --direct=1 --ioengine=psync`).
//!
//! Where O_DIRECT is refused (tmpfs, some FUSE and overlay setups) the same jobs run through
//! the page cache, dropping the file from it (`posix_fadvise(DONTNEED)`) before reading,
//! and the report says so.
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::ProbeError;

const FSYNC_BLOCK: usize = 2300;
const SEQ_BLOCK: usize = 1 << 20;
const RAND_BLOCK: usize = 4096;
const ALIGN: usize = 4096;

/// Sizes and time limits of one run.
#[derive(Debug, Clone, Copy)]
pub struct DiskPlan {
    pub fsync_ops: usize,
    pub fsync_time: Duration,
    pub file_bytes: u64,
    pub seq_time: Duration,
    pub rand_time: Duration,
}

/// A directory of scratch files under the data dir, removed on drop (also when the probe
/// is cancelled by a signal, which makes every loop return early).
pub struct Scratch {
    dir: PathBuf,
}

const SCRATCH_PREFIX: &str = ".nodewarden-probe-";

/// This process's scratch dir under `data_dir`: a fixed name, so a caller that must exit
/// before the probe thread finishes can still remove it.
pub fn scratch_path(data_dir: &Path) -> PathBuf {
    data_dir.join(format!("{SCRATCH_PREFIX}{}", std::process::id()))
}

impl Scratch {
    pub fn create(data_dir: &Path) -> Result<Scratch, ProbeError> {
        remove_orphans(data_dir);
        let dir = scratch_path(data_dir);
        std::fs::create_dir_all(&dir).map_err(|e| ProbeError::io(&dir, e))?;
        Ok(Scratch { dir })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Scratch dirs of probes that were killed outright (SIGKILL, power loss): their pid no
/// longer runs, so nobody else will remove them.
fn remove_orphans(data_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(data_dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(SCRATCH_PREFIX))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// A buffer aligned for O_DIRECT, in safe code: over-allocate and start at the aligned byte.
struct Aligned {
    buf: Vec<u8>,
    off: usize,
    len: usize,
}

impl Aligned {
    fn new(len: usize, seed: u64) -> Aligned {
        let mut buf = vec![0u8; len + ALIGN];
        let off = (ALIGN - buf.as_ptr() as usize % ALIGN) % ALIGN;
        // Incompressible content, so no layer below can cheat with compression or dedup.
        let mut x = seed | 1;
        for b in buf.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        Aligned { buf, off, len }
    }
    fn get(&self) -> &[u8] {
        &self.buf[self.off..self.off + self.len]
    }
    fn get_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.off..self.off + self.len]
    }
}

fn cancelled(cancel: &AtomicBool) -> Result<(), ProbeError> {
    if cancel.load(Ordering::Relaxed) {
        Err(ProbeError::Cancelled)
    } else {
        Ok(())
    }
}

/// Latencies of `fdatasync` after small appends, in milliseconds, sorted.
pub fn fsync_latencies(
    dir: &Path,
    plan: &DiskPlan,
    cancel: &AtomicBool,
) -> Result<Vec<f64>, ProbeError> {
    let path = dir.join("fsync.dat");
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .map_err(|e| ProbeError::io(&path, e))?;
    let block = Aligned::new(FSYNC_BLOCK, 7);
    let start = Instant::now();
    let mut lat = Vec::with_capacity(plan.fsync_ops.min(1 << 16));
    for i in 0..plan.fsync_ops {
        cancelled(cancel)?;
        f.write_all_at(block.get(), (i * FSYNC_BLOCK) as u64)
            .map_err(|e| ProbeError::io(&path, e))?;
        let t = Instant::now();
        f.sync_data().map_err(|e| ProbeError::io(&path, e))?;
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
        if start.elapsed() > plan.fsync_time && lat.len() >= 20 {
            break;
        }
    }
    drop(f);
    let _ = std::fs::remove_file(&path);
    lat.sort_by(f64::total_cmp);
    Ok(lat)
}

/// The value below which `p` percent of the sorted samples lie (nearest rank, as fio).
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn open(path: &Path, write: bool, direct: bool) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.read(true);
    if write {
        o.write(true).create(true).truncate(true);
    }
    if direct {
        o.custom_flags(libc::O_DIRECT);
    }
    o.open(path)
}

fn drop_cache(f: &File) {
    // SAFETY: advisory call on a descriptor we own; it does not touch our memory.
    unsafe {
        libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
    }
}

/// Sequential write of up to `plan.file_bytes` (stopping at `plan.seq_time`), ending with
/// `fdatasync` inside the timing. Returns MB/s, the bytes written and whether O_DIRECT held.
pub fn seq_write(
    path: &Path,
    plan: &DiskPlan,
    cancel: &AtomicBool,
) -> Result<(f64, u64, bool), ProbeError> {
    let block = Aligned::new(SEQ_BLOCK, 11);
    let mut direct = true;
    let f = match open(path, true, true) {
        Ok(f) => f,
        Err(_) => {
            direct = false;
            open(path, true, false).map_err(|e| ProbeError::io(path, e))?
        }
    };
    let mut f = f;
    let start = Instant::now();
    let mut off = 0u64;
    while off < plan.file_bytes {
        cancelled(cancel)?;
        match f.write_all_at(block.get(), off) {
            Ok(()) => {}
            // Some filesystems accept O_DIRECT at open and refuse it at the first write.
            Err(e) if direct && off == 0 && e.raw_os_error() == Some(libc::EINVAL) => {
                direct = false;
                f = open(path, true, false).map_err(|e| ProbeError::io(path, e))?;
                continue;
            }
            Err(e) => return Err(ProbeError::io(path, e)),
        }
        off += SEQ_BLOCK as u64;
        if start.elapsed() > plan.seq_time {
            break;
        }
    }
    f.sync_data().map_err(|e| ProbeError::io(path, e))?;
    let secs = start.elapsed().as_secs_f64();
    if !direct {
        drop_cache(&f);
    }
    Ok((off as f64 / 1e6 / secs, off, direct))
}

/// Sequential read of the whole file in 1 MiB blocks; MB/s.
pub fn seq_read(
    path: &Path,
    len: u64,
    direct: bool,
    limit: Duration,
    cancel: &AtomicBool,
) -> Result<f64, ProbeError> {
    let f = open(path, false, direct).map_err(|e| ProbeError::io(path, e))?;
    if !direct {
        drop_cache(&f);
    }
    let mut block = Aligned::new(SEQ_BLOCK, 13);
    let start = Instant::now();
    let mut off = 0u64;
    while off < len {
        cancelled(cancel)?;
        let n = f
            .read_at(block.get_mut(), off)
            .map_err(|e| ProbeError::io(path, e))?;
        if n == 0 {
            break;
        }
        off += n as u64;
        if start.elapsed() > limit {
            break;
        }
    }
    Ok(off as f64 / 1e6 / start.elapsed().as_secs_f64())
}

/// Random 4 KiB reads at aligned offsets, one at a time, for `limit`; IOPS.
pub fn rand_read(
    path: &Path,
    len: u64,
    direct: bool,
    limit: Duration,
    cancel: &AtomicBool,
) -> Result<f64, ProbeError> {
    let f = open(path, false, direct).map_err(|e| ProbeError::io(path, e))?;
    if !direct {
        drop_cache(&f);
        // SAFETY: advisory call on our descriptor: no readahead, as with O_DIRECT.
        unsafe {
            libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_RANDOM);
        }
    }
    let order = shuffled_blocks(len / RAND_BLOCK as u64);
    let mut block = Aligned::new(RAND_BLOCK, 17);
    let start = Instant::now();
    let mut ops = 0usize;
    while start.elapsed() < limit {
        cancelled(cancel)?;
        for _ in 0..16 {
            let off = order[ops % order.len()] * RAND_BLOCK as u64;
            f.read_at(block.get_mut(), off)
                .map_err(|e| ProbeError::io(path, e))?;
            ops += 1;
        }
    }
    Ok(ops as f64 / start.elapsed().as_secs_f64())
}

/// Every block once, in random order (as fio's random map does): drawing with replacement
/// would re-read blocks a caching hypervisor still holds and flatter the disk.
fn shuffled_blocks(blocks: u64) -> Vec<u64> {
    let mut v: Vec<u64> = (0..blocks.max(1)).collect();
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_run_small_and_clean_up() {
        let tmp = tempfile::tempdir().unwrap();
        let cancel = AtomicBool::new(false);
        let plan = DiskPlan {
            fsync_ops: 30,
            fsync_time: Duration::from_millis(300),
            file_bytes: 4 << 20,
            seq_time: Duration::from_secs(2),
            rand_time: Duration::from_millis(200),
        };
        let dir = {
            let s = Scratch::create(tmp.path()).unwrap();
            let lat = fsync_latencies(s.path(), &plan, &cancel).unwrap();
            assert!(lat.len() >= 20 && lat.windows(2).all(|w| w[0] <= w[1]));
            let file = s.path().join("seq.dat");
            let (mb_s, bytes, direct) = seq_write(&file, &plan, &cancel).unwrap();
            assert!(mb_s > 0.0 && bytes == 4 << 20, "{mb_s} {bytes}");
            assert!(seq_read(&file, bytes, direct, plan.seq_time, &cancel).unwrap() > 0.0);
            assert!(rand_read(&file, bytes, direct, plan.rand_time, &cancel).unwrap() > 0.0);
            cancel.store(true, Ordering::Relaxed);
            assert!(matches!(
                rand_read(&file, bytes, direct, plan.rand_time, &cancel),
                Err(ProbeError::Cancelled)
            ));
            s.path().to_path_buf()
        };
        assert!(!dir.exists(), "scratch dir removed on drop");
        let orphan = tmp.path().join(format!("{SCRATCH_PREFIX}{}", u32::MAX - 1));
        std::fs::create_dir_all(&orphan).unwrap();
        drop(Scratch::create(tmp.path()).unwrap());
        assert!(!orphan.exists(), "a dead probe's scratch dir is removed");
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 50.0), Some(2.0));
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 99.0), Some(4.0));
        assert_eq!(percentile(&[], 50.0), None);
        let mut order = shuffled_blocks(1000);
        assert_ne!(order[..10], (0..10).collect::<Vec<u64>>()[..]);
        order.sort_unstable();
        assert_eq!(order, (0..1000).collect::<Vec<u64>>(), "a permutation");
    }
}
