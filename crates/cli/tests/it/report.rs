//! `report` and `analyze` on a real recording: two zenon sims on the same chain (fast, and
//! slow with a cpu, an io and a peers stall at known heights), watched and recorded once
//! for every test here and in `compare` and `report_html`.
//!
//! The sims run 30× faster than the scenarios are written, so a 60 s stall lasts 2 s of
//! wall time and the analysis runs with `--stall-after 1s` (batches arrive every 0.3 s at
//! most); the automatic threshold's 30 s floor is for real nodes.
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

pub const FAST: &str = include_str!("../../../../scenarios/zenon-fast.toml");
const SHIPPED_STALLS: &str = include_str!("../../../../scenarios/zenon-stalls.toml");
/// The shipped scenario with stall durations for this speed: 60 s (2 s of wall time), the
/// cpu stall 120 s (4 s) so the burner's CPU share is averaged over more samples and a
/// busy machine does not push it under the `cpu` threshold. Heights and causes stay.
pub static STALLS: LazyLock<String> = LazyLock::new(|| {
    let mut out: Vec<String> = Vec::new();
    let mut block: Vec<String> = Vec::new();
    let flush = |block: &mut Vec<String>, out: &mut Vec<String>| {
        let cpu = block.iter().any(|l| l.replace(' ', "") == "cause=\"cpu\"");
        for l in block.drain(..) {
            if l.trim_start().starts_with("duration") {
                out.push(format!(
                    "duration = \"{}\"",
                    if cpu { "120s" } else { "60s" }
                ));
            } else {
                out.push(l);
            }
        }
    };
    let mut in_stall = false;
    for line in SHIPPED_STALLS.lines() {
        if line.starts_with('[') {
            flush(&mut block, &mut out);
            in_stall = line.trim() == "[[stall]]";
        }
        if in_stall {
            block.push(line.to_owned());
        } else {
            out.push(line.to_owned());
        }
    }
    flush(&mut block, &mut out);
    out.join("\n") + "\n"
});
pub const SPEED: f64 = 30.0;
pub const STALL_AFTER: &str = "1s";

pub struct Recording {
    pub dir: PathBuf,
    pub db: PathBuf,
}

/// The shared recording, made on first use (about 45 s).
pub fn recording() -> &'static Recording {
    static REC: OnceLock<Recording> = OnceLock::new();
    REC.get_or_init(record)
}

fn record() -> Recording {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("report-{}", std::process::id()));
    // Leftovers of earlier test processes (kept for a look at the screenshots) go now.
    for old in std::fs::read_dir(env!("CARGO_TARGET_TMPDIR"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = old.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("report-")
            && !Path::new("/proc").join(pid).exists()
        {
            let _ = std::fs::remove_dir_all(old.path());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let start = |name: &str, scenario: &str| {
        SimProc::start(SimSpec {
            kind: "zenon",
            scenario: Some(scenario),
            speed: SPEED,
            data_dir: &dir.join(name),
            port: 0,
        })
    };
    let (a, b) = (start("znn-a", FAST), start("znn-b", &STALLS));
    // Threads a sim starts later (the stall burners) are caught by boosting again and again.
    let stop = Arc::new(AtomicBool::new(false));
    let booster = {
        let (stop, pids) = (stop.clone(), [a.child.id(), b.child.id()]);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                pids.into_iter().for_each(boost);
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let mut config = String::new();
    for (name, sim) in [("znn-a", &a), ("znn-b", &b)] {
        let pid = dir.join(format!("{name}.pid"));
        std::fs::write(&pid, sim.child.id().to_string()).unwrap();
        config += &format!(
            "[[node]]\nname = \"{name}\"\nkind = \"zenon\"\nrpc = \"{}\"\ndata_dir = \"{}\"\npid_file = \"{}\"\n\n",
            sim.url,
            dir.join(name).display(),
            pid.display()
        );
    }
    std::fs::write(dir.join("nodewarden.toml"), config).unwrap();
    let db = dir.join("ab.db");
    let mut watch = bin()
        .arg("--config")
        .arg(dir.join("nodewarden.toml"))
        .args([
            "watch",
            "--run",
            "ab",
            "--interval",
            "100ms",
            "--no-listen",
            "--record",
        ])
        .arg(&db)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn watch");
    // Until the slow node has caught up with the moving tip, then a little more.
    let deadline = Instant::now() + Duration::from_secs(150);
    while rpc(&b.url, "stats.syncInfo", "[]")["result"]["state"] != 2 {
        assert!(Instant::now() < deadline, "znn-b did not sync within 150 s");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: kill(2) on our own child has no memory-safety preconditions.
    unsafe { libc::kill(watch.id() as i32, libc::SIGTERM) };
    let status = watch.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    booster.join().unwrap();
    assert!(status.success(), "watch exits 0 on SIGTERM: {status:?}");
    Recording { dir, db }
}

/// Raises the scheduling priority of every thread of `pid` (threads it starts later
/// inherit it). The cpu stall must show as a busy core even when other jobs load the
/// machine; without the privilege this quietly does nothing.
fn boost(pid: u32) {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return;
    };
    for t in tasks.flatten() {
        if let Some(tid) = t.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) {
            // SAFETY: setpriority(2) has no memory-safety preconditions.
            unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, -20) };
        }
    }
}

