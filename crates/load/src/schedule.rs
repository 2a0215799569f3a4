//! Open-model arrival times: ticket `i` is due when the cumulative count of the rate
//! function reaches `i`. Rates are piecewise linear (a constant rate is one flat piece),
//! so each piece inverts in closed form and the schedule needs no state.
use std::time::Duration;

use crate::scenario::Executor;

#[derive(Debug, Clone)]
struct Piece {
    start: f64,
    len: f64,
    r0: f64,
    r1: f64,
    /// Tickets due before this piece.
    before: f64,
}

#[derive(Debug, Clone)]
pub struct Schedule {
    pieces: Vec<Piece>,
    total: u64,
}

impl Schedule {
    /// `None` for closed-model executors.
    pub fn for_executor(e: &Executor) -> Option<Schedule> {
        let rates: Vec<(f64, f64, f64)> = match e {
            Executor::ConstantArrivalRate { rate, duration } => {
                vec![(duration.as_secs_f64(), *rate, *rate)]
            }
            Executor::RampingArrivalRate { start_rate, stages } => {
                let mut from = *start_rate;
                stages
                    .iter()
                    .map(|s| {
                        let piece = (s.duration.as_secs_f64(), from, s.target);
                        from = s.target;
                        piece
                    })
                    .collect()
            }
            Executor::ConstantVus { .. } => return None,
        };
        let mut pieces = Vec::new();
        let (mut start, mut before) = (0.0, 0.0);
        for (len, r0, r1) in rates {
            pieces.push(Piece {
                start,
                len,
                r0,
                r1,
                before,
            });
            start += len;
            before += (r0 + r1) / 2.0 * len;
        }
        Some(Schedule {
            pieces,
            // A ticket exactly at the end belongs to the next run, not this one.
            total: (before - 1e-9).ceil().max(0.0) as u64,
        })
    }

    /// How many requests the schedule sends.
    #[cfg(test)]
    pub fn total(&self) -> u64 {
        self.total
    }

    /// When ticket `i` is due, from the start of the run; `None` once the schedule is over.
    pub fn due(&self, i: u64) -> Option<Duration> {
        if i >= self.total {
            return None;
        }
        let x = i as f64;
        let p = self
            .pieces
            .iter()
            .rev()
            .find(|p| p.before <= x && p.r0 + p.r1 > 0.0)?;
        let x = x - p.before;
        let a = (p.r1 - p.r0) / (2.0 * p.len);
        let b = p.r0;
        let t = if a.abs() < 1e-12 {
            x / b
        } else {
            (-b + (b * b + 4.0 * a * x).max(0.0).sqrt()) / (2.0 * a)
        };
        Some(Duration::from_secs_f64(p.start + t.clamp(0.0, p.len)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Stage;

    #[test]
    fn constant_rate_is_evenly_spaced() {
        let s = Schedule::for_executor(&Executor::ConstantArrivalRate {
            rate: 100.0,
            duration: Duration::from_secs(2),
        })
        .unwrap();
        assert_eq!(s.total(), 200);
        assert_eq!(s.due(0), Some(Duration::ZERO));
        assert_eq!(s.due(50), Some(Duration::from_millis(500)));
        assert_eq!(s.due(200), None);
    }

    #[test]
    fn ramps_follow_the_integral() {
        let s = Schedule::for_executor(&Executor::RampingArrivalRate {
            start_rate: 0.0,
            stages: vec![
                Stage {
                    duration: Duration::from_secs(10),
                    target: 100.0,
                },
                Stage {
                    duration: Duration::from_secs(5),
                    target: 100.0,
                },
                Stage {
                    duration: Duration::from_secs(10),
                    target: 0.0,
                },
            ],
        })
        .unwrap();
        // 500 on the way up, 500 flat, 500 down.
        assert_eq!(s.total(), 1500);
        // Up the ramp N(t) = 5 t², so ticket 125 is due at t = 5 s.
        let t = s.due(125).unwrap().as_secs_f64();
        assert!((t - 5.0).abs() < 1e-6, "{t}");
        let t = s.due(750).unwrap().as_secs_f64();
        assert!((t - 12.5).abs() < 1e-6, "{t}");
        // Down the ramp: 1500 - N = 5 (25 - t)², N = 1480 → t = 25 - 2.
        let t = s.due(1480).unwrap().as_secs_f64();
        assert!((t - 23.0).abs() < 1e-6, "{t}");
        let mut last = Duration::ZERO;
        for i in 0..1500 {
            let d = s.due(i).unwrap();
            assert!(d >= last, "monotonic at {i}");
            last = d;
        }
    }
}
