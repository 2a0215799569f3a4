//! Stall detection on the hard cases. Expected stalls come from the generator's truth.

use crate::common::{analyze_one, run};
use nodewarden_analyze::synth::{Event, EventKind, FlatCause, Phase, Profile};
use nodewarden_analyze::{AnalyzeOptions, NodeTracker, Stall, StallAfter, StallCause, analyze};
use std::time::Duration;

fn profile(events: Vec<Event>) -> Profile {
    let mut p = Profile::new("n", 120_000, vec![Phase::constant(u64::MAX, 100.0)]);
    p.events = events;
    p.noise = 0.2;
    p
}

fn ev(at: u64, seconds: f64, kind: EventKind) -> Event {
    Event { at, seconds, kind }
}

/// The single stall found must match the single true event to within `slack_ms`.
fn assert_matches(stalls: &[Stall], truth: &[(i64, i64, u64)], slack_ms: i64) {
    assert_eq!(stalls.len(), truth.len(), "{stalls:#?}");
    for (s, &(start, end, height)) in stalls.iter().zip(truth) {
        assert!(
            (s.start_ms - start).abs() <= slack_ms,
            "start {} vs {start}",
            s.start_ms
        );
        assert!(
            (s.end_ms - end).abs() <= slack_ms,
            "end {} vs {end}",
            s.end_ms
        );
        assert!(
            s.height.abs_diff(height) <= 250,
            "height {} vs {height}",
            s.height
        );
        assert!(!s.ongoing);
    }
}

#[test]
fn batchy_progress_is_not_a_stall() {
    let mut p = profile(vec![]);
    p.batch_seconds = Some((10.0, 40.0));
    let (samples, _) = run(p);
    let a = analyze_one(&samples);
    assert!(a.synced);
    assert_eq!(a.stalls, vec![], "auto threshold {}", a.stall_after_seconds);
    assert!(a.stall_after_seconds >= 40.0);
}

#[test]
fn a_crawl_is_a_stall() {
    let (samples, truth) = run(profile(vec![ev(
        50_000,
        900.0,
        EventKind::Crawl {
            blocks_per_second: 0.2,
        },
    )]));
    let a = analyze_one(&samples);
    assert_matches(&a.stalls, &truth.events, 4_000);
    assert!(
        a.stalls[0].end_height > a.stalls[0].height,
        "a crawl moves a little"
    );
}

#[test]
fn batchy_crawl_is_still_found() {
    let mut p = profile(vec![ev(
        50_000,
        1_200.0,
        EventKind::Crawl {
            blocks_per_second: 0.5,
        },
    )]);
    p.batch_seconds = Some((10.0, 40.0));
    let (samples, truth) = run(p);
    let a = analyze_one(&samples);
    // Batches make both edges fuzzy by up to one batch.
    assert_matches(&a.stalls, &truth.events, 45_000);
}

#[test]
fn peers_gone_and_target_zero_is_a_peers_stall() {
    let (samples, truth) = run(profile(vec![ev(
        40_000,
        600.0,
        EventKind::Flat(FlatCause::Peers),
    )]));
    assert!(
        samples.iter().any(|s| s.target == Some(0)),
        "the target reads 0"
    );
    let mut t = NodeTracker::new("n", AnalyzeOptions::default());
    let (start, end, height) = truth.events[0];
    for s in &samples {
        t.push(s);
        let live = t.snapshot();
        if s.t_ms > start && s.t_ms < end {
            assert!(!live.synced, "no peers is not synced");
            assert!(
                live.target.is_some_and(|tg| tg > height),
                "last known target kept"
            );
        }
        if s.t_ms > start + 60_000 && s.t_ms < end {
            let since = live.stalled_since.expect("stalled");
            assert!(since.height.abs_diff(height) <= 250);
            assert_eq!(live.eta_high_seconds, None, "no upper bound while stalled");
        }
    }
    let a = t.analysis();
    assert_matches(&a.stalls, &truth.events, 4_000);
    assert_eq!(a.stalls[0].cause, StallCause::Peers);
    assert!(a.synced);
}

#[test]
fn restart_is_an_outage_not_a_stall_and_costs_nothing_negative() {
    let (samples, truth) = run(profile(vec![ev(40_000, 90.0, EventKind::Restart)]));
    let a = analyze_one(&samples);
    assert_eq!(a.restarts, 1);
    assert!(a.error_samples > 0);
    // Issue 15: a node that does not answer is not stalled; the restart is an outage.
    assert_eq!(a.stalls, vec![]);
    assert_eq!(a.outages_total, 1);
    let (start, end, _) = truth.events[0];
    let o = &a.outages[0];
    assert!(o.restart && !o.ongoing);
    assert_eq!(o.failed_polls, a.error_samples);
    assert!((o.start_ms - start).abs() <= 2_000, "{o:?} vs {start}");
    assert!((o.end_ms - end).abs() <= 2_000, "{o:?} vs {end}");
    // CPU used = what the first process had used when last seen + what the second used.
    let last_before = samples
        .iter()
        .take_while(|s| s.t_ms < truth.events[0].0)
        .filter_map(|s| s.cpu_s)
        .last()
        .unwrap();
    let last = samples.last().unwrap().cpu_s.unwrap();
    let cpu = a.cpu_seconds.unwrap();
    assert!(
        (cpu - (last_before + last)).abs() < 1e-6,
        "{cpu} vs {}",
        last_before + last
    );
    assert!(a.cost_by_height.iter().all(|c| c.cpu_seconds >= 0.0));
    let costed: f64 = a.cost_by_height.iter().map(|c| c.cpu_seconds).sum();
    assert!((costed - cpu).abs() < 1e-6 * cpu.max(1.0));
}

