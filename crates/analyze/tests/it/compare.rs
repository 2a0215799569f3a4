//! A/B comparison aligned by height.

use crate::common::{analyze_one, run};
use nodewarden_analyze::synth::{Event, EventKind, FlatCause, Phase, Profile};
use nodewarden_analyze::{Run, Verdict, compare};

fn run_at(name: &str, bps: f64, start: u64, events: Vec<Event>) -> Run {
    let mut p = Profile::new(name, 100_000, vec![Phase::constant(u64::MAX, bps)]);
    p.start_height = start;
    p.events = events;
    p.noise = 0.1;
    Run::new(name, analyze_one(&run(p).0))
}

#[test]
fn twice_as_fast_is_a_speedup_of_two() {
    let (a, b) = (run_at("a", 100.0, 0, vec![]), run_at("b", 200.0, 0, vec![]));
    let c = compare(&a, &b);
    let s = c.speedup.unwrap();
    assert!((s - 2.0).abs() < 0.1, "{s}");
    assert_eq!(c.verdict, Verdict::BFaster);
    assert_eq!(
        (c.common_from_height, c.common_to_height),
        (Some(0), Some(100_000))
    );
    assert!((30..=50).contains(&c.buckets.len()), "{}", c.buckets.len());
    assert!(
        c.buckets
            .iter()
            .all(|b| (b.speedup.unwrap() - 2.0).abs() < 0.5)
    );
    // Time to the top is each run's own sync time, not wall-clock alignment.
    let last = c.time_to_height.last().unwrap();
    let (ta, tb) = (
        c.a.sync_duration_seconds.unwrap(),
        c.b.sync_duration_seconds.unwrap(),
    );
    assert!((last.a_seconds - ta).abs() / ta < 0.02 && (last.b_seconds - tb).abs() / tb < 0.02);
    let back = compare(&b, &a);
    assert_eq!(back.verdict, Verdict::AFaster);
    assert!(serde_json::to_string(&c).unwrap().contains("\"speedup\""));
}

#[test]
fn a_stall_shows_in_its_bucket_and_in_the_stall_lists() {
    let stall = Event {
        at: 50_000,
        seconds: 600.0,
        kind: EventKind::Flat(FlatCause::Io),
    };
    let (a, b) = (
        run_at("a", 100.0, 0, vec![stall]),
        run_at("b", 100.0, 0, vec![]),
    );
    let c = compare(&a, &b);
    assert_eq!((c.a.stalls.len(), c.b.stalls.len()), (1, 0));
    let worst = c
        .buckets
        .iter()
        .max_by(|x, y| x.speedup.partial_cmp(&y.speedup).unwrap())
        .unwrap();
    assert!(worst.from <= 50_000 && 50_000 < worst.to, "{worst:?}");
    let s = c.speedup.unwrap();
    let expected = (1_000.0 + 600.0) / 1_000.0;
    assert!((s - expected).abs() < 0.05, "{s} vs {expected}");
}

#[test]
fn runs_starting_at_different_heights_align_on_the_common_range() {
    let (a, b) = (
        run_at("a", 100.0, 0, vec![]),
        run_at("b", 100.0, 40_000, vec![]),
    );
    let c = compare(&a, &b);
    assert_eq!(c.common_from_height, Some(40_000));
    assert_eq!(c.time_to_height[0].a_seconds, 0.0);
    assert_eq!(c.verdict, Verdict::Same);
}

#[test]
fn disjoint_runs_cannot_be_compared() {
    let mut p = Profile::new("b", 300_000, vec![Phase::constant(u64::MAX, 1000.0)]);
    p.start_height = 200_000;
    let b = Run::new("b", analyze_one(&run(p).0));
    let c = compare(&run_at("a", 100.0, 0, vec![]), &b);
    assert_eq!((c.speedup, c.verdict), (None, Verdict::Unknown));
    assert!(c.buckets.is_empty());
}
