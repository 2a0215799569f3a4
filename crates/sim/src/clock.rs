//! The chain clock: where the tip is at a given wall-clock time, and when a
//! block was made. Anchored in the database so the tip keeps moving across restarts.

use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChainClock {
    /// Wall-clock ms at which the tip was `anchor_tip`.
    pub anchor_ms: u64,
    pub anchor_tip: u64,
    pub block_time_ms: u64,
    /// Sim seconds per real second.
    pub speed: f64,
}

impl ChainClock {
    /// `anchor_tip + floor((now − anchor) × speed / block_time)`; never below the anchor.
    pub fn tip_at(&self, now_ms: u64) -> u64 {
        let elapsed = now_ms.saturating_sub(self.anchor_ms) as f64;
        let blocks = (elapsed * self.speed / self.block_time_ms as f64).floor();
        // `as` saturates for huge floats, so an absurd speed cannot wrap.
        self.anchor_tip.saturating_add(blocks as u64)
    }

    /// Real wall-clock time of block `height` in ms: spacing compressed by
    /// `speed`, heights below the anchor lie in the past.
    pub fn time_ms(&self, height: u64) -> i64 {
        let dh = height as f64 - self.anchor_tip as f64;
        let offset = dh * self.block_time_ms as f64 / self.speed;
        (self.anchor_ms as f64 + offset).round() as i64
    }

    pub fn time_s(&self, height: u64) -> i64 {
        self.time_ms(height).div_euclid(1000)
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(speed: f64) -> ChainClock {
        ChainClock {
            anchor_ms: 1_700_000_000_000,
            anchor_tip: 1000,
            block_time_ms: 10_000,
            speed,
        }
    }

    #[test]
    fn tip_grows_one_block_per_block_time_of_sim_time() {
        let c = clock(1.0);
        assert_eq!(c.tip_at(c.anchor_ms), 1000);
        assert_eq!(c.tip_at(c.anchor_ms + 9_999), 1000);
        assert_eq!(c.tip_at(c.anchor_ms + 10_000), 1001);
        assert_eq!(c.tip_at(c.anchor_ms - 5_000), 1000, "clock stepped back");
        let fast = clock(100.0);
        assert_eq!(fast.tip_at(fast.anchor_ms + 1_000), 1010);
    }

    #[test]
    fn block_times_are_compressed_and_past_below_the_anchor() {
        let c = clock(10.0);
        assert_eq!(c.time_ms(1000), c.anchor_ms as i64);
        assert_eq!(c.time_ms(1001), c.anchor_ms as i64 + 1_000);
        assert_eq!(c.time_ms(990), c.anchor_ms as i64 - 10_000);
        assert_eq!(c.time_s(1000), 1_700_000_000);
        // The block at the current tip is young.
        let now = c.anchor_ms + 123_456;
        let age = now as i64 - c.time_ms(c.tip_at(now));
        assert!((0..1_000).contains(&age), "age {age}");
    }
}
