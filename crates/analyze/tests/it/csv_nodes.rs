//! CSV import/export and multi-node streams.

use crate::common::run;
use nodewarden_analyze::synth::{Phase, Profile};
use nodewarden_analyze::{
    AnalyzeOptions, CSV_COLUMNS, Sample, SyncState, analyze, analyze_csv, read_csv, write_csv,
};
use proptest::prelude::*;

fn two_nodes() -> (Vec<Sample>, Vec<Sample>) {
    let a = run(Profile::new(
        "alpha",
        40_000,
        vec![Phase::constant(u64::MAX, 80.0)],
    ))
    .0;
    let mut p = Profile::new(
        "beta, the \"second\"",
        60_000,
        vec![Phase::constant(u64::MAX, 150.0)],
    );
    p.start_ms += 1_000;
    p.batch_seconds = Some((10.0, 30.0));
    (a, run(p).0)
}

#[test]
fn multi_node_csv_is_analysed_per_node() {
    let (a, b) = two_nodes();
    let mut mixed: Vec<&Sample> = a.iter().chain(&b).collect();
    mixed.sort_by_key(|s| s.t_ms);
    let csv = write_csv(Vec::new(), mixed.iter().copied()).unwrap();
    let opts = AnalyzeOptions::default();
    let got = analyze_csv(&csv[..], &opts).unwrap();
    assert_eq!(got.len(), 2);
    // Interleaving must not change anything: each equals the node analysed alone.
    assert_eq!(got[0], analyze(&a, &opts)[0]);
    assert_eq!(got[1], analyze(&b, &opts)[0]);
    assert_eq!(got[1].node, "beta, the \"second\"");
    assert!(got.iter().all(|x| x.synced));
}

#[test]
fn missing_fields_are_missing_not_zero() {
    let (mut a, _) = two_nodes();
    for s in &mut a {
        (s.peers, s.cpu_s, s.rss_bytes, s.read_bytes, s.write_bytes) =
            (None, None, None, None, None);
        (s.head_hash, s.head_time, s.data_dir_bytes) = (None, None, None);
    }
    let csv = write_csv(Vec::new(), &a).unwrap();
    let text = String::from_utf8(csv.clone()).unwrap();
    assert!(
        text.lines().nth(1).unwrap().ends_with(",,,,,,,,"),
        "{text:.200}"
    );
    let an = analyze_csv(&csv[..], &AnalyzeOptions::default())
        .unwrap()
        .remove(0);
    assert!(an.synced, "unknown peers do not block synced");
    assert_eq!(
        (an.cpu_seconds, an.mean_cpu_cores, an.peak_rss_bytes),
        (None, None, None)
    );
    assert_eq!(an.restarts, 0);
    assert!(
        an.cost_by_height
            .iter()
            .all(|c| c.cpu_seconds == 0.0 && c.read_bytes == 0)
    );
}

#[test]
fn bad_line_stops_the_analysis_and_names_the_line() {
    let (a, _) = two_nodes();
    let csv = write_csv(Vec::new(), &a[..50]).unwrap();
    let mut text = String::from_utf8(csv).unwrap();
    text.push_str("123,alpha,syncing,12,abc,,,,,,,,\n");
    let err = analyze_csv(text.as_bytes(), &AnalyzeOptions::default()).unwrap_err();
    assert_eq!(err.line(), Some(52));
    assert!(err.to_string().contains("target"), "{err}");
}

#[test]
fn header_only_and_blank_lines() {
    let text = format!("{}\n\n", CSV_COLUMNS.join(","));
    assert_eq!(
        analyze_csv(text.as_bytes(), &AnalyzeOptions::default()).unwrap(),
        vec![]
    );
}

fn sample() -> impl Strategy<Value = Sample> {
    let finite = prop::num::f64::NORMAL | prop::num::f64::ZERO | prop::num::f64::SUBNORMAL;
    let non_neg = (prop::num::f64::POSITIVE | prop::num::f64::ZERO)
        .prop_filter("finite", |v: &f64| v.is_finite());
    (
        (
            any::<i64>(),
            "[a-zA-Z0-9 ,\"_\\-]{1,12}",
            prop::sample::select(SyncState::ALL.to_vec()),
        ),
        (
            any::<Option<u64>>(),
            any::<Option<u64>>(),
            any::<Option<u32>>(),
        ),
        (
            prop::option::of("[0-9a-fx,\"]{1,70}"),
            prop::option::of(finite),
            prop::option::of(non_neg),
        ),
        (
            any::<Option<u64>>(),
            any::<Option<u64>>(),
            any::<Option<u64>>(),
            any::<Option<u64>>(),
        ),
    )
        .prop_map(
            |((t, node, state), (cur, tgt, peers), (hash, ht, cpu), (rss, rd, wr, dir))| Sample {
                t_ms: t,
                node,
                state,
                current: cur,
                target: tgt,
                peers,
                head_hash: hash,
                head_time: ht,
                cpu_s: cpu,
                rss_bytes: rss,
                read_bytes: rd,
                write_bytes: wr,
                data_dir_bytes: dir,
            },
        )
}

proptest! {
    #[test]
    fn csv_round_trips_exactly(samples in prop::collection::vec(sample(), 0..20)) {
        let csv = write_csv(Vec::new(), &samples).unwrap();
        let back: Vec<Sample> = read_csv(&csv[..]).unwrap().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(&back, &samples);
        // And writing what was read gives the same bytes.
        prop_assert_eq!(write_csv(Vec::new(), &back).unwrap(), csv);
    }
}
