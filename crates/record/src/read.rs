//! Reading a recording back: its runs, and their samples streamed in time order.

use std::path::{Path, PathBuf};

use nodewarden_model::{DbPoint, Forensics, Sample, SyncState};
use rusqlite::{Connection, OpenFlags, Row};

use crate::RecordError;

/// One recorded run, as listed by `report`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    pub id: i64,
    pub name: String,
    pub started_ms: i64,
    pub ended_ms: Option<i64>,
    pub samples: u64,
    /// (node, kind) pairs registered for the run.
    pub nodes: Vec<(String, String)>,
}

/// Read access to a recording (opened read-only, so `report` can run beside `watch`).
pub struct Recording {
    pub(crate) conn: Connection,
    path: PathBuf,
}

impl Recording {
    pub fn open(path: &Path) -> Result<Recording, RecordError> {
        if !path.is_file() {
            return Err(RecordError::Invalid {
                path: path.display().to_string(),
                message: "no such recording (a watch with a recording file writes one)".into(),
            });
        }
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(
            |source| RecordError::Sqlite {
                path: path.display().to_string(),
                source,
            },
        )?;
        let store = Recording {
            conn,
            path: path.to_path_buf(),
        };
        store
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get::<_, String>(0),
            )
            .map_err(|_| store.invalid("not a nodewarden recording (no schema_version)"))?;
        Ok(store)
    }

    pub(crate) fn err(&self, source: rusqlite::Error) -> RecordError {
        RecordError::Sqlite {
            path: self.path.display().to_string(),
            source,
        }
    }

    fn invalid(&self, message: impl Into<String>) -> RecordError {
        RecordError::Invalid {
            path: self.path.display().to_string(),
            message: message.into(),
        }
    }

    pub fn runs(&self) -> Result<Vec<RunInfo>, RecordError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT r.id, r.name, r.started_ms, r.ended_ms,
                        (SELECT COUNT(*) FROM samples s WHERE s.run_id = r.id)
                 FROM runs r ORDER BY r.id",
            )
            .map_err(|e| self.err(e))?;
        let mut runs: Vec<RunInfo> = stmt
            .query_map([], |r| {
                Ok(RunInfo {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    started_ms: r.get(2)?,
                    ended_ms: r.get(3)?,
                    samples: r.get::<_, i64>(4)? as u64,
                    nodes: Vec::new(),
                })
            })
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))?;
        let mut nodes = self
            .conn
            .prepare("SELECT node, kind FROM run_nodes WHERE run_id = ?1 ORDER BY node")
            .map_err(|e| self.err(e))?;
        for run in &mut runs {
            run.nodes = nodes
                .query_map([run.id], |r| Ok((r.get(0)?, r.get(1)?)))
                .and_then(|rows| rows.collect())
                .map_err(|e| self.err(e))?;
        }
        Ok(runs)
    }

    /// A run by name, numeric id, or `latest`.
    pub fn resolve(&self, which: &str) -> Result<RunInfo, RecordError> {
        let runs = self.runs()?;
        let found = if which == "latest" {
            runs.last().cloned()
        } else {
            runs.iter()
                .find(|r| r.name == which || which.parse::<i64>().ok() == Some(r.id))
                .cloned()
        };
        found.ok_or_else(|| {
            let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
            self.invalid(if names.is_empty() {
                format!("no run `{which}`: the recording has no runs")
            } else {
                format!("no run `{which}` (runs: {})", names.join(", "))
            })
        })
    }

    /// Stream a run's samples in time order (per node when `node` is given).
    pub fn for_each_sample(
        &self,
        run_id: i64,
        node: Option<&str>,
        f: impl FnMut(Sample),
    ) -> Result<u64, RecordError> {
        self.for_each_sample_from(run_id, node, i64::MIN, f)
    }

    /// [`Recording::for_each_sample`], from time `from_ms` on.
    pub fn for_each_sample_from(
        &self,
        run_id: i64,
        node: Option<&str>,
        from_ms: i64,
        mut f: impl FnMut(Sample),
    ) -> Result<u64, RecordError> {
        let sql = "SELECT t_ms, node, state, current, target, peers, head_hash, head_time, cpu_s,
                          rss_bytes, read_bytes, write_bytes, data_dir_bytes
                   FROM samples WHERE run_id = ?1 AND (?2 IS NULL OR node = ?2) AND t_ms >= ?3
                   ORDER BY t_ms, rowid";
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let mut rows = stmt
            .query(rusqlite::params![run_id, node, from_ms])
            .map_err(|e| self.err(e))?;
        let mut n = 0;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            f(sample(row).map_err(|e| self.err(e))?);
            n += 1;
        }
        Ok(n)
    }
}

