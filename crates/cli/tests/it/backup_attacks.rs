//! Attacks on a repository through the real binary: what an operator sees (exit codes,
//! one-line errors naming the culprit) when someone without the key edits the repository,
//! and what child processes inherit.
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use crate::backup::{ManagedNode, ok};
use crate::support::*;

const PASSWORD: &str = "s3cret-s3cret";

fn nw(args: &[&str]) -> Output {
    let mut cmd = bin();
    cmd.env("NODEWARDEN_PASSWORD", PASSWORD);
    run_command(cmd, args)
}

fn edit_json(path: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}

fn encrypted_repo_with_a_snapshot(tmp: &Path) -> String {
    let data = tmp.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("CURRENT"), "MANIFEST-000001\n").unwrap();
    let repo = tmp.join("repo").display().to_string();
    ok(&nw(&["init", "--repo", &repo]));
    ok(&nw(&[
        "backup",
        "--hot",
        data.to_str().unwrap(),
        "--repo",
        &repo,
    ]));
    repo
}

fn refused(o: &Output, needle: &str) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains(needle), "{err}");
    err
}

/// An edit of a config, as an attacker makes it.
type Edit = Box<dyn Fn(&mut serde_json::Value)>;

#[test]
fn an_edited_config_is_refused_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = encrypted_repo_with_a_snapshot(tmp.path());
    let config = tmp.path().join("repo/config");
    let original = std::fs::read(&config).unwrap();
    let edits: Vec<(&str, Edit)> = vec![
        (
            "not encrypted, but a passphrase",
            Box::new(|c| c["encryption"] = serde_json::Value::Null),
        ),
        (
            "does not authenticate",
            Box::new(|c| c["encryption"]["chunk_ids"] = "blake3".into()),
        ),
        (
            "out of bounds",
            Box::new(|c| c["encryption"]["kdf"]["m_kib"] = 4_194_304.into()),
        ),
        (
            "out of bounds",
            Box::new(|c| c["encryption"]["kdf"]["t"] = 100_000.into()),
        ),
    ];
    for (needle, edit) in edits {
        std::fs::write(&config, &original).unwrap();
        edit_json(&config, |c| edit(c));
        let started = Instant::now();
        let o = nw(&["snapshots", "--repo", &repo]);
        refused(&o, needle);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{needle}: took long"
        );
    }
    std::fs::write(&config, &original).unwrap();
    assert!(ok(&nw(&["snapshots", "--repo", &repo])).contains("data-h0-"));
}

#[test]
fn a_damaged_snapshot_is_named_skipped_and_repaired() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = encrypted_repo_with_a_snapshot(tmp.path());
    let data = tmp.path().join("data");
    std::fs::write(data.join("second"), "more").unwrap();
    ok(&nw(&[
        "backup",
        "--hot",
        data.to_str().unwrap(),
        "--repo",
        &repo,
    ]));
    let snaps = tmp.path().join("repo/snapshots");
    // The older one is damaged; `latest` is still the newer.
    let listed: serde_json::Value =
        serde_json::from_str(&ok(&nw(&["snapshots", "--repo", &repo, "--json"]))).unwrap();
    let bad = &listed[0]["id"].as_str().unwrap().to_string();
    std::fs::write(snaps.join(bad), b"not a snapshot").unwrap();
    let o = nw(&["snapshots", "--repo", &repo, "--json"]);
    let listed: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(
        stderr(&o).contains(&format!("snapshots/{bad}")),
        "{}",
        stderr(&o)
    );
    let o = nw(&["verify", "--repo", &repo]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains(&format!("snapshots/{bad}")),
        "{}",
        stdout(&o)
    );
    let o = nw(&["prune", "--repo", &repo]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("repair snapshots"), "{}", stderr(&o));
    let target = tmp.path().join("restored");
    ok(&nw(&[
        "restore",
        "latest",
        "--repo",
        &repo,
        "--target",
        target.to_str().unwrap(),
    ]));
    assert_eq!(std::fs::read(target.join("second")).unwrap(), b"more");
    ok(&nw(&["repair", "snapshots", "--repo", &repo]));
    assert!(
        tmp.path()
            .join(format!("repo/quarantine/snapshots/{bad}"))
            .is_file()
    );
    ok(&nw(&["prune", "--repo", &repo]));
    ok(&nw(&["verify", "--read-data", "--repo", &repo]));
}

