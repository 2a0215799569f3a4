//! What the hardware probe measured (`nodewarden probe --json`): produced by the probe,
//! rendered by the report crate, carried in shareable bundles.
use std::path::PathBuf;

use serde::Serialize;

/// A whole probe: CPU, memory and disk figures, and the verdicts against the minimums of the
/// roles asked about.
#[derive(Debug, Clone, Serialize)]
pub struct HardwareReport {
    pub version: &'static str,
    pub quick: bool,
    pub duration_s: f64,
    pub cpu: CpuReport,
    pub memory: MemReport,
    pub disk: DiskReport,
    pub verdicts: Vec<Verdict>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CpuReport {
    pub model: Option<String>,
    /// Logical CPUs this process may run on.
    pub cores: usize,
    pub frequency_mhz: Option<f64>,
    pub single_core_score: Option<f64>,
    pub multi_core_score: Option<f64>,
    /// multi / single: the effective number of cores (ideal: `cores`).
    pub multi_core_scaling: Option<f64>,
    pub blake3_mb_s: Option<f64>,
    pub index_ops_s: Option<f64>,
    /// Share of CPU time the hypervisor gave to others over the probe window (/proc/stat).
    pub steal_percent: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct MemReport {
    pub total_bytes: Option<u64>,
    pub available_bytes: Option<u64>,
    pub swap_total_bytes: Option<u64>,
    pub swap_free_bytes: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiskReport {
    pub path: PathBuf,
    pub total_bytes: u64,
    pub free_bytes: u64,
    pub fsync_p50_ms: Option<f64>,
    pub fsync_p99_ms: Option<f64>,
    pub fsync_samples: usize,
    pub rand_read_iops: Option<f64>,
    pub seq_read_mb_s: Option<f64>,
    pub seq_write_mb_s: Option<f64>,
    /// Bytes of the test file used by the sequential and random jobs.
    pub test_file_bytes: u64,
    /// false: the filesystem refused O_DIRECT; figures went through the page cache with
    /// `posix_fadvise(DONTNEED)` before each read pass.
    pub direct_io: bool,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VerdictStatus {
    Meets,
    /// Short of the requirement: under a minimum, or over a `*_max` bound.
    Below,
    /// Not measured (e.g. /proc unreadable, a job failed).
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub item: String,
    pub role: String,
    pub status: VerdictStatus,
    pub value: Option<f64>,
    pub minimum: f64,
    /// "at least" or "at most": how `minimum` binds.
    pub bound: &'static str,
}
