//! The node's own height: phases, batch jumps, catching up and following the
//! tip, and stalls. Pure (no clocks, no I/O) so it can be tested step by step.

use std::collections::HashSet;

use crate::scenario::{Phase, Stall, StallCause, Until};

/// Used when a scenario has no phases at all.
pub const DEFAULT_RATE: f64 = 100.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    StallStarted { at: u64, cause: StallCause },
    StallEnded { at: u64, cause: StallCause },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Pending,
    Active,
    Done,
}

#[derive(Debug, Clone)]
struct StallRun {
    at: u64,
    cause: StallCause,
    remaining_ms: f64,
    state: State,
}

#[derive(Debug, Clone)]
pub struct HeightModel {
    phases: Vec<Phase>,
    stalls: Vec<StallRun>,
    height: u64,
    /// Blocks earned at the phase rate but not yet shown (batching, fractions).
    progress: f64,
    /// Caught up: new blocks arrive as the tip makes them, whatever the phase rate.
    following: bool,
}

impl HeightModel {
    /// `done` holds the heights of stalls already served by this data dir;
    /// stalls below `height` count as served too, so a restart never repeats them.
    pub fn new(phases: &[Phase], stalls: &[Stall], height: u64, done: &HashSet<u64>) -> Self {
        let stalls = stalls
            .iter()
            .map(|s| StallRun {
                at: s.at,
                cause: s.cause,
                remaining_ms: s.duration.as_secs_f64() * 1000.0,
                state: if s.at < height || done.contains(&s.at) {
                    State::Done
                } else {
                    State::Pending
                },
            })
            .collect();
        HeightModel {
            phases: phases.to_vec(),
            stalls,
            height,
            progress: 0.0,
            following: false,
        }
    }

    pub fn height(&self) -> u64 {
        self.height
    }

    /// The cause of the stall in progress, if any.
    pub fn active_stall(&self) -> Option<StallCause> {
        self.stalls
            .iter()
            .find(|s| s.state == State::Active)
            .map(|s| s.cause)
    }

    /// Advances by `dt_ms` of sim time toward `tip`, by at most `max_advance`
    /// blocks (what the writer can store in one tick). Returns stall events.
    pub fn step(&mut self, dt_ms: f64, tip: u64, max_advance: u64) -> Vec<Event> {
        let mut events = Vec::new();
        let mut dt = dt_ms.max(0.0);
        let limit = self.height.saturating_add(max_advance.max(1));
        // Each pass either consumes all of `dt` or changes a stall's state, so
        // this ends after at most two passes per stall.
        loop {
            if let Some(s) = self.stalls.iter_mut().find(|s| s.state == State::Active) {
                s.remaining_ms -= dt;
                if s.remaining_ms > 0.0 {
                    return events;
                }
                dt = -s.remaining_ms;
                s.state = State::Done;
                events.push(Event::StallEnded {
                    at: s.at,
                    cause: s.cause,
                });
                // A stalled node has fallen behind; it syncs again before following.
                self.following = false;
                continue;
            }
            let next_stall = self.stalls.iter_mut().find(|s| s.state == State::Pending);
            let stall_at = next_stall.as_ref().map_or(u64::MAX, |s| s.at);
            if let Some(s) = next_stall
                && s.at <= self.height
            {
                s.state = State::Active;
                self.progress = 0.0;
                events.push(Event::StallStarted {
                    at: s.at,
                    cause: s.cause,
                });
                continue;
            }
            if self.height >= tip {
                self.following = true;
                self.progress = 0.0;
                return events;
            }
            if self.following {
                self.height = tip.min(stall_at).min(limit);
                self.progress = 0.0;
            } else {
                self.advance_at_phase_rate(dt, tip.min(stall_at).min(limit));
                if self.height >= tip {
                    self.following = true;
                    self.progress = 0.0;
                }
            }
            dt = 0.0;
            // Reaching a stall height starts the stall now; the hold runs from the next step.
            if self.height == stall_at {
                continue;
            }
            return events;
        }
    }