#[test]
fn a_lock_from_2099_does_not_block_backups_and_unlock_removes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = encrypted_repo_with_a_snapshot(tmp.path());
    let locks = tmp.path().join("repo/locks");
    std::fs::create_dir_all(&locks).unwrap();
    std::fs::write(
        locks.join("forged"),
        r#"{"hostname":"x","pid":1,"time":"2099-01-01T00:00:00Z","exclusive":true,"what":"prune"}"#,
    )
    .unwrap();
    let data = tmp.path().join("data");
    let o = nw(&["backup", "--hot", data.to_str().unwrap(), "--repo", &repo]);
    ok(&o);
    assert!(stderr(&o).contains("dated in the future"), "{}", stderr(&o));
    assert!(ok(&nw(&["unlock", "--repo", &repo])).contains("1 locks removed"));
    assert!(!locks.join("forged").exists());
}

#[test]
fn migrate_upgrades_nothing_on_a_v2_repository_and_help_lists_the_new_commands() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = encrypted_repo_with_a_snapshot(tmp.path());
    assert!(ok(&nw(&["migrate", "--repo", &repo])).contains("already format v2"));
    let help = ok(&run(&["--help"]));
    for c in ["repair", "unlock", "migrate"] {
        assert!(help.contains(c), "{help}");
    }
}

#[test]
fn service_commands_get_no_repository_or_cloud_secrets() {
    let tmp = tempfile::tempdir().unwrap();
    let node = ManagedNode::new(tmp.path());
    let toml = std::fs::read_to_string(&node.config).unwrap();
    let dump = |what: &str| format!("{what} = \"env > {}/{what}.env; ", tmp.path().display());
    let toml =
        toml.replacen("stop = \"", &dump("stop"), 1)
            .replacen("start = \"", &dump("start"), 1);
    std::fs::write(&node.config, toml).unwrap();
    let mut init = bin();
    init.env("NODEWARDEN_PASSWORD", PASSWORD);
    ok(&run_command(
        init,
        &["--config", node.config.to_str().unwrap(), "init"],
    ));
    let mut cmd = bin();
    cmd.env("NODEWARDEN_PASSWORD", PASSWORD)
        .env("AWS_SECRET_ACCESS_KEY", "aws-secret-value")
        .env("AWS_SESSION_TOKEN", "aws-session-value")
        .env("NODEWARDEN_TEST_MARKER", "kept");
    let o = run_command(
        cmd,
        &[
            "--config",
            node.config.to_str().unwrap(),
            "backup",
            "--node",
            "znn",
        ],
    );
    ok(&o);
    node.wait_answering();
    for what in ["stop", "start"] {
        let env = std::fs::read_to_string(tmp.path().join(format!("{what}.env"))).unwrap();
        assert!(env.contains("NODEWARDEN_TEST_MARKER=kept"), "{what}: {env}");
        for secret in [PASSWORD, "aws-secret-value", "aws-session-value"] {
            assert!(!env.contains(secret), "{what} command got {secret}");
        }
    }
}

#[test]
fn a_damaged_index_is_named_and_repair_index_brings_restores_back() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = encrypted_repo_with_a_snapshot(tmp.path());
    let index = tmp.path().join("repo/index");
    let files: Vec<_> = std::fs::read_dir(&index)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    for f in &files {
        std::fs::write(f, b"garbage").unwrap();
    }
    let target = tmp.path().join("restored");
    let target_s = target.to_str().unwrap();
    let o = nw(&["restore", "latest", "--repo", &repo, "--target", target_s]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        stderr(&o).contains(&format!("index/{name}")),
        "{}",
        stderr(&o)
    );
    ok(&nw(&["repair", "index", "--repo", &repo]));
    ok(&nw(&[
        "restore", "latest", "--repo", &repo, "--target", target_s,
    ]));
    assert_eq!(
        std::fs::read(target.join("CURRENT")).unwrap(),
        b"MANIFEST-000001\n"
    );
    ok(&nw(&["verify", "--read-data", "--repo", &repo]));
}

