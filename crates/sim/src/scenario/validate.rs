//! Range and ordering checks. Serde already rejected unknown keys and wrong types.

use std::collections::HashSet;
use std::time::Duration;

use super::{Scenario, Until};
use nodewarden_tomlspan::Seg;

/// A value that parsed but makes no sense, with the key path that holds it.
#[derive(Debug)]
pub struct Invalid {
    pub path: Vec<Seg>,
    pub message: String,
}

pub(super) fn bad(path: Vec<Seg>, message: impl Into<String>) -> Result<(), Invalid> {
    Err(Invalid {
        path,
        message: message.into(),
    })
}

pub(super) fn key(k: &'static str) -> Vec<Seg> {
    vec![Seg::Key(k)]
}

fn item(table: &'static str, i: usize, k: &'static str) -> Vec<Seg> {
    vec![Seg::Key(table), Seg::Index(i), Seg::Key(k)]
}

const MAX_PEERS: u32 = 1_000;
const MAX_RSS_GROWTH: u64 = 64 << 20;
const MIN_BLOCK_BYTES: u32 = 128;
const MAX_BLOCK_BYTES: u32 = 1 << 20;
const MAX_RATE: f64 = 1e9;
const MAX_BATCH: u64 = 1_000_000;

impl Scenario {
    pub(crate) fn validate(&self) -> Result<(), Invalid> {
        if self.start_height > self.tip_height {
            return bad(
                key("start_height"),
                format!(
                    "start_height {} is above tip_height {}",
                    self.start_height, self.tip_height
                ),
            );
        }
        if let Some(bt) = self.block_time
            && !(Duration::from_millis(1)..=Duration::from_secs(86_400)).contains(&bt)
        {
            return bad(key("block_time"), "must be between 1ms and 24h");
        }
        if self.rss_growth > MAX_RSS_GROWTH {
            return bad(
                key("rss_growth"),
                format!("must be at most {MAX_RSS_GROWTH} bytes per sim-second"),
            );
        }
        if self.peers > MAX_PEERS {
            return bad(key("peers"), format!("must be at most {MAX_PEERS}"));
        }
        if !(MIN_BLOCK_BYTES..=MAX_BLOCK_BYTES).contains(&self.block_bytes) {
            return bad(
                key("block_bytes"),
                format!("must be between {MIN_BLOCK_BYTES} and {MAX_BLOCK_BYTES}"),
            );
        }
        let name_ok = !self.chain_name.is_empty()
            && self.chain_name.len() <= 64
            && self.chain_name != "."
            && self.chain_name != ".."
            && self
                .chain_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !name_ok {
            return bad(
                key("chain_name"),
                "must be 1-64 characters of letters, digits, '-', '_' or '.' (it names a directory)",
            );
        }
        if let Some(v) = &self.client_version
            && (v.is_empty() || v.chars().any(char::is_control))
        {
            return bad(
                key("client_version"),
                "must be non-empty, without control characters",
            );
        }
        self.validate_phases()?;
        self.validate_stalls()?;
        self.validate_branch()?;
        self.validate_pillars()
    }

    fn validate_phases(&self) -> Result<(), Invalid> {
        let mut prev: Option<u64> = None;
        let last = self.phases.len().saturating_sub(1);
        for (i, p) in self.phases.iter().enumerate() {
            if !(p.rate.is_finite() && p.rate > 0.0 && p.rate <= MAX_RATE) {
                return bad(
                    item("phase", i, "rate"),
                    format!(
                        "must be > 0 and at most {MAX_RATE} blocks per sim-second, got {}",
                        p.rate
                    ),
                );
            }
            if !(1..=MAX_BATCH).contains(&p.batch) {
                return bad(
                    item("phase", i, "batch"),
                    format!("must be between 1 and {MAX_BATCH}"),
                );
            }
            match p.until {
                Until::Tip if i != last => {
                    return bad(
                        item("phase", i, "until"),
                        "\"tip\" is only allowed in the last phase",
                    );
                }
                Until::Tip => {}
                Until::Height(h) => {
                    if let Some(prev) = prev
                        && h <= prev
                    {
                        return bad(
                            item("phase", i, "until"),
                            format!(
                                "phases not increasing: {h} is not above the previous phase's {prev}"
                            ),
                        );
                    }
                    prev = Some(h);
                }
            }
        }
        Ok(())
    }

    fn validate_stalls(&self) -> Result<(), Invalid> {
        let mut prev: Option<u64> = None;
        for (i, s) in self.stalls.iter().enumerate() {
            if let Some(prev) = prev
                && s.at <= prev
            {
                return bad(
                    item("stall", i, "at"),
                    format!(
                        "stalls not increasing: {} is not above the previous stall's {prev}",
                        s.at
                    ),
                );
            }
            prev = Some(s.at);
            if s.duration.is_zero() || s.duration > Duration::from_secs(30 * 86_400) {
                return bad(
                    item("stall", i, "duration"),
                    "must be between 1ms and 30 days",
                );
            }
        }
        Ok(())
    }

    fn validate_pillars(&self) -> Result<(), Invalid> {
        let mut seen = HashSet::new();
        for (i, p) in self.pillars.iter().enumerate() {
            if p.name.is_empty() || p.name.len() > 40 || p.name.chars().any(char::is_control) {
                return bad(item("pillar", i, "name"), "must be 1-40 characters");
            }
            if !seen.insert(p.name.as_str()) {
                return bad(
                    item("pillar", i, "name"),
                    format!("duplicate pillar {:?}", p.name),
                );
            }
            if !(p.produced_ratio.is_finite() && (0.0..=1.0).contains(&p.produced_ratio)) {
                return bad(
                    item("pillar", i, "produced_ratio"),
                    format!("must be between 0 and 1, got {}", p.produced_ratio),
                );
            }
            match p.every {
                Some(n) if !(2..=1_000_000).contains(&n) => {
                    return bad(item("pillar", i, "every"), "must be 2..=1000000 heights");
                }
                Some(n) if p.spread.saturating_mul(2) >= n => {
                    return bad(
                        item("pillar", i, "spread"),
                        format!("must be below every / 2 ({n} / 2), got {}", p.spread),
                    );
                }
                None if p.spread != 0 => {
                    return bad(item("pillar", i, "spread"), "needs `every`");
                }
                _ => {}
            }
        }
        Ok(())
    }
}
