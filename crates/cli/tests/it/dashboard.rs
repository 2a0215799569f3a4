//! The dashboard in a real browser: `nodewarden demo` with a token, driven by playwright-core
//! in Debian's Chromium (tests/browser/dashboard.mjs). Screenshots are kept in
//! target/test-artifacts/dashboard/ for a person to look at.
use std::process::Command;
use std::time::Duration;

use crate::support::*;

#[test]
fn dashboard_in_chromium() {
    let playwright = external(
        "NODEWARDEN_PLAYWRIGHT",
        ".cache/tools/node_modules/playwright-core",
    );
    let chromium =
        std::env::var("NODEWARDEN_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let tmp = tempfile::tempdir().unwrap();
    let token = "test-token-0123456789abcdef";
    let token_file = tmp.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    // An operator's config with a repository of its own: the demo must not touch it.
    let cfg = tmp.path().join("nodewarden.toml");
    let theirs = tmp.path().join("theirs");
    std::fs::write(
        &cfg,
        format!("[repository]\nurl = \"{}\"\n", theirs.display()),
    )
    .unwrap();
    let dir = tmp.path().join("demo");
    let restore_dir = tmp.path().join("restored");
    let mut demo = Spawned::start(&[
        "--config",
        cfg.to_str().unwrap(),
        "demo",
        "--dir",
        dir.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--speed",
        "20",
        "--stall-after",
        "10s",
        "--interval",
        "1s",
        "--duration",
        "240s",
        "--auth-token-file",
        token_file.to_str().unwrap(),
    ]);
    let base = demo.http_base();
    let (status, _) = http_get(&format!("{base}/healthz"));
    assert_eq!(status, 200, "/healthz needs no token");

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out_dir = root.join("../../target/test-artifacts/dashboard");
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut child = Command::new("node")
        .arg(root.join("tests/browser/dashboard.mjs"))
        .args([
            &base,
            token,
            out_dir.to_str().unwrap(),
            restore_dir.to_str().unwrap(),
            dir.join("znn-b").to_str().unwrap(),
        ])
        .env("NODEWARDEN_PLAYWRIGHT", &playwright)
        .env("NODEWARDEN_CHROMIUM", &chromium)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("node");
    let deadline = std::time::Instant::now() + Duration::from_secs(220);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the browser checks did not finish within 220 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = child.wait_with_output().unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "browser checks failed:\n{log}");
    assert!(log.contains("all dashboard checks passed"), "{log}");
    // The snapshot "Back up now" made is one `nodewarden snapshots` lists.
    let made = log
        .lines()
        .find_map(|l| l.strip_prefix("snapshot "))
        .expect("the browser names the snapshot it made")
        .to_string();
    let repo = dir.join("backups");
    let listed = run(&["snapshots", "--repo", repo.to_str().unwrap()]);
    let listed = String::from_utf8_lossy(&listed.stdout).to_string();
    assert!(listed.contains(&made), "{made} not in:\n{listed}");
    assert!(
        listed.contains("znn-a-h"),
        "the demo's own backup:\n{listed}"
    );
    assert!(
        !theirs.exists(),
        "the demo wrote to the configured repository"
    );
    assert!(
        std::fs::read_dir(&restore_dir).unwrap().count() > 0,
        "the restore from the browser wrote nothing"
    );
    for shot in [
        "overview.png",
        "overview-stalled.png",
        "backup-now.png",
        "overview-peers.png",
        "node.png",
        "node-stalled.png",
        "ab.png",
        "backups.png",
        "phone.png",
    ] {
        let len = std::fs::metadata(out_dir.join(shot))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(len > 10_000, "{shot} is missing or blank ({len} bytes)");
    }
    demo.signal(libc::SIGTERM);
    let (status, _) = demo.finish(Duration::from_secs(30));
    assert!(status.success());
}
