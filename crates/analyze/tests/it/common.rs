//! Helpers shared by the integration tests: everything expected is derived from the
//! generator's own truth, never typed in.
#![allow(dead_code)]

use nodewarden_analyze::synth::{self, Profile, Truth};
use nodewarden_analyze::{Analysis, AnalyzeOptions, NodeTracker, Sample, analyze};

pub fn run(p: Profile) -> (Vec<Sample>, Truth) {
    let mut g = synth::generate(p);
    let samples: Vec<Sample> = g.by_ref().collect();
    (samples, g.truth().clone())
}

pub fn analyze_one(samples: &[Sample]) -> Analysis {
    analyze(samples, &AnalyzeOptions::default()).remove(0)
}

/// Feeds samples until the node has covered `fraction` of its sync; returns the tracker
/// and the true remaining seconds at that point.
pub fn at_fraction(samples: &[Sample], truth: &Truth, fraction: f64) -> (NodeTracker, f64) {
    let start = samples.iter().find_map(|s| s.current).unwrap();
    let target = samples.iter().filter_map(|s| s.target).max().unwrap();
    let mark = start as f64 + fraction * (target - start) as f64;
    let mut t = NodeTracker::new(samples[0].node.clone(), AnalyzeOptions::default());
    for s in samples {
        t.push(s);
        if s.current.is_some_and(|c| c as f64 >= mark) {
            let remaining = (truth.done_ms.unwrap() - s.t_ms) as f64 / 1000.0;
            return (t, remaining);
        }
    }
    panic!("never reached {fraction}");
}
