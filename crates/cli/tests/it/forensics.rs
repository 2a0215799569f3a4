//! Stall forensics end to end: a sim that stalls, watched with its log file and a pprof
//! endpoint configured; the evidence is captured once, recorded, and shown by `report`.
use std::time::Duration;

use crate::support::*;

const GOROUTINES: &str = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\ngoroutine 1 [running]:\nmain.main()\n\t/src/main.go:10\n\ngoroutine 7 [IO wait]:\ninternal/poll.runtime_pollWait()\n";

#[test]
fn a_stall_leaves_log_threads_and_goroutines_in_the_recording() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("znn");
    let sim = SimProc::start(SimSpec {
        kind: "zenon",
        scenario: Some(
            "start_height = 1\ntip_height = 100000\npeers = 12\n[[phase]]\nuntil = \"tip\"\nrate = 200\n[[stall]]\nat = 400\nduration = \"1h\"\ncause = \"io\"\n",
        ),
        speed: 10.0,
        data_dir: &dir,
        port: 0,
    });
    let log = tmp.path().join("znnd.log");
    let lines: String = (0..300)
        .map(|i| format!("INFO momentum inserted height={i}\n"))
        .collect();
    std::fs::write(
        &log,
        format!("{lines}WARN <b>peer</b> dropped: too many pending blocks\n"),
    )
    .unwrap();
    let pprof = canned_server(Some(GOROUTINES), 4);
    let cfg = tmp.path().join("nodewarden.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[node]]\nname = \"znn\"\nkind = \"zenon\"\nrpc = \"{}\"\nlog = {{ file = \"{}\" }}\npprof = \"{pprof}\"\n[watch]\nstall_after = \"3s\"\n",
            sim.url,
            log.display()
        ),
    )
    .unwrap();
    let db = tmp.path().join("rec.db");
    let w = Spawned::start(&[
        "--config",
        cfg.to_str().unwrap(),
        "watch",
        "--no-listen",
        "--record",
        db.to_str().unwrap(),
        "--interval",
        "500ms",
        "--duration",
        "16s",
    ]);
    let (status, lines) = w.finish(Duration::from_secs(40));
    assert!(status.success(), "{lines:?}");
    drop(sim);

    let rec = nodewarden_record::Recording::open(&db).unwrap();
    let latest = rec.resolve("latest").unwrap();
    let evidence = rec.forensics(latest.id, Some("znn")).unwrap();
    assert_eq!(evidence.len(), 1, "one capture per stall: {evidence:?}");
    let f = &evidence[0];
    assert!(f.height >= 400, "{f:?}");
    assert_eq!(
        f.log_tail.as_deref().unwrap().lines().count(),
        200,
        "the last 200 lines"
    );
    assert!(
        f.log_tail
            .as_deref()
            .unwrap()
            .ends_with("too many pending blocks")
    );
    assert!(f.threads.as_deref().unwrap().contains("sleeping"), "{f:?}");
    assert!(
        f.pprof
            .as_deref()
            .unwrap()
            .contains("goroutine 7 [IO wait]")
    );

    let out = run_report(&db);
    assert!(out.contains("Evidence captured when stalls began"), "{out}");
    assert!(out.contains("goroutine dump: 2 goroutines"), "{out}");
    assert!(out.contains("too many pending blocks"), "{out}");
    let html = tmp.path().join("r.html");
    let o = run(&[
        "report",
        db.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("&lt;b&gt;peer&lt;/b&gt;"),
        "log text is escaped"
    );
    assert!(page.contains("goroutine 1 [running]"));
}

fn run_report(db: &std::path::Path) -> String {
    let o = run(&["report", db.to_str().unwrap(), "--node", "znn"]);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
}
