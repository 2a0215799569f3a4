//! Memory from /proc/meminfo.
use super::MemReport;

pub fn read() -> MemReport {
    std::fs::read_to_string("/proc/meminfo")
        .map(|t| parse(&t))
        .unwrap_or_default()
}

pub fn parse(text: &str) -> MemReport {
    let kib = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .map(|k| k * 1024)
    };
    MemReport {
        total_bytes: kib("MemTotal"),
        available_bytes: kib("MemAvailable"),
        swap_total_bytes: kib("SwapTotal"),
        swap_free_bytes: kib("SwapFree"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_meminfo() {
        let m = super::parse(
            "MemTotal:       2048 kB\nMemFree: 1 kB\nMemAvailable:   1024 kB\nSwapTotal: 0 kB\n",
        );
        assert_eq!(m.total_bytes, Some(2048 * 1024));
        assert_eq!(m.available_bytes, Some(1024 * 1024));
        assert_eq!(m.swap_total_bytes, Some(0));
        assert_eq!(m.swap_free_bytes, None);
        assert!(super::read().total_bytes.is_some());
    }
}
