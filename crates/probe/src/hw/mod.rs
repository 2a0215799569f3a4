//! `nodewarden probe`: what the hardware under a data dir can do, measured with real work
//! and compared with per-role minimums. Runs synchronously (call it from a blocking
//! thread); `cancel` makes every loop stop early, and the scratch files go with it.
pub mod cpu;
pub mod disk;
pub mod mem;
pub mod minimums;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use nodewarden_sample::{CpuTimes, HostSampler};

pub use disk::DiskPlan;
pub use minimums::Minimums;
pub use nodewarden_model::hardware::{
    CpuReport, DiskReport, HardwareReport, MemReport, Verdict, VerdictStatus,
};

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Minimums(String),
    #[error("interrupted")]
    Cancelled,
}

impl ProbeError {
    pub fn io(path: &Path, e: std::io::Error) -> ProbeError {
        ProbeError::Io {
            path: path.display().to_string(),
            source: e,
        }
    }
}

/// How long each stage may take: a full probe stays under a minute, `quick` under ten
/// seconds, whatever the disk.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub cpu_phase: Duration,
    pub disk: DiskPlan,
}

impl Plan {
    pub fn full() -> Plan {
        Plan {
            cpu_phase: Duration::from_secs(2),
            disk: DiskPlan {
                fsync_ops: 4000,
                fsync_time: Duration::from_secs(8),
                file_bytes: 1 << 30,
                seq_time: Duration::from_secs(10),
                rand_time: Duration::from_secs(8),
            },
        }
    }

    pub fn quick() -> Plan {
        Plan {
            cpu_phase: Duration::from_millis(400),
            disk: DiskPlan {
                fsync_ops: 400,
                fsync_time: Duration::from_millis(1200),
                file_bytes: 64 << 20,
                seq_time: Duration::from_secs(2),
                rand_time: Duration::from_millis(1200),
            },
        }
    }
}

/// Where the probe is; the CLI draws it, the library only reports.
pub trait StageObserver: Send + Sync {
    fn stage(&self, step: usize, of: usize, what: &str);
}

pub struct Silent;

impl StageObserver for Silent {
    fn stage(&self, _: usize, _: usize, _: &str) {}
}

const STAGES: usize = 6;

/// Run every stage on `data_dir`'s filesystem. Verdicts are left empty for the caller
/// ([`Minimums::verdicts`]).
pub fn run(
    data_dir: &Path,
    plan: &Plan,
    quick: bool,
    progress: &dyn StageObserver,
    cancel: &AtomicBool,
) -> Result<HardwareReport, ProbeError> {
    let started = Instant::now();
    let meta = std::fs::metadata(data_dir).map_err(|e| ProbeError::io(data_dir, e))?;
    if !meta.is_dir() {
        return Err(ProbeError::io(
            data_dir,
            std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
        ));
    }
    let mut steal = HostSampler::default();
    if let Some(t) = CpuTimes::read() {
        steal.push(t);
    }
    progress.stage(1, STAGES, "CPU: one core, then all cores");
    let (single, multi) = cpu::measure(plan.cpu_phase, cancel).ok_or(ProbeError::Cancelled)?;
    let scratch = disk::Scratch::create(data_dir)?;
    progress.stage(
        2,
        STAGES,
        "disk: fsync latency (2300-byte appends + fdatasync)",
    );
    let lat = disk::fsync_latencies(scratch.path(), &plan.disk, cancel)?;
    progress.stage(3, STAGES, "disk: sequential write (1 MiB blocks)");
    let file = scratch.path().join("seq.dat");
    let (write_mb_s, bytes, direct) = disk::seq_write(&file, &plan.disk, cancel)?;
    progress.stage(4, STAGES, "disk: sequential read (1 MiB blocks)");
    let read_mb_s = disk::seq_read(&file, bytes, direct, plan.disk.seq_time, cancel)?;
    progress.stage(5, STAGES, "disk: random 4 KiB reads");
    let iops = disk::rand_read(&file, bytes, direct, plan.disk.rand_time, cancel)?;
    drop(scratch);
    progress.stage(6, STAGES, "memory and free space");
    let (total, free) =
        crate::health::fs_space(data_dir).map_err(|e| ProbeError::io(data_dir, e))?;
    let mut notes = Vec::new();
    if !direct {
        notes.push(
            "the filesystem refused O_DIRECT: reads went through the page cache after posix_fadvise(DONTNEED)".to_string(),
        );
    }
    let steal_percent = CpuTimes::read()
        .and_then(|t| steal.push(t))
        .map(|s| s.steal_percent);
    let cores = cpu::cores();
    Ok(HardwareReport {
        version: env!("CARGO_PKG_VERSION"),
        quick,
        duration_s: started.elapsed().as_secs_f64(),
        cpu: CpuReport {
            model: cpu::model(),
            cores,
            frequency_mhz: cpu::frequency_mhz(),
            single_core_score: Some(single.score()),
            multi_core_score: Some(multi),
            multi_core_scaling: Some(multi / single.score().max(f64::MIN_POSITIVE)),
            blake3_mb_s: Some(single.blake3_mb_s),
            index_ops_s: Some(single.index_ops_s),
            steal_percent,
        },
        memory: mem::read(),
        disk: DiskReport {
            path: PathBuf::from(data_dir),
            total_bytes: total,
            free_bytes: free,
            fsync_p50_ms: disk::percentile(&lat, 50.0),
            fsync_p99_ms: disk::percentile(&lat, 99.0),
            fsync_samples: lat.len(),
            rand_read_iops: Some(iops),
            seq_read_mb_s: Some(read_mb_s),
            seq_write_mb_s: Some(write_mb_s),
            test_file_bytes: bytes,
            direct_io: direct,
            notes,
        },
        verdicts: Vec::new(),
    })
}
