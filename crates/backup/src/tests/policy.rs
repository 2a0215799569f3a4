//! Retention rules: calendar buckets in UTC, ISO weeks, newest per bucket.
use chrono::{DateTime, Utc};

use crate::forget::{KeepPolicy, apply};
use crate::parse_time;

fn snaps(times: &[&str]) -> Vec<(String, DateTime<Utc>)> {
    times
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("s{i}"), parse_time(t).unwrap()))
        .collect()
}

fn kept(policy: KeepPolicy, times: &[&str]) -> Vec<(String, Vec<&'static str>)> {
    apply(&policy, &snaps(times))
        .into_iter()
        .filter(|d| d.keep)
        .map(|d| (d.id, d.reasons))
        .collect()
}

#[test]
fn daily_keeps_the_newest_of_each_day() {
    let k = kept(
        KeepPolicy {
            daily: Some(2),
            ..Default::default()
        },
        &[
            "2025-01-01T01:00:00Z",
            "2025-01-01T23:00:00Z",
            "2025-01-02T05:00:00Z",
            "2025-01-02T06:00:00Z",
            "2024-12-31T12:00:00Z",
        ],
    );
    assert_eq!(
        k,
        [
            ("s1".to_string(), vec!["daily"]),
            ("s3".to_string(), vec!["daily"])
        ]
    );
}

#[test]
fn weeks_are_iso_weeks() {
    // 2024-12-30 (Mon) belongs to 2025-W01 together with 2025-01-05 (Sun); 2024-12-29 is
    // 2024-W52.
    let k = kept(
        KeepPolicy {
            weekly: Some(2),
            ..Default::default()
        },
        &[
            "2024-12-29T12:00:00Z",
            "2024-12-30T12:00:00Z",
            "2025-01-05T12:00:00Z",
            "2024-12-28T12:00:00Z",
        ],
    );
    let ids: Vec<&str> = k.iter().map(|(i, _)| i.as_str()).collect();
    assert_eq!(ids, ["s0", "s2"]);
}

#[test]
fn rules_count_independently_and_reasons_accumulate() {
    let times = [
        "2023-06-01T00:00:00Z",
        "2024-06-01T00:00:00Z",
        "2025-01-10T00:00:00Z",
        "2025-02-10T00:00:00Z",
        "2025-02-11T00:00:00Z",
    ];
    let all = apply(
        &KeepPolicy {
            last: Some(1),
            monthly: Some(2),
            yearly: Some(3),
            ..Default::default()
        },
        &snaps(&times),
    );
    let reasons: Vec<Vec<&str>> = all.iter().map(|d| d.reasons.clone()).collect();
    assert_eq!(
        reasons,
        [
            vec!["yearly"],
            vec!["yearly"],
            vec!["monthly"],
            vec![],
            vec!["last", "monthly", "yearly"]
        ]
    );
    assert_eq!(all.iter().filter(|d| !d.keep).count(), 1);
    assert_eq!(all[3].time, "2025-02-10T00:00:00Z");
}

#[test]
fn hourly_buckets_are_utc_whatever_the_offset_given() {
    // 10:30+02:00 is 08:30Z: same hour as 08:10Z.
    let k = kept(
        KeepPolicy {
            hourly: Some(5),
            ..Default::default()
        },
        &["2025-01-01T08:10:00Z", "2025-01-01T10:30:00+02:00"],
    );
    assert_eq!(k.len(), 1);
    assert_eq!(k[0].0, "s1");
}
