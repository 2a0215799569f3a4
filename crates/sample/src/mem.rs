//! How much memory a process may still take: the host's available memory and the limit of
//! the process's cgroup (v2 `memory.max`, v1 `memory.limit_in_bytes`), for forecasting when
//! a leak runs out of room.

use std::path::Path;

/// `MemAvailable` of /proc/meminfo, bytes.
pub fn host_available_bytes() -> Option<u64> {
    parse_meminfo_available(&std::fs::read_to_string("/proc/meminfo").ok()?)
}

pub fn parse_meminfo_available(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The memory limit of `pid`'s cgroup, bytes; `None` when unlimited or unreadable.
pub fn cgroup_limit_bytes(pid: u32) -> Option<u64> {
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let root = Path::new("/sys/fs/cgroup");
    for line in cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let rel = path.trim_start_matches('/');
        let file = if controllers.is_empty() {
            root.join(rel).join("memory.max")
        } else if controllers.split(',').any(|c| c == "memory") {
            root.join("memory").join(rel).join("memory.limit_in_bytes")
        } else {
            continue;
        };
        if let Ok(text) = std::fs::read_to_string(file) {
            return parse_limit(&text);
        }
    }
    None
}

/// `max` (v2) and the huge page-rounded "no limit" of v1 both mean unlimited.
pub fn parse_limit(text: &str) -> Option<u64> {
    let v: u64 = text.trim().parse().ok()?;
    (v < 1 << 60).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_available_and_limits() {
        assert_eq!(
            parse_meminfo_available("MemTotal: 2048 kB\nMemAvailable:   1024 kB\n"),
            Some(1024 * 1024)
        );
        assert_eq!(parse_meminfo_available("MemTotal: 2048 kB\n"), None);
        assert_eq!(parse_limit("max\n"), None);
        assert_eq!(parse_limit("9223372036854771712\n"), None);
        assert_eq!(parse_limit("536870912\n"), Some(536_870_912));
    }
}
