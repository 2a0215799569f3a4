//! A bandwidth cap shared by every request of a process: each transfer books the next free
//! slot on a virtual clock (`bytes / rate` long) and waits for its start. The average rate
//! never exceeds the cap; a single request still goes at line speed, which keeps request
//! timeouts meaningful on a throttled link.
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub(crate) struct RateLimit {
    bytes_per_sec: f64,
    next_free: Mutex<Instant>,
}

impl RateLimit {
    pub(crate) fn new(bytes_per_sec: u64) -> RateLimit {
        RateLimit {
            bytes_per_sec: bytes_per_sec as f64,
            next_free: Mutex::new(Instant::now()),
        }
    }

    /// The wait before `bytes` may go; the slot is booked when this is called.
    fn book(&self, bytes: u64, now: Instant) -> Duration {
        let mut next = self.next_free.lock().expect("not poisoned");
        let start = (*next).max(now);
        *next = start + Duration::from_secs_f64(bytes as f64 / self.bytes_per_sec);
        start - now
    }

    pub(crate) async fn take(&self, bytes: u64) {
        let wait = self.book(bytes, Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bookings_follow_the_rate() {
        let l = RateLimit::new(1 << 20);
        let t0 = Instant::now();
        assert_eq!(l.book(1 << 20, t0), Duration::ZERO);
        // The second MiB may start only once the first has had its second.
        let w = l.book(1 << 20, t0);
        assert!((w.as_secs_f64() - 1.0).abs() < 1e-6, "{w:?}");
        let w = l.book(512 << 10, t0 + Duration::from_millis(500));
        assert!((w.as_secs_f64() - 1.5).abs() < 1e-6, "{w:?}");
        // An idle link does not bank credit for a later burst.
        let later = t0 + Duration::from_secs(60);
        assert_eq!(l.book(1 << 20, later), Duration::ZERO);
    }
}
