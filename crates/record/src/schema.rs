//! The SQLite schema of a recording, and its version.

use rusqlite::Connection;

/// Bumped whenever a table changes shape; older files are migrated on open.
pub const SCHEMA_VERSION: i64 = 1;

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    started_ms   INTEGER NOT NULL,
    ended_ms     INTEGER,
    tool_version TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS run_nodes (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    node   TEXT NOT NULL,
    kind   TEXT NOT NULL,
    PRIMARY KEY (run_id, node)
);
-- One row per node per tick. NULL means not measured, never zero.
CREATE TABLE IF NOT EXISTS samples (
    run_id         INTEGER NOT NULL REFERENCES runs(id),
    t_ms           INTEGER NOT NULL,
    node           TEXT NOT NULL,
    state          TEXT NOT NULL,
    current        INTEGER,
    target         INTEGER,
    peers          INTEGER,
    head_hash      TEXT,
    head_time      REAL,
    cpu_s          REAL,
    rss_bytes      INTEGER,
    read_bytes     INTEGER,
    write_bytes    INTEGER,
    data_dir_bytes INTEGER,
    error          TEXT,
    latency_ms     REAL,
    steal_percent  REAL
);
CREATE INDEX IF NOT EXISTS samples_by_run ON samples (run_id, node, t_ms);
-- The node's databases whenever their MANIFESTs changed (watch inspects at most every 10 s).
CREATE TABLE IF NOT EXISTS db_samples (
    run_id         INTEGER NOT NULL REFERENCES runs(id),
    node           TEXT NOT NULL,
    t_ms           INTEGER NOT NULL,
    l0_files       INTEGER NOT NULL,
    max_score      REAL NOT NULL,
    bytes          INTEGER NOT NULL,
    wal_bytes      INTEGER NOT NULL,
    obsolete_bytes INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS db_samples_by_run ON db_samples (run_id, node, t_ms);
-- Evidence captured when a stall began; one row per capture, the parts as text.
CREATE TABLE IF NOT EXISTS forensics (
    run_id         INTEGER NOT NULL REFERENCES runs(id),
    node           TEXT NOT NULL,
    t_ms           INTEGER NOT NULL,
    stall_start_ms INTEGER NOT NULL,
    height         INTEGER NOT NULL,
    log_tail       TEXT,
    threads        TEXT,
    pprof          TEXT,
    notes          TEXT NOT NULL
);
-- Watchdog restarts (and dry runs); rewritten as the restart finishes and is judged.
CREATE TABLE IF NOT EXISTS remedies (
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    node        TEXT NOT NULL,
    t_ms        INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    action      TEXT NOT NULL,
    detail      TEXT NOT NULL,
    ok          INTEGER,
    error       TEXT,
    height      INTEGER,
    rate_before REAL,
    rate_after  REAL,
    helped      INTEGER,
    PRIMARY KEY (run_id, node, t_ms)
);
";

pub fn init(conn: &Connection) -> rusqlite::Result<()> {
    // WAL lets `report` read while `watch` writes; NORMAL sync is durable at checkpoints
    // and loses at most the last transaction on power loss, never corrupts.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.execute_batch(SCHEMA)?;
    conn.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?1)",
        [SCHEMA_VERSION.to_string()],
    )?;
    Ok(())
}
