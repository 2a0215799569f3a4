use nodewarden_analyze::synth::{Event, EventKind, FlatCause, Phase, Profile, generate};
use nodewarden_analyze::{AnalyzeOptions, Run, analyze, compare};

use super::*;
use crate::timeline::Timeline;

fn run(
    name: &str,
    rate: f64,
    stall: bool,
) -> (nodewarden_analyze::Analysis, Vec<crate::TimePoint>) {
    let mut p = Profile::new(name, 20_000, vec![Phase::constant(20_001, rate)]);
    p.interval_ms = 2_000;
    if stall {
        p.events = vec![Event {
            at: 8_000,
            seconds: 600.0,
            kind: EventKind::Flat(FlatCause::Cpu),
        }];
    }
    let samples: Vec<_> = generate(p).collect();
    let mut tl = Timeline::new(name, 400);
    for s in &samples {
        tl.push(s);
    }
    let a = analyze(&samples, &AnalyzeOptions::default()).remove(0);
    (a, tl.points())
}

#[test]
fn report_page_has_summary_stalls_and_every_chart() {
    let (a, tl) = run("znn-<b>", 10.0, true);
    assert_eq!(a.stalls.len(), 1, "{:?}", a.stalls);
    let html = report_html(
        "report",
        "run x",
        "0.1.0",
        &[NodeData {
            restarts: Vec::new(),
            analysis: &a,
            timeline: &tl,
        }],
    );
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("znn-&lt;b&gt;") && !html.contains("znn-<b>"));
    assert_eq!(html.matches("<svg").count(), 8, "eight charts");
    assert!(html.contains("Height and target over time"));
    assert!(
        html.contains("<title>stall at height"),
        "stall band with tooltip"
    );
    assert!(
        !html.contains("<script") && !html.contains("@import"),
        "no scripts, no imports"
    );
    assert_eq!(
        html.matches("http").count(),
        html.matches("http://www.w3.org/2000/svg").count(),
        "no link leaves the page but the SVG namespace"
    );
}

#[test]
fn compare_page_overlays_both_runs() {
    let (a, _) = run("fast", 20.0, false);
    let (b, _) = run("slow", 10.0, true);
    let c = compare(&Run::new("A", b.clone()), &Run::new("B", a.clone()));
    let html = compare_html(&c, &b, &a, "0.1.0");
    assert_eq!(html.matches("<svg").count(), 3);
    assert!(
        html.contains("B is faster"),
        "{}",
        crate::text::verdict_line(&c)
    );
    assert!(html.contains("same speed"));
    assert!(html.contains("Stalls in A"));
}

#[test]
fn peer_losses_and_outages_are_listed_beside_the_sync_graph() {
    let mut p = Profile::new("n", 20_000, vec![Phase::constant(20_001, 10.0)]);
    p.events = vec![
        Event {
            at: 6_000,
            seconds: 300.0,
            kind: EventKind::Flat(FlatCause::Peers),
        },
        Event {
            at: 12_000,
            seconds: 60.0,
            kind: EventKind::Restart,
        },
    ];
    let samples: Vec<_> = generate(p).collect();
    let mut tl = Timeline::new("n", 400);
    for s in &samples {
        tl.push(s);
    }
    let a = analyze(&samples, &AnalyzeOptions::default()).remove(0);
    assert_eq!(a.peer_losses.len(), 1, "{:?}", a.peer_losses);
    assert_eq!(a.outages.len(), 1, "{:?}", a.outages);
    let html = report_html(
        "report",
        "run x",
        "0.1.0",
        &[NodeData {
            restarts: Vec::new(),
            analysis: &a,
            timeline: &tl.points(),
        }],
    );
    assert!(html.contains("<h3>Peer losses</h3>") && html.contains("<h3>Outages"));
    // On the height chart and the peers chart.
    assert_eq!(
        html.matches("<title>peers 8 → 0").count(),
        2,
        "peer-loss bands"
    );
    let text = crate::text::analysis_text(&a, "x");
    assert!(
        text.contains("peer loss") && text.contains("outages"),
        "{text}"
    );
}
