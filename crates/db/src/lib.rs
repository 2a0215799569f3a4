//! Database health, offline and read-only: `nodewarden db inspect`. Finds the LevelDB
//! (go-zenon, older geth) and RocksDB (Besu, Substrate) databases under a directory,
//! replays each live MANIFEST into its current version and reports files and bytes per
//! level (per column family), key ranges, compaction scores, obsolete files and the WAL
//! waiting for replay, with warnings in plain words. Safe on a running node's directory: it
//! never takes the LOCK and never writes; a MANIFEST being appended to ends in a partial
//! record, which is skipped as the engines themselves do.
mod edit;
mod log;
mod options;
mod version;

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use log::LogProblem;

/// Why a directory could not be inspected. Each names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{}: no LevelDB or RocksDB database here or below (no CURRENT file)", path.display())]
    NotFound { path: PathBuf },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Corrupt { path: PathBuf, message: String },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LevelStats {
    pub level: u32,
    pub files: u64,
    pub bytes: u64,
    /// L0: files over the compaction trigger; deeper: bytes over the level's target. At 1
    /// or more the engine wants to compact that level.
    pub score: f64,
    pub target_bytes: Option<u64>,
    pub smallest_key: Option<String>,
    pub largest_key: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ColumnFamily {
    pub id: u32,
    pub name: String,
    pub files: u64,
    pub bytes: u64,
    pub levels: Vec<LevelStats>,
}

/// One database directory.
#[derive(Debug, Clone, Serialize)]
pub struct Database {
    pub path: String,
    pub engine: &'static str,
    pub manifest: String,
    pub manifest_bytes: u64,
    /// Bytes of a partial last record (a writer appending now, or a crash mid-write).
    pub manifest_partial_tail_bytes: u64,
    pub comparator: Option<String>,
    pub last_sequence: Option<u64>,
    pub next_file_number: Option<u64>,
    pub files: u64,
    pub bytes: u64,
    /// Totals per level across column families.
    pub levels: Vec<LevelStats>,
    pub column_families: Vec<ColumnFamily>,
    /// Table files and old logs and MANIFESTs not part of the live version. On a running
    /// node this also counts the outputs of a compaction in progress.
    pub obsolete_files: u64,
    pub obsolete_bytes: u64,
    pub wal_files: u64,
    /// The write-ahead log(s) replayed at the next start.
    pub wal_bytes: u64,
    pub max_compaction_score: f64,
    pub warnings: Vec<String>,
}

/// What `db inspect DIR` reports: totals over every database found, and each of them.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    pub path: String,
    /// `leveldb`, `rocksdb`, or `mixed` when both are found.
    pub engine: &'static str,
    pub files: u64,
    pub bytes: u64,
    pub levels: Vec<LevelStats>,
    pub obsolete_files: u64,
    pub obsolete_bytes: u64,
    pub wal_bytes: u64,
    pub max_compaction_score: f64,
    pub warnings: Vec<String>,
    pub databases: Vec<Database>,
}

/// Inspects `dir`: a database directory (it holds `CURRENT`), or a node's data dir whose
/// databases are found up to four levels down.
pub fn inspect(dir: &Path) -> Result<Inspection, DbError> {
    let io = |source| DbError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(dir).map_err(io)?;
    if !meta.is_dir() {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            "not a directory",
        )));
    }
    let mut found = Vec::new();
    find_databases(dir, 0, &mut found);
    if found.is_empty() {
        return Err(DbError::NotFound {
            path: dir.to_path_buf(),
        });
    }
    found.sort();
    let databases = found
        .iter()
        .map(|d| inspect_database(d))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(aggregate(dir, databases))
}

fn find_databases(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if dir.join("CURRENT").is_file() {
        out.push(dir.to_path_buf());
        return;
    }
    if depth >= 4 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        // Symlinks are not followed: a data dir may link to shared or foreign places.
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            find_databases(&e.path(), depth + 1, out);
        }
    }
}

/// `NNNNNN.ext` → number.
fn numbered(name: &str, ext: &str) -> Option<u64> {
    name.strip_suffix(ext)?.parse().ok()
}

