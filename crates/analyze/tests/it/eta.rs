//! ETA accuracy on synthetic syncs: at 50 % of the sync the estimate must be within 25 %
//! of the true remaining time.

use crate::common::{at_fraction, run};
use nodewarden_analyze::EtaMethod;
use nodewarden_analyze::synth::{Event, EventKind, FlatCause, Phase, Profile};

fn check(name: &str, p: Profile, fraction: f64, tolerance: f64) {
    let (samples, truth) = run(p);
    let (tracker, truth_left) = at_fraction(&samples, &truth, fraction);
    let live = tracker.snapshot();
    let eta = live.eta_seconds.expect("an estimate");
    let err = (eta - truth_left) / truth_left;
    eprintln!(
        "{name}: eta {eta:.0}s truth {truth_left:.0}s err {:+.1}% range {:?}..{:?} {:?}",
        err * 100.0,
        live.eta_low_seconds,
        live.eta_high_seconds,
        live.eta_method
    );
    assert!(
        err.abs() <= tolerance,
        "{name}: eta {eta} vs truth {truth_left}"
    );
    assert_eq!(live.eta_method, EtaMethod::HeightModel);
    let (lo, hi) = (
        live.eta_low_seconds.unwrap(),
        live.eta_high_seconds.unwrap(),
    );
    assert!(
        lo <= eta && eta <= hi,
        "{name}: range {lo}..{hi} misses {eta}"
    );
}

#[test]
fn constant_rate() {
    let mut p = Profile::new("n", 200_000, vec![Phase::constant(u64::MAX, 100.0)]);
    p.noise = 0.3;
    check("constant", p, 0.5, 0.1);
}

#[test]
fn rate_slowing_with_height() {
    // Seconds per block grow linearly with height: a recent mean rate underestimates.
    let p = Profile::new("n", 200_000, vec![Phase::slowing(200_001, 400.0, 40.0)]);
    check("slowing", p, 0.5, 0.25);
}

#[test]
fn rate_slowing_from_genesis() {
    // The hardest linear case: blocks start almost free.
    let p = Profile::new("n", 200_000, vec![Phase::slowing(200_001, 5_000.0, 50.0)]);
    check("slowing-from-genesis", p, 0.5, 0.25);
}

#[test]
fn constant_phases_slower_later() {
    let p = Profile::new(
        "n",
        300_000,
        vec![
            Phase::constant(120_000, 300.0),
            Phase::constant(240_000, 150.0),
            Phase::constant(u64::MAX, 75.0),
        ],
    );
    check("phases-3", p, 0.5, 0.25);
}

#[test]
fn one_slow_phase_after_a_fast_one() {
    let p = Profile::new(
        "n",
        300_000,
        vec![
            Phase::constant(120_000, 300.0),
            Phase::constant(u64::MAX, 100.0),
        ],
    );
    check("phases-2", p, 0.5, 0.25);
}

#[test]
fn batchy_progress_with_stalls() {
    let mut p = Profile::new("n", 300_000, vec![Phase::slowing(300_001, 200.0, 80.0)]);
    p.batch_seconds = Some((10.0, 40.0));
    p.noise = 0.2;
    p.events = vec![
        Event {
            at: 60_000,
            seconds: 600.0,
            kind: EventKind::Flat(FlatCause::Peers),
        },
        Event {
            at: 220_000,
            seconds: 600.0,
            kind: EventKind::Flat(FlatCause::Io),
        },
    ];
    check("batchy+stalls", p, 0.5, 0.25);
}

#[test]
fn no_estimate_without_target_or_progress() {
    use nodewarden_analyze::{AnalyzeOptions, NodeTracker, Sample, SyncState};
    let mut t = NodeTracker::new("n", AnalyzeOptions::default());
    for i in 0..100 {
        let mut s = Sample::new(i * 2000, "n", SyncState::Syncing);
        s.current = Some(10);
        t.push(&s);
    }
    assert_eq!(t.snapshot().eta_seconds, None, "no target");
    let mut s = Sample::new(200_000, "n", SyncState::Syncing);
    (s.current, s.target) = (Some(10), Some(1_000));
    t.push(&s);
    let live = t.snapshot();
    assert_eq!(live.eta_seconds, None, "no progress");
    assert_eq!(live.eta_method, EtaMethod::Unknown);
}

#[test]
fn range_widens_with_the_unseen_part_of_the_sync() {
    // Early on, the future holds phases nobody has seen: the range must say so.
    let p = Profile::new(
        "n",
        300_000,
        vec![
            Phase::constant(150_000, 300.0),
            Phase::constant(u64::MAX, 150.0),
        ],
    );
    let (samples, truth) = run(p);
    let (early, left) = at_fraction(&samples, &truth, 0.1);
    let live = early.snapshot();
    let (lo, hi) = (
        live.eta_low_seconds.unwrap(),
        live.eta_high_seconds.unwrap(),
    );
    assert!(lo <= left && left <= hi, "{lo}..{hi} misses {left}");
    let (late, _) = at_fraction(&samples, &truth, 0.9);
    let l = late.snapshot();
    let width = |l: &nodewarden_analyze::LiveState| {
        (l.eta_high_seconds.unwrap() - l.eta_low_seconds.unwrap()) / l.eta_seconds.unwrap()
    };
    assert!(width(&l) < width(&live));
}
