//! The ETA learns a chain's cost shape from an earlier run of the same node in the
//! recording: written by the real recorder, read back by `report`.

use nodewarden_analyze::groundtruth::{earlier_run, trace};
use nodewarden_analyze::{Sample, write_csv};
use nodewarden_model::SampleRow;
use nodewarden_record::{Recorder, RunChoice};
use serde_json::Value;
use std::path::Path;

use crate::support::*;

fn write_run(db: &Path, name: &str, kind: &str, samples: &[Sample]) {
    let r = Recorder::open(db, RunChoice::Named(name.into()), "test").unwrap();
    r.register_node(&samples[0].node, kind).unwrap();
    for s in samples {
        r.record(SampleRow {
            sample: s.clone(),
            ..SampleRow::default()
        })
        .unwrap();
    }
    r.close().unwrap();
}

fn json(args: &[&str]) -> Value {
    let out = run(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[test]
fn an_earlier_run_of_the_same_node_shapes_the_eta() {
    let tmp = tempfile::tempdir().unwrap();
    let seed = 7;
    let now = trace(seed);
    let done = now.truth.done_ms.expect("the trace syncs");
    // The current run, cut a quarter of the way: the part of the sync where knowing the
    // shape ahead matters most.
    let ok = |s: &&Sample| s.current.is_some_and(|c| c > 0) && s.target.is_some_and(|t| t > 0);
    let first = now.samples.iter().find(ok).unwrap();
    let (c0, tg) = (first.current.unwrap(), first.target.unwrap());
    let quarter = c0 + (tg - c0) / 4;
    let cut: Vec<Sample> = now
        .samples
        .iter()
        .take_while(|s| s.current.is_none_or(|c| c < quarter))
        .cloned()
        .collect();
    let truth_s = (done - cut.last().unwrap().t_ms) as f64 / 1000.0;

    let db = tmp.path().join("rec.db");
    write_run(&db, "last-month", "zenon", &earlier_run(seed).samples);
    write_run(&db, "now", "zenon", &cut);
    let csv = tmp.path().join("now.csv");
    write_csv(std::fs::File::create(&csv).unwrap(), &cut).unwrap();

    let with = json(&["report", db.to_str().unwrap(), "--run", "now", "--json"]);
    let without = json(&["analyze", csv.to_str().unwrap(), "--json"]);
    let (with, without) = (&with[0], &without[0]);
    assert_eq!(with["eta_method"], "earlier-run", "{with}");
    assert_eq!(without["eta_method"], "height-model", "{without}");
    let err = |a: &Value| (a["eta_seconds"].as_f64().unwrap() - truth_s).abs() / truth_s;
    let (lo, hi) = (
        with["eta_low_seconds"].as_f64().unwrap(),
        with["eta_high_seconds"].as_f64().unwrap(),
    );
    assert!(
        err(with) <= 0.35 && lo <= truth_s && truth_s <= hi,
        "with the earlier run: {:.0}s ({lo:.0}–{hi:.0}), truth {truth_s:.0}s; without: {:.0}s",
        with["eta_seconds"].as_f64().unwrap(),
        without["eta_seconds"].as_f64().unwrap()
    );

    // Another chain's node of the same name is no prior: the kind must match too.
    let db2 = tmp.path().join("other.db");
    write_run(&db2, "last-month", "ethereum", &earlier_run(seed).samples);
    write_run(&db2, "now", "zenon", &cut);
    let other = json(&["report", db2.to_str().unwrap(), "--run", "now", "--json"]);
    assert_eq!(other[0]["eta_method"], "height-model", "{}", other[0]);
}
