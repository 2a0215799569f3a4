//! The node's databases while watching: `nodewarden_db::inspect` on the data dir, redone only
//! when a CURRENT or MANIFEST file changed (they are appended to on every flush and
//! compaction) and at most every few seconds, so a tick costs a few `stat`s.
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use nodewarden_model::{DbLevel, DbView};

/// How often the MANIFESTs are looked at.
const CHECK_EVERY: Duration = Duration::from_secs(10);
/// After a failed inspection (no database yet, a damaged file), wait longer.
const RETRY_AFTER: Duration = Duration::from_secs(60);

pub struct DbSampler {
    dir: PathBuf,
    next_check: Instant,
    /// (file, length, modified) of every CURRENT and live MANIFEST last inspected.
    seen: Vec<(PathBuf, u64, Option<SystemTime>)>,
    last: Option<DbView>,
}

impl DbSampler {
    pub fn new(dir: PathBuf) -> DbSampler {
        DbSampler {
            dir,
            next_check: Instant::now(),
            seen: Vec::new(),
            last: None,
        }
    }

    fn fingerprint(files: &[PathBuf]) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
        files
            .iter()
            .map(|f| {
                let m = std::fs::metadata(f).ok();
                (
                    f.clone(),
                    m.as_ref().map_or(0, |m| m.len()),
                    m.and_then(|m| m.modified().ok()),
                )
            })
            .collect()
    }

    pub fn sample(&mut self) -> Option<DbView> {
        let now = Instant::now();
        if now < self.next_check {
            return self.last.clone();
        }
        self.next_check = now + CHECK_EVERY;
        if self.last.is_some() {
            let files: Vec<PathBuf> = self.seen.iter().map(|(f, ..)| f.clone()).collect();
            if Self::fingerprint(&files) == self.seen {
                return self.last.clone();
            }
        }
        match nodewarden_db::inspect(&self.dir) {
            Ok(i) => {
                let files: Vec<PathBuf> = i
                    .databases
                    .iter()
                    .flat_map(|d| {
                        let dir = PathBuf::from(&d.path);
                        [dir.join("CURRENT"), dir.join(&d.manifest)]
                    })
                    .collect();
                self.seen = Self::fingerprint(&files);
                self.last = Some(DbView {
                    engine: i.engine.to_string(),
                    databases: i.databases.len(),
                    levels: i
                        .levels
                        .iter()
                        .map(|l| DbLevel {
                            level: l.level,
                            files: l.files,
                            bytes: l.bytes,
                            score: l.score,
                        })
                        .collect(),
                    max_compaction_score: i.max_compaction_score,
                    wal_bytes: i.wal_bytes,
                    obsolete_bytes: i.obsolete_bytes,
                    warnings: i.warnings,
                });
            }
            Err(_) => {
                self.next_check = now + RETRY_AFTER;
                self.last = None;
            }
        }
        self.last.clone()
    }
}
