//! The recorder: a writer thread that commits batches of samples, so the watch never waits on
//! the disk.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nodewarden_model::{Forensics, RemedyEvent, SampleRow};
use rusqlite::{Connection, params};

use crate::{RecordError, schema};

/// Which run new samples belong to.
#[derive(Debug, Clone, PartialEq)]
pub enum RunChoice {
    /// A new run named after its start time (`run-20261121T194404Z`).
    New,
    /// Continue the run of that name, or start it if the file has none.
    Named(String),
}

enum Msg {
    Row(Box<SampleRow>),
    Node { node: String, kind: String },
    Flush(mpsc::Sender<Result<(), String>>),
    Forensics(Box<Forensics>),
    Remedy(Box<RemedyEvent>),
}

/// Batches reach the disk at least this often, so a crash loses at most this much.
const COMMIT_EVERY: Duration = Duration::from_secs(1);
const COMMIT_ROWS: usize = 512;

pub struct Recorder {
    tx: Option<SyncSender<Msg>>,
    writer: Option<JoinHandle<Result<(), RecordError>>>,
    run_id: i64,
    run_name: String,
    path: PathBuf,
}

impl Recorder {
    pub fn open(
        path: &Path,
        choice: RunChoice,
        tool_version: &str,
    ) -> Result<Recorder, RecordError> {
        let err = |source| RecordError::Sqlite {
            path: path.display().to_string(),
            source,
        };
        let conn = Connection::open(path).map_err(err)?;
        schema::init(&conn).map_err(err)?;
        let now = now_ms();
        let name = match choice {
            RunChoice::Named(n) => n,
            RunChoice::New => default_run_name(&conn, now).map_err(err)?,
        };
        let existing: Option<i64> = conn
            .query_row("SELECT id FROM runs WHERE name = ?1", [&name], |r| r.get(0))
            .ok();
        let run_id = match existing {
            Some(id) => {
                conn.execute("UPDATE runs SET ended_ms = NULL WHERE id = ?1", [id])
                    .map_err(err)?;
                id
            }
            None => {
                conn.execute(
                    "INSERT INTO runs (name, started_ms, tool_version) VALUES (?1, ?2, ?3)",
                    params![name, now, tool_version],
                )
                .map_err(err)?;
                conn.last_insert_rowid()
            }
        };
        let (tx, rx) = mpsc::sync_channel(16 * 1024);
        let p = path.display().to_string();
        let writer = std::thread::Builder::new()
            .name("recorder".into())
            .spawn(move || write_loop(conn, rx, run_id, &p))
            .map_err(|e| RecordError::Invalid {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
        Ok(Recorder {
            tx: Some(tx),
            writer: Some(writer),
            run_id,
            run_name: name,
            path: path.to_path_buf(),
        })
    }

    pub fn run_id(&self) -> i64 {
        self.run_id
    }

    pub fn run_name(&self) -> &str {
        &self.run_name
    }

    pub fn register_node(&self, node: &str, kind: &str) -> Result<(), RecordError> {
        self.send(Msg::Node {
            node: node.into(),
            kind: kind.into(),
        })
    }

    /// Queue a sample; it reaches the file within about a second.
    pub fn record(&self, row: SampleRow) -> Result<(), RecordError> {
        self.send(Msg::Row(Box::new(row)))
    }

    /// Queue the evidence captured at a stall's start.
    pub fn record_forensics(&self, f: Forensics) -> Result<(), RecordError> {
        self.send(Msg::Forensics(Box::new(f)))
    }

    /// Queue a watchdog restart; a later one with the same node and time replaces it.
    pub fn record_remedy(&self, e: RemedyEvent) -> Result<(), RecordError> {
        self.send(Msg::Remedy(Box::new(e)))
    }

    /// Block until everything queued so far is committed.
    pub fn flush(&self) -> Result<(), RecordError> {
        let (tx, rx) = mpsc::channel();
        self.send(Msg::Flush(tx))?;
        match rx.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(RecordError::Invalid {
                path: self.path.display().to_string(),
                message,
            }),
            Err(_) => Err(self.gone()),
        }
    }

    /// Commit what is queued, mark the run ended, and stop the writer.
    pub fn close(mut self) -> Result<(), RecordError> {
        self.tx.take();
        match self.writer.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(self.gone()),
            None => Ok(()),
        }
    }

    fn send(&self, msg: Msg) -> Result<(), RecordError> {
        self.tx
            .as_ref()
            .ok_or_else(|| self.gone())?
            .send(msg)
            .map_err(|_| self.gone())
    }

