//! The `remedies` table: watchdog restarts, written as they are decided, finished and
//! judged (one row per node and decision time), read back for `report` and the dashboard.
use nodewarden_model::RemedyEvent;
use rusqlite::{Connection, params};

use crate::{RecordError, Recording};

pub(crate) fn write(conn: &Connection, run_id: i64, e: &RemedyEvent) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO remedies
         (run_id, node, t_ms, reason, action, detail, ok, error, height, rate_before, rate_after, helped)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            run_id,
            e.node,
            e.t_ms,
            e.reason,
            e.action,
            e.detail,
            e.ok,
            e.error,
            e.height.map(|h| h as i64),
            e.rate_before,
            e.rate_after,
            e.helped
        ],
    )?;
    Ok(())
}

impl Recording {
    /// Whether the file has the table (tables were added over time).
    pub(crate) fn has_table(&self, name: &str) -> Result<bool, RecordError> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [name],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        Ok(n > 0)
    }

    /// The watchdog's restarts in a run (of `node` only, when given), oldest first.
    pub fn remedies(
        &self,
        run_id: i64,
        node: Option<&str>,
    ) -> Result<Vec<RemedyEvent>, RecordError> {
        // Recordings from before the watchdog have no such table: nothing restarted.
        if !self.has_table("remedies")? {
            return Ok(Vec::new());
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT node, t_ms, reason, action, detail, ok, error, height, rate_before, rate_after, helped
                 FROM remedies WHERE run_id = ?1 AND (?2 IS NULL OR node = ?2) ORDER BY t_ms",
            )
            .map_err(|e| self.err(e))?;
        stmt.query_map(params![run_id, node], |r| {
            Ok(RemedyEvent {
                node: r.get(0)?,
                t_ms: r.get(1)?,
                reason: r.get(2)?,
                action: r.get(3)?,
                detail: r.get(4)?,
                ok: r.get(5)?,
                error: r.get(6)?,
                height: r.get::<_, Option<i64>>(7)?.map(|h| h.max(0) as u64),
                rate_before: r.get(8)?,
                rate_after: r.get(9)?,
                helped: r.get(10)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| self.err(e))
    }
}
