//! Scoring a set of traces: the analysis against the truth, with the baselines beside it.

use super::baseline::{mean_rate_eta, naive_stalls};
use super::trace::{MemoryShape, Trace};
use crate::analysis::LiveState;
use crate::options::AnalyzeOptions;
use crate::prior::CostProfile;
use crate::rate::quantile;
use crate::tracker::NodeTracker;
use std::fmt::Write as _;

/// Where along the sync the ETA is asked for: shares of the blocks to sync.
pub const CUTS: [f64; 3] = [0.25, 0.5, 0.75];

/// Counts and errors of one method over a set of traces.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Score {
    pub true_stalls: u64,
    pub found_stalls: u64,
    /// Found stalls overlapping a true one by more than half of the true one.
    pub found_matching: u64,
    /// True stalls with such a match.
    pub true_matched: u64,
    /// Matched true stalls whose best match named the true cause.
    pub cause_right: u64,
    pub true_outages: u64,
    pub found_outages: u64,
    pub outages_found_matching: u64,
    pub outages_true_matched: u64,
    /// Relative ETA errors per cut point.
    pub eta_errors: [Vec<f64>; 3],
    /// Cuts with a range, and those whose truth fell inside it.
    pub ranged: u64,
    pub covered: u64,
    /// (high − low) / true remaining, per cut with a finite range.
    pub widths: Vec<f64>,
    pub leaks: u64,
    pub leaks_flagged: u64,
    /// Flat or sawtooth traces wrongly flagged as leaking, at the end.
    pub false_leaks: u64,
    /// ... or at any of the cut points on the way (what a live view would have shown).
    pub false_leaks_live: u64,
    pub no_leaks: u64,
    pub leak_rate_errors: Vec<f64>,
    /// Traces whose earlier run gave a cost shape (ETA with history only).
    pub priors: u64,
}

fn ratio(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

fn med(v: &[f64]) -> Option<f64> {
    quantile(&mut v.to_vec(), 0.5)
}

impl Score {
    pub fn stall_precision(&self) -> Option<f64> {
        ratio(self.found_matching, self.found_stalls)
    }
    pub fn stall_recall(&self) -> Option<f64> {
        ratio(self.true_matched, self.true_stalls)
    }
    pub fn cause_accuracy(&self) -> Option<f64> {
        ratio(self.cause_right, self.true_matched)
    }
    pub fn outage_precision(&self) -> Option<f64> {
        ratio(self.outages_found_matching, self.found_outages)
    }
    pub fn outage_recall(&self) -> Option<f64> {
        ratio(self.outages_true_matched, self.true_outages)
    }
    /// Median relative ETA error at each cut, then over all cuts.
    pub fn eta_median(&self, cut: Option<usize>) -> Option<f64> {
        match cut {
            Some(i) => med(&self.eta_errors[i]),
            None => med(&self.eta_errors.concat()),
        }
    }
    pub fn coverage(&self) -> Option<f64> {
        ratio(self.covered, self.ranged)
    }
    pub fn mean_width(&self) -> Option<f64> {
        (!self.widths.is_empty())
            .then(|| self.widths.iter().sum::<f64>() / self.widths.len() as f64)
    }
}

/// The analysis and the baselines over one set of traces.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scores {
    pub traces: usize,
    pub analysis: Score,
    /// Flat-for-120 s detector; whole-run-mean-rate ETA.
    pub baseline: Score,
    /// The ETA again, given the cost shape of an earlier run of each trace's chain.
    pub with_history: Score,
}

/// Overlap of two windows, ms.
fn overlap(a: (i64, i64), b: (i64, i64)) -> i64 {
    (a.1.min(b.1) - a.0.max(b.0)).max(0)
}

/// Matches found windows against true ones: (found matching, true matched, best match of
/// each true window).
fn matching(found: &[(i64, i64)], truth: &[(i64, i64)]) -> (u64, u64, Vec<Option<usize>>) {
    let good = |f: (i64, i64), t: (i64, i64)| 2 * overlap(f, t) > t.1 - t.0;
    let found_ok = found
        .iter()
        .filter(|&&f| truth.iter().any(|&t| good(f, t)))
        .count() as u64;
    let best: Vec<Option<usize>> = truth
        .iter()
        .map(|&t| {
            (0..found.len())
                .filter(|&i| good(found[i], t))
                .max_by_key(|&i| overlap(found[i], t))
        })
        .collect();
    let true_ok = best.iter().filter(|b| b.is_some()).count() as u64;
    (found_ok, true_ok, best)
}

