//! A node process's CPU, RSS and IO counters from /proc, found by name, pid file or pid and
//! found again after a restart.

use std::fs;
use std::path::{Path, PathBuf};

/// How to find the node's process. Re-resolved whenever the last pid is gone, so counters
/// follow the node across restarts.
#[derive(Debug, Clone, PartialEq)]
pub enum ProcessSelector {
    /// Matches `/proc/PID/comm` (kernel-truncated to 15 bytes) or the executable's file name.
    Name(String),
    PidFile(PathBuf),
    Pid(u32),
    /// The process listening on this TCP port of this host (a node's RPC port).
    ListeningPort(u16),
}

/// Cumulative counters of one process at one moment; `None` where /proc would not say
/// (e.g. `/proc/PID/io` of another user's process without privileges).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ProcessSample {
    pub pid: u32,
    pub cpu_seconds: Option<f64>,
    pub rss_bytes: Option<u64>,
    pub read_bytes: Option<u64>,
    pub written_bytes: Option<u64>,
    /// Process start time in clock ticks since boot: a change means a restart, so
    /// cumulative counters start over.
    pub start_ticks: u64,
}

pub struct ProcessSampler {
    selector: ProcessSelector,
    pid: Option<u32>,
    ticks_per_second: f64,
    page_size: u64,
    proc_root: PathBuf,
}

impl ProcessSampler {
    pub fn new(selector: ProcessSelector) -> ProcessSampler {
        Self::with_proc_root(selector, PathBuf::from("/proc"))
    }

    fn with_proc_root(selector: ProcessSelector, proc_root: PathBuf) -> ProcessSampler {
        // SAFETY: sysconf has no preconditions; it only reads system configuration.
        let (hz, page) = unsafe {
            (
                libc::sysconf(libc::_SC_CLK_TCK),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        ProcessSampler {
            selector,
            pid: None,
            ticks_per_second: if hz > 0 { hz as f64 } else { 100.0 },
            page_size: if page > 0 { page as u64 } else { 4096 },
            proc_root,
        }
    }

    /// Sample the process, finding it again if it went away. `None`: not running.
    pub fn sample(&mut self) -> Option<ProcessSample> {
        if let Some(pid) = self.pid
            && let Some(s) = self.read(pid)
        {
            return Some(s);
        }
        self.pid = self.resolve();
        self.pid.and_then(|pid| self.read(pid))
    }

    fn resolve(&self) -> Option<u32> {
        match &self.selector {
            ProcessSelector::Pid(p) => Some(*p),
            ProcessSelector::PidFile(f) => fs::read_to_string(f).ok()?.trim().parse().ok(),
            ProcessSelector::Name(name) => find_by_name(&self.proc_root, name),
            ProcessSelector::ListeningPort(port) => {
                crate::listen::find_listener_in(&self.proc_root, *port)
            }
        }
    }

    fn read(&self, pid: u32) -> Option<ProcessSample> {
        let dir = self.proc_root.join(pid.to_string());
        let stat = fs::read_to_string(dir.join("stat")).ok()?;
        let fields = stat_fields(&stat)?;
        // Fields after the `(comm)`: state is index 0, utime 11, stime 12, starttime 19, rss 21.
        let num = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
        if fields.first() == Some(&"Z") {
            return None;
        }
        let cpu_seconds = match (num(11), num(12)) {
            (Some(u), Some(s)) => Some((u + s) as f64 / self.ticks_per_second),
            _ => None,
        };
        let io = fs::read_to_string(dir.join("io")).ok();
        let io_field = |key: &str| {
            io.as_deref()?
                .lines()
                .find_map(|l| l.strip_prefix(key)?.trim().parse::<u64>().ok())
        };
        Some(ProcessSample {
            pid,
            cpu_seconds,
            rss_bytes: num(21).map(|pages| pages * self.page_size),
            read_bytes: io_field("read_bytes:"),
            written_bytes: io_field("write_bytes:"),
            start_ticks: num(19).unwrap_or(0),
        })
    }
}

/// Split /proc/PID/stat after the command name, which may itself contain spaces and ')'.
fn stat_fields(stat: &str) -> Option<Vec<&str>> {
    let close = stat.rfind(')')?;
    Some(stat[close + 1..].split_whitespace().collect())
}

fn find_by_name(proc_root: &Path, name: &str) -> Option<u32> {
    let me = std::process::id();
    let mut found: Vec<(u64, u32)> = Vec::new();
    for entry in fs::read_dir(proc_root).ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let dir = entry.path();
        let comm = fs::read_to_string(dir.join("comm")).unwrap_or_default();
        let exe_name = fs::read_link(dir.join("exe"))
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
        let truncated: String = name.chars().take(15).collect();
        if comm.trim_end() == truncated || exe_name.as_deref() == Some(name) {
            let start = fs::read_to_string(dir.join("stat"))
                .ok()
                .and_then(|s| stat_fields(&s).and_then(|f| f.get(19).and_then(|v| v.parse().ok())))
                .unwrap_or(0);
            found.push((start, pid));
        }
    }
    // Several matches (a supervisor and its child share a name): the oldest is the node.
    found.into_iter().min().map(|(_, pid)| pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_this_process() {
        let mut s = ProcessSampler::new(ProcessSelector::Pid(std::process::id()));
        let a = s.sample().expect("own process");
        // Burn a little CPU so the counter must move.
        let t = std::time::Instant::now();
        let mut x = 0u64;
        while t.elapsed().as_millis() < 60 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let b = s.sample().unwrap();
        assert!(a.rss_bytes.unwrap() > 1 << 20);
        assert!(b.cpu_seconds.unwrap() > a.cpu_seconds.unwrap());
        assert_eq!(a.start_ticks, b.start_ticks);
    }

    #[test]
    fn refinds_a_restarted_process_by_pid_file() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("node.pid");
        let mut s = ProcessSampler::new(ProcessSelector::PidFile(pid_file.clone()));
        assert!(s.sample().is_none(), "no pid file: not running");
        let mut first = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        fs::write(&pid_file, first.id().to_string()).unwrap();
        assert_eq!(s.sample().unwrap().pid, first.id());
        first.kill().unwrap();
        first.wait().unwrap();
        let mut second = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        fs::write(&pid_file, second.id().to_string()).unwrap();
        assert_eq!(s.sample().unwrap().pid, second.id(), "follows the restart");
        second.kill().unwrap();
        second.wait().unwrap();
    }

    #[test]
    fn finds_by_name_and_parses_odd_comm() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let mut s = ProcessSampler::new(ProcessSelector::Name("sleep".into()));
        assert!(s.sample().is_some());
        child.kill().unwrap();
        child.wait().unwrap();
        let f = stat_fields("42 (a b) c) S 1 2 3 4 5 6 7 8 9 10 11 12").unwrap();
        assert_eq!(f[0], "S");
    }
}
