use super::*;

fn config(dir: &Path) -> Config {
    let mut text = String::new();
    for (name, port, service) in [
        ("standby", 35997, true),
        ("main", 35998, true),
        ("bare", 35999, false),
    ] {
        text.push_str(&format!(
            "[[node]]\nname = \"{name}\"\nkind = \"zenon\"\nrpc = \"http://127.0.0.1:{port}\"\ndata_dir = \"{}/{name}\"\n{}\n",
            dir.display(),
            if service { "service = { stop = \"true\", start = \"true\" }" } else { "" }
        ));
    }
    Config::parse(&text, Path::new("nodewarden.toml")).unwrap()
}

const GOOD: &str = r#"
output = "drills"
node = "standby"
from = "main"
reference = "main"
within = 2
timeout = "5m"
[failback]
node = "main"
"#;

fn parse(text: &str, cfg: &Config) -> Result<DrillPlan, ExperimentError> {
    DrillPlan::parse(text, "drill.toml", Path::new("/x"), "drill", cfg)
}

#[test]
fn a_good_drill_names_configured_nodes() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let p = parse(GOOD, &cfg).unwrap();
    assert_eq!(p.output, Path::new("/x/drills"));
    assert_eq!(
        (p.node.name.as_str(), p.snapshot.as_str()),
        ("standby", "latest")
    );
    assert_eq!(p.reference.as_ref().unwrap().name, "main");
    assert_eq!((p.within, p.crosscheck), (2, 1000));
    assert_eq!(p.timeout, Duration::from_secs(300));
    assert_eq!(p.failback.as_ref().unwrap().name, "main");
    // A reference by URL; no reference, no comparison.
    let p = parse(
        "output = \"o\"\nnode = \"standby\"\nreference = \"zenon@http://127.0.0.1:1\"\ncrosscheck = 50\n",
        &cfg,
    )
    .unwrap();
    assert_eq!(
        (p.reference.unwrap().name.as_str(), p.crosscheck),
        ("reference", 50)
    );
    let p = parse("output = \"o\"\nnode = \"standby\"\n", &cfg).unwrap();
    assert_eq!(p.crosscheck, 0);
}

#[test]
fn unusable_nodes_and_data_are_refused_naming_key_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let err = |text: &str| parse(text, &cfg).unwrap_err().to_string();
    let e = err("output = \"o\"\nnode = \"nobody\"\n");
    assert!(
        e.contains("line 2") && e.contains("`node`") && e.contains("nobody"),
        "{e}"
    );
    let e = err("output = \"o\"\nnode = \"bare\"\n");
    assert!(e.contains("no `service`"), "{e}");
    let e = err(&GOOD.replace(
        "[failback]\nnode = \"main\"",
        "[failback]\nnode = \"standby\"",
    ));
    assert!(
        e.contains("failback.node") && e.contains("another node"),
        "{e}"
    );
    let e = err("output = \"o\"\nnode = \"standby\"\ncrosscheck = 10\n");
    assert!(e.contains("crosscheck") && e.contains("reference"), "{e}");
    let e = err("output = \"o\"\nnode = \"standby\"\ntimeout = \"soon\"\n");
    assert!(e.contains("soon"), "{e}");
    let e = err("output = \"o\"\nnode = \"standby\"\nkeep_it = true\n");
    assert!(e.contains("keep_it"), "{e}");
    // The drill never restores over data.
    std::fs::create_dir_all(tmp.path().join("standby")).unwrap();
    std::fs::write(tmp.path().join("standby/CURRENT"), "MANIFEST-000001\n").unwrap();
    let e = err("output = \"o\"\nnode = \"standby\"\n");
    assert!(
        e.contains("not empty") && e.contains("never over data"),
        "{e}"
    );
}

#[test]
fn history_skips_lines_it_cannot_read() {
    let tmp = tempfile::tempdir().unwrap();
    let r = DrillResult {
        drill: "d".into(),
        started: "2026-12-02T10:00:00Z".into(),
        ok: true,
        error: None,
        failover: None,
        failback: None,
        total_seconds: 12.5,
    };
    let line = serde_json::to_string(&r).unwrap();
    std::fs::write(
        tmp.path().join("drills.jsonl"),
        format!("{line}\n{{not json\n\u{0}\u{1}\n{line}\n"),
    )
    .unwrap();
    assert_eq!(history(tmp.path()), vec![r.clone(), r]);
    assert!(history(&tmp.path().join("none")).is_empty());
}

#[test]
fn the_example_files_parse() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/experiments");
    for ab in ["znnd-ab.toml", "geth-besu-ab.toml"] {
        let p = crate::Plan::load(&root.join(ab)).unwrap_or_else(|e| panic!("{ab}: {e}"));
        assert_ne!(p.a.data_dir, p.b.data_dir);
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for (name, port) in [("znn-standby", 1), ("znn-main", 2), ("znn-main-2", 3)] {
        text.push_str(&format!(
            "[[node]]\nname = \"{name}\"\nkind = \"zenon\"\nrpc = \"http://127.0.0.1:{port}\"\ndata_dir = \"{}/{name}\"\nservice = {{ systemd = \"{name}.service\" }}\n",
            tmp.path().display()
        ));
    }
    let cfg = Config::parse(&text, Path::new("nodewarden.toml")).unwrap();
    let d = DrillPlan::load(&root.join("znn-failover-s3.toml"), &cfg).unwrap();
    assert_eq!((d.within, d.crosscheck), (2, 1000));
    assert_eq!(d.failback.unwrap().name, "znn-main-2");
}
