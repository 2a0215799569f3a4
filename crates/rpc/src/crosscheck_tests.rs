//! The comparison engine against in-memory chains: forks anywhere, gaps, odd ranges.
use std::sync::atomic::{AtomicU64, Ordering};

use futures::future::BoxFuture;

use super::*;

/// Heights 0..=head; hashes from `seed`, switching to `seed + 100` from `fork` on.
struct Mem {
    name: &'static str,
    head: u64,
    seed: u64,
    fork: Option<u64>,
    gaps: Vec<[u64; 2]>,
    calls: AtomicU64,
}

fn mem(name: &'static str, head: u64) -> Mem {
    Mem {
        name,
        head,
        seed: 1,
        fork: None,
        gaps: Vec::new(),
        calls: AtomicU64::new(0),
    }
}

impl Mem {
    fn hash(&self, h: u64) -> Option<BlockHash> {
        if h > self.head || self.gaps.iter().any(|[a, b]| (*a..=*b).contains(&h)) {
            return None;
        }
        let seed = match self.fork {
            Some(f) if h >= f => self.seed + 100,
            _ => self.seed,
        };
        let mut out = [0u8; 32];
        out[..8].copy_from_slice(&h.to_be_bytes());
        out[8..16].copy_from_slice(&seed.to_be_bytes());
        Some(BlockHash(out))
    }
}

impl HashSource for Mem {
    fn label(&self) -> String {
        self.name.to_string()
    }
    fn head(&self) -> BoxFuture<'_, Result<u64, RpcError>> {
        Box::pin(async move { Ok(self.head) })
    }
    fn hashes(
        &self,
        from: u64,
        count: u64,
    ) -> BoxFuture<'_, Result<Vec<Option<BlockHash>>, RpcError>> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        assert!(count <= MAX_SPAN, "spans stay bounded");
        Box::pin(async move { Ok((from..from + count).map(|h| self.hash(h)).collect()) })
    }
}

fn run(a: &Mem, b: &Mem, opts: Options) -> Result<Report, CrossError> {
    futures::executor::block_on(crosscheck(a, b, &opts))
}

/// A small deterministic generator, so fork heights vary without a dependency.
fn heights(n: usize, max: u64) -> Vec<u64> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            1 + x % max
        })
        .collect()
}

#[test]
fn honest_pairs_agree_in_both_modes() {
    let (a, b) = (mem("a", 50_000), mem("b", 60_000));
    let r = run(&a, &b, Options::default()).unwrap();
    assert!(r.agree());
    assert_eq!((r.from, r.to, r.mode), (1, 50_000, "bisect"));
    assert_eq!(
        (r.first_divergent_height, r.last_common_height),
        (None, Some(50_000))
    );
    assert_eq!(r.probes, 2, "both ends");
    let r = run(
        &a,
        &b,
        Options {
            all: true,
            ..Options::default()
        },
    )
    .unwrap();
    assert!(r.agree());
    assert_eq!(
        (r.compared, r.last_common_height, r.mode),
        (50_000, Some(50_000), "scan")
    );
}

#[test]
fn bisection_and_scan_find_every_fork_height_exactly() {
    for fork in heights(40, 30_000)
        .into_iter()
        .chain([1, 2, 29_999, 30_000])
    {
        let a = mem("a", 30_000);
        let b = Mem {
            fork: Some(fork),
            ..mem("b", 30_000)
        };
        let r = run(&a, &b, Options::default()).unwrap();
        assert_eq!(r.first_divergent_height, Some(fork), "bisect {fork}");
        assert_eq!(
            r.last_common_height,
            fork.checked_sub(1).filter(|&h| h >= 1),
            "bisect {fork}"
        );
        assert!(r.probes <= 2 + 16, "{fork}: {} probes", r.probes);
        assert_ne!(r.hash_a, r.hash_b);
        assert!(!r.agree());
        let s = run(
            &a,
            &b,
            Options {
                all: true,
                ..Options::default()
            },
        )
        .unwrap();
        assert_eq!(s.first_divergent_height, Some(fork), "scan {fork}");
        assert_eq!(s.last_common_height, r.last_common_height);
        assert_eq!(s.divergent.ranges, vec![[fork, 30_000]]);
        assert_eq!(s.compared, 30_000);
    }
}

