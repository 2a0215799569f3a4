//! Host-wide CPU figures from /proc/stat: busy, idle and steal.

use std::fs;

/// Aggregate CPU time of the host from the first line of /proc/stat, in clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CpuTimes {
    pub busy: u64,
    pub idle: u64,
    /// Time the hypervisor ran someone else while this guest wanted the CPU: the signature
    /// of an oversold VPS.
    pub steal: u64,
}

impl CpuTimes {
    pub fn read() -> Option<CpuTimes> {
        parse_proc_stat(&fs::read_to_string("/proc/stat").ok()?)
    }

    pub fn total(&self) -> u64 {
        self.busy + self.idle + self.steal
    }
}

pub fn parse_proc_stat(text: &str) -> Option<CpuTimes> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest times are already in user/nice).
    let get = |i: usize| v.get(i).copied().unwrap_or(0);
    Some(CpuTimes {
        busy: get(0) + get(1) + get(2) + get(5) + get(6),
        idle: get(3) + get(4),
        steal: get(7),
    })
}

/// Steal and busy percentages between consecutive samples.
#[derive(Default)]
pub struct HostSampler {
    last: Option<CpuTimes>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HostSample {
    pub steal_percent: f64,
    pub busy_percent: f64,
}

impl HostSampler {
    pub fn sample(&mut self) -> Option<HostSample> {
        self.push(CpuTimes::read()?)
    }

    pub fn push(&mut self, now: CpuTimes) -> Option<HostSample> {
        let prev = self.last.replace(now)?;
        let total = now.total().checked_sub(prev.total()).filter(|&t| t > 0)?;
        let pct = |a: u64, b: u64| a.saturating_sub(b) as f64 * 100.0 / total as f64;
        Some(HostSample {
            steal_percent: pct(now.steal, prev.steal),
            busy_percent: pct(now.busy, prev.busy),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steal_between_samples() {
        let a = parse_proc_stat("cpu  100 0 50 800 10 0 0 40 0 0\ncpu0 1 2 3\n").unwrap();
        let b = parse_proc_stat("cpu  150 0 60 900 10 0 0 80 0 0\n").unwrap();
        let mut h = HostSampler::default();
        assert!(h.push(a).is_none());
        let s = h.push(b).unwrap();
        // 60 busy + 100 idle + 40 steal = 200 ticks.
        assert!((s.steal_percent - 20.0).abs() < 1e-9);
        assert!((s.busy_percent - 30.0).abs() < 1e-9);
        assert!(CpuTimes::read().is_some());
    }
}
