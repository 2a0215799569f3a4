//! The scenario file: what chain the simulated node follows and how its sync behaves.

mod branch;
mod fields;
use nodewarden_tomlspan as span;
#[cfg(test)]
mod tests;
mod validate;

use std::path::Path;
use std::time::Duration;

use nodewarden_model::Kind;
use serde::{Deserialize, Serialize};

use crate::error::SimError;

pub use fields::Until;

/// A scripted sync: the chain, its tip, and the phases and stalls the node goes through.
///
/// Every key is optional; see `docs/SIM.md` for the meaning and default of each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Default dialect; `SimOptions::kind` overrides it.
    #[serde(default = "defaults::kind")]
    pub kind: Kind,
    /// Seeds hashes, block contents, peer ids and keys.
    #[serde(default = "defaults::seed")]
    pub seed: u64,
    #[serde(default = "defaults::one")]
    pub chain_id: u64,
    /// Height of a fresh data dir (its genesis or checkpoint).
    #[serde(default = "defaults::one")]
    pub start_height: u64,
    /// Chain tip at the first start of a data dir.
    #[serde(default = "defaults::tip_height")]
    pub tip_height: u64,
    /// Chain block time; `None` means the kind's usual one.
    #[serde(
        default,
        with = "fields::opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub block_time: Option<Duration>,
    /// Healthy peer count (a `peers` stall drops it to 0).
    #[serde(default = "defaults::peers")]
    pub peers: u32,
    /// `None` means `nodewarden-sim/v<crate version>/<kind>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_version: Option<String>,
    /// Size of each block's value in the database.
    #[serde(default = "defaults::block_bytes")]
    pub block_bytes: u32,
    /// Substrate chain id: names `chains/<chain_name>/` and answers `system_chain`.
    #[serde(default = "defaults::chain_name")]
    pub chain_name: String,
    /// Nethermind/Besu quirk: `eth_syncing` answers `false` while behind.
    #[serde(default)]
    pub eth_syncing_false_while_behind: bool,
    /// `false`: `net_peerCount` answers -32601, like anvil.
    #[serde(default = "defaults::yes")]
    pub net_peer_count: bool,
    /// A memory leak: the process holds this many more bytes every sim-second (up to
    /// `engine::MAX_RSS_GROWTH_TOTAL`, 1 GiB), so memory trend and forecast have something to find.
    #[serde(default)]
    pub rss_growth: u64,
    #[serde(default, rename = "phase", skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<Phase>,
    #[serde(default, rename = "stall", skip_serializing_if = "Vec::is_empty")]
    pub stalls: Vec<Stall>,
    #[serde(default, rename = "pillar", skip_serializing_if = "Vec::is_empty")]
    pub pillars: Vec<Pillar>,
    /// From this height on the node follows another branch (hashes from `fork_seed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fork_at: Option<u64>,
    /// Seed of the branch after `fork_at`; `None` means `seed + 1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fork_seed: Option<u64>,
    /// Inclusive height ranges the node does not serve over RPC (pruned or lost blocks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<[u64; 2]>,
}

/// A stretch of heights synced at one rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    /// Last height this phase covers (inclusive), or the moving tip.
    pub until: Until,
    /// Blocks per sim-second while behind the tip.
    pub rate: f64,
    /// Progress arrives in jumps of this many blocks.
    #[serde(default = "defaults::one")]
    pub batch: u64,
}

/// The node holds at height `at` for `duration` of sim time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stall {
    pub at: u64,
    #[serde(with = "fields::duration")]
    pub duration: Duration,
    pub cause: StallCause,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StallCause {
    /// A thread burns one core.
    Cpu,
    /// A thread writes, syncs and reads back a scratch file in the data dir.
    Io,
    /// Peers drop to zero.
    Peers,
}

impl StallCause {
    pub fn as_str(self) -> &'static str {
        match self {
            StallCause::Cpu => "cpu",
            StallCause::Io => "io",
            StallCause::Peers => "peers",
        }
    }
}

/// A zenon pillar answered by `embedded.pillar.getByName`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pillar {
    pub name: String,
    /// Momentums expected from this pillar in the current epoch.
    #[serde(default = "defaults::expected")]
    pub expected: u64,
    /// Produced / expected, 0..=1.
    #[serde(default = "defaults::ratio")]
    pub produced_ratio: f64,
    /// A production cadence: this node runs the pillar, which produces one momentum in
    /// every `every` heights (±`spread`), and misses the slots that fall while the sim is
    /// stopped. Its stats are then counted from the chain, not from `expected`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<u64>,
    #[serde(default)]
    pub spread: u64,
}