    fn advance_at_phase_rate(&mut self, mut dt_ms: f64, barrier: u64) {
        loop {
            let (rate, batch, phase_end) = self.phase_at(self.height);
            self.progress += rate * dt_ms / 1000.0;
            let limit = phase_end.map_or(barrier, |end| barrier.min(end));
            let earned = self.progress.floor().min(u64::MAX as f64) as u64;
            let advance = if self.height.saturating_add(earned) >= limit {
                limit - self.height
            } else {
                earned / batch * batch
            };
            self.height += advance;
            self.progress = (self.progress - advance as f64).max(0.0);
            // Crossing into the next phase: what is left is time, to be spent
            // at the next phase's rate rather than this one's.
            if phase_end == Some(self.height) && self.height < barrier && self.progress > 0.0 {
                dt_ms = self.progress / rate * 1000.0;
                self.progress = 0.0;
                continue;
            }
            return;
        }
    }

    /// (rate, batch, last height of the phase) for a node at `height`.
    fn phase_at(&self, height: u64) -> (f64, u64, Option<u64>) {
        for p in &self.phases {
            match p.until {
                Until::Tip => return (p.rate, p.batch, None),
                Until::Height(end) if height < end => return (p.rate, p.batch, Some(end)),
                Until::Height(_) => {}
            }
        }
        // Past every phase: keep the last phase's pace.
        self.phases
            .last()
            .map_or((DEFAULT_RATE, 1, None), |p| (p.rate, p.batch, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn phase(until: Until, rate: f64, batch: u64) -> Phase {
        Phase { until, rate, batch }
    }

    fn stall(at: u64, secs: u64, cause: StallCause) -> Stall {
        Stall {
            at,
            duration: Duration::from_secs(secs),
            cause,
        }
    }

    const BIG: u64 = u64::MAX;

    #[test]
    fn advances_at_the_phase_rate_and_switches_phase_exactly_at_until() {
        let phases = [
            phase(Until::Height(150), 100.0, 1),
            phase(Until::Tip, 10.0, 1),
        ];
        let mut m = HeightModel::new(&phases, &[], 0, &HashSet::new());
        m.step(1000.0, 10_000, BIG);
        assert_eq!(m.height(), 100);
        m.step(400.0, 10_000, BIG);
        assert_eq!(m.height(), 140);
        m.step(200.0, 10_000, BIG);
        // 100 ms reach the boundary at 150; the other 100 ms earn one block at the new rate.
        assert_eq!(m.height(), 151);
        m.step(1000.0, 10_000, BIG);
        assert_eq!(m.height(), 161, "second phase rate");
    }

    #[test]
    fn batch_makes_progress_arrive_in_jumps() {
        let phases = [phase(Until::Tip, 10.0, 5)];
        let mut m = HeightModel::new(&phases, &[], 0, &HashSet::new());
        let mut seen = vec![];
        for _ in 0..10 {
            m.step(100.0, 1_000, BIG);
            seen.push(m.height());
        }
        assert_eq!(seen, [0, 0, 0, 0, 5, 5, 5, 5, 5, 10]);
    }

    #[test]
    fn never_passes_the_tip_then_follows_it() {
        let phases = [phase(Until::Tip, 1_000.0, 7)];
        let mut m = HeightModel::new(&phases, &[], 0, &HashSet::new());
        m.step(1000.0, 50, BIG);
        assert_eq!(m.height(), 50, "a partial batch is fine at the tip");
        m.step(1000.0, 51, BIG);
        assert_eq!(m.height(), 51);
        // Following ignores a phase rate slower than the chain.
        let slow = [phase(Until::Tip, 0.001, 1)];
        let mut m = HeightModel::new(&slow, &[], 10, &HashSet::new());
        m.step(10.0, 10, BIG);
        m.step(10.0, 13, BIG);
        assert_eq!(m.height(), 13);
    }

    #[test]
    fn max_advance_caps_one_step() {
        let phases = [phase(Until::Tip, 1e6, 1)];
        let mut m = HeightModel::new(&phases, &[], 0, &HashSet::new());
        m.step(1000.0, 1_000_000, 500);
        assert_eq!(m.height(), 500);
    }

    #[test]
    fn stalls_hold_for_their_duration_then_resume() {
        let phases = [phase(Until::Tip, 100.0, 1)];
        let stalls = [stall(50, 2, StallCause::Cpu)];
        let mut m = HeightModel::new(&phases, &stalls, 0, &HashSet::new());
        let ev = m.step(1000.0, 10_000, BIG);
        assert_eq!(m.height(), 50);
        assert_eq!(
            ev,
            [Event::StallStarted {
                at: 50,
                cause: StallCause::Cpu
            }]
        );
        assert_eq!(m.active_stall(), Some(StallCause::Cpu));
        assert!(m.step(1500.0, 10_000, BIG).is_empty());
        assert_eq!(m.height(), 50, "held");
        let ev = m.step(1000.0, 10_000, BIG);
        assert_eq!(
            ev,
            [Event::StallEnded {
                at: 50,
                cause: StallCause::Cpu
            }]
        );
        assert_eq!(m.height(), 100, "the 500ms left over after the stall count");
        assert_eq!(m.active_stall(), None);
    }

    #[test]
    fn a_stall_reached_while_following_holds_and_then_catches_up() {
        let phases = [phase(Until::Tip, 1_000.0, 1)];
        let stalls = [stall(105, 1, StallCause::Peers)];
        let mut m = HeightModel::new(&phases, &stalls, 100, &HashSet::new());
        m.step(10.0, 100, BIG);
        m.step(10.0, 110, BIG);
        assert_eq!(m.height(), 105);
        assert_eq!(m.active_stall(), Some(StallCause::Peers));
        m.step(1000.0, 120, BIG);
        m.step(5.0, 120, BIG);
        assert_eq!(m.height(), 110, "syncs at the phase rate after the stall");
        m.step(50.0, 120, BIG);
        assert_eq!(m.height(), 120);
    }

    #[test]
    fn passed_or_served_stalls_do_not_repeat_after_a_restart() {
        let phases = [phase(Until::Tip, 100.0, 1)];
        let stalls = [
            stall(50, 60, StallCause::Io),
            stall(80, 60, StallCause::Cpu),
        ];
        // Restart above the first stall: it is not served again.
        let mut m = HeightModel::new(&phases, &stalls, 60, &HashSet::new());
        m.step(100.0, 10_000, BIG);
        assert_eq!(m.active_stall(), None);
        assert_eq!(m.height(), 70);
        // Restart exactly at a stall that was already served (recorded as done).
        let done = HashSet::from([80]);
        let mut m = HeightModel::new(&phases, &stalls, 80, &done);
        m.step(100.0, 10_000, BIG);
        assert_eq!(m.active_stall(), None);
        assert_eq!(m.height(), 90);
        // Restart at a stall not yet served: it is served.
        let mut m = HeightModel::new(&phases, &stalls, 80, &HashSet::new());
        let ev = m.step(100.0, 10_000, BIG);
        assert_eq!(m.height(), 80);
        assert!(matches!(ev[..], [Event::StallStarted { at: 80, .. }]));
    }

    #[test]
    fn without_phases_a_default_rate_applies_and_past_phases_keep_the_last_rate() {
        let mut m = HeightModel::new(&[], &[], 0, &HashSet::new());
        m.step(1000.0, 10_000, BIG);
        assert_eq!(m.height(), DEFAULT_RATE as u64);
        let phases = [phase(Until::Height(10), 5.0, 1)];
        let mut m = HeightModel::new(&phases, &[], 10, &HashSet::new());
        m.step(1000.0, 10_000, BIG);
        assert_eq!(m.height(), 15);
    }
}
