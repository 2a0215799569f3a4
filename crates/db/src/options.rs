//! The tuning that decides when compaction is behind: LevelDB's compiled-in constants, and
//! RocksDB's per-column-family values from its newest `OPTIONS-*` file (defaults when absent).
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tuning {
    pub l0_trigger: u64,
    pub l0_slowdown: u64,
    pub l0_stop: u64,
    pub base_bytes: u64,
    pub multiplier: f64,
    /// RocksDB sizes levels from the last one up (its default since 8.4).
    pub dynamic: bool,
}

/// LevelDB's `config::kL0_CompactionTrigger`, `kL0_SlowdownWritesTrigger`,
/// `kL0_StopWritesTrigger` and `MaxBytesForLevel` (10 MiB at L1, ×10 per level).
pub const LEVELDB: Tuning = Tuning {
    l0_trigger: 4,
    l0_slowdown: 8,
    l0_stop: 12,
    base_bytes: 10 << 20,
    multiplier: 10.0,
    dynamic: false,
};

/// RocksDB's defaults for the same.
pub const ROCKSDB: Tuning = Tuning {
    l0_trigger: 4,
    l0_slowdown: 20,
    l0_stop: 36,
    base_bytes: 256 << 20,
    multiplier: 10.0,
    dynamic: true,
};

/// Per column family name, from the newest OPTIONS file in `dir`.
pub fn rocksdb_tuning(dir: &Path) -> HashMap<String, Tuning> {
    let newest = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n: u64 = name.strip_prefix("OPTIONS-")?.parse().ok()?;
            Some((n, e.path()))
        })
        .max_by_key(|(n, _)| *n);
    let Some((_, path)) = newest else {
        return HashMap::new();
    };
    // An OPTIONS file is a few KiB; a huge one is not read.
    let text = match std::fs::metadata(&path) {
        Ok(m) if m.len() < (1 << 20) => std::fs::read_to_string(&path).unwrap_or_default(),
        _ => String::new(),
    };
    parse(&text)
}

fn parse(text: &str) -> HashMap<String, Tuning> {
    let mut out = HashMap::new();
    let mut current: Option<(String, Tuning)> = None;
    for line in text.lines().map(str::trim) {
        if let Some(section) = line.strip_prefix('[') {
            if let Some((name, t)) = current.take() {
                out.insert(name, t);
            }
            if let Some(name) = section
                .strip_prefix("CFOptions \"")
                .and_then(|s| s.strip_suffix("\"]"))
            {
                current = Some((name.to_owned(), ROCKSDB));
            }
            continue;
        }
        let (Some((_, t)), Some((key, value))) = (current.as_mut(), line.split_once('=')) else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        let int = || value.parse::<u64>().ok();
        match key {
            "level0_file_num_compaction_trigger" => t.l0_trigger = int().unwrap_or(t.l0_trigger),
            "level0_slowdown_writes_trigger" => t.l0_slowdown = int().unwrap_or(t.l0_slowdown),
            "level0_stop_writes_trigger" => t.l0_stop = int().unwrap_or(t.l0_stop),
            "max_bytes_for_level_base" => t.base_bytes = int().unwrap_or(t.base_bytes),
            "max_bytes_for_level_multiplier" => {
                t.multiplier = value
                    .parse::<f64>()
                    .ok()
                    .filter(|m| m.is_finite() && *m > 1.0)
                    .unwrap_or(t.multiplier)
            }
            "level_compaction_dynamic_level_bytes" => t.dynamic = value == "true",
            _ => {}
        }
    }
    if let Some((name, t)) = current {
        out.insert(name, t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_column_familys_triggers() {
        let text = "[DBOptions]\n  max_open_files=-1\n\n[CFOptions \"default\"]\n  level0_file_num_compaction_trigger=2\n  max_bytes_for_level_base=1048576\n  level_compaction_dynamic_level_bytes=false\n[TableOptions/BlockBasedTable \"default\"]\n  block_size=4096\n[CFOptions \"blocks\"]\n  level0_slowdown_writes_trigger=bogus\n";
        let t = parse(text);
        assert_eq!(t["default"].l0_trigger, 2);
        assert_eq!(t["default"].base_bytes, 1 << 20);
        assert!(!t["default"].dynamic);
        assert_eq!(t["blocks"], ROCKSDB, "a bad value keeps the default");
    }
}
