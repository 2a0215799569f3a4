//! Outages: windows in which the node did not answer (failed polls) or its process
//! restarted (cumulative counters reset). They are kept apart from stalls: a stall is a
//! node that answers, is behind and does not advance; an outage says nothing about
//! progress, so a stall never spans one.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outage {
    /// First failed poll; for a restart seen only through counters, the last poll before it.
    pub start_ms: i64,
    /// First poll answered again (for an ongoing outage: the last sample).
    pub end_ms: i64,
    pub duration_seconds: f64,
    pub failed_polls: u64,
    /// The process restarted (cumulative counters went down).
    pub restart: bool,
    pub ongoing: bool,
}

#[derive(Debug, Clone, Copy)]
struct Open {
    start_ms: i64,
    failed: u64,
    restart: bool,
}

/// What a sample did to the outage state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutageStep {
    /// Nothing to do with an outage.
    Clear,
    /// Inside an outage that began at `start_ms` (including the sample that ends it);
    /// `restart` once a counter reset was seen in it.
    In { start_ms: i64, restart: bool },
}

/// Finished outages kept in full; later ones are only counted.
const MAX_KEPT: usize = 10_000;

#[derive(Debug, Clone, Default)]
pub(crate) struct OutageTracker {
    open: Option<Open>,
    finished: Vec<Outage>,
    total: u64,
    closed_ms: i64,
}

impl OutageTracker {
    /// One sample at `t`: `error` for a failed poll, `reset` when a counter went down;
    /// `prev_t` is the previous sample's time.
    pub fn step(&mut self, t: i64, prev_t: i64, error: bool, reset: bool) -> OutageStep {
        if (error || reset) && self.open.is_none() {
            self.total += 1;
            self.open = Some(Open {
                start_ms: if error { t } else { prev_t },
                failed: 0,
                restart: false,
            });
        }
        let Some(o) = &mut self.open else {
            return OutageStep::Clear;
        };
        o.failed += u64::from(error);
        o.restart |= reset;
        let (start_ms, restart) = (o.start_ms, o.restart);
        if !error {
            let o = *o;
            self.open = None;
            self.closed_ms += t - o.start_ms;
            if self.finished.len() < MAX_KEPT {
                self.finished.push(build(o, t, false));
            }
        }
        OutageStep::In { start_ms, restart }
    }

    pub fn open_since(&self) -> Option<i64> {
        self.open.map(|o| o.start_ms)
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// Finished outages, then the open one as it stands at `now`.
    pub fn list(&self, now: i64) -> Vec<Outage> {
        let mut v = self.finished.clone();
        v.extend(self.open.map(|o| build(o, now, true)));
        v
    }

    pub fn seconds(&self, now: i64) -> f64 {
        (self.closed_ms + self.open.map_or(0, |o| now - o.start_ms)) as f64 / 1000.0
    }
}

fn build(o: Open, end_ms: i64, ongoing: bool) -> Outage {
    Outage {
        start_ms: o.start_ms,
        end_ms,
        duration_seconds: (end_ms - o.start_ms) as f64 / 1000.0,
        failed_polls: o.failed,
        restart: o.restart,
        ongoing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_polls_then_restart_make_one_outage() {
        let mut o = OutageTracker::default();
        assert_eq!(o.step(0, 0, false, false), OutageStep::Clear);
        let failing = OutageStep::In {
            start_ms: 2,
            restart: false,
        };
        assert_eq!(o.step(2, 0, true, false), failing);
        assert_eq!(o.open_since(), Some(2));
        assert_eq!(o.step(4, 2, true, false), failing);
        assert_eq!(
            o.step(6, 4, false, true),
            OutageStep::In {
                start_ms: 2,
                restart: true
            }
        );
        assert_eq!(o.step(8, 6, false, false), OutageStep::Clear);
        let l = o.list(8);
        assert_eq!(l.len(), 1);
        assert_eq!((l[0].start_ms, l[0].end_ms, l[0].failed_polls), (2, 6, 2));
        assert!(l[0].restart && !l[0].ongoing);
        assert_eq!(o.seconds(8), 0.004);
    }

    #[test]
    fn a_reset_between_polls_is_the_interval_that_hid_it() {
        let mut o = OutageTracker::default();
        o.step(1000, 1000, false, false);
        assert_eq!(
            o.step(3000, 1000, false, true),
            OutageStep::In {
                start_ms: 1000,
                restart: true
            }
        );
        let l = o.list(3000);
        assert_eq!(
            (l[0].start_ms, l[0].end_ms, l[0].failed_polls),
            (1000, 3000, 0)
        );
        assert_eq!(o.total(), 1);
        o.step(4000, 3000, true, false);
        assert!(o.list(5000)[1].ongoing);
        assert_eq!(o.total(), 2);
    }
}