/// The scenario's stalls, `(height, cause)`, read from its TOML.
pub fn scenario_stalls(toml: &str) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    let mut in_stall = false;
    let mut at = None;
    for line in toml.lines().map(str::trim) {
        if line.starts_with('[') {
            in_stall = line == "[[stall]]";
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.split('#').next().unwrap().trim().trim_matches('"');
        match (in_stall, k.trim()) {
            (true, "at") => at = v.parse().ok(),
            (true, "cause") => out.push((at.take().expect("at before cause"), v.to_owned())),
            _ => {}
        }
    }
    out
}

pub fn json(args: &[&str]) -> Value {
    let out = run(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

pub fn db() -> String {
    recording().db.display().to_string()
}

fn node_analysis(node: &str) -> Value {
    let v = json(&[
        "report",
        &db(),
        "--node",
        node,
        "--json",
        "--stall-after",
        STALL_AFTER,
    ]);
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    v[0].clone()
}

#[test]
fn report_finds_every_injected_stall_and_no_other() {
    let b = node_analysis("znn-b");
    let want = scenario_stalls(&STALLS);
    assert_eq!(want.len(), 3, "the scenario injects three stalls");
    let got: Vec<(u64, String)> = b["stalls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["height"].as_u64().unwrap(),
                s["cause"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(got, want, "stalls found: {}", b["stalls"]);
    assert_eq!(b["synced"], true);
    let a = node_analysis("znn-a");
    assert_eq!(a["stalls"].as_array().unwrap().len(), 0, "{}", a["stalls"]);
    assert_eq!(a["synced"], true);
}

#[test]
fn report_summary_lists_stalls_and_eta() {
    let out = run(&["report", &db(), "--stall-after", STALL_AFTER]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for (height, cause) in scenario_stalls(&STALLS) {
        let h = if height >= 1000 {
            format!("{},{:03}", height / 1000, height % 1000)
        } else {
            height.to_string()
        };
        let row = text.lines().find(|l| l.contains(&h) && l.contains(&cause));
        assert!(
            row.is_some(),
            "no row for the {cause} stall at {height}:\n{text}"
        );
    }
    assert!(text.contains("znn-a") && text.contains("znn-b"));
    assert!(text.contains("ETA") && text.contains("sync time"), "{text}");
}

/// Rows of one node from a CSV export, header first.
fn rows_of(csv: &str, node: &str) -> (String, Vec<String>) {
    let mut lines = csv.lines();
    let header = lines.next().unwrap().to_owned();
    let rows = lines
        .filter(|l| l.split(',').nth(1) == Some(node))
        .map(str::to_owned)
        .collect();
    (header, rows)
}

#[test]
fn eta_at_half_way_is_within_a_quarter_of_the_truth() {
    let rec = recording();
    let csv = rec.dir.join("eta-all.csv");
    let out = run(&["report", &db(), "--csv", csv.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&csv).unwrap();
    // The run with injected stalls. (znn-a's scenario halves its pace at 2/3 of the way
    // with no sign of it in the first half: no model foresees a step, so it is not a test
    // of the ETA.)
    let node = "znn-b";
    let full = node_analysis(node);
    let done = full["first_synced_ms"].as_i64().expect("synced");
    let start = full["start_height"].as_u64().unwrap() as f64;
    let (header, rows) = rows_of(&text, node);
    let field = |r: &str, i: usize| r.split(',').nth(i).and_then(|f| f.parse::<f64>().ok());
    let half = rows
        .iter()
        .position(|r| match (field(r, 3), field(r, 4)) {
            (Some(h), Some(t)) if t > 0.0 => h >= start + (t - start) / 2.0,
            _ => false,
        })
        .expect("a sample past half way");
    let part = rec.dir.join(format!("eta-{node}.csv"));
    std::fs::write(&part, format!("{header}\n{}\n", rows[..=half].join("\n"))).unwrap();
    let v = json(&[
        "analyze",
        part.to_str().unwrap(),
        "--json",
        "--stall-after",
        STALL_AFTER,
    ]);
    // Outages (polls timing out under load here) are listed apart from stalls (issue 15);
    // the sims never restart.
    let outages = v[0]["outages"].as_array().expect("outages listed");
    assert_eq!(v[0]["outages_total"], outages.len(), "{outages:?}");
    assert!(outages.iter().all(|o| o["restart"] == false), "{outages:?}");
    let eta = v[0]["eta_seconds"].as_f64().expect("an ETA half way");
    let truth = (done - field(&rows[half], 0).unwrap() as i64) as f64 / 1000.0;
    let err = (eta - truth) / truth;
    eprintln!(
        "{node} half way: ETA {eta:.1}s, truth {truth:.1}s ({:+.0}%)",
        err * 100.0
    );
    let (lo, hi) = (
        v[0]["eta_low_seconds"].as_f64().unwrap(),
        v[0]["eta_high_seconds"].as_f64().unwrap(),
    );
    assert!(
        lo <= eta && eta <= hi,
        "{node}: range {lo}..{hi} holds {eta}"
    );
    // One recorded sync is one case: on a loaded machine its polls time out and its stalls
    // stretch, which the estimate cannot know half way. Within a quarter, or else the truth
    // inside the range and within 40 % (the estimator is scored properly on the
    // ground-truth harness, scripts/bench/analysis.sh).
    assert!(
        err.abs() <= 0.25 || (lo <= truth && truth <= hi && err.abs() <= 0.4),
        "{node}: ETA {eta:.1}s ({lo:.1}–{hi:.1}), truth {truth:.1}s ({:+.0}%)",
        err * 100.0
    );
}

#[test]
fn csv_export_round_trips() {
    let rec = recording();
    let (one, two) = (rec.dir.join("rt-1.csv"), rec.dir.join("rt-2.csv"));
    let from_db = json(&["report", &db(), "--json", "--csv", one.to_str().unwrap()]);
    let text = std::fs::read_to_string(&one).unwrap();
    assert_eq!(
        text.lines().next().unwrap(),
        "t_ms,node,state,current,target,peers,head_hash,head_time,cpu_s,rss_bytes,read_bytes,write_bytes,data_dir_bytes"
    );
    let samples: u64 = from_db
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["samples"].as_u64().unwrap())
        .sum();
    assert_eq!(
        text.lines().count() as u64,
        samples + 1,
        "one row per sample"
    );
    let from_csv = json(&["analyze", one.to_str().unwrap(), "--json"]);
    assert_eq!(
        from_csv, from_db,
        "the CSV holds exactly what the recording holds"
    );
    let out = run(&[
        "report",
        one.to_str().unwrap(),
        "--csv",
        two.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(&one).unwrap(),
        std::fs::read(&two).unwrap(),
        "CSV → CSV is byte-identical"
    );
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let rec = recording();
    let bad = rec.dir.join("bad.csv");
    std::fs::write(
        &bad,
        "t_ms,node,state,current,target,peers,head_hash,head_time,cpu_s,rss_bytes,read_bytes,write_bytes,data_dir_bytes\n1,n,syncing,5,9,1,,,,,,,\n2,n,syncing,x7,9,1,,,,,,,\n",
    )
    .unwrap();
    let missing = rec.dir.join("missing.db");
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["analyze", bad.to_str().unwrap()],
            vec!["bad.csv", "line 3", "current"],
        ),
        (vec!["report", bad.to_str().unwrap()], vec!["line 3"]),
        (
            vec!["report", missing.to_str().unwrap()],
            vec!["missing.db", "no such file"],
        ),
        (
            vec!["report", &rec.db.to_str().unwrap(), "--node", "nope"],
            vec!["nope", "znn-a, znn-b"],
        ),
        (
            vec!["report", &rec.db.to_str().unwrap(), "--run", "nope"],
            vec!["nope", "ab"],
        ),
        (
            vec!["report", "some-run", "--record", missing.to_str().unwrap()],
            vec!["missing.db", "does not exist"],
        ),
        (
            vec![
                "report",
                bad.to_str().unwrap(),
                "--csv",
                bad.to_str().unwrap(),
            ],
            vec!["bad.csv", "refusing to overwrite"],
        ),
        (
            vec!["analyze", &rec.db.to_str().unwrap()],
            vec!["is a recording", "nodewarden report"],
        ),
    ];
    for (args, needles) in cases {
        let out = run(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: one line: {err}");
        for n in needles {
            assert!(err.contains(n), "{args:?}: {n:?} in {err}");
        }
        assert!(!err.contains("panicked"), "{err}");
    }
    let kept = std::fs::read_to_string(&bad).unwrap();
    assert_eq!(kept.lines().count(), 3, "the input survives: {kept}");
}

#[test]
fn help_has_examples() {
    for cmd in ["report", "analyze", "compare"] {
        let out = run(&[cmd, "--help"]);
        assert!(out.status.success());
        let text = stdout(&out);
        let examples = text
            .split("Examples:")
            .nth(1)
            .unwrap_or_else(|| panic!("{cmd}: {text}"));
        assert!(
            examples
                .lines()
                .filter(|l| l.trim_start().starts_with("nodewarden "))
                .count()
                >= 3,
            "{cmd}: {text}"
        );
    }
}
