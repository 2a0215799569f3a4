//! The JSON field names are a contract with report/serve and users' scripts.

use crate::common::{analyze_one, run};
use nodewarden_analyze::synth::{Event, EventKind, FlatCause, Phase, Profile};
use nodewarden_analyze::{Run, compare};
use serde_json::Value;

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

fn sorted(mut v: Vec<&str>) -> Vec<&str> {
    v.sort_unstable();
    v
}

#[test]
fn field_names_are_stable() {
    let mut p = Profile::new("n", 50_000, vec![Phase::constant(u64::MAX, 100.0)]);
    p.events = vec![Event {
        at: 20_000,
        seconds: 120.0,
        kind: EventKind::Flat(FlatCause::Peers),
    }];
    let (samples, _) = run(p);
    let a = analyze_one(&samples);
    let v = serde_json::to_value(&a).unwrap();
    assert_eq!(
        keys(&v),
        sorted(vec![
            "node",
            "samples",
            "error_samples",
            "restarts",
            "out_of_order_samples",
            "height_regressions",
            "first_ms",
            "last_ms",
            "duration_seconds",
            "state",
            "synced",
            "first_synced_ms",
            "sync_duration_seconds",
            "start_height",
            "current",
            "target",
            "remaining_blocks",
            "progress",
            "peers",
            "rate_blocks_per_second",
            "mean_rate_blocks_per_second",
            "eta_seconds",
            "eta_low_seconds",
            "eta_high_seconds",
            "eta_method",
            "eta_stalled",
            "stall_after_seconds",
            "stall_after_auto",
            "stalls_total",
            "stalled_seconds",
            "stalls",
            "outages_total",
            "outage_seconds",
            "outages",
            "peer_losses_total",
            "peer_losses",
            "cpu_seconds",
            "mean_cpu_cores",
            "peak_cpu_cores",
            "mean_rss_bytes",
            "peak_rss_bytes",
            "last_rss_bytes",
            "memory_growth_bytes_per_second",
            "memory_growth_significant",
            "read_bytes",
            "written_bytes",
            "data_dir_bytes",
            "data_dir_growth_bytes",
            "cost_bucket_blocks",
            "cost_by_height",
            "progress_curve",
        ])
    );
    assert_eq!(
        keys(&v["stalls"][0]),
        sorted(vec![
            "start_ms",
            "end_ms",
            "height",
            "end_height",
            "duration_seconds",
            "cause",
            "ongoing",
            "samples",
            "error_samples",
            "peers_zero_fraction",
            "cpu_cores",
            "read_bytes_per_second",
            "write_bytes_per_second",
        ])
    );
    assert_eq!(v["stalls"][0]["cause"], "peers");
    assert_eq!(v["eta_method"], "unknown");
    assert_eq!(v["state"], "done");
    assert_eq!(
        keys(&v["cost_by_height"][0]),
        sorted(vec![
            "from",
            "to",
            "blocks",
            "wall_seconds",
            "stalled_seconds",
            "cpu_seconds",
            "read_bytes",
            "written_bytes",
            "reached_ms",
        ])
    );
    assert_eq!(keys(&v["progress_curve"][0]), ["height", "t_ms"]);

    let mut t = nodewarden_analyze::NodeTracker::new("n", Default::default());
    samples
        .iter()
        .take(samples.len() / 2)
        .for_each(|s| t.push(s));
    let live = serde_json::to_value(t.snapshot()).unwrap();
    assert_eq!(
        keys(&live),
        sorted(vec![
            "node",
            "t_ms",
            "state",
            "current",
            "target",
            "peers",
            "synced",
            "rate_blocks_per_second",
            "eta_seconds",
            "eta_low_seconds",
            "eta_high_seconds",
            "eta_method",
            "eta_stalled",
            "stalled_since",
            "stalls_total",
            "stall_after_seconds",
            "head_age_seconds",
            "error_samples",
            "restarts",
            "outage_since_ms",
            "outages_total",
            "peer_losses_total",
            "peer_loss_since_ms",
            "peer_loss_from",
            "memory_growth_bytes_per_second",
            "memory_growth_significant",
        ])
    );
    assert_eq!(live["eta_method"], "height-model");

    let c = serde_json::to_value(compare(&Run::new("a", a.clone()), &Run::new("b", a))).unwrap();
    assert_eq!(
        keys(&c),
        sorted(vec![
            "a",
            "b",
            "common_from_height",
            "common_to_height",
            "a_seconds",
            "b_seconds",
            "speedup",
            "verdict",
            "buckets",
            "time_to_height",
        ])
    );
    assert_eq!(c["verdict"], "same");
    assert_eq!(
        keys(&c["buckets"][0]),
        ["a_seconds", "b_seconds", "from", "speedup", "to"]
    );
    assert_eq!(
        keys(&c["time_to_height"][0]),
        ["a_seconds", "b_seconds", "height"]
    );
    assert_eq!(
        keys(&c["a"]),
        sorted(vec![
            "label",
            "node",
            "samples",
            "start_height",
            "end_height",
            "synced",
            "sync_duration_seconds",
            "mean_rate_blocks_per_second",
            "stalls_total",
            "stalled_seconds",
            "stalls",
            "restarts",
            "error_samples",
            "cpu_seconds",
            "mean_cpu_cores",
            "peak_cpu_cores",
            "mean_rss_bytes",
            "peak_rss_bytes",
            "read_bytes",
            "written_bytes",
        ])
    );
}
