//! What packaging ships besides the binary: completion scripts and man pages, generated
//! from the same definitions as `--help`.
use crate::support::*;

#[test]
fn completions_cover_every_command_and_parse() {
    for shell in ["bash", "zsh", "fish"] {
        let out = run(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        for cmd in ["watch", "restore", "snapshots", "loadtest", "completions"] {
            assert!(script.contains(cmd), "{shell} script lacks {cmd}");
        }
        if shell == "bash" {
            let dir = tempfile::tempdir().unwrap();
            let f = dir.path().join("nodewarden.bash");
            std::fs::write(&f, &script).unwrap();
            let ok = std::process::Command::new("bash")
                .arg("-n")
                .arg(&f)
                .status()
                .unwrap();
            assert!(ok.success(), "bash -n rejects the script");
        }
    }
    let out = run(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("tcsh"), "{}", stderr(&out));
}

#[test]
fn man_pages_for_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["manpages", dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let help = stdout(&run(&["--help"]));
    // Every command `--help` lists has its page.
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  ") || l.is_empty())
        // A command's line starts two spaces in; wrapped descriptions further.
        .filter(|l| l.as_bytes().get(2).is_some_and(|b| *b != b' '))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 15, "{commands:?}");
    for c in &commands {
        let page = dir.path().join(format!("nodewarden-{c}.1"));
        let text = std::fs::read_to_string(&page).unwrap_or_else(|e| panic!("{c}: {e}"));
        assert!(
            text.starts_with(".ie") || text.contains(".TH"),
            "{c}: not roff"
        );
        assert!(text.contains(&format!("nodewarden-{c}")), "{c}: its name");
    }
    assert!(dir.path().join("nodewarden.1").is_file());
}