#[test]
fn gaps_are_listed_and_turn_a_bisection_into_a_scan() {
    let a = Mem {
        gaps: vec![[100, 199], [30_000, 30_000]],
        ..mem("a", 30_000)
    };
    let b = Mem {
        gaps: vec![[500, 509]],
        ..mem("b", 30_000)
    };
    let r = run(&a, &b, Options::default()).unwrap();
    assert_eq!(r.mode, "scan", "the top probe hit a's gap");
    assert_eq!(r.a_lacks.ranges, vec![[100, 199], [30_000, 30_000]]);
    assert_eq!(r.b_lacks.ranges, vec![[500, 509]]);
    assert_eq!((r.a_lacks.heights, r.compared), (101, 30_000 - 111));
    assert_eq!(r.first_divergent_height, None);
    assert!(!r.agree());
    // A range above one head: the other side's blocks are what it lacks.
    let (a, b) = (mem("a", 1_000), mem("b", 1_200));
    let r = run(
        &a,
        &b,
        Options {
            from: Some(900),
            to: Some(1_100),
            all: true,
            ..Options::default()
        },
    )
    .unwrap();
    assert_eq!(r.a_lacks.ranges, vec![[1_001, 1_100]]);
    assert_eq!(r.last_common_height, Some(1_000));
}

#[test]
fn ranges_are_bounded() {
    let gaps: Vec<[u64; 2]> = (0..3_000).map(|i| [10 + i * 2, 10 + i * 2]).collect();
    let a = Mem {
        gaps,
        ..mem("a", 10_000)
    };
    let r = run(
        &a,
        &mem("b", 10_000),
        Options {
            all: true,
            ..Options::default()
        },
    )
    .unwrap();
    assert_eq!(r.a_lacks.ranges.len(), MAX_RANGES);
    assert!(r.a_lacks.truncated);
    assert_eq!(r.a_lacks.heights, 3_000);
}

#[test]
fn scans_walk_in_bounded_spans() {
    let (a, b) = (mem("a", 100_000), mem("b", 100_000));
    run(
        &a,
        &b,
        Options {
            all: true,
            ..Options::default()
        },
    )
    .unwrap();
    // One probe for the lowest common height, then one call per span.
    assert_eq!(
        a.calls.load(Ordering::Relaxed),
        1 + 100_000u64.div_ceil(SPAN)
    );
}

#[test]
fn bad_ranges_are_input_errors_naming_the_numbers() {
    let (a, b) = (mem("a", 100), mem("b", 90));
    let e = run(
        &a,
        &b,
        Options {
            from: Some(95),
            ..Options::default()
        },
    )
    .unwrap_err();
    assert!(matches!(e, CrossError::Input(_)));
    assert!(
        e.to_string().contains("95") && e.to_string().contains("b: 90"),
        "{e}"
    );
    let e = run(
        &a,
        &b,
        Options {
            from: Some(10),
            to: Some(5),
            ..Options::default()
        },
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "--from 10 is above --to 5");
}

#[test]
fn bisect_only_never_scans() {
    let a = Mem {
        gaps: vec![[40_000, 50_000]],
        ..mem("a", 50_000)
    };
    let b = Mem {
        fork: Some(20_000),
        ..mem("b", 50_000)
    };
    let opts = Options {
        bisect_only: true,
        ..Options::default()
    };
    let r = run(&a, &b, opts).unwrap();
    assert_eq!((r.mode, r.first_divergent_height), ("bisect", None));
    assert!(
        a.calls.load(Ordering::Relaxed) <= 3,
        "no scan behind the gap"
    );
}

#[test]
fn without_from_the_range_starts_where_both_have_blocks() {
    // A pruned node keeps blocks from 1,000 on; the other has everything.
    let pruned = Mem {
        gaps: vec![[0, 999]],
        ..mem("a", 20_000)
    };
    let full = mem("b", 20_000);
    for all in [false, true] {
        let opts = Options {
            all,
            ..Options::default()
        };
        let r = run(&pruned, &full, opts).unwrap();
        assert_eq!((r.from, r.agree()), (1_000, true), "all={all}");
    }
    // Asked for explicitly, the pruned part is what it lacks.
    let opts = Options {
        from: Some(1),
        all: true,
        ..Options::default()
    };
    let r = run(&pruned, &full, opts).unwrap();
    assert_eq!(r.a_lacks.ranges, vec![[1, 999]]);
    let forked = Mem {
        fork: Some(5_555),
        ..mem("b", 20_000)
    };
    let r = run(&pruned, &forked, Options::default()).unwrap();
    assert_eq!((r.from, r.first_divergent_height), (1_000, Some(5_555)));
}
