//! HTML reports rendered by headless Chromium (the screenshots must show charts, not a
//! blank page), and the shareable bundle: complete, and scrubbed of addresses and secrets.
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::report::{STALL_AFTER, STALLS, db, recording, scenario_stalls};
use crate::support::*;

fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("NODEWARDEN_CHROMIUM") {
        return p.into();
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join("chromium"))
        .find(|p| p.is_file())
        .expect("chromium not found: run scripts/test.sh, which installs it (or set NODEWARDEN_CHROMIUM)")
}

/// Renders `html` to a PNG of 1280×2400 and returns the path.
fn screenshot(html: &Path) -> PathBuf {
    let png = html.with_extension("png");
    let _ = std::fs::remove_file(&png);
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1280,2400")
        .arg(format!("file://{}", html.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        png.is_file(),
        "chromium wrote no screenshot of {}",
        html.display()
    );
    png
}

/// (distinct colours, share of pixels that are not the most common colour).
fn colours(png: &Path) -> (usize, f64) {
    let decoder = png::Decoder::new(std::fs::File::open(png).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = info.color_type.samples();
    assert!(step >= 3, "an RGB screenshot: {:?}", info.color_type);
    let mut counts: HashMap<[u8; 3], u64> = HashMap::new();
    let pixels = &buf[..info.buffer_size()];
    for p in pixels.chunks_exact(step) {
        *counts.entry([p[0], p[1], p[2]]).or_default() += 1;
    }
    let total: u64 = counts.values().sum();
    let background = counts.values().copied().max().unwrap_or(0);
    (counts.len(), 1.0 - background as f64 / total as f64)
}

fn assert_rendered(html: &Path, min_charts: usize) {
    let text = std::fs::read_to_string(html).unwrap();
    assert!(
        text.matches("<svg").count() >= min_charts,
        "{} charts",
        text.matches("<svg").count()
    );
    assert!(!text.contains("<script"), "no scripts");
    assert!(
        !text.contains("<link") && !text.contains("src="),
        "nothing loaded from elsewhere"
    );
    let png = screenshot(html);
    let (distinct, ink) = colours(&png);
    eprintln!(
        "{}: {distinct} colours, {:.0}% ink",
        png.display(),
        ink * 100.0
    );
    assert!(distinct >= 40, "{}: only {distinct} colours", png.display());
    assert!(
        ink >= 0.05,
        "{}: nearly blank ({:.1}% ink)",
        png.display(),
        ink * 100.0
    );
}

#[test]
fn report_and_compare_html_render_in_chromium() {
    let rec = recording();
    let db = db();
    let html = rec.dir.join("report.html");
    let out = run(&[
        "report",
        &db,
        "--node",
        "znn-b",
        "--html",
        html.to_str().unwrap(),
        "--stall-after",
        STALL_AFTER,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&html).unwrap();
    for (height, cause) in scenario_stalls(&STALLS) {
        assert!(text.contains(&format!("{cause}</text>")), "a {cause} band");
        let h = if height >= 1000 {
            format!("{},{:03}", height / 1000, height % 1000)
        } else {
            height.to_string()
        };
        assert!(
            text.contains(&format!("stall at height {h}")),
            "tooltip for {h}"
        );
    }
    assert_rendered(&html, 8);
    let cmp = rec.dir.join("compare.html");
    let out = run(&[
        "compare",
        &format!("{db}::znn-a"),
        &format!("{db}::znn-b"),
        "--html",
        cmp.to_str().unwrap(),
        "--stall-after",
        STALL_AFTER,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        std::fs::read_to_string(&cmp)
            .unwrap()
            .contains("A is faster")
    );
    assert_rendered(&cmp, 3);
}

fn unpack(bundle: &Path) -> HashMap<String, String> {
    let raw = std::fs::read(bundle).unwrap();
    let tar = zstd::decode_all(&raw[..]).expect("zstd");
    let mut ar = tar::Archive::new(&tar[..]);
    let mut files = HashMap::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().display().to_string();
        let mut text = String::new();
        e.read_to_string(&mut text).unwrap();
        files.insert(path, text);
    }
    files
}

#[test]
fn bundle_is_complete_and_leaks_no_address_or_secret() {
    let rec = recording();
    let csv = rec.dir.join("bundle-src.csv");
    let out = run(&["report", &db(), "--csv", csv.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    // An operator who named a node after its URL, credentials and all.
    let leaky = "http://admin:hunter2@10.0.0.7:8545";
    let text = std::fs::read_to_string(&csv)
        .unwrap()
        .replace(",znn-b,", &format!(",{leaky},"));
    let src = rec.dir.join("leaky.csv");
    std::fs::write(&src, text).unwrap();
    let probe = rec.dir.join("probe.json");
    std::fs::write(
        &probe,
        r#"{"cpu": {"cores": 2}, "host": {"ip": "192.168.5.9"}}"#,
    )
    .unwrap();
    let bundle = rec.dir.join("share.tar.zst");
    let out = run(&[
        "report",
        src.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--probe",
        probe.to_str().unwrap(),
        "--stall-after",
        STALL_AFTER,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let files = unpack(&bundle);
    let names: HashSet<&str> = files.keys().map(String::as_str).collect();
    for f in [
        "samples.csv",
        "summary.json",
        "report.html",
        "manifest.json",
    ] {
        assert!(
            names.contains(format!("nodewarden-report/{f}").as_str()),
            "{f} in {names:?}"
        );
    }
    for (name, text) in &files {
        for secret in ["hunter2", "admin:", "10.0.0.7", "127.0.0.1", "192.168.5.9"] {
            assert!(!text.contains(secret), "{name} leaks {secret}");
        }
    }
    let manifest: Value = serde_json::from_str(&files["nodewarden-report/manifest.json"]).unwrap();
    assert_eq!(manifest["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest["hardware_probe"], "probe.json");
    let probe: Value = serde_json::from_str(&files["nodewarden-report/probe.json"]).unwrap();
    assert_eq!(
        probe["cpu"]["cores"], 2,
        "the probe itself survives scrubbing"
    );
    let summary: Value = serde_json::from_str(&files["nodewarden-report/summary.json"]).unwrap();
    let scrubbed = summary
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["node"].as_str().unwrap().contains("[redacted]"))
        .expect("the leaky node, scrubbed");
    assert_eq!(
        scrubbed["stalls"].as_array().unwrap().len(),
        scenario_stalls(&STALLS).len()
    );
    let samples = &files["nodewarden-report/samples.csv"];
    let rows = samples.lines().count() - 1;
    let expected: u64 = summary
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["samples"].as_u64().unwrap())
        .sum();
    assert_eq!(rows as u64, expected);
    assert!(files["nodewarden-report/report.html"].contains("<svg"));
}

/// Without --probe a bundle carries a quick hardware probe of its own, and with a config
/// the database inspection of every node's data dir; --no-probe leaves the probe out.
#[test]
fn bundle_carries_a_quick_probe_and_each_nodes_database() {
    let rec = recording();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("znn");
    let sim = SimProc::quick("zenon", &data);
    std::thread::sleep(std::time::Duration::from_millis(800));
    let cfg = tmp.path().join("nodewarden.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[node]]\nname = \"znn-b\"\nkind = \"zenon\"\nrpc = \"{}\"\ndata_dir = \"{}\"\n",
            sim.url,
            data.display()
        ),
    )
    .unwrap();
    let bundle = tmp.path().join("share.tar.zst");
    let out = run(&[
        "--config",
        cfg.to_str().unwrap(),
        "report",
        &db(),
        "--node",
        "znn-b",
        "--bundle",
        bundle.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    drop(sim);
    let files = unpack(&bundle);
    let probe: Value = serde_json::from_str(&files["nodewarden-report/probe.json"]).unwrap();
    assert_eq!(probe["quick"], true);
    assert!(
        probe["cpu"]["single_core_score"].as_f64().unwrap() > 0.0,
        "{probe}"
    );
    let dbi: Value = serde_json::from_str(&files["nodewarden-report/db/znn-b.json"]).unwrap();
    assert_eq!(dbi["engine"], "leveldb");
    let manifest: Value = serde_json::from_str(&files["nodewarden-report/manifest.json"]).unwrap();
    assert!(
        manifest["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "db/znn-b.json")
    );
    assert!(!files.keys().any(|k| k.contains(rec.dir.to_str().unwrap())));

    let out = run(&[
        "report",
        &db(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--no-probe",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!unpack(&bundle).contains_key("nodewarden-report/probe.json"));
}
