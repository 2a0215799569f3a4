//! Comparing two nodes' chains by block hash over a height range.
//!
//! Two strategies. **Bisection** (the default) answers "where did they part?" in about
//! log2(range) single-height probes: a block hash commits to its parent, so once two
//! chains differ at a height they differ at every height above it, and agreement is a
//! monotone prefix. **Scan** (`all`) fetches every height in spans of [`SPAN`] and lists
//! every disagreeing range and every height one side lacks; memory is one span per side
//! plus at most [`MAX_RANGES`] ranges per list. A probe that hits a height one side lacks
//! turns a bisection into a scan, so gaps are never mistaken for agreement or divergence.
use futures::future::BoxFuture;
use serde::Serialize;

use crate::hashes::{BlockHash, MAX_SPAN, block_hashes};
use crate::{ChainClient, RpcError};

/// Heights fetched per side per step of a scan.
pub const SPAN: u64 = 8_192;
/// Ranges kept per list; later ones are counted, not kept.
pub const MAX_RANGES: usize = 1_000;

/// Where block hashes come from: a node, or anything a test provides.
pub trait HashSource: Send + Sync {
    fn label(&self) -> String;
    /// The highest height the source has.
    fn head(&self) -> BoxFuture<'_, Result<u64, RpcError>>;
    /// Hashes of `from..from + count`, `None` where the source has no block.
    fn hashes(
        &self,
        from: u64,
        count: u64,
    ) -> BoxFuture<'_, Result<Vec<Option<BlockHash>>, RpcError>>;
}

/// The node's height as its status reports it.
pub async fn head_of(c: &dyn ChainClient) -> Result<u64, RpcError> {
    let s = c.status().await?;
    s.current.or(s.head.map(|h| h.height)).ok_or_else(|| {
        c.transport().error(crate::ErrorKind::Malformed {
            method: "status".into(),
            detail: "the node reports no height".into(),
        })
    })
}

macro_rules! client_source {
    ($t:ty) => {
        impl HashSource for $t {
            fn label(&self) -> String {
                self.transport().node().to_string()
            }
            fn head(&self) -> BoxFuture<'_, Result<u64, RpcError>> {
                Box::pin(head_of(self.as_ref()))
            }
            fn hashes(
                &self,
                from: u64,
                count: u64,
            ) -> BoxFuture<'_, Result<Vec<Option<BlockHash>>, RpcError>> {
                Box::pin(block_hashes(self.as_ref(), from, count))
            }
        }
    };
}

client_source!(Box<dyn ChainClient>);
client_source!(std::sync::Arc<dyn ChainClient>);

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// First height compared [default: the lowest height both have].
    pub from: Option<u64>,
    /// Last height compared [default: the lower of both heads].
    pub to: Option<u64>,
    /// Scan every height and list every disagreement instead of bisecting.
    pub all: bool,
    /// Never scan: a bisection that meets a gap ends without a divergence (bounded cost,
    /// for the watch's fork check).
    pub bisect_only: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CrossError {
    /// The range asked for makes no sense (exit 2 in the CLI).
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Rpc(#[from] RpcError),
}

/// Inclusive height ranges, merged as heights arrive in increasing order, at most
/// [`MAX_RANGES`] kept.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Ranges {
    pub ranges: Vec<[u64; 2]>,
    /// Heights in all ranges, kept or not.
    pub heights: u64,
    pub truncated: bool,
}

