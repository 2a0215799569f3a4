use nodewarden_model::{Sample, SyncState};

use crate::{Recorder, Recording, RunChoice};
use nodewarden_model::SampleRow;

fn row(t: i64, node: &str, current: Option<u64>) -> SampleRow {
    let mut s = Sample::new(
        t,
        node,
        if current.is_some() {
            SyncState::Syncing
        } else {
            SyncState::Error
        },
    );
    s.current = current;
    s.target = current.map(|c| c + 100);
    s.cpu_s = Some(t as f64 / 1000.0);
    SampleRow {
        sample: s,
        error: current.is_none().then(|| "refused".to_string()),
        latency_ms: Some(1.5),
        steal_percent: None,
        db: None,
    }
}

#[test]
fn record_then_read_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.db");
    let rec = Recorder::open(&path, RunChoice::New, "0.1.0").unwrap();
    rec.register_node("a", "zenon").unwrap();
    let written: Vec<SampleRow> = (0..2000)
        .map(|i| {
            row(
                i * 10,
                if i % 2 == 0 { "a" } else { "b" },
                (i % 7 != 0).then_some(i as u64),
            )
        })
        .collect();
    for r in &written {
        rec.record(r.clone()).unwrap();
    }
    // Readable while the writer still runs (WAL).
    rec.flush().unwrap();
    let store = Recording::open(&path).unwrap();
    let run = store.resolve("latest").unwrap();
    assert_eq!(run.samples, 2000);
    assert!(run.name.starts_with("run-"));
    assert_eq!(run.nodes, vec![("a".to_string(), "zenon".to_string())]);
    rec.close().unwrap();

    let mut back = Vec::new();
    store
        .for_each_sample(run.id, None, |s| back.push(s))
        .unwrap();
    let expected: Vec<Sample> = written.iter().map(|r| r.sample.clone()).collect();
    assert_eq!(back, expected, "NULLs stay NULL, values round-trip");
    let mut only_a = 0;
    store
        .for_each_sample(run.id, Some("a"), |_| only_a += 1)
        .unwrap();
    assert_eq!(only_a, 1000);
    assert!(store.resolve(&run.id.to_string()).is_ok());
    assert!(
        store.runs().unwrap()[0].ended_ms.is_some(),
        "close marks the run ended"
    );
}

#[test]
fn named_runs_continue_and_new_runs_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.db");
    for t in [0, 1] {
        let rec = Recorder::open(&path, RunChoice::Named("ab-test".into()), "0.1.0").unwrap();
        rec.record(row(t, "a", Some(1))).unwrap();
        rec.close().unwrap();
    }
    let rec = Recorder::open(&path, RunChoice::New, "0.1.0").unwrap();
    rec.close().unwrap();
    let store = Recording::open(&path).unwrap();
    let runs = store.runs().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!((runs[0].name.as_str(), runs[0].samples), ("ab-test", 2));
    let e = store.resolve("nope").unwrap_err().to_string();
    assert!(e.contains("ab-test") && e.contains("rec.db"), "{e}");
}

#[test]
fn dropping_the_recorder_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.db");
    {
        let rec = Recorder::open(&path, RunChoice::New, "0.1.0").unwrap();
        rec.record(row(5, "a", Some(9))).unwrap();
    }
    let store = Recording::open(&path).unwrap();
    assert_eq!(store.resolve("latest").unwrap().samples, 1);
    assert!(Recording::open(&dir.path().join("missing.db")).is_err());
    std::fs::write(
        dir.path().join("junk.db"),
        b"not sqlite at all, not at all, not even close",
    )
    .unwrap();
    assert!(Recording::open(&dir.path().join("junk.db")).is_err());
}

#[test]
fn database_points_round_trip_and_thin_to_their_peaks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.db");
    let rec = Recorder::open(&path, RunChoice::New, "0.1.0").unwrap();
    for i in 0..1000i64 {
        let mut r = row(i * 1000, "a", Some(i as u64));
        // A point every third tick; one spike that thinning must keep.
        r.db = (i % 3 == 0).then(|| nodewarden_model::DbPoint {
            t_ms: i * 1000,
            l0_files: if i == 501 { 36 } else { 3 },
            max_score: if i == 501 { 9.0 } else { 0.75 },
            bytes: 1 << 30,
            wal_bytes: 4 << 20,
            obsolete_bytes: 0,
        });
        rec.record(r).unwrap();
    }
    rec.close().unwrap();
    let read = Recording::open(&path).unwrap();
    let run = read.resolve("latest").unwrap();
    let all = read.db_points(run.id, "a", 10_000).unwrap();
    assert_eq!(all.len(), 334);
    assert_eq!(all[1].t_ms, 3000);
    assert_eq!((all[1].bytes, all[1].wal_bytes), (1 << 30, 4 << 20));
    let few = read.db_points(run.id, "a", 50).unwrap();
    assert!(few.len() <= 50 && few.len() >= 25, "{}", few.len());
    assert!(few.windows(2).all(|w| w[0].t_ms < w[1].t_ms));
    assert!(
        few.iter().any(|p| p.l0_files == 36),
        "the spike survives thinning"
    );
    assert!(read.db_points(run.id, "nobody", 50).unwrap().is_empty());
}