impl Recording {
    /// The database points of `node` in a run, in time order; none for recordings made
    /// before they were kept. At most `limit`, evenly thinned, the worst of each stretch kept:
    /// a chart needs its peaks more than its every point.
    pub fn db_points(
        &self,
        run_id: i64,
        node: &str,
        limit: usize,
    ) -> Result<Vec<DbPoint>, RecordError> {
        if !self.has_table("db_samples")? {
            return Ok(Vec::new());
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT t_ms, l0_files, max_score, bytes, wal_bytes, obsolete_bytes
                 FROM db_samples WHERE run_id = ?1 AND node = ?2 ORDER BY t_ms",
            )
            .map_err(|e| self.err(e))?;
        let u = |v: i64| v.max(0) as u64;
        let rows = stmt
            .query_map(rusqlite::params![run_id, node], |r| {
                Ok(DbPoint {
                    t_ms: r.get(0)?,
                    l0_files: u(r.get(1)?),
                    max_score: r.get::<_, f64>(2)?,
                    bytes: u(r.get(3)?),
                    wal_bytes: u(r.get(4)?),
                    obsolete_bytes: u(r.get(5)?),
                })
            })
            .map_err(|e| self.err(e))?;
        let mut out: Vec<DbPoint> = Vec::new();
        for p in rows {
            let mut p = p.map_err(|e| self.err(e))?;
            if !p.max_score.is_finite() {
                p.max_score = 0.0;
            }
            out.push(p);
            if out.len() >= 2 * limit.max(1) {
                out = thin(&out);
            }
        }
        while out.len() > limit.max(1) {
            out = thin(&out);
        }
        Ok(out)
    }

    /// The evidence captured at the stall starts of a run (of `node` only, when given).
    pub fn forensics(
        &self,
        run_id: i64,
        node: Option<&str>,
    ) -> Result<Vec<Forensics>, RecordError> {
        // Recordings from before forensics existed have no such table: nothing captured.
        if !self.has_table("forensics")? {
            return Ok(Vec::new());
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT node, t_ms, stall_start_ms, height, log_tail, threads, pprof, notes
                 FROM forensics WHERE run_id = ?1 AND (?2 IS NULL OR node = ?2) ORDER BY t_ms",
            )
            .map_err(|e| self.err(e))?;
        stmt.query_map(rusqlite::params![run_id, node], |r| {
            let notes: String = r.get(7)?;
            Ok(Forensics {
                node: r.get(0)?,
                t_ms: r.get(1)?,
                stall_start_ms: r.get(2)?,
                height: r.get::<_, i64>(3)?.max(0) as u64,
                log_tail: r.get(4)?,
                threads: r.get(5)?,
                pprof: r.get(6)?,
                notes: notes
                    .lines()
                    .map(str::to_owned)
                    .filter(|l| !l.is_empty())
                    .collect(),
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| self.err(e))
    }

    /// The time of a node's newest sample in a run, if it has any.
    pub fn last_sample_ms(&self, run_id: i64, node: &str) -> Result<Option<i64>, RecordError> {
        self.conn
            .query_row(
                "SELECT MAX(t_ms) FROM samples WHERE run_id = ?1 AND node = ?2",
                rusqlite::params![run_id, node],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }
}

fn sample(r: &Row<'_>) -> rusqlite::Result<Sample> {
    let u = |i: usize| {
        r.get::<_, Option<i64>>(i)
            .map(|v| v.map(|x| x.max(0) as u64))
    };
    let state: String = r.get(2)?;
    Ok(Sample {
        t_ms: r.get(0)?,
        node: r.get(1)?,
        state: state.parse().unwrap_or(SyncState::Unknown),
        current: u(3)?,
        target: u(4)?,
        peers: r
            .get::<_, Option<i64>>(5)?
            .map(|p| p.clamp(0, u32::MAX as i64) as u32),
        head_hash: r.get(6)?,
        head_time: r.get(7)?,
        cpu_s: r.get(8)?,
        rss_bytes: u(9)?,
        read_bytes: u(10)?,
        write_bytes: u(11)?,
        data_dir_bytes: u(12)?,
    })
}

/// Halves a series: of each pair, the point with the higher compaction score.
fn thin(points: &[DbPoint]) -> Vec<DbPoint> {
    points
        .chunks(2)
        .map(|c| match c {
            [a, b] if b.max_score > a.max_score => *b,
            [a, ..] => *a,
            [] => unreachable!("chunks are never empty"),
        })
        .collect()
}
