//! The state the RPC handlers read: a small `Copy` snapshot the writer
//! publishes after each tick, behind a lock held only for the copy.

use std::sync::RwLock;

use crate::scenario::StallCause;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// Stored height: the truth every dialect reports.
    pub height: u64,
    /// Chain tip (never below `height`).
    pub tip: u64,
    /// Height when this process started (eth/substrate `startingBlock`).
    pub starting: u64,
    pub peers: u32,
    pub head_hash: [u8; 32],
    pub stall: Option<StallCause>,
}

impl Snapshot {
    pub fn syncing(&self) -> bool {
        self.height < self.tip
    }
}

#[derive(Debug)]
pub struct Shared {
    snap: RwLock<Snapshot>,
}

impl Shared {
    pub fn new(snap: Snapshot) -> Shared {
        Shared {
            snap: RwLock::new(snap),
        }
    }

    pub fn get(&self) -> Snapshot {
        // A poisoned lock still holds a valid Copy value.
        *self.snap.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set(&self, snap: Snapshot) {
        *self.snap.write().unwrap_or_else(|e| e.into_inner()) = snap;
    }
}
