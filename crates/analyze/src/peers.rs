//! Peer-loss events: sudden drops of the peer count, and time spent with none. Besu's and
//! go-zenon's operators meet "losing many peers" before a stall or an OOM; the report lists
//! these next to the stalls so the two can be read together.

use crate::rate::RecentMedian;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerLoss {
    pub start_ms: i64,
    /// First sample back at ¾ of the count before the drop (for an ongoing loss: the last
    /// sample).
    pub end_ms: i64,
    /// Typical peer count before the drop.
    pub from: u32,
    /// Fewest peers during the loss.
    pub min: u32,
    /// Seconds with no peers at all.
    pub zero_seconds: f64,
    pub ongoing: bool,
}

/// Kept in full; later ones are only counted.
const MAX_KEPT: usize = 1_000;

#[derive(Debug, Clone)]
pub(crate) struct PeerTracker {
    typical: RecentMedian,
    open: Option<PeerLoss>,
    last: Option<(i64, u32)>,
    finished: Vec<PeerLoss>,
    total: u64,
}

impl Default for PeerTracker {
    fn default() -> Self {
        Self {
            typical: RecentMedian::new(31),
            open: None,
            last: None,
            finished: Vec::new(),
            total: 0,
        }
    }
}

impl PeerTracker {
    pub fn push(&mut self, t: i64, peers: Option<u32>) {
        let Some(p) = peers else { return };
        if let (Some(o), Some((lt, lp))) = (&mut self.open, self.last)
            && lp == 0
        {
            o.zero_seconds += (t - lt) as f64 / 1000.0;
        }
        self.last = Some((t, p));
        match &mut self.open {
            Some(o) => {
                o.min = o.min.min(p);
                o.end_ms = t;
                if 4 * p >= 3 * o.from {
                    let done = self.open.take().expect("checked above");
                    if self.finished.len() < MAX_KEPT {
                        self.finished.push(done);
                    }
                }
            }
            None => {
                let typical = self.typical.median().unwrap_or(0.0);
                // A loss is at least half the usual peers, from a count worth losing.
                if self.typical.len() >= 5 && typical >= 2.0 && (p as f64) <= typical / 2.0 {
                    self.total += 1;
                    self.open = Some(PeerLoss {
                        start_ms: t,
                        end_ms: t,
                        from: typical.round() as u32,
                        min: p,
                        zero_seconds: 0.0,
                        ongoing: false,
                    });
                } else {
                    self.typical.push(f64::from(p));
                }
            }
        }
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// The loss under way, if any.
    pub fn open(&self) -> Option<&PeerLoss> {
        self.open.as_ref()
    }

    pub fn list(&self) -> Vec<PeerLoss> {
        let mut v = self.finished.clone();
        v.extend(self.open.clone().map(|o| PeerLoss { ongoing: true, ..o }));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drop_to_zero_and_back_is_one_loss() {
        let mut p = PeerTracker::default();
        let counts = [12, 11, 12, 13, 12, 12, 4, 0, 0, 0, 3, 8, 10, 12, 11];
        for (i, c) in counts.into_iter().enumerate() {
            p.push(i as i64 * 2_000, Some(c));
            // The live view sees the loss from its first sample to the last one below ¾.
            let open = p.open().map(|o| (o.start_ms, o.from));
            let expect = (6..=11).contains(&i).then_some((12_000, 12));
            assert_eq!(open, expect, "after sample {i}");
        }
        let l = p.list();
        assert_eq!(l.len(), 1, "{l:?}");
        assert_eq!((l[0].from, l[0].min), (12, 0));
        assert_eq!((l[0].start_ms, l[0].end_ms), (12_000, 24_000));
        assert_eq!(l[0].zero_seconds, 6.0);
        assert!(!l[0].ongoing);
        // Small wobbles and unknown counts are not losses.
        p.push(30_000, Some(9));
        p.push(32_000, None);
        assert_eq!(p.total(), 1);
    }
}