fn inspect_database(dir: &Path) -> Result<Database, DbError> {
    let current_path = dir.join("CURRENT");
    let corrupt = |path: &Path, message: String| DbError::Corrupt {
        path: path.to_path_buf(),
        message,
    };
    let current = std::fs::read(&current_path).map_err(|source| DbError::Io {
        path: current_path.clone(),
        source,
    })?;
    let name = String::from_utf8_lossy(&current).trim_end().to_string();
    // CURRENT names a file in this directory and nothing else.
    let valid = name
        .strip_prefix("MANIFEST-")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if !valid {
        return Err(corrupt(
            &current_path,
            format!(
                "does not name a MANIFEST-NNNNNN file: {:?}",
                truncate(&name, 60)
            ),
        ));
    }
    let manifest_path = dir.join(&name);
    let file = File::open(&manifest_path).map_err(|source| DbError::Io {
        path: manifest_path.clone(),
        source,
    })?;
    let manifest_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut reader = log::LogReader::new(BufReader::new(file));
    let mut v = version::Version::new();
    let mut records = 0u64;
    loop {
        let next = reader.next_record().map_err(|source| DbError::Io {
            path: manifest_path.clone(),
            source,
        })?;
        let record = match next {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(LogProblem::Checksum { offset }) => {
                return Err(corrupt(
                    &manifest_path,
                    format!("damaged at byte {offset} (checksum mismatch)"),
                ));
            }
            Err(LogProblem::Malformed { offset, what }) => {
                return Err(corrupt(
                    &manifest_path,
                    format!("damaged at byte {offset}: {what}"),
                ));
            }
        };
        records += 1;
        let e = edit::decode(&record)
            .map_err(|m| corrupt(&manifest_path, format!("record {records}: {m}")))?;
        v.apply(e);
    }
    if records == 0 {
        return Err(corrupt(&manifest_path, "holds no complete record".into()));
    }
    let rocksdb = v.rocksdb || has_options_file(dir);
    let engine = if rocksdb { "rocksdb" } else { "leveldb" };
    let tunings = if rocksdb {
        options::rocksdb_tuning(dir)
    } else {
        Default::default()
    };
    let default_tuning = if rocksdb {
        options::ROCKSDB
    } else {
        options::LEVELDB
    };
    let column_families: Vec<ColumnFamily> = v
        .families
        .iter()
        .map(|(&id, f)| {
            let tuning = tunings.get(&f.name).copied().unwrap_or(default_tuning);
            let levels = version::level_stats(f, &tuning);
            ColumnFamily {
                id,
                name: f.name.clone(),
                files: levels.iter().map(|l| l.files).sum(),
                bytes: levels.iter().map(|l| l.bytes).sum(),
                levels,
            }
        })
        .collect();
    let levels = sum_levels(column_families.iter().flat_map(|c| &c.levels));
    let (obsolete_files, obsolete_bytes, wal_files, wal_bytes) = scan_files(dir, &v, &name);
    let mut db = Database {
        path: dir.display().to_string(),
        engine,
        manifest: name,
        manifest_bytes,
        manifest_partial_tail_bytes: reader.truncated_tail,
        comparator: v.comparator.clone(),
        last_sequence: v.last_sequence,
        next_file_number: v.next_file_number,
        files: levels.iter().map(|l| l.files).sum(),
        bytes: levels.iter().map(|l| l.bytes).sum(),
        max_compaction_score: column_families
            .iter()
            .flat_map(|c| c.levels.iter().map(|l| l.score))
            .fold(0.0, f64::max),
        levels,
        column_families,
        obsolete_files,
        obsolete_bytes,
        wal_files,
        wal_bytes,
        warnings: Vec::new(),
    };
    db.warnings = warnings(&db, &tunings, default_tuning);
    Ok(db)
}

fn has_options_file(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("OPTIONS-"))
}

/// (obsolete files, their bytes, live WAL files, their bytes)
fn scan_files(dir: &Path, v: &version::Version, manifest: &str) -> (u64, u64, u64, u64) {
    let live = v.live_files();
    let min_log = v.min_log_number().unwrap_or(0);
    let (mut obsolete, mut obsolete_bytes, mut wal, mut wal_bytes) = (0, 0, 0, 0);
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let size = e.metadata().map(|m| m.len()).unwrap_or(0);
        if let Some(n) = numbered(&name, ".ldb").or_else(|| numbered(&name, ".sst")) {
            if !live.contains(&n) {
                obsolete += 1;
                obsolete_bytes += size;
            }
        } else if let Some(n) = numbered(&name, ".log") {
            if n >= min_log {
                wal += 1;
                wal_bytes += size;
            } else {
                obsolete += 1;
                obsolete_bytes += size;
            }
        } else if name.starts_with("MANIFEST-") && name != manifest {
            obsolete += 1;
            obsolete_bytes += size;
        }
    }
    (obsolete, obsolete_bytes, wal, wal_bytes)
}

