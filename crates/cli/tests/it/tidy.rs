//! Tidy: the invariants docs/ARCHITECTURE.md states, checked on the source tree so that
//! they cannot drift. Each check names the file and line that breaks it.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every file below `dir` (recursively), skipping build output and installed tools.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name();
        let name = name.to_string_lossy();
        if p.is_dir() {
            if !matches!(name.as_ref(), "target" | "node_modules" | ".cache" | ".git") {
                files(&p, out);
            }
        } else {
            out.push(p);
        }
    }
}

fn rust_sources() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for krate in crate_dirs() {
        let mut fs = Vec::new();
        files(&root().join("crates").join(&krate).join("src"), &mut fs);
        out.extend(
            fs.into_iter()
                .filter(|p| p.extension().is_some_and(|e| e == "rs"))
                .map(|p| (krate.clone(), p)),
        );
    }
    out.sort();
    out
}

fn crate_dirs() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("crates"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Test modules may print and need no module doc: whole test files, and whatever follows
/// `#[cfg(test)]` in a source file.
fn is_test_file(p: &Path) -> bool {
    let name = p.file_name().unwrap().to_string_lossy();
    name == "tests.rs"
        || name.ends_with("_tests.rs")
        || p.components().any(|c| c.as_os_str() == "tests")
}

fn non_test_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .take_while(|(_, l)| l.trim() != "#[cfg(test)]")
        .map(|(i, l)| (i + 1, l))
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root())
        .unwrap_or(p)
        .display()
        .to_string()
        .replace("../", "")
}

#[test]
fn libraries_never_print() {
    let banned = [
        "println!",
        "print!(",
        "eprintln!",
        "eprint!(",
        "dbg!(",
        "io::stdout()",
        "io::stderr()",
    ];
    let mut found = Vec::new();
    for (krate, p) in rust_sources() {
        if krate == "cli" || is_test_file(&p) {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        for (n, line) in non_test_lines(&text) {
            let code = line.split("//").next().unwrap_or("");
            if let Some(b) = banned.iter().find(|b| code.contains(*b)) {
                found.push(format!("{}:{n}: {b}", rel(&p)));
            }
        }
    }
    assert!(
        found.is_empty(),
        "library crates report through return values, never the terminal:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_module_says_what_it_is_for() {
    let missing: Vec<String> = rust_sources()
        .into_iter()
        .filter(|(_, p)| !is_test_file(p))
        .filter(|(_, p)| {
            !std::fs::read_to_string(p)
                .unwrap()
                .trim_start()
                .starts_with("//!")
        })
        .map(|(_, p)| rel(&p))
        .collect();
    assert!(
        missing.is_empty(),
        "modules without a `//!` doc:\n{}",
        missing.join("\n")
    );
}

#[test]
fn files_stay_small() {
    // The aim is ~600 lines; this is the line past which a file must be split.
    const MAX: usize = 700;
    let mut all = Vec::new();
    files(&root().join("crates"), &mut all);
    let long: Vec<String> = all
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .filter_map(|p| {
            let n = std::fs::read_to_string(p).ok()?.lines().count();
            (n > MAX).then(|| format!("{}: {n} lines", rel(p)))
        })
        .collect();
    assert!(
        long.is_empty(),
        "files over {MAX} lines:\n{}",
        long.join("\n")
    );
}

/// `(dir, package)` rows of the crate table in docs/ARCHITECTURE.md.
fn architecture_table() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(root().join("docs/ARCHITECTURE.md")).unwrap();
    text.lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let dir = cells.get(1)?.strip_prefix("`crates/")?.strip_suffix('`')?;
            let package = cells.get(2)?.trim_matches('`');
            Some((dir.to_owned(), package.to_owned()))
        })
        .collect()
}

fn package_name(krate: &str) -> String {
    let manifest =
        std::fs::read_to_string(root().join("crates").join(krate).join("Cargo.toml")).unwrap();
    let value: toml::Value = toml::from_str(&manifest).unwrap();
    value["package"]["name"].as_str().unwrap().to_owned()
}

#[test]
fn the_crate_table_matches_the_workspace() {
    let table = architecture_table();
    let actual: BTreeMap<String, String> = crate_dirs()
        .into_iter()
        .map(|d| {
            let p = package_name(&d);
            (d, p)
        })
        .collect();
    assert_eq!(
        table, actual,
        "docs/ARCHITECTURE.md's crate table (left) and the workspace (right) disagree"
    );
}

/// The nodewarden crates each crate depends on (normal dependencies only).
fn internal_deps(krate: &str) -> BTreeSet<String> {
    let manifest =
        std::fs::read_to_string(root().join("crates").join(krate).join("Cargo.toml")).unwrap();
    let value: toml::Value = toml::from_str(&manifest).unwrap();
    value
        .get("dependencies")
        .and_then(|d| d.as_table())
        .map(|t| {
            t.keys()
                .filter_map(|k| k.strip_prefix("nodewarden-"))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn data_flows_one_way() {
    // Sinks: where results go. Engines and sources must not reach for them, and the
    // renderers and the simulator must link neither an HTTP client (rpc) nor SQLite (record).
    let rules: [(&str, &[&str]); 6] = [
        ("model", &["*"]),
        ("watch", &["record", "serve", "report"]),
        ("analyze", &["record", "serve", "report", "watch", "rpc"]),
        ("report", &["rpc", "record", "watch", "serve"]),
        ("sim", &["rpc", "record", "watch", "serve", "report"]),
        ("backup", &["serve", "report", "record", "watch"]),
    ];
    let mut broken = Vec::new();
    for krate in crate_dirs() {
        let deps = internal_deps(&krate);
        if deps.contains("cli") || (krate != "cli" && deps.contains("nodewarden")) {
            broken.push(format!("{krate} depends on the binary crate"));
        }
        for (k, banned) in &rules {
            if *k != krate {
                continue;
            }
            for d in &deps {
                if banned.contains(&"*") || banned.contains(&d.as_str()) {
                    broken.push(format!("{krate} depends on {d}"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "layering broken:\n{}", broken.join("\n"));
}

#[test]
fn nothing_cites_the_private_design_notes() {
    // Users have the repository, not the notes it was planned from: docs/ carries what
    // they need.
    let needle = concat!("DESIGN", ".md");
    let mut all = Vec::new();
    for top in ["crates", "docs", "scripts", "deploy", ".ci"] {
        files(&root().join(top), &mut all);
    }
    all.push(root().join("README.md"));
    let hits: Vec<String> = all
        .iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(p).ok()?;
            let n = text.lines().position(|l| l.contains(needle))?;
            Some(format!("{}:{}", rel(p), n + 1))
        })
        .collect();
    assert!(hits.is_empty(), "{needle} cited in:\n{}", hits.join("\n"));
}
