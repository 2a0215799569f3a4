//! The chain's shape beyond one honest branch: a fork from a height on (`fork_at`,
//! `fork_seed`) and heights the node does not serve (`missing`), so chain comparisons can
//! be tested against real processes.

use nodewarden_tomlspan::Seg;

use super::Scenario;
use super::validate::{Invalid, bad, key};

/// At most this many `missing` ranges: each is checked for every height served.
const MAX_MISSING: usize = 64;

impl Scenario {
    /// The branch seed after `fork_at`, if the node is forked.
    pub fn branch(&self) -> Option<(u64, u64)> {
        self.fork_at
            .map(|at| (at, self.fork_seed.unwrap_or(self.seed.wrapping_add(1))))
    }

    pub(super) fn validate_branch(&self) -> Result<(), Invalid> {
        if self.fork_seed.is_some() && self.fork_at.is_none() {
            return bad(
                key("fork_seed"),
                "needs fork_at (the first height of the branch)",
            );
        }
        if self.fork_at == Some(0) {
            return bad(
                key("fork_at"),
                "must be at least 1 (height 0 has no parent to fork from)",
            );
        }
        if self.fork_seed.is_some() && self.fork_seed == Some(self.seed) {
            return bad(
                key("fork_seed"),
                "must differ from seed, or the branch is the same chain",
            );
        }
        if self.missing.len() > MAX_MISSING {
            return bad(key("missing"), format!("at most {MAX_MISSING} ranges"));
        }
        for (i, [from, to]) in self.missing.iter().enumerate() {
            if from > to {
                return bad(
                    vec![Seg::Key("missing"), Seg::Index(i)],
                    format!("range [{from}, {to}] ends before it starts"),
                );
            }
        }
        Ok(())
    }

    /// Whether the node serves the block at `height` (it may still lack it by being behind).
    pub fn serves(&self, height: u64) -> bool {
        !self
            .missing
            .iter()
            .any(|[from, to]| (*from..=*to).contains(&height))
    }
}
