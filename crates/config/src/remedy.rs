//! `[node.remedy]`: the watchdog's rules for one node (docs/MAINTENANCE.md).
use std::time::Duration;

use serde::Deserialize;

use crate::duration::{human, human_opt};

/// Off unless `after` or `no_peers_after` is given.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemedyConfig {
    /// Restart when the node has been stalled this long.
    #[serde(default, deserialize_with = "human_opt::deserialize")]
    pub after: Option<Duration>,
    /// Restart when the node has had no peers this long.
    #[serde(default, deserialize_with = "human_opt::deserialize")]
    pub no_peers_after: Option<Duration>,
    /// At most this many restarts in any `per`.
    #[serde(default = "defaults::max")]
    pub max: u32,
    #[serde(default = "defaults::per", deserialize_with = "human::deserialize")]
    pub per: Duration,
    /// The gap after a restart before the next; doubled with each restart in `per`.
    #[serde(default = "defaults::backoff", deserialize_with = "human::deserialize")]
    pub backoff: Duration,
    /// Only log (and record) what would be done.
    #[serde(default)]
    pub dry_run: bool,
}

mod defaults {
    use std::time::Duration;
    pub fn max() -> u32 {
        2
    }
    pub fn per() -> Duration {
        Duration::from_secs(6 * 3600)
    }
    pub fn backoff() -> Duration {
        Duration::from_secs(600)
    }
}

impl RemedyConfig {
    pub fn enabled(&self) -> bool {
        self.after.is_some() || self.no_peers_after.is_some()
    }

    pub(crate) fn validate(&self, node: &str, has_service: bool) -> Result<(), String> {
        if self.max == 0 || self.per.is_zero() {
            return Err(format!(
                "node `{node}`: [node.remedy] max and per must be above 0 (to turn it off, leave out `after` and `no_peers_after`)"
            ));
        }
        if self.enabled() && !has_service {
            return Err(format!(
                "node `{node}`: [node.remedy] restarts through the node's `service`, and it has none"
            ));
        }
        Ok(())
    }
}
