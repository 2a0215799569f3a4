//! Fork detection while watching. Nodes sharing `chain = "NAME"` are compared every
//! [`EVERY_TICKS`] ticks at the lowest height all of them have: one block hash per node.
//! With a `reference = true` node, nodes whose hash differs from the reference's are forked;
//! otherwise, with three or more nodes, those outside the strict majority are (all of them
//! when there is none); with two, both are when they differ. A newly forked node's exact
//! fork height is found by bisection against a node in agreement (about log2(height)
//! single-height calls), then kept while it stays forked; a bisection that does not finish
//! within the poll timeout is tried again on the next check. A node of a chain without a
//! verdict yet is compared on every tick until it has one, so a first poll that failed
//! does not postpone detection by a whole period.
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use nodewarden_rpc::ChainClient;
use nodewarden_rpc::crosscheck::{Options, crosscheck};
use nodewarden_rpc::hashes::{BlockHash, block_hashes};

/// Ticks between two comparisons; the first tick compares, so a fork shows on tick 1.
pub const EVERY_TICKS: u64 = 3;

/// One node as the fork check sees it.
pub struct Member {
    pub chain: Option<String>,
    pub reference: bool,
    /// `None` while the node is down or not yet connected.
    pub client: Option<Arc<dyn ChainClient>>,
    pub height: Option<u64>,
    /// The fork height found before, while the node is still flagged.
    pub known_fork: Option<u64>,
}

/// The outcome for one node: `None` fields where nothing could be compared.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Verdict {
    pub forked: Option<bool>,
    pub checked_height: Option<u64>,
    pub fork_height: Option<u64>,
}

/// Which of `hashes` (one per node, `true` for a reference) are off the chain.
pub fn judge(hashes: &[(bool, Option<BlockHash>)]) -> Vec<Option<bool>> {
    let known: Vec<BlockHash> = hashes.iter().filter_map(|(_, h)| *h).collect();
    if known.len() < 2 {
        return vec![None; hashes.len()];
    }
    let trusted = hashes
        .iter()
        .find(|(r, h)| *r && h.is_some())
        .and_then(|(_, h)| *h);
    let good = trusted.or_else(|| {
        let mut counts: BTreeMap<[u8; 32], usize> = BTreeMap::new();
        for h in &known {
            *counts.entry(h.0).or_default() += 1;
        }
        // Two nodes that differ have no majority: both are flagged.
        counts
            .into_iter()
            .find(|(_, n)| *n * 2 > known.len())
            .map(|(h, _)| BlockHash(h))
    });
    hashes
        .iter()
        .map(|(_, h)| h.map(|h| Some(h) != good))
        .collect()
}

/// Compare every chain group once; verdicts in the order of `members`.
pub async fn check(members: &[Member], timeout: Duration) -> Vec<Verdict> {
    let mut out = vec![Verdict::default(); members.len()];
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, m) in members.iter().enumerate() {
        if let (Some(c), Some(_), Some(_)) = (&m.chain, &m.client, m.height) {
            groups.entry(c.as_str()).or_default().push(i);
        }
    }
    for idx in groups.into_values().filter(|g| g.len() >= 2) {
        let Some(h) = idx.iter().filter_map(|&i| members[i].height).min() else {
            continue;
        };
        let fetched = futures::future::join_all(idx.iter().map(|&i| async move {
            let c = members[i].client.as_ref()?;
            let r = tokio::time::timeout(timeout, block_hashes(c.as_ref(), h, 1)).await;
            r.ok()?.ok()?.first().copied().flatten()
        }))
        .await;
        let input: Vec<(bool, Option<BlockHash>)> = idx
            .iter()
            .zip(&fetched)
            .map(|(&i, h)| (members[i].reference, *h))
            .collect();
        let verdicts = judge(&input);
        // A node in agreement to bisect against; with two differing nodes, the other one.
        let anchor = idx
            .iter()
            .zip(&verdicts)
            .find(|(_, v)| **v == Some(false))
            .map(|(&i, _)| i);
        for ((&i, v), pos) in idx.iter().zip(&verdicts).zip(0..) {
            out[i] = Verdict {
                forked: *v,
                checked_height: v.map(|_| h),
                fork_height: None,
            };
            if *v != Some(true) {
                continue;
            }
            let other = anchor.or_else(|| {
                idx.iter()
                    .zip(&verdicts)
                    .enumerate()
                    .find(|(p, (_, v))| *p != pos && v.is_some())
                    .map(|(_, (&j, _))| j)
            });
            out[i].fork_height = match (members[i].known_fork, other) {
                (Some(f), _) if f <= h => Some(f),
                (_, Some(j)) => fork_height(&members[i], &members[j], h, timeout).await,
                _ => None,
            };
        }
    }
    out
}

/// The first height where `a` and `b` differ at or below `h`; `None` when that cannot be
/// found in time (a gap on one side, a slow node), to be tried again on the next check.
async fn fork_height(a: &Member, b: &Member, h: u64, timeout: Duration) -> Option<u64> {
    let (Some(ca), Some(cb)) = (&a.client, &b.client) else {
        return None;
    };
    let opts = Options {
        from: Some(1),
        to: Some(h),
        all: false,
        bisect_only: true,
    };
    match tokio::time::timeout(timeout, crosscheck(ca, cb, &opts)).await {
        Ok(Ok(r)) => r.first_divergent_height,
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(n: u8) -> Option<BlockHash> {
        Some(BlockHash([n; 32]))
    }

    #[test]
    fn the_majority_or_the_reference_decides() {
        let plain =
            |v: &[Option<BlockHash>]| judge(&v.iter().map(|h| (false, *h)).collect::<Vec<_>>());
        assert_eq!(
            plain(&[h(1), h(1), h(2)]),
            [Some(false), Some(false), Some(true)]
        );
        assert_eq!(
            plain(&[h(1), h(2), h(3)]),
            [Some(true); 3],
            "no majority: everyone"
        );
        assert_eq!(
            plain(&[h(1), h(2)]),
            [Some(true); 2],
            "two that differ: both"
        );
        assert_eq!(plain(&[h(1), h(1)]), [Some(false); 2]);
        assert_eq!(plain(&[h(1), None, h(1)]), [Some(false), None, Some(false)]);
        assert_eq!(plain(&[h(1), None]), [None, None], "nothing to compare");
        // The reference outweighs a majority.
        let v = judge(&[(true, h(2)), (false, h(1)), (false, h(1))]);
        assert_eq!(v, [Some(false), Some(true), Some(true)]);
        let v = judge(&[(true, h(1)), (false, h(2))]);
        assert_eq!(
            v,
            [Some(false), Some(true)],
            "two nodes and a reference: only one"
        );
        let v = judge(&[(true, None), (false, h(1)), (false, h(1)), (false, h(3))]);
        assert_eq!(
            v,
            [None, Some(false), Some(false), Some(true)],
            "a silent reference: majority"
        );
    }
}
