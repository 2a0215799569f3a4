//! Maintenance windows: a pillar's production cadence inferred from the heights of the
//! momentums it produced, the next slot predicted with its spread, and the go/wait decision
//! for stopping the node. go-zenon has no "next slot" call, so history is all there is.
//! Pure: heights and durations in, a verdict with its reasons out (`docs/MAINTENANCE.md`).

use std::time::Duration;

/// How a pillar produces: one momentum every `interval` heights, give or take `spread`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cadence {
    /// Median gap between two of its momentums, in heights.
    pub interval: f64,
    /// Largest distance of a gap from the median (gaps of missed slots left out).
    pub spread: f64,
    /// Height of its newest momentum.
    pub last: u64,
    /// Gaps the estimate stands on.
    pub gaps: usize,
}

/// What the pillar's history says, before any timing.
#[derive(Debug, Clone, PartialEq)]
pub enum History {
    /// It produced nothing in the momentums looked at: no slot to protect.
    Silent {
        looked_at: u64,
    },
    /// One or two momentums: too few to infer a cadence.
    Sparse {
        last: u64,
        produced: usize,
    },
    Known(Cadence),
}

/// Infers the cadence from the heights of the pillar's momentums (any order).
pub fn infer(produced: &[u64], looked_at: u64) -> History {
    let mut h: Vec<u64> = produced.to_vec();
    h.sort_unstable();
    h.dedup();
    let Some(&last) = h.last() else {
        return History::Silent { looked_at };
    };
    if h.len() < 3 {
        return History::Sparse {
            last,
            produced: h.len(),
        };
    }
    let mut gaps: Vec<f64> = h.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
    gaps.sort_by(f64::total_cmp);
    let median = gaps[gaps.len() / 2];
    // A missed slot makes one gap about twice as long; it says nothing about the spread.
    let kept: Vec<f64> = gaps.into_iter().filter(|g| *g <= median * 1.5).collect();
    let spread = kept.iter().map(|g| (g - median).abs()).fold(0.0, f64::max);
    History::Known(Cadence {
        interval: median,
        spread,
        last,
        gaps: kept.len(),
    })
}

/// Everything the decision needs besides the history.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Height of the newest momentum the node holds.
    pub head: u64,
    /// Seconds per momentum, measured.
    pub block_time: Duration,
    /// Expected downtime of the maintenance (stop, work, start).
    pub downtime: Duration,
    /// Extra room demanded on top of the downtime.
    pub margin: Duration,
}

/// Go or wait, and why, in words for the log and fields for JSON.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Verdict {
    pub go: bool,
    /// The gap is never long enough: waiting can only end in the timeout.
    pub hopeless: bool,
    pub last_produced: Option<u64>,
    /// Seconds until the predicted next slot, and its ± spread.
    pub next_in_seconds: Option<f64>,
    pub spread_seconds: Option<f64>,
    /// Seconds from now until the earliest the next slot may come.
    pub quiet_seconds: Option<f64>,
    pub reason: String,
}

impl Verdict {
    /// Go, with nothing predicted.
    pub fn go(reason: String) -> Verdict {
        Verdict {
            go: true,
            hopeless: false,
            last_produced: None,
            next_in_seconds: None,
            spread_seconds: None,
            quiet_seconds: None,
            reason,
        }
    }
}

/// Decides whether the node may go down now: the earliest the next slot may come, less
/// one block (the head may be almost a block old), must lie beyond downtime + margin.
pub fn decide(history: &History, t: Timing) -> Verdict {
    let need = t.downtime + t.margin;
    let bt = t.block_time.as_secs_f64();
    let mut v = Verdict::go(String::new());
    let c = match history {
        History::Silent { looked_at } => {
            v.reason = format!(
                "the pillar produced none of the last {} momentums: no slot to protect: go",
                thousands(*looked_at)
            );
            return v;
        }
        History::Sparse { last, produced } => {
            v.last_produced = Some(*last);
            v.reason = format!(
                "the pillar produced only {produced} momentum(s) lately (last at {}): too rare to be due soon: go",
                thousands(*last)
            );
            return v;
        }
        History::Known(c) => c,
    };
    let next = c.last as f64 + c.interval;
    let earliest = next - c.spread;
    let quiet = ((earliest - t.head as f64 - 1.0) * bt).max(0.0);
    // Right after a momentum the whole gap is ahead; if even that is too short, no moment is.
    let best = ((c.interval - c.spread - 1.0) * bt).max(0.0);
    v.last_produced = Some(c.last);
    v.next_in_seconds = Some((next - t.head as f64) * bt);
    v.spread_seconds = Some(c.spread * bt);
    v.quiet_seconds = Some(quiet);
    v.go = quiet >= need.as_secs_f64();
    v.hopeless = best < need.as_secs_f64();
    let verdict = match (v.go, v.hopeless) {
        (true, _) => "go".to_string(),
        (false, true) => format!(
            "wait: the whole gap (~{}) is shorter than that",
            human(best)
        ),
        (false, false) if quiet <= 0.0 => "wait: the pillar is due".to_string(),
        (false, false) => "wait for its next momentum".to_string(),
    };
    v.reason = format!(
        "produced at {}; next expected in {} ± {}; downtime ~{} + margin {}: {verdict}",
        thousands(c.last),
        human((next - t.head as f64) * bt),
        human(c.spread * bt),
        human(t.downtime.as_secs_f64()),
        human(t.margin.as_secs_f64()),
    );
    v
}