#[test]
fn short_pauses_are_not_stalls() {
    let events = (1..10)
        .map(|i| {
            ev(
                i * 10_000,
                8.0 + 2.0 * i as f64,
                EventKind::Flat(FlatCause::Quiet),
            )
        })
        .collect();
    let (samples, truth) = run(profile(events));
    assert_eq!(truth.events.len(), 9);
    let a = analyze_one(&samples);
    assert_eq!(a.stalls, vec![]);
}

#[test]
fn resource_signature_names_the_cause() {
    let (samples, truth) = run(profile(vec![
        ev(20_000, 300.0, EventKind::Flat(FlatCause::Cpu)),
        ev(50_000, 300.0, EventKind::Flat(FlatCause::Io)),
        ev(80_000, 300.0, EventKind::Flat(FlatCause::Quiet)),
    ]));
    let a = analyze_one(&samples);
    assert_matches(&a.stalls, &truth.events, 4_000);
    let causes: Vec<_> = a.stalls.iter().map(|s| s.cause).collect();
    assert_eq!(
        causes,
        [StallCause::Cpu, StallCause::Io, StallCause::Unknown]
    );
    assert!(a.stalls[0].cpu_cores.unwrap() > 0.9);
    // Stall time shows up where it happened in the cost report.
    let stalled: f64 = a.cost_by_height.iter().map(|c| c.stalled_seconds).sum();
    assert!((stalled - 900.0).abs() < 30.0, "{stalled}");
    assert!(
        (a.stalled_seconds - 900.0).abs() < 12.0,
        "{}",
        a.stalled_seconds
    );
}

#[test]
fn fixed_threshold_is_respected() {
    let (samples, truth) = run(profile(vec![
        ev(30_000, 90.0, EventKind::Flat(FlatCause::Quiet)),
        ev(60_000, 200.0, EventKind::Flat(FlatCause::Quiet)),
    ]));
    let opts = AnalyzeOptions {
        stall_after: StallAfter::Fixed(Duration::from_secs(120)),
        ..AnalyzeOptions::default()
    };
    let a = analyze(&samples, &opts).remove(0);
    assert_eq!(a.stall_after_seconds, 120.0);
    assert!(!a.stall_after_auto);
    assert_matches(&a.stalls, &truth.events[1..], 4_000);
}

#[test]
fn ongoing_stall_is_reported_open() {
    let (samples, truth) = run(profile(vec![ev(
        60_000,
        3_600.0,
        EventKind::Flat(FlatCause::Quiet),
    )]));
    let cut = truth.events[0].0 + 1_800_000;
    let upto: Vec<_> = samples.iter().filter(|s| s.t_ms <= cut).cloned().collect();
    let a = analyze_one(&upto);
    assert_eq!(a.stalls.len(), 1);
    assert!(a.stalls[0].ongoing);
    assert_eq!(a.stalls_total, 1);
    assert!((a.stalls[0].duration_seconds - 1_800.0).abs() < 4.0);
    assert_eq!(a.eta_high_seconds, None);
    assert!(a.eta_seconds.is_some());
}

#[test]
fn a_poll_timing_out_inside_a_stall_does_not_split_it_but_a_long_outage_ends_it() {
    let (mut samples, truth) = run(profile(vec![ev(
        40_000,
        600.0,
        EventKind::Flat(FlatCause::Cpu),
    )]));
    let (start, end, _) = truth.events[0];
    // Three single polls time out in the middle of the stall.
    let inside: Vec<usize> = (0..samples.len())
        .filter(|&i| samples[i].t_ms > start + 100_000 && samples[i].t_ms < end - 100_000)
        .collect();
    for &i in [inside[0], inside[60], inside[120]].iter() {
        let t = samples[i].t_ms;
        samples[i] = nodewarden_analyze::Sample::new(t, "n", nodewarden_analyze::SyncState::Error);
    }
    let a = analyze_one(&samples);
    assert_matches(&a.stalls, &truth.events, 4_000);
    assert_eq!(a.stalls[0].cause, StallCause::Cpu);
    assert_eq!(a.outages_total, 3, "{:?}", a.outages);
    // Five minutes of failed polls in the middle: the stall ends where they began.
    let cut = samples[inside[0]].t_ms;
    for s in samples
        .iter_mut()
        .filter(|s| s.t_ms >= cut && s.t_ms < cut + 300_000)
    {
        *s = nodewarden_analyze::Sample::new(s.t_ms, "n", nodewarden_analyze::SyncState::Error);
    }
    let a = analyze_one(&samples);
    assert_eq!(a.stalls[0].end_ms, cut, "{:?}", a.stalls);
    for s in &a.stalls {
        assert!(
            a.outages
                .iter()
                .all(|o| o.end_ms <= s.start_ms || o.start_ms >= s.end_ms),
            "{s:?} spans {:?}",
            a.outages
        );
    }
}
