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

/// The report page of one node.
fn page(
    analysis: &nodewarden_analyze::Analysis,
    timeline: &[crate::TimePoint],
    db: &[nodewarden_model::DbPoint],
) -> String {
    report_html(
        "report",
        "run x",
        "0.1.0",
        &[NodeData {
            analysis,
            timeline,
            db,
            restarts: Vec::new(),
        }],
    )
}

#[test]
fn report_page_has_summary_stalls_and_every_chart() {
    let (a, tl) = run("znn-<b>", 10.0, true);
    assert_eq!(a.stalls.len(), 1, "{:?}", a.stalls);
    let html = page(&a, &tl, &[]);
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
    let html = page(&a, &tl.points(), &[]);
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

#[test]
fn recorded_database_points_chart_and_word_the_stall() {
    let (a, tl) = run("znn", 10.0, true);
    let stall = &a.stalls[0];
    let point = |t_ms: i64, l0_files: u64, max_score: f64| nodewarden_model::DbPoint {
        t_ms,
        l0_files,
        max_score,
        bytes: 1 << 30,
        wal_bytes: 8 << 20,
        obsolete_bytes: 0,
    };
    // Healthy before the stall; 36 files in L0 while it lasts.
    let db = [
        point(a.first_ms, 2, 0.5),
        point(stall.start_ms + 10_000, 36, 9.0),
        point(stall.end_ms + 10_000, 3, 0.75),
    ];
    let html = page(&a, &tl, &db);
    assert_eq!(html.matches("<svg").count(), 9, "the database chart joins");
    assert!(html.contains("Database: L0 files and compaction debt over time"));
    assert!(
        html.contains("cpu: L0 at 36 files, compaction score 9.0"),
        "the stall's cause names the database"
    );
    let text = crate::text::analysis_text_db(&a, "x", &db);
    assert!(
        text.contains("cpu: L0 at 36 files, compaction score 9.0"),
        "{text}"
    );
    assert!(
        text.contains("L0 36 files, compaction score 9.0, WAL 8.0 MiB"),
        "{text}"
    );
    // Without points: neither the chart nor the wording.
    let plain = crate::text::analysis_text(&a, "x");
    assert!(
        !plain.contains("L0") && !plain.contains("database"),
        "{plain}"
    );
}