/// Seconds from `head` (a height, possibly extrapolated past the node's own head by the
/// clock, e.g. while the node is stalled) until the next slot window
/// `[last + k·interval − spread, last + k·interval + spread]`, k ≥ 1, the cadence carried
/// forward over slots the pillar may have missed; 0 inside a window.
pub fn quiet_at(c: &Cadence, head: f64, block_time: Duration) -> f64 {
    let step = c.interval.max(1.0);
    let since = head - c.last as f64;
    // The first k whose window has not closed yet.
    let k = ((since - c.spread) / step).ceil().max(1.0);
    let start = c.last as f64 + k * step - c.spread;
    ((start - head) * block_time.as_secs_f64()).max(0.0)
}

/// `4218812` → `4,218,812`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// `370.2` → `6m10s`; below ten seconds one decimal (`2.4s`), negative as `-3s`.
pub fn human(secs: f64) -> String {
    if secs < 0.0 {
        return format!("-{}", human(-secs));
    }
    if secs < 10.0 {
        return format!("{secs:.1}s");
    }
    let s = secs.round() as u64;
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, _) => format!("{h}h{m:02}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(head: u64, downtime_s: u64) -> Timing {
        Timing {
            head,
            block_time: Duration::from_secs(10),
            downtime: Duration::from_secs(downtime_s),
            margin: Duration::from_secs(10),
        }
    }

    #[test]
    fn cadence_is_the_median_gap_and_missed_slots_do_not_widen_the_spread() {
        // Every 36 ± 4, one slot missed (the 80-height gap).
        let heights = [100, 136, 170, 210, 290, 326, 360];
        let History::Known(c) = infer(&heights, 1024) else {
            panic!("known")
        };
        assert_eq!(c.interval, 36.0);
        assert_eq!(c.spread, 4.0);
        assert_eq!((c.last, c.gaps), (360, 5));
        assert_eq!(infer(&[], 1024), History::Silent { looked_at: 1024 });
        assert_eq!(
            infer(&[5, 9], 1024),
            History::Sparse {
                last: 9,
                produced: 2
            }
        );
    }

    #[test]
    fn goes_right_after_a_momentum_and_waits_when_the_slot_is_near() {
        let h = infer(&[4_218_740, 4_218_776, 4_218_812], 1024);
        // Just produced: next at 812 + 36 = 848 ± 0, 35 blocks of quiet (350 s).
        let v = decide(&h, timing(4_218_812, 3));
        assert!(v.go && !v.hopeless, "{v:?}");
        assert_eq!(
            v.reason,
            "produced at 4,218,812; next expected in 6m00s ± 0.0s; downtime ~3.0s + margin 10s: go"
        );
        assert_eq!(v.quiet_seconds, Some(350.0));
        // Thirty blocks later 50 s remain: too few for 41 s + 10 s.
        let v = decide(&h, timing(4_218_842, 41));
        assert!(!v.go && !v.hopeless, "{v:?}");
        assert!(
            v.reason.ends_with("wait for its next momentum"),
            "{}",
            v.reason
        );
        // Overdue.
        let v = decide(&h, timing(4_218_850, 1));
        assert!(
            !v.go && v.reason.ends_with("wait: the pillar is due"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn a_gap_shorter_than_the_downtime_is_hopeless() {
        let h = infer(&[100, 103, 106, 109], 1024);
        let v = decide(&h, timing(109, 30));
        assert!(!v.go && v.hopeless, "{v:?}");
        assert!(
            v.reason.contains("the whole gap (~20s) is shorter"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn silent_and_sparse_pillars_do_not_block_maintenance() {
        let v = decide(&History::Silent { looked_at: 1024 }, timing(5_000, 3));
        assert!(
            v.go && v.reason.contains("none of the last 1,024"),
            "{}",
            v.reason
        );
        let v = decide(&infer(&[4_000], 1024), timing(5_000, 3));
        assert!(v.go && v.last_produced == Some(4_000), "{v:?}");
    }

    #[test]
    fn quiet_time_carries_the_cadence_past_a_stalled_head() {
        let c = Cadence {
            interval: 36.0,
            spread: 4.0,
            last: 1_000,
            gaps: 5,
        };
        let bt = Duration::from_secs(10);
        // Right after the momentum: 32 blocks to the window at 1032..1040.
        assert_eq!(quiet_at(&c, 1_000.0, bt), 320.0);
        // Inside the window.
        assert_eq!(quiet_at(&c, 1_035.0, bt), 0.0);
        assert_eq!(quiet_at(&c, 1_040.0, bt), 0.0);
        // Past it (the slot was missed or not seen): the next one, 1068..1076.
        assert_eq!(quiet_at(&c, 1_041.0, bt), 270.0);
        assert_eq!(quiet_at(&c, 1_070.0, bt), 0.0);
    }

    #[test]
    fn numbers_and_durations_read_like_an_operator_writes_them() {
        assert_eq!(thousands(4_218_812), "4,218,812");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(human(370.2), "6m10s");
        assert_eq!(human(40.0), "40s");
        assert_eq!(human(2.44), "2.4s");
        assert_eq!(human(7_300.0), "2h01m");
    }
}