/// Scores every trace with `opts` and adds up; with `earlier`, also the ETA given the cost
/// shape of an earlier run of each trace's chain.
pub fn score_set(traces: &[Trace], opts: &AnalyzeOptions) -> Scores {
    score_set_with(traces, opts, &[])
}

/// [`score_set`], with `earlier[i]` the earlier run of `traces[i]`'s chain (or none).
pub fn score_set_with(traces: &[Trace], opts: &AnalyzeOptions, earlier: &[Trace]) -> Scores {
    let mut out = Scores {
        traces: traces.len(),
        ..Scores::default()
    };
    for (i, tr) in traces.iter().enumerate() {
        score_trace(tr, opts, &mut out);
        if let Some(e) = earlier.get(i) {
            score_with_history(tr, e, opts, &mut out.with_history);
        }
    }
    out
}

/// Feeds the trace to `tracker`, calling `at_cut` at each of [`CUTS`] with the live state,
/// the true remaining seconds, and (first, now) marks for the baseline.
fn walk_cuts(
    tr: &Trace,
    tracker: &mut NodeTracker,
    mut at_cut: impl FnMut(usize, &LiveState, f64, (i64, u64), (i64, u64)),
) {
    let mut first: Option<(i64, u64)> = None;
    let mut cut = 0;
    for s in &tr.samples {
        tracker.push(s);
        let (Some(c), Some(done)) = (s.current.filter(|_| !s.is_error()), tr.truth.done_ms) else {
            continue;
        };
        let first = *first.get_or_insert((s.t_ms, c));
        if cut >= CUTS.len() || s.t_ms >= done {
            continue;
        }
        let live = tracker.snapshot();
        let (Some(h), Some(tg)) = (live.current, live.target) else {
            continue;
        };
        if tg > first.1 && (h.saturating_sub(first.1)) as f64 / (tg - first.1) as f64 >= CUTS[cut] {
            let actual = (done - s.t_ms) as f64 / 1000.0;
            at_cut(cut, &live, actual, first, (s.t_ms, h));
            cut += 1;
        }
    }
}

/// The ETA's errors and ranges at one cut.
fn score_eta(sc: &mut Score, cut: usize, live: &LiveState, actual: f64) {
    if let Some(e) = live.eta_seconds {
        sc.eta_errors[cut].push((e - actual).abs() / actual);
    }
    if let (Some(lo), Some(hi)) = (live.eta_low_seconds, live.eta_high_seconds) {
        sc.ranged += 1;
        sc.covered += u64::from(lo <= actual && actual <= hi);
        sc.widths.push((hi - lo) / actual);
    }
}

fn score_with_history(tr: &Trace, earlier: &Trace, opts: &AnalyzeOptions, sc: &mut Score) {
    let mut before = NodeTracker::new(earlier.truth.node.clone(), opts.clone());
    earlier.samples.iter().for_each(|s| before.push(s));
    let prior = CostProfile::from_costs(&before.analysis().cost_by_height);
    sc.priors += u64::from(prior.is_some());
    let mut tracker = NodeTracker::new(tr.truth.node.clone(), opts.clone()).with_prior(prior);
    walk_cuts(tr, &mut tracker, |cut, live, actual, _, _| {
        score_eta(sc, cut, live, actual);
    });
}