impl Ranges {
    fn push(&mut self, h: u64) {
        self.heights += 1;
        if let Some(last) = self.ranges.last_mut()
            && last[1] + 1 == h
        {
            last[1] = h;
            return;
        }
        if self.ranges.len() < MAX_RANGES {
            self.ranges.push([h, h]);
        } else {
            self.truncated = true;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.heights == 0
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub a: String,
    pub b: String,
    pub head_a: u64,
    pub head_b: u64,
    pub from: u64,
    pub to: u64,
    /// `bisect` or `scan`.
    pub mode: &'static str,
    /// Heights whose hashes were fetched from both nodes and compared.
    pub compared: u64,
    pub first_divergent_height: Option<u64>,
    /// The highest height below the first divergence (or in the range, without one) where
    /// both hashes are known equal.
    pub last_common_height: Option<u64>,
    /// The two hashes at the first divergent height.
    pub hash_a: Option<String>,
    pub hash_b: Option<String>,
    /// Scan: every range of heights where both have blocks and the hashes differ.
    pub divergent: Ranges,
    /// Heights B has and A lacks, and the other way round.
    pub a_lacks: Ranges,
    pub b_lacks: Ranges,
    /// Heights in the range neither node serves.
    pub neither: Ranges,
    /// Single-height probes used by a bisection.
    pub probes: u64,
}

impl Report {
    /// The chains agree over the range and neither lacks a block the other has.
    pub fn agree(&self) -> bool {
        self.first_divergent_height.is_none() && self.a_lacks.is_empty() && self.b_lacks.is_empty()
    }
}

/// Compare `a` and `b` over the range `opts` describes.
pub async fn crosscheck(
    a: &dyn HashSource,
    b: &dyn HashSource,
    opts: &Options,
) -> Result<Report, CrossError> {
    let (head_a, head_b) = futures::join!(a.head(), b.head());
    let (head_a, head_b) = (head_a?, head_b?);
    let from = opts.from.unwrap_or(1);
    let to = opts.to.unwrap_or(head_a.min(head_b));
    if from > to {
        return Err(CrossError::Input(match opts.to {
            Some(_) => format!("--from {from} is above --to {to}"),
            None => format!(
                "--from {from} is above the lower head {to} ({}: {head_a}, {}: {head_b})",
                a.label(),
                b.label()
            ),
        }));
    }
    let mut report = Report {
        a: a.label(),
        b: b.label(),
        head_a,
        head_b,
        from,
        to,
        mode: "bisect",
        compared: 0,
        first_divergent_height: None,
        last_common_height: None,
        hash_a: None,
        hash_b: None,
        divergent: Ranges::default(),
        a_lacks: Ranges::default(),
        b_lacks: Ranges::default(),
        neither: Ranges::default(),
        probes: 0,
    };
    // The probe at `from` serves both the search for the lowest common height and the
    // bisection's first step.
    let mut first = None;
    if opts.from.is_none() {
        let (from, at_from) = lowest_common(a, b, &mut report).await?;
        report.from = from;
        first = at_from;
    }
    if !opts.all && (bisect(a, b, &mut report, first).await? || opts.bisect_only) {
        return Ok(report);
    }
    report.mode = "scan";
    report.compared = 0;
    report.first_divergent_height = None;
    report.last_common_height = None;
    scan(a, b, &mut report).await?;
    Ok(report)
}

enum Probe {
    Same,
    Differ(BlockHash, BlockHash),
    Lacking,
}

async fn probe(a: &dyn HashSource, b: &dyn HashSource, h: u64) -> Result<Probe, RpcError> {
    let (ha, hb) = futures::join!(a.hashes(h, 1), b.hashes(h, 1));
    Ok(
        match (
            ha?.first().copied().flatten(),
            hb?.first().copied().flatten(),
        ) {
            (Some(x), Some(y)) if x == y => Probe::Same,
            (Some(x), Some(y)) => Probe::Differ(x, y),
            _ => Probe::Lacking,
        },
    )
}

/// Without `--from`: the lowest height both nodes have, so pruned history below it is not
/// reported as missing. Found by bisection, assuming a node keeps every block from its
/// lowest one up (pruning cuts the bottom); when even `to` is lacking the range stays.
async fn lowest_common(
    a: &dyn HashSource,
    b: &dyn HashSource,
    r: &mut Report,
) -> Result<(u64, Option<Probe>), RpcError> {
    match probe(a, b, r.from).await? {
        Probe::Lacking => {}
        found => return Ok((r.from, Some(found))),
    }
    r.probes += 1;
    if matches!(probe(a, b, r.to).await?, Probe::Lacking) {
        return Ok((r.from, None));
    }
    // Invariant: lacking at `lo`, both have `hi`.
    let (mut lo, mut hi) = (r.from, r.to);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        r.probes += 1;
        match probe(a, b, mid).await? {
            Probe::Lacking => lo = mid,
            _ => hi = mid,
        }
    }
    Ok((hi, None))
}

/// `Ok(false)` when a probe found a gap and a scan must decide.
async fn bisect(
    a: &dyn HashSource,
    b: &dyn HashSource,
    r: &mut Report,
    first: Option<Probe>,
) -> Result<bool, RpcError> {
    let mut probes = 1u64;
    // The low end first: a different genesis (or a fork below `from`) ends the search.
    let low = match first {
        Some(p) => p,
        None => probe(a, b, r.from).await?,
    };
    let mut probe_at = |h: u64| {
        probes += 1;
        probe(a, b, h)
    };
    let found = match low {
        Probe::Lacking => None,
        Probe::Differ(x, y) => Some((None, Some((r.from, x, y)))),
        Probe::Same if r.from == r.to => Some((Some(r.from), None)),
        Probe::Same => match probe_at(r.to).await? {
            Probe::Lacking => None,
            Probe::Same => Some((Some(r.to), None)),
            Probe::Differ(x, y) => {
                // Invariant: equal at `lo`, different at `hi`.
                let (mut lo, mut hi) = (r.from, (r.to, x, y));
                let mut gap = false;
                while hi.0 - lo > 1 {
                    let mid = lo + (hi.0 - lo) / 2;
                    match probe_at(mid).await? {
                        Probe::Same => lo = mid,
                        Probe::Differ(x, y) => hi = (mid, x, y),
                        Probe::Lacking => {
                            gap = true;
                            break;
                        }
                    }
                }
                (!gap).then_some((Some(lo), Some(hi)))
            }
        },
    };
    r.probes += probes;
    r.compared = probes;
    let Some((last_common, divergence)) = found else {
        return Ok(false);
    };
    r.last_common_height = last_common;
    if let Some((h, x, y)) = divergence {
        r.first_divergent_height = Some(h);
        r.hash_a = Some(x.to_string());
        r.hash_b = Some(y.to_string());
    }
    Ok(true)
}

async fn scan(a: &dyn HashSource, b: &dyn HashSource, r: &mut Report) -> Result<(), RpcError> {
    let span = SPAN.min(MAX_SPAN);
    let mut s = r.from;
    loop {
        let n = span.min((r.to - s).saturating_add(1));
        let (xs, ys) = futures::join!(a.hashes(s, n), b.hashes(s, n));
        let (xs, ys) = (xs?, ys?);
        for i in 0..n {
            let h = s + i;
            let x = xs.get(i as usize).copied().flatten();
            let y = ys.get(i as usize).copied().flatten();
            match (x, y) {
                (Some(x), Some(y)) => {
                    r.compared += 1;
                    if x == y {
                        if r.first_divergent_height.is_none() {
                            r.last_common_height = Some(h);
                        }
                    } else {
                        if r.first_divergent_height.is_none() {
                            r.first_divergent_height = Some(h);
                            r.hash_a = Some(x.to_string());
                            r.hash_b = Some(y.to_string());
                        }
                        r.divergent.push(h);
                    }
                }
                (None, Some(_)) => r.a_lacks.push(h),
                (Some(_), None) => r.b_lacks.push(h),
                (None, None) => r.neither.push(h),
            }
        }
        match s.checked_add(n) {
            Some(next) if n > 0 && next <= r.to => s = next,
            _ => return Ok(()),
        }
    }
}

#[cfg(test)]
#[path = "crosscheck_tests.rs"]
mod tests;
