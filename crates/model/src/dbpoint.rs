//! A node's database at one moment, as the recording keeps it: enough to chart L0 files and
//! compaction debt beside the sync graph, and to say in a stall's cause what the database
//! was doing.

use serde::{Deserialize, Serialize};

use crate::DbView;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DbPoint {
    pub t_ms: i64,
    /// Files in level 0, summed over databases and column families.
    pub l0_files: u64,
    /// The highest compaction score of any level (≥ 1: a compaction is due; L0's is its file
    /// count over the compaction trigger).
    pub max_score: f64,
    /// Bytes in live table files.
    pub bytes: u64,
    pub wal_bytes: u64,
    pub obsolete_bytes: u64,
}

/// A compaction score from which the debt is worth naming in a stall's cause: the engine
/// is well behind, not merely due (a score just over 1 is an ordinary state of a busy node).
const NOTABLE_SCORE: f64 = 2.0;

impl DbView {
    pub fn point(&self, t_ms: i64) -> DbPoint {
        DbPoint {
            t_ms,
            l0_files: self
                .levels
                .iter()
                .filter(|l| l.level == 0)
                .map(|l| l.files)
                .sum(),
            max_score: self.max_compaction_score,
            bytes: self.levels.iter().map(|l| l.bytes).sum(),
            wal_bytes: self.wal_bytes,
            obsolete_bytes: self.obsolete_bytes,
        }
    }
}

/// What the database says about a window (a stall): "L0 at 36 files, compaction score 9.0"
/// from the worst point inside it (or the last one before it began), or `None` when the
/// database was keeping up. `points` in time order.
pub fn db_pressure(points: &[DbPoint], start_ms: i64, end_ms: i64) -> Option<String> {
    let before = points.partition_point(|p| p.t_ms < start_ms);
    let from = before.saturating_sub(1);
    let inside = points
        .get(from..)
        .unwrap_or_default()
        .iter()
        .take_while(|p| p.t_ms <= end_ms);
    let worst = inside.max_by(|a, b| a.max_score.total_cmp(&b.max_score))?;
    (worst.max_score >= NOTABLE_SCORE).then(|| {
        format!(
            "L0 at {} files, compaction score {:.1}",
            worst.l0_files, worst.max_score
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(t_ms: i64, l0_files: u64, max_score: f64) -> DbPoint {
        DbPoint {
            t_ms,
            l0_files,
            max_score,
            bytes: 0,
            wal_bytes: 0,
            obsolete_bytes: 0,
        }
    }

    #[test]
    fn the_worst_point_of_the_window_or_the_one_before_it_speaks() {
        let pts = [p(0, 2, 0.5), p(10, 36, 9.0), p(20, 3, 0.7), p(40, 40, 10.0)];
        assert_eq!(
            db_pressure(&pts, 5, 25).as_deref(),
            Some("L0 at 36 files, compaction score 9.0")
        );
        // The state when the window began counts: the last point before it.
        assert_eq!(
            db_pressure(&pts, 12, 18).as_deref(),
            Some("L0 at 36 files, compaction score 9.0")
        );
        assert_eq!(db_pressure(&pts, 21, 30), None, "keeping up");
        assert_eq!(db_pressure(&[], 0, 10), None);
        assert_eq!(
            db_pressure(&pts, 100, 50),
            Some("L0 at 40 files, compaction score 10.0".into())
        );
    }
}