fn score_trace(tr: &Trace, opts: &AnalyzeOptions, out: &mut Scores) {
    let truth = &tr.truth;
    let mut tracker = NodeTracker::new(truth.node.clone(), opts.clone());
    let mut flagged_live = false;
    let (analysis, baseline) = (&mut out.analysis, &mut out.baseline);
    walk_cuts(tr, &mut tracker, |cut, live, actual, first, now| {
        flagged_live |= live.memory_growth_significant;
        score_eta(analysis, cut, live, actual);
        if let Some(e) = live.target.and_then(|tg| mean_rate_eta(first, now, tg)) {
            baseline.eta_errors[cut].push((e - actual).abs() / actual);
        }
    });
    let a = tracker.analysis();

    let true_stalls: Vec<(i64, i64)> = truth
        .stalls
        .iter()
        .map(|s| (s.start_ms, s.end_ms))
        .collect();
    let found: Vec<(i64, i64)> = a.stalls.iter().map(|s| (s.start_ms, s.end_ms)).collect();
    let (fm, tm, best) = matching(&found, &true_stalls);
    let sc = &mut out.analysis;
    sc.true_stalls += true_stalls.len() as u64;
    sc.found_stalls += found.len() as u64;
    sc.found_matching += fm;
    sc.true_matched += tm;
    sc.cause_right += best
        .iter()
        .zip(&truth.stalls)
        .filter(|(b, t)| b.is_some_and(|i| a.stalls[i].cause == t.cause))
        .count() as u64;

    let true_out: Vec<(i64, i64)> = truth
        .outages
        .iter()
        .map(|o| (o.start_ms, o.end_ms))
        .collect();
    let found_out: Vec<(i64, i64)> = a.outages.iter().map(|o| (o.start_ms, o.end_ms)).collect();
    let (om, otm, _) = matching(&found_out, &true_out);
    sc.true_outages += true_out.len() as u64;
    sc.found_outages += found_out.len() as u64;
    sc.outages_found_matching += om;
    sc.outages_true_matched += otm;

    let flagged = a.memory_growth_significant;
    if truth.memory == MemoryShape::Leak {
        sc.leaks += 1;
        sc.leaks_flagged += u64::from(flagged);
        if let Some(g) = a.memory_growth_bytes_per_second.filter(|_| flagged) {
            sc.leak_rate_errors
                .push((g - truth.leak_bytes_per_second).abs() / truth.leak_bytes_per_second);
        }
    } else {
        sc.no_leaks += 1;
        sc.false_leaks += u64::from(flagged);
        sc.false_leaks_live += u64::from(flagged || flagged_live);
    }

    let naive = naive_stalls(&tr.samples);
    let (fm, tm, _) = matching(&naive, &true_stalls);
    let b = &mut out.baseline;
    b.true_stalls += true_stalls.len() as u64;
    b.found_stalls += naive.len() as u64;
    b.found_matching += fm;
    b.true_matched += tm;
}

/// The ETA's rows: its error at each cut and over all (the baseline's beside), coverage
/// and width.
fn eta_rows(
    row: &mut impl FnMut(&str, Option<f64>, Option<f64>),
    indent: &str,
    a: &Score,
    b: &Score,
) {
    let name = if indent.is_empty() {
        "ETA median"
    } else {
        "median"
    };
    for (i, c) in CUTS.iter().enumerate() {
        row(
            &format!("{indent}{name} rel. error at {:.0} %", c * 100.0),
            a.eta_median(Some(i)),
            b.eta_median(Some(i)),
        );
    }
    row(
        &format!("{indent}{name} rel. error, all cuts"),
        a.eta_median(None),
        b.eta_median(None),
    );
    row(
        &format!("{indent}truth inside [low, high]"),
        a.coverage(),
        None,
    );
    row(
        &format!("{indent}mean range width / truth"),
        a.mean_width(),
        None,
    );
}

fn f(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.2}"))
}

impl Scores {
    /// The table `scripts/bench/analysis.sh` prints.
    pub fn text(&self, label: &str) -> String {
        let (a, b) = (&self.analysis, &self.baseline);
        let mut s = String::new();
        let _ = writeln!(s, "{label}: {} traces", self.traces);
        let _ = writeln!(s, "{:<34} {:>10} {:>10}", "", "analysis", "baseline");
        let mut row = |name: &str, x: Option<f64>, y: Option<f64>| {
            let _ = writeln!(s, "{name:<34} {:>10} {:>10}", f(x), f(y));
        };
        row(&format!("stalls: true {}", a.true_stalls), None, None);
        row("stall precision", a.stall_precision(), b.stall_precision());
        row("stall recall", a.stall_recall(), b.stall_recall());
        row("cause accuracy", a.cause_accuracy(), None);
        row(&format!("outages: true {}", a.true_outages), None, None);
        row("outage precision", a.outage_precision(), None);
        row("outage recall", a.outage_recall(), None);
        eta_rows(&mut row, "", a, b);
        row(
            &format!("memory: leaks flagged of {}", a.leaks),
            ratio(a.leaks_flagged, a.leaks),
            None,
        );
        row(
            &format!("memory: false warnings of {}", a.no_leaks),
            ratio(a.false_leaks, a.no_leaks),
            None,
        );
        row(
            "  … or at any ETA cut on the way",
            ratio(a.false_leaks_live, a.no_leaks),
            None,
        );
        row(
            "memory: median growth rel. error",
            med(&a.leak_rate_errors),
            None,
        );
        let h = &self.with_history;
        if h.priors > 0 {
            row(
                &format!(
                    "ETA given an earlier run ({} of {}):",
                    h.priors, self.traces
                ),
                None,
                None,
            );
            eta_rows(&mut row, "  ", h, b);
        }
        s
    }
}
