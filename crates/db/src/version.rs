//! Replaying a MANIFEST's edits into the live version: which table files each level of each
//! column family holds, their sizes and key ranges, and how far each level is past its
//! compaction target.
use std::collections::{BTreeMap, HashMap};

use crate::edit::{Edit, NewFile};
use crate::options::Tuning;
use crate::{LevelStats, display_key};

#[derive(Debug, Default)]
pub struct Family {
    pub name: String,
    /// level → file number → file
    pub levels: BTreeMap<u32, BTreeMap<u64, NewFile>>,
    pub log_number: Option<u64>,
}

/// The state the edits build up.
#[derive(Debug, Default)]
pub struct Version {
    pub families: BTreeMap<u32, Family>,
    pub comparator: Option<String>,
    pub log_number: Option<u64>,
    pub prev_log_number: Option<u64>,
    pub next_file_number: Option<u64>,
    pub last_sequence: Option<u64>,
    pub rocksdb: bool,
}

impl Version {
    pub fn new() -> Version {
        let mut v = Version::default();
        v.families.insert(
            0,
            Family {
                name: "default".into(),
                ..Family::default()
            },
        );
        v
    }

    pub fn apply(&mut self, e: Edit) {
        self.rocksdb |= e.rocksdb_tags;
        if e.comparator.is_some() {
            self.comparator = e.comparator;
        }
        self.prev_log_number = e.prev_log_number.or(self.prev_log_number);
        self.next_file_number = e.next_file_number.or(self.next_file_number);
        self.last_sequence = e.last_sequence.or(self.last_sequence);
        if let Some(name) = e.column_family_add {
            self.families.insert(
                e.column_family,
                Family {
                    name,
                    ..Family::default()
                },
            );
        }
        if e.column_family_drop {
            self.families.remove(&e.column_family);
            return;
        }
        let cf = self.families.entry(e.column_family).or_default();
        if let Some(n) = e.log_number {
            cf.log_number = Some(n);
            if e.column_family == 0 {
                self.log_number = Some(n);
            }
        }
        for (level, n) in e.deleted {
            if let Some(files) = cf.levels.get_mut(&level) {
                files.remove(&n);
            }
        }
        for f in e.added {
            cf.levels.entry(f.level).or_default().insert(f.number, f);
        }
    }

    /// Every live table file number, across families.
    pub fn live_files(&self) -> std::collections::HashSet<u64> {
        self.families
            .values()
            .flat_map(|f| f.levels.values())
            .flat_map(|files| files.keys().copied())
            .collect()
    }

    /// The oldest WAL some family still needs.
    pub fn min_log_number(&self) -> Option<u64> {
        let per_cf = self.families.values().filter_map(|f| f.log_number).min();
        match (per_cf, self.prev_log_number.filter(|&p| p > 0)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b).or(self.log_number),
        }
    }
}

/// Per-level figures of one family, with compaction scores against `tuning`.
pub fn level_stats(family: &Family, tuning: &Tuning) -> Vec<LevelStats> {
    let deepest = family
        .levels
        .iter()
        .filter(|(_, f)| !f.is_empty())
        .map(|(l, _)| *l)
        .max()
        .unwrap_or(0)
        .max(1);
    let bytes_at = |l: u32| -> u64 {
        family
            .levels
            .get(&l)
            .map_or(0, |f| f.values().map(|x| x.size).sum())
    };
    let targets = targets(tuning, deepest, bytes_at(deepest));
    (0..=deepest)
        .map(|level| {
            let files = family.levels.get(&level);
            let count = files.map_or(0, BTreeMap::len) as u64;
            let bytes = bytes_at(level);
            let (score, target_bytes) = if level == 0 {
                (count as f64 / tuning.l0_trigger.max(1) as f64, None)
            } else {
                let t = targets
                    .get(&level)
                    .copied()
                    .unwrap_or(tuning.base_bytes)
                    .max(1);
                (bytes as f64 / t as f64, Some(t))
            };
            let smallest = files
                .and_then(|f| f.values().map(|x| user_key(&x.smallest)).min())
                .map(display_key);
            let largest = files
                .and_then(|f| f.values().map(|x| user_key(&x.largest)).max())
                .map(display_key);
            LevelStats {
                level,
                files: count,
                bytes,
                score,
                target_bytes,
                smallest_key: smallest,
                largest_key: largest,
            }
        })
        .collect()
}

