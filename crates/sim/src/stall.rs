//! Real resource use during `cpu` and `io` stalls, so process samplers see
//! what a stalled node does: a busy core, or hard disk traffic in the data dir.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use crate::scenario::StallCause;

/// The io stall's scratch file never grows past this.
const IO_FILE_BYTES: u64 = 64 << 20;
const IO_BLOCK: usize = 1 << 20;
/// Write pace of an io stall: heavy enough to dominate a node's IO counters, light enough
/// not to wear out the disk or starve the host (unpaced it ran at 400 MB/s here).
const IO_BYTES_PER_SECOND: f64 = 48.0 * 1024.0 * 1024.0;
/// Scratch file name inside the data dir; removed when the stall ends.
pub const IO_SCRATCH: &str = ".nodewarden-sim-io-stall";

/// A running burner thread; stopping it joins the thread.
pub struct Burner {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Burner {
    /// Starts the burner for `cause`; `peers` stalls need none.
    pub fn start(cause: StallCause, data_dir: &Path) -> Option<Burner> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.to_string())
                .spawn(f)
                .map_err(|e| tracing::warn!("cannot start stall thread: {e}"))
                .ok()
        };
        let handle = match cause {
            StallCause::Peers => return None,
            StallCause::Cpu => spawn("sim-stall-cpu", Box::new(move || burn_cpu(&flag)))?,
            StallCause::Io => {
                let path = data_dir.join(IO_SCRATCH);
                spawn("sim-stall-io", Box::new(move || burn_io(&flag, path)))?
            }
        };
        Some(Burner {
            stop,
            handle: Some(handle),
        })
    }

    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Burner {
    fn drop(&mut self) {
        self.halt();
    }
}

fn burn_cpu(stop: &AtomicBool) {
    let mut buf = [0u8; 64 * 1024];
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let h = blake3::hash(&buf);
        buf[..32].copy_from_slice(h.as_bytes());
        n = n.wrapping_add(1);
    }
    std::hint::black_box(n);
}

fn burn_io(stop: &AtomicBool, path: PathBuf) {
    if let Err(e) = io_loop(stop, &path) {
        tracing::warn!("io stall on {}: {e}", path.display());
        // Keep the stall's promise of a busy node even if the disk refuses.
        burn_cpu(stop);
    }
    let _ = std::fs::remove_file(&path);
}

/// Writes and fdatasyncs 1 MiB blocks round a bounded file, then drops them
/// from the page cache and reads them back so `read_bytes` moves too.
fn io_loop(stop: &AtomicBool, path: &Path) -> std::io::Result<()> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    let mut block = vec![0u8; IO_BLOCK];
    let blocks = IO_FILE_BYTES / IO_BLOCK as u64;
    let mut i: u64 = 0;
    let started = std::time::Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let due = (i * IO_BLOCK as u64) as f64 / IO_BYTES_PER_SECOND;
        let ahead = due - started.elapsed().as_secs_f64();
        if ahead > 0.0 {
            std::thread::sleep(std::time::Duration::from_secs_f64(ahead.min(0.1)));
            continue;
        }
        // Fresh bytes each round so nothing below us can deduplicate them.
        block[..8].copy_from_slice(&i.to_le_bytes());
        blake3::Hasher::new()
            .update(&i.to_le_bytes())
            .finalize_xof()
            .fill(&mut block[8..4096]);
        let off = (i % blocks) * IO_BLOCK as u64;
        file.write_all_at(&block, off)?;
        file.sync_data()?;
        if i % 8 == 7 {
            read_back(&file, &mut block, (i % blocks + 1).min(blocks), stop)?;
        }
        i += 1;
    }
    Ok(())
}

fn read_back(file: &File, buf: &mut [u8], blocks: u64, stop: &AtomicBool) -> std::io::Result<()> {
    // SAFETY: advisory call on a descriptor we own.
    unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    let first = blocks.saturating_sub(8);
    for b in first..blocks {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        file.read_exact_at(buf, b * IO_BLOCK as u64)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::TempDir;
    use std::time::Duration;

    #[test]
    fn io_burner_writes_inside_the_data_dir_and_cleans_up() {
        let tmp = TempDir::new("stall-io");
        let b = Burner::start(StallCause::Io, tmp.path()).unwrap();
        let scratch = tmp.path().join(IO_SCRATCH);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::fs::metadata(&scratch).map(|m| m.len()).unwrap_or(0) < IO_BLOCK as u64 {
            assert!(std::time::Instant::now() < deadline, "no io");
            std::thread::sleep(Duration::from_millis(5));
        }
        b.stop();
        assert!(!scratch.exists());
    }

    #[test]
    fn cpu_burner_stops_and_peers_needs_none() {
        let tmp = TempDir::new("stall-cpu");
        let b = Burner::start(StallCause::Cpu, tmp.path()).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        b.stop();
        assert!(Burner::start(StallCause::Peers, tmp.path()).is_none());
    }
}