    fn gone(&self) -> RecordError {
        RecordError::WriterGone {
            path: self.path.display().to_string(),
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

fn write_loop(
    mut conn: Connection,
    rx: Receiver<Msg>,
    run_id: i64,
    path: &str,
) -> Result<(), RecordError> {
    let err = |source| RecordError::Sqlite {
        path: path.to_string(),
        source,
    };
    let mut pending: Vec<SampleRow> = Vec::new();
    let mut oldest: Option<Instant> = None;
    loop {
        let msg = rx.recv_timeout(COMMIT_EVERY);
        let mut flush_reply = None;
        let closed = match msg {
            Ok(Msg::Row(row)) => {
                pending.push(*row);
                oldest.get_or_insert_with(Instant::now);
                false
            }
            Ok(Msg::Node { node, kind }) => {
                conn.execute(
                    "INSERT OR REPLACE INTO run_nodes (run_id, node, kind) VALUES (?1, ?2, ?3)",
                    params![run_id, node, kind],
                )
                .map_err(err)?;
                false
            }
            Ok(Msg::Remedy(e)) => {
                crate::remedies::write(&conn, run_id, &e).map_err(err)?;
                false
            }
            Ok(Msg::Forensics(f)) => {
                conn.execute(
                    "INSERT INTO forensics (run_id, node, t_ms, stall_start_ms, height, log_tail, threads, pprof, notes)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![
                        run_id,
                        f.node,
                        f.t_ms,
                        f.stall_start_ms,
                        f.height as i64,
                        f.log_tail,
                        f.threads,
                        f.pprof,
                        f.notes.join("\n")
                    ],
                )
                .map_err(err)?;
                false
            }
            Ok(Msg::Flush(reply)) => {
                flush_reply = Some(reply);
                false
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => true,
        };
        let due =
            pending.len() >= COMMIT_ROWS || oldest.is_some_and(|t| t.elapsed() >= COMMIT_EVERY);
        if due || closed || flush_reply.is_some() {
            let r = commit(&mut conn, run_id, &pending);
            if let Some(reply) = flush_reply {
                let _ = reply.send(r.as_ref().map(|_| ()).map_err(|e| e.to_string()));
            }
            r.map_err(err)?;
            pending.clear();
            oldest = None;
        }
        if closed {
            conn.execute(
                "UPDATE runs SET ended_ms = ?1 WHERE id = ?2",
                params![now_ms(), run_id],
            )
            .map_err(err)?;
            return Ok(());
        }
    }
}

fn commit(conn: &mut Connection, run_id: i64, rows: &[SampleRow]) -> rusqlite::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO samples (run_id, t_ms, node, state, current, target, peers, head_hash, head_time,
                cpu_s, rss_bytes, read_bytes, write_bytes, data_dir_bytes, error, latency_ms, steal_percent)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
        )?;
        for r in rows {
            let s = &r.sample;
            // SQLite integers are i64; heights and byte counts never come near 2^63.
            let i = |v: Option<u64>| v.map(|x| x.min(i64::MAX as u64) as i64);
            stmt.execute(params![
                run_id,
                s.t_ms,
                s.node,
                s.state.as_str(),
                i(s.current),
                i(s.target),
                s.peers,
                s.head_hash,
                s.head_time,
                s.cpu_s,
                i(s.rss_bytes),
                i(s.read_bytes),
                i(s.write_bytes),
                i(s.data_dir_bytes),
                r.error,
                r.latency_ms,
                r.steal_percent,
            ])?;
        }
        let mut db = tx.prepare_cached(
            "INSERT INTO db_samples (run_id, node, t_ms, l0_files, max_score, bytes, wal_bytes, obsolete_bytes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for r in rows {
            let Some(d) = &r.db else { continue };
            let i = |v: u64| v.min(i64::MAX as u64) as i64;
            db.execute(params![
                run_id,
                r.sample.node,
                d.t_ms,
                i(d.l0_files),
                d.max_score,
                i(d.bytes),
                i(d.wal_bytes),
                i(d.obsolete_bytes),
            ])?;
        }
    }
    tx.commit()
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn default_run_name(conn: &Connection, now: i64) -> rusqlite::Result<String> {
    let t = UNIX_EPOCH + Duration::from_millis(now as u64);
    let stamp: String = humantime::format_rfc3339_seconds(t)
        .to_string()
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    let base = format!("run-{stamp}");
    let mut name = base.clone();
    let mut n = 1;
    while conn
        .query_row("SELECT 1 FROM runs WHERE name = ?1", [&name], |_| Ok(()))
        .is_ok()
    {
        n += 1;
        name = format!("{base}-{n}");
    }
    Ok(name)
}