/// Target bytes per level ≥ 1. Static: base at L1, ×multiplier per level. Dynamic (RocksDB):
/// the deepest level's target is its own size, each level above a multiplier smaller, and
/// never below the base (levels that would be smaller are meant to stay empty).
fn targets(t: &Tuning, deepest: u32, deepest_bytes: u64) -> HashMap<u32, u64> {
    let mut out = HashMap::new();
    if t.dynamic {
        let mut target = (deepest_bytes.max(t.base_bytes)) as f64;
        for level in (1..=deepest).rev() {
            out.insert(level, target.max(t.base_bytes as f64) as u64);
            target /= t.multiplier;
        }
    } else {
        let mut target = t.base_bytes as f64;
        for level in 1..=deepest {
            out.insert(level, target as u64);
            target *= t.multiplier;
        }
    }
    out
}

/// The user key of an internal key (its last 8 bytes are sequence and type).
fn user_key(internal: &[u8]) -> &[u8] {
    &internal[..internal.len().saturating_sub(8)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::LEVELDB;

    fn file(level: u32, number: u64, size: u64) -> NewFile {
        NewFile {
            level,
            number,
            size,
            smallest: crate::edit::encode::ikey(format!("k{number:03}").as_bytes(), 1),
            largest: crate::edit::encode::ikey(format!("k{number:03}z").as_bytes(), 2),
        }
    }

    #[test]
    fn edits_replay_into_the_live_version_and_scores() {
        let mut v = Version::new();
        v.apply(Edit {
            added: (1..=6).map(|n| file(0, n, 1 << 20)).collect(),
            log_number: Some(9),
            ..Edit::default()
        });
        // A compaction: two L0 files become one L1 file.
        v.apply(Edit {
            deleted: vec![(0, 1), (0, 2)],
            added: vec![file(1, 7, 30 << 20)],
            ..Edit::default()
        });
        let stats = level_stats(&v.families[&0], &LEVELDB);
        assert_eq!((stats[0].files, stats[0].bytes), (4, 4 << 20));
        assert_eq!(stats[0].score, 1.0, "4 files against a trigger of 4");
        assert_eq!(stats[1].files, 1);
        assert_eq!(stats[1].target_bytes, Some(10 << 20));
        assert!((stats[1].score - 3.0).abs() < 1e-9);
        assert_eq!(stats[1].smallest_key.as_deref(), Some("k007"));
        assert_eq!(v.live_files().len(), 5);
        assert_eq!(v.min_log_number(), Some(9));
    }

    #[test]
    fn dropped_families_vanish_and_dynamic_targets_follow_the_last_level() {
        let mut v = Version::new();
        v.apply(Edit {
            column_family: 2,
            column_family_add: Some("blocks".into()),
            ..Edit::default()
        });
        v.apply(Edit {
            column_family: 2,
            added: vec![file(6, 1, 10 << 30)],
            ..Edit::default()
        });
        let t = crate::options::ROCKSDB;
        let stats = level_stats(&v.families[&2], &t);
        assert_eq!(stats.len(), 7);
        assert_eq!(stats[6].target_bytes, Some(10 << 30));
        assert_eq!(stats[5].target_bytes, Some(1 << 30));
        assert_eq!(
            stats[1].target_bytes,
            Some(256 << 20),
            "never below the base"
        );
        v.apply(Edit {
            column_family: 2,
            column_family_drop: true,
            ..Edit::default()
        });
        assert!(!v.families.contains_key(&2));
    }
}