impl Pillar {
    pub fn produced(&self) -> u64 {
        (self.expected as f64 * self.produced_ratio).round() as u64
    }
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            kind: defaults::kind(),
            seed: defaults::seed(),
            chain_id: 1,
            start_height: 1,
            tip_height: defaults::tip_height(),
            block_time: None,
            peers: defaults::peers(),
            client_version: None,
            block_bytes: defaults::block_bytes(),
            chain_name: defaults::chain_name(),
            eth_syncing_false_while_behind: false,
            net_peer_count: true,
            rss_growth: 0,
            phases: Vec::new(),
            stalls: Vec::new(),
            pillars: Vec::new(),
            fork_at: None,
            fork_seed: None,
            missing: Vec::new(),
        }
    }
}

impl Scenario {
    /// Reads and validates a scenario file.
    pub fn from_file(path: &Path) -> Result<Scenario, SimError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimError::ScenarioRead {
            path: path.to_path_buf(),
            source,
        })?;
        Scenario::from_toml_str(&text, &path.display().to_string())
    }

    /// Parses and validates scenario text; `origin` names it in errors (usually the file name).
    pub fn from_toml_str(s: &str, origin: &str) -> Result<Scenario, SimError> {
        let located = |l: span::Located| SimError::Scenario {
            origin: origin.to_string(),
            line: l.line,
            key: l.key,
            message: l.message,
        };
        let scenario: Scenario = span::parse(s).map_err(located)?;
        scenario
            .validate()
            .map_err(|inv| located(span::locate(s, &inv.path, inv.message)))?;
        Ok(scenario)
    }

    /// A small, always-valid scenario: a quick sync to a moving tip with healthy peers.
    pub fn default_for(kind: Kind) -> Scenario {
        let pillars = match kind {
            Kind::Zenon => vec![
                Pillar {
                    name: "Pillar1".into(),
                    expected: 120,
                    produced_ratio: 1.0,
                    every: None,
                    spread: 0,
                },
                Pillar {
                    name: "Pillar2".into(),
                    expected: 120,
                    produced_ratio: 0.9,
                    every: None,
                    spread: 0,
                },
            ],
            _ => Vec::new(),
        };
        Scenario {
            kind,
            phases: vec![
                Phase {
                    until: Until::Height(5_000),
                    rate: 400.0,
                    batch: 1,
                },
                Phase {
                    until: Until::Tip,
                    rate: 150.0,
                    batch: 1,
                },
            ],
            pillars,
            ..Scenario::default()
        }
    }

    /// Checks ranges and ordering; scenarios built in code go through this in `Sim::start`.
    pub fn check(&self, origin: &str) -> Result<(), SimError> {
        self.validate().map_err(|inv| SimError::Scenario {
            origin: origin.to_string(),
            line: None,
            key: Some(span::display_path(&inv.path)),
            message: inv.message,
        })
    }

    /// The block time for a node of `kind` following this scenario.
    pub fn block_time_for(&self, kind: Kind) -> Duration {
        self.block_time.unwrap_or_else(|| kind.block_time())
    }

    /// The client version string for a node of `kind`.
    pub fn client_version_for(&self, kind: Kind) -> String {
        self.client_version
            .clone()
            .unwrap_or_else(|| format!("nodewarden-sim/v{}/{kind}", env!("CARGO_PKG_VERSION")))
    }
}

mod defaults {
    use nodewarden_model::Kind;

    pub fn kind() -> Kind {
        Kind::Zenon
    }
    pub fn seed() -> u64 {
        7
    }
    pub fn one() -> u64 {
        1
    }
    pub fn tip_height() -> u64 {
        20_000
    }
    pub fn peers() -> u32 {
        12
    }
    pub fn block_bytes() -> u32 {
        512
    }
    pub fn chain_name() -> String {
        "simnet".to_string()
    }
    pub fn yes() -> bool {
        true
    }
    pub fn expected() -> u64 {
        120
    }
    pub fn ratio() -> f64 {
        1.0
    }
}