fn sum_levels<'a>(all: impl Iterator<Item = &'a LevelStats>) -> Vec<LevelStats> {
    let mut out: Vec<LevelStats> = Vec::new();
    for l in all {
        let i = l.level as usize;
        while out.len() <= i {
            out.push(LevelStats {
                level: out.len() as u32,
                files: 0,
                bytes: 0,
                score: 0.0,
                target_bytes: None,
                smallest_key: None,
                largest_key: None,
            });
        }
        let o = &mut out[i];
        o.files += l.files;
        o.bytes += l.bytes;
        o.score = o.score.max(l.score);
        // Exact for one source; across sources an indication of the span.
        if l.smallest_key < o.smallest_key || o.smallest_key.is_none() {
            o.smallest_key.clone_from(&l.smallest_key);
        }
        if l.largest_key > o.largest_key {
            o.largest_key.clone_from(&l.largest_key);
        }
    }
    out
}

fn warnings(
    db: &Database,
    tunings: &std::collections::HashMap<String, options::Tuning>,
    default: options::Tuning,
) -> Vec<String> {
    let mut w = Vec::new();
    for cf in &db.column_families {
        let t = tunings.get(&cf.name).copied().unwrap_or(default);
        let which = if db.column_families.len() > 1 {
            format!(" of column family {}", cf.name)
        } else {
            String::new()
        };
        if let Some(l0) = cf.levels.first() {
            if l0.files >= t.l0_stop {
                w.push(format!("{} files in L0{which}: writes are stopped until compaction catches up (stop trigger {})", l0.files, t.l0_stop));
            } else if l0.files >= t.l0_slowdown {
                w.push(format!(
                    "{} files in L0{which}: writes are being slowed (slowdown trigger {})",
                    l0.files, t.l0_slowdown
                ));
            }
        }
        for l in cf.levels.iter().skip(1).filter(|l| l.score >= 1.5) {
            w.push(format!(
                "L{}{which} holds {} against a target of {}: compaction is behind (score {:.1})",
                l.level,
                human_bytes(l.bytes),
                human_bytes(l.target_bytes.unwrap_or(0)),
                l.score
            ));
        }
    }
    if db.obsolete_bytes >= (1 << 30)
        || (db.obsolete_bytes > (64 << 20) && db.obsolete_bytes * 10 > db.bytes)
    {
        w.push(format!(
            "{} in {} obsolete files not yet deleted",
            human_bytes(db.obsolete_bytes),
            db.obsolete_files
        ));
    }
    if db.wal_bytes >= (64 << 20) {
        w.push(format!(
            "a {} write-ahead log will be replayed at the next start",
            human_bytes(db.wal_bytes)
        ));
    }
    if db.manifest_partial_tail_bytes > 0 {
        w.push(format!(
            "{} ends in a partial record of {} bytes (being written now, or cut by a crash)",
            db.manifest, db.manifest_partial_tail_bytes
        ));
    }
    w
}

fn aggregate(dir: &Path, databases: Vec<Database>) -> Inspection {
    let engine = match (
        databases.iter().any(|d| d.engine == "leveldb"),
        databases.iter().any(|d| d.engine == "rocksdb"),
    ) {
        (true, true) => "mixed",
        (false, true) => "rocksdb",
        _ => "leveldb",
    };
    let many = databases.len() > 1;
    Inspection {
        path: dir.display().to_string(),
        engine,
        files: databases.iter().map(|d| d.files).sum(),
        bytes: databases.iter().map(|d| d.bytes).sum(),
        levels: sum_levels(databases.iter().flat_map(|d| &d.levels)),
        obsolete_files: databases.iter().map(|d| d.obsolete_files).sum(),
        obsolete_bytes: databases.iter().map(|d| d.obsolete_bytes).sum(),
        wal_bytes: databases.iter().map(|d| d.wal_bytes).sum(),
        max_compaction_score: databases
            .iter()
            .map(|d| d.max_compaction_score)
            .fold(0.0, f64::max),
        warnings: databases
            .iter()
            .flat_map(|d| {
                d.warnings.iter().map(move |w| {
                    if many {
                        format!("{}: {w}", d.path)
                    } else {
                        w.clone()
                    }
                })
            })
            .collect(),
        databases,
    }
}

/// Keys are bytes: shown as text when they are printable, else as hex; long ones cut.
pub(crate) fn display_key(k: &[u8]) -> String {
    let shown = &k[..k.len().min(32)];
    let more = if k.len() > 32 { "…" } else { "" };
    if !shown.is_empty() && shown.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!("{}{more}", String::from_utf8_lossy(shown))
    } else {
        let hex: String = shown.iter().map(|b| format!("{b:02x}")).collect();
        format!("0x{hex}{more}")
    }
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// 1.5 GiB, 340 MiB, 12 KiB.
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else if v < 10.0 {
        format!("{v:.1} {}", UNITS[u])
    } else {
        format!("{v:.0} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests;
