//! The normalised status of a node and the derived "synced" predicate.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use nodewarden_model::{Kind, SyncState};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Head {
    pub height: u64,
    /// As the node writes it (zenon: bare hex; ethereum, substrate: 0x-prefixed).
    pub hash: String,
    /// Unix seconds; fractional where the chain keeps milliseconds (substrate).
    pub time: Option<f64>,
}

/// One normalised reading of a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub kind: Kind,
    pub state: SyncState,
    pub current: Option<u64>,
    /// The height the node is syncing to; `None` when it cannot say (no peers, or an
    /// ethereum node answering `eth_syncing = false`).
    pub target: Option<u64>,
    /// `None` when the node cannot say (anvil has no `net_peerCount`).
    pub peers: Option<u32>,
    pub head: Option<Head>,
    pub client_version: Option<String>,
}

/// When a head counts as fresh: the default is a few block times, with a floor because
/// block times wander and polls come late.
pub fn default_max_head_age(kind: Kind) -> Duration {
    (kind.block_time() * 6).max(Duration::from_secs(60))
}

impl Status {
    /// "Synced" is derived, never trusted blindly: heights caught up, peers
    /// present, and a head younger than `max_head_age`.
    pub fn synced(&self, now: SystemTime, max_head_age: Duration) -> bool {
        if self.peers == Some(0) || self.state == SyncState::NotEnoughPeers {
            return false;
        }
        let heights_ok = match (self.current, self.target) {
            (Some(c), Some(t)) => t > 0 && c >= t,
            // Without a target only the node's word and the head's age are left.
            (Some(_), None) => self.state == SyncState::Done,
            (None, _) => false,
        };
        if !heights_ok {
            return false;
        }
        // A head stamped far in the future is a broken clock or a lie, not freshness.
        if let (Some(t), Ok(n)) = (
            self.head.as_ref().and_then(|h| h.time),
            now.duration_since(UNIX_EPOCH),
        ) && t - n.as_secs_f64() > max_head_age.as_secs_f64()
        {
            return false;
        }
        match self.head_age(now) {
            Some(age) => age <= max_head_age.as_secs_f64(),
            // No timestamp (some substrate chains): the heights must speak for themselves.
            None => self.target.is_some(),
        }
    }

    /// Seconds since the head block was made; negative clock skew counts as zero.
    pub fn head_age(&self, now: SystemTime) -> Option<f64> {
        let t = self.head.as_ref()?.time?;
        let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs_f64();
        Some((now - t).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(
        current: u64,
        target: Option<u64>,
        peers: Option<u32>,
        age: f64,
    ) -> (Status, SystemTime) {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let t = now.duration_since(UNIX_EPOCH).unwrap().as_secs_f64() - age;
        let s = Status {
            kind: Kind::Zenon,
            state: SyncState::Done,
            current: Some(current),
            target,
            peers,
            head: Some(Head {
                height: current,
                hash: "ab".into(),
                time: Some(t),
            }),
            client_version: None,
        };
        (s, now)
    }

    #[test]
    fn synced_needs_heights_peers_and_a_fresh_head() {
        let max = Duration::from_secs(60);
        let (s, now) = status(100, Some(100), Some(9), 5.0);
        assert!(s.synced(now, max));
        let (s, now) = status(99, Some(100), Some(9), 5.0);
        assert!(!s.synced(now, max), "behind");
        let (s, now) = status(100, Some(100), Some(0), 5.0);
        assert!(!s.synced(now, max), "no peers");
        let (s, now) = status(100, Some(100), Some(9), 600.0);
        assert!(!s.synced(now, max), "stale head");
        let (s, now) = status(100, Some(0), Some(9), 5.0);
        assert!(!s.synced(now, max), "target 0 means unknown, not reached");
        let (s, now) = status(100, None, None, 5.0);
        assert!(
            s.synced(now, max),
            "eth_syncing=false, fresh head, peers unknown"
        );
        let (s, now) = status(100, None, None, 3600.0);
        assert!(
            !s.synced(now, max),
            "eth_syncing=false while an hour behind"
        );
        let (s, now) = status(100, Some(100), Some(9), -86_400.0);
        assert!(!s.synced(now, max), "a head a day in the future");
        let (s, now) = status(100, Some(100), Some(9), -5.0);
        assert!(s.synced(now, max), "a few seconds of clock skew is fine");
    }
}
