//! `compare` on the shared recording: the fast zenon sim against the slow one with stalls.
use crate::report::{STALL_AFTER, db, json, recording};
use crate::support::*;

#[test]
fn fast_versus_slow_gives_the_speedup_in_the_right_direction() {
    let db = db();
    let fast_first = json(&[
        "compare",
        &format!("{db}::znn-a"),
        &format!("{db}::znn-b"),
        "--json",
        "--stall-after",
        STALL_AFTER,
    ]);
    let s = fast_first["speedup"].as_f64().expect("a speedup");
    assert!(s < 1.0, "A (fast) takes less time than B: speedup {s}");
    assert_eq!(fast_first["verdict"], "a-faster");
    assert_eq!(fast_first["b"]["stalls"].as_array().unwrap().len(), 3);
    assert_eq!(fast_first["a"]["stalls"].as_array().unwrap().len(), 0);
    // The other order, with the run named in the default-recording form and --node-a/-b.
    let rec = recording();
    let slow_first = json(&[
        "compare",
        "ab",
        "latest",
        "--record",
        rec.db.to_str().unwrap(),
        "--node-a",
        "znn-b",
        "--node-b",
        "znn-a",
        "--json",
        "--stall-after",
        STALL_AFTER,
    ]);
    let r = slow_first["speedup"].as_f64().unwrap();
    assert!(r > 1.0, "B (fast) is faster: speedup {r}");
    assert_eq!(slow_first["verdict"], "b-faster");
    assert!(
        (r * s - 1.0).abs() < 0.02,
        "the two orders are reciprocal: {r} × {s}"
    );
    let buckets = slow_first["buckets"].as_array().unwrap();
    assert!(buckets.len() >= 10, "{}", buckets.len());
    let faster = buckets
        .iter()
        .filter(|b| b["speedup"].as_f64().is_some_and(|x| x > 1.0))
        .count();
    assert!(
        faster * 4 >= buckets.len() * 3,
        "B faster in most height ranges: {faster}/{}",
        buckets.len()
    );
}

#[test]
fn compare_terminal_summary_and_node_choice() {
    let db = db();
    let out = run(&[
        "compare",
        &format!("{db}::znn-b"),
        &format!("{db}:ab:znn-a"),
        "--stall-after",
        STALL_AFTER,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("B is faster"), "{text}");
    assert!(
        text.contains("SPEEDUP") && text.contains("stalls in A"),
        "{text}"
    );
    // A run with two nodes and no choice: a one-line error that says how to choose.
    let out = run(&["compare", &db, &db]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("znn-a, znn-b") && err.contains("--node-a"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