#[test]
fn a_v1_repository_is_read_and_migrated_through_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("CURRENT"), "MANIFEST-000001\n").unwrap();
    let repo = tmp.path().join("repo").display().to_string();
    ok(&run(&["init", "--repo", &repo]));
    // A plain v1 repository differs from a plain v2 one by its config only.
    let config = tmp.path().join("repo/config");
    edit_json(&config, |c| c["version"] = 1.into());
    ok(&run(&[
        "backup",
        "--hot",
        data.to_str().unwrap(),
        "--repo",
        &repo,
    ]));
    assert!(ok(&run(&["snapshots", "--repo", &repo])).contains("data-h0-"));
    let out = ok(&run(&["migrate", "--repo", &repo]));
    assert!(out.contains("from format v1 to v2"), "{out}");
    let c: serde_json::Value = serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    assert_eq!(
        (c["version"].as_u64(), c["migrated_from"].as_u64()),
        (Some(2), Some(1))
    );
    let target = tmp.path().join("restored");
    ok(&run(&[
        "restore",
        "latest",
        "--repo",
        &repo,
        "--target",
        target.to_str().unwrap(),
    ]));
    assert_eq!(
        std::fs::read(target.join("CURRENT")).unwrap(),
        b"MANIFEST-000001\n"
    );
}

/// A stand-in `pg_dump` first on PATH records what it was given: its arguments, its
/// environment and the password file it was pointed to.
#[test]
fn pg_dump_gets_its_password_from_a_private_file_and_no_other_secrets() {
    let tmp = tempfile::tempdir().unwrap();
    let bin_dir = tmp.path().join("bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let rec = tmp.path().join("rec");
    let script = format!(
        "#!/bin/sh\necho \"$@\" > {r}.argv\nenv > {r}.env\ncat \"$PGPASSFILE\" > {r}.pass\nstat -c %a \"$PGPASSFILE\" > {r}.mode\nprintf PGDMP-fake\n",
        r = rec.display()
    );
    let fake = bin_dir.join("pg_dump");
    std::fs::write(&fake, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let url = "postgres://nw:pg-pass%3Aword@127.0.0.1:1/app";
    let node = ManagedNode::with_pg(tmp.path(), &[url.to_string()]);
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    let cfg = node.config.to_str().unwrap();
    let mut init = bin();
    init.env("NODEWARDEN_PASSWORD", PASSWORD);
    ok(&run_command(init, &["--config", cfg, "init"]));
    let mut cmd = bin();
    cmd.env("NODEWARDEN_PASSWORD", PASSWORD)
        .env("AWS_SECRET_ACCESS_KEY", "aws-secret-value")
        .env("PATH", &path);
    ok(&run_command(
        cmd,
        &["--config", cfg, "backup", "--node", "znn"],
    ));
    node.wait_answering();
    let read = |ext: &str| std::fs::read_to_string(format!("{}.{ext}", rec.display())).unwrap();
    let argv = read("argv");
    assert!(argv.contains("postgres://nw@127.0.0.1:1/app"), "{argv}");
    assert!(!argv.contains("pg-pass"), "{argv}");
    assert_eq!(read("pass"), "*:*:*:*:pg-pass\\:word\n");
    assert_eq!(read("mode").trim(), "600");
    let env = read("env");
    for secret in [PASSWORD, "aws-secret-value"] {
        assert!(!env.contains(secret), "pg_dump got {secret}");
    }
    // The file is gone once pg_dump is done.
    let pass_file = env
        .lines()
        .find_map(|l| l.strip_prefix("PGPASSFILE="))
        .unwrap();
    assert!(!Path::new(pass_file).exists(), "{pass_file}");
}
