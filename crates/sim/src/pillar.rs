//! Pillars with a production cadence (`every`, `spread`): which heights are their slots,
//! and which of those slots they missed because the sim was stopped when they fell due.
//!
//! Heights are cut into cycles of `every`; cycle `c` has one slot at
//! `c·every + every/2 + r` with `r` in `-spread..=spread` derived from the chain seed, so
//! two slots are `every ± 2·spread` apart and a slot's height is found without walking
//! the chain. The sim runs these pillars: while it is stopped they produce nothing. A
//! small file in the data dir (`.nodewarden-sim-pillar`) keeps the last moment the sim was
//! alive and the missed heights; at start every slot whose momentum time fell between then
//! and now is added to them.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::chain::Chain;
use crate::clock::ChainClock;
use crate::error::SimError;
use crate::scenario::Scenario;

/// The file name in the data dir.
pub const FILE: &str = ".nodewarden-sim-pillar";
/// A longer outage is accounted for only over its last this many heights.
const MAX_DOWN_HEIGHTS: u64 = 1_000_000;

/// One pillar's cadence; `index` is its place in the scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cadence {
    pub index: usize,
    pub every: u64,
    pub spread: u64,
}

impl Cadence {
    pub fn of(scenario: &Scenario) -> Vec<Cadence> {
        scenario
            .pillars
            .iter()
            .enumerate()
            .filter_map(|(index, p)| {
                p.every.map(|every| Cadence {
                    index,
                    every,
                    spread: p.spread,
                })
            })
            .collect()
    }

    /// The slot of cycle `c`.
    pub fn slot(&self, chain: &Chain, c: u64) -> u64 {
        let width = 2 * self.spread + 1;
        let r = u64::from_be_bytes(
            chain.derive(&format!("pillar-slot-{}", self.index), c)[..8]
                .try_into()
                .unwrap_or([0; 8]),
        ) % width;
        (c * self.every + self.every / 2 + r).saturating_sub(self.spread)
    }

    pub fn is_slot(&self, chain: &Chain, h: u64) -> bool {
        self.slot(chain, h / self.every) == h
    }

    /// Slots in `lo..=hi`, counted from the two boundary cycles (each cycle holds one).
    pub fn count(&self, chain: &Chain, lo: u64, hi: u64) -> u64 {
        if hi < lo {
            return 0;
        }
        let (a, b) = (lo / self.every, hi / self.every);
        let mut n = b - a + 1;
        if self.slot(chain, a) < lo {
            n -= 1;
        }
        if self.slot(chain, b) > hi {
            n -= 1;
        }
        n
    }
}

/// Missed slots of this data dir, and where they are kept.
#[derive(Debug, Default)]
pub struct Missed {
    path: Option<PathBuf>,
    pub heights: BTreeSet<u64>,
}

impl Missed {
    /// Reads the file and adds the slots that fell while the sim was stopped. Without
    /// cadenced pillars there is no file and nothing is missed.
    pub fn open(
        dir: &Path,
        scenario: &Scenario,
        chain: &Chain,
        clock: &ChainClock,
        now_ms: u64,
    ) -> Result<Missed, SimError> {
        let cadences = Cadence::of(scenario);
        if cadences.is_empty() {
            return Ok(Missed::default());
        }
        let path = dir.join(FILE);
        let mut missed = Missed {
            path: Some(path.clone()),
            heights: BTreeSet::new(),
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(SimError::io(&path, e)),
        };
        let mut lines = text.lines();
        let alive: Option<u64> = lines.next().and_then(|l| l.trim().parse().ok());
        missed
            .heights
            .extend(lines.filter_map(|l| l.trim().parse::<u64>().ok()));
        if let Some(alive) = alive {
            let hi = clock.tip_at(now_ms);
            let lo = clock.tip_at(alive).max(hi.saturating_sub(MAX_DOWN_HEIGHTS));
            for h in lo..=hi {
                let t = clock.time_ms(h);
                if t > alive as i64
                    && t <= now_ms as i64
                    && cadences.iter().any(|c| c.is_slot(chain, h))
                {
                    missed.heights.insert(h);
                }
            }
        }
        missed.alive(now_ms)?;
        Ok(missed)
    }

    /// Records that the sim is running at `now_ms` (temp file and rename, so a kill
    /// leaves the old or the new file).
    pub fn alive(&self, now_ms: u64) -> Result<(), SimError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let tmp = path.with_extension("tmp");
        let mut text = format!("{now_ms}\n");
        for h in &self.heights {
            text.push_str(&format!("{h}\n"));
        }
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| SimError::io(path, e))
    }

    pub fn contains(&self, h: u64) -> bool {
        self.heights.contains(&h)
    }

    /// Missed heights in `lo..=hi`.
    pub fn count(&self, lo: u64, hi: u64) -> u64 {
        if hi < lo {
            return 0;
        }
        self.heights.range(lo..=hi).count() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_slot_per_cycle_within_the_spread() {
        let chain = Chain::new(7, 1);
        let c = Cadence {
            index: 0,
            every: 15,
            spread: 2,
        };
        let slots: Vec<u64> = (0..2_000).filter(|&h| c.is_slot(&chain, h)).collect();
        assert_eq!(
            slots.len(),
            2_000 / 15,
            "cycle 133 (1995..2010) has its slot past 2000"
        );
        let gaps: BTreeSet<u64> = slots.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|g| (11..=19).contains(g)), "{gaps:?}");
        assert!(gaps.len() > 3, "the gaps vary: {gaps:?}");
        for (lo, hi) in [(0, 1_999), (7, 8), (100, 400), (31, 31), (5, 4)] {
            let want = slots.iter().filter(|&&h| h >= lo && h <= hi).count() as u64;
            assert_eq!(c.count(&chain, lo, hi), want, "{lo}..={hi}");
        }
    }

    #[test]
    fn slots_falling_while_stopped_are_missed_and_kept() {
        let dir = crate::tests::TempDir::new("pillar");
        let sc = Scenario {
            pillars: vec![crate::scenario::Pillar {
                name: "P".into(),
                expected: 1,
                produced_ratio: 1.0,
                every: Some(10),
                spread: 1,
            }],
            ..Scenario::default()
        };
        let chain = Chain::new(7, 1);
        let clock = ChainClock {
            anchor_ms: 1_000_000,
            anchor_tip: 1_000,
            block_time_ms: 1_000,
            speed: 1.0,
        };
        let first = Missed::open(dir.path(), &sc, &chain, &clock, 1_000_000).unwrap();
        assert!(first.heights.is_empty(), "a fresh data dir missed nothing");
        // Stopped from height 1000 to 1100: ten slots fell due.
        let second = Missed::open(dir.path(), &sc, &chain, &clock, 1_100_000).unwrap();
        assert_eq!(second.heights.len(), 10, "{:?}", second.heights);
        second.alive(1_100_500).unwrap();
        let third = Missed::open(dir.path(), &sc, &chain, &clock, 1_100_600).unwrap();
        assert_eq!(
            third.heights, second.heights,
            "a short restart between slots"
        );
    }
}
