//! Retention: which snapshots `forget` keeps, and why. Buckets are UTC calendar periods
//! (ISO weeks); in each of the N most recent buckets that hold snapshots, the newest one
//! is kept; every rule counts on its own and any rule keeps a snapshot.
use chrono::{DateTime, Datelike, Timelike, Utc};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeepPolicy {
    pub last: Option<usize>,
    pub hourly: Option<usize>,
    pub daily: Option<usize>,
    pub weekly: Option<usize>,
    pub monthly: Option<usize>,
    pub yearly: Option<usize>,
}

impl KeepPolicy {
    pub fn is_empty(&self) -> bool {
        *self == KeepPolicy::default()
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Decision {
    pub id: String,
    pub time: String,
    pub keep: bool,
    pub reasons: Vec<&'static str>,
}

type Bucket = fn(&DateTime<Utc>) -> (i32, u32, u32, u32);

const RULES: [(&str, Bucket); 5] = [
    ("hourly", |t| (t.year(), t.ordinal(), t.hour(), 0)),
    ("daily", |t| (t.year(), t.ordinal(), 0, 0)),
    ("weekly", |t| {
        let w = t.iso_week();
        (w.year(), w.week(), 0, 0)
    }),
    ("monthly", |t| (t.year(), t.month(), 0, 0)),
    ("yearly", |t| (t.year(), 0, 0, 0)),
];

/// `snaps`: (id, time), in any order. Decisions come back oldest first.
pub fn apply(policy: &KeepPolicy, snaps: &[(String, DateTime<Utc>)]) -> Vec<Decision> {
    let mut order: Vec<usize> = (0..snaps.len()).collect();
    // Newest first; equal times by id so the result does not depend on listing order.
    order.sort_by(|&a, &b| {
        snaps[b]
            .1
            .cmp(&snaps[a].1)
            .then_with(|| snaps[b].0.cmp(&snaps[a].0))
    });
    let mut reasons: Vec<Vec<&'static str>> = vec![Vec::new(); snaps.len()];
    if let Some(n) = policy.last {
        for &i in order.iter().take(n) {
            reasons[i].push("last");
        }
    }
    let counts = [
        policy.hourly,
        policy.daily,
        policy.weekly,
        policy.monthly,
        policy.yearly,
    ];
    for ((name, bucket), count) in RULES.iter().zip(counts) {
        let Some(n) = count else { continue };
        let mut seen = 0;
        let mut last = None;
        for &i in &order {
            if seen >= n {
                break;
            }
            let b = bucket(&snaps[i].1);
            if last != Some(b) {
                // The first snapshot met in a bucket, going newest first, is its newest.
                reasons[i].push(name);
                last = Some(b);
                seen += 1;
            }
        }
    }
    let mut out: Vec<Decision> = (0..snaps.len())
        .map(|i| Decision {
            id: snaps[i].0.clone(),
            time: snaps[i]
                .1
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            keep: !reasons[i].is_empty(),
            reasons: std::mem::take(&mut reasons[i]),
        })
        .collect();
    out.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id)));
    out
}
