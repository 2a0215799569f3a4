//! Properties over arbitrary input: the analysis never panics, its numbers stay sane, and
//! adding samples never moves a finished stall.

use nodewarden_analyze::{
    AnalyzeOptions, CSV_COLUMNS, NodeTracker, Sample, SyncState, analyze, analyze_csv,
};
use proptest::prelude::*;

/// One step of a random node: time advance, height advance (often 0, so stalls happen),
/// and noisy other fields.
fn steps() -> impl Strategy<Value = Vec<Sample>> {
    let step = (
        prop_oneof![3 => 0i64..5_000, 1 => 0i64..200_000, 1 => -5_000i64..0],
        prop_oneof![3 => Just(0u64), 2 => 0u64..50, 1 => 0u64..100_000],
        prop::option::weighted(0.9, prop_oneof![4 => Just(0u64), 1 => any::<u64>()]),
        prop::option::weighted(0.9, prop_oneof![3 => Just(8u32), 1 => Just(0u32)]),
        prop::sample::select(SyncState::ALL.to_vec()),
        prop::option::weighted(0.8, (0.0f64..10.0, any::<bool>())),
        prop::option::weighted(0.8, 0u64..10_000_000),
    );
    prop::collection::vec(step, 1..300).prop_map(|steps| {
        let (mut t, mut h, mut cpu, mut io) = (1_000_000i64, 0u64, 0.0f64, 0u64);
        steps
            .into_iter()
            .map(|(dt, dh, tgt_extra, peers, state, dcpu, dio)| {
                t = t.saturating_add(dt);
                h = h.saturating_add(dh);
                let mut s = Sample::new(t, "p", state);
                if state != SyncState::Error {
                    s.current = Some(h);
                    s.target = tgt_extra.map(|x| {
                        if x == 0 {
                            0
                        } else {
                            h.saturating_add(x % 1_000_000)
                        }
                    });
                    s.peers = peers;
                }
                if let Some((d, reset)) = dcpu {
                    cpu = if reset { d } else { cpu + d };
                    s.cpu_s = Some(cpu);
                }
                if let Some(d) = dio {
                    io = io.saturating_add(d);
                    s.read_bytes = Some(io);
                }
                s
            })
            .collect()
    })
}

fn sane(x: Option<f64>) -> bool {
    x.is_none_or(|v| v.is_finite() && v >= 0.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_csv_text_is_an_error_or_an_analysis(
        body in "[0-9a-z,\\-\\.\n\" ]{0,400}",
        with_header in any::<bool>(),
    ) {
        let text = if with_header { format!("{}\n{body}", CSV_COLUMNS.join(",")) } else { body };
        let _ = analyze_csv(text.as_bytes(), &AnalyzeOptions::default());
    }

    #[test]
    fn any_sample_sequence_gives_a_sane_analysis(samples in steps()) {
        for a in analyze(&samples, &AnalyzeOptions::default()) {
            prop_assert!(sane(a.eta_seconds) && sane(a.eta_low_seconds) && sane(a.eta_high_seconds));
            prop_assert!(sane(a.rate_blocks_per_second) && sane(a.mean_cpu_cores));
            if let (Some(lo), Some(mid), Some(hi)) = (a.eta_low_seconds, a.eta_seconds, a.eta_high_seconds) {
                prop_assert!(lo <= mid && mid <= hi, "{lo} {mid} {hi}");
            }
            prop_assert!(a.cost_by_height.len() <= 200);
            prop_assert!(a.cost_by_height.iter().all(|c| c.wall_seconds >= 0.0 && c.cpu_seconds >= 0.0));
            for s in &a.stalls {
                prop_assert!(s.start_ms <= s.end_ms && s.duration_seconds >= 0.0);
            }
            prop_assert!(a.stalls.windows(2).all(|w| w[0].end_ms <= w[1].start_ms));
            prop_assert_eq!(a.stalls_total as usize, a.stalls.len());
            prop_assert!(a.progress_curve.windows(2).all(|w| w[0].height < w[1].height && w[0].t_ms <= w[1].t_ms));
            prop_assert!(serde_json::to_string(&a).is_ok());
        }
    }

    #[test]
    fn adding_samples_never_moves_a_finished_stall(samples in steps(), cut in 0usize..300) {
        let cut = cut.min(samples.len());
        let mut t = NodeTracker::new("p", AnalyzeOptions::default());
        let mut seen_total = 0;
        let mut before = Vec::new();
        for (i, s) in samples.iter().enumerate() {
            t.push(s);
            let live = t.snapshot();
            prop_assert!(live.stalls_total >= seen_total, "stalls_total never decreases");
            seen_total = live.stalls_total;
            if i + 1 == cut {
                before = t.analysis().stalls.into_iter().filter(|s| !s.ongoing).collect();
            }
        }
        let after = t.analysis().stalls;
        prop_assert!(after.len() >= before.len());
        prop_assert_eq!(&after[..before.len()], &before[..]);
    }
}
