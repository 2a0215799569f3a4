//! The harness itself: traces are reproducible and their truth is consistent, and the
//! scorer's numbers mean what they say.

use nodewarden_analyze::groundtruth::{naive_stalls, score_set, trace};
use nodewarden_analyze::{AnalyzeOptions, analyze};

#[test]
fn traces_are_reproducible_and_consistent() {
    let a = trace(7);
    let b = trace(7);
    assert_eq!(a.samples, b.samples);
    assert_eq!(a.truth, b.truth);
    assert_ne!(trace(8).samples, a.samples);
    for seed in 1..4 {
        let t = trace(seed);
        let done = t.truth.done_ms.expect("every trace finishes");
        assert!(t.samples.windows(2).all(|w| w[0].t_ms <= w[1].t_ms));
        for s in &t.truth.stalls {
            assert!(s.start_ms < s.end_ms && s.end_ms < done);
            // Stalls and outages are apart in the truth, as the analysis must keep them.
            assert!(
                t.truth
                    .outages
                    .iter()
                    .all(|o| o.end_ms <= s.start_ms || o.start_ms >= s.end_ms),
                "seed {seed}"
            );
        }
        let failed = t.samples.iter().filter(|s| s.is_error()).count() as u64;
        let a = analyze(&t.samples, &AnalyzeOptions::default()).remove(0);
        assert_eq!(a.error_samples, failed);
        let polls: u64 = a.outages.iter().map(|o| o.failed_polls).sum();
        assert_eq!(polls, failed, "every failed poll belongs to an outage");
        for s in &a.stalls {
            assert!(
                a.outages
                    .iter()
                    .all(|o| o.end_ms <= s.start_ms || o.start_ms >= s.end_ms),
                "a stall never spans an outage: seed {seed} {s:?}"
            );
        }
    }
}

#[test]
fn the_naive_detector_calls_outages_stalls_and_the_analysis_does_not() {
    let set: Vec<_> = (1..5).map(trace).collect();
    let sc = score_set(&set, &AnalyzeOptions::default());
    assert_eq!(sc.traces, 4);
    let a = &sc.analysis;
    assert_eq!(
        a.true_stalls,
        set.iter().map(|t| t.truth.stalls.len() as u64).sum::<u64>()
    );
    assert!(a.stall_recall().unwrap() > 0.9, "{a:?}");
    assert!(a.stall_precision().unwrap() > 0.9, "{a:?}");
    assert!(a.outage_recall().unwrap() > 0.9, "{a:?}");
    assert!(
        sc.baseline.stall_precision().unwrap() < a.stall_precision().unwrap(),
        "{:?}",
        sc.baseline
    );
    // The table names every figure it scores.
    let text = sc.text("t");
    for row in [
        "stall precision",
        "outage recall",
        "at 50 %",
        "inside [low, high]",
    ] {
        assert!(text.contains(row), "{text}");
    }
    // The naive detector's windows are flat stretches over 120 s by construction.
    for t in &set {
        assert!(
            naive_stalls(&t.samples)
                .iter()
                .all(|(a, b)| b - a > 120_000)
        );
    }
}
