//! Attacks on the repository config by someone who can write the repository but has no
//! key, and the v1 → v2 migration.
use std::time::{Duration, Instant};

use super::harness::*;
use crate::*;

fn pass() -> Secret {
    Secret::Passphrase("correct horse battery".into())
}

fn config_error(e: BackupError) -> String {
    assert!(
        matches!(e, BackupError::Config(_)) && e.is_input(),
        "a config refusal (exit 2), got {e:?}"
    );
    e.to_string()
}

/// An edit of a config, as an attacker makes it.
type Edit = Box<dyn Fn(&mut serde_json::Value)>;

#[test]
fn an_encrypted_config_edited_to_plain_is_refused_when_the_password_is_given() {
    let f = Fixture::new();
    let data = f.path("data");
    make_data(&data);
    let repo = f.init(Some(pass()));
    f.hot(&repo, &data, None);
    f.edit_config(|c| c["encryption"] = serde_json::Value::Null);
    let e = config_error(f.open(Some(&pass())).unwrap_err());
    assert!(e.contains("not encrypted, but a passphrase"), "{e}");
    // Without the password it opens as plain, and nothing sealed passes for plaintext.
    let plain = f.open(None).unwrap();
    let (good, bad) = scan_snapshots(&plain).unwrap();
    assert!(good.is_empty() && bad.len() == 1, "{bad:?}");
}

#[test]
fn every_edit_of_a_v2_config_is_detected() {
    let edits: Vec<(&str, Edit)> = vec![
        (
            "chunk_ids",
            Box::new(|c| c["encryption"]["chunk_ids"] = "blake3".into()),
        ),
        (
            "pack_size",
            Box::new(|c| c["pack_size"] = (2u64 << 20).into()),
        ),
        (
            "chunker",
            Box::new(|c| c["chunker"]["avg"] = (512u64 << 10).into()),
        ),
        (
            "family",
            Box::new(|c| c["family"] = "00112233445566778899aabbccddeeff".into()),
        ),
        (
            "mac removed",
            Box::new(|c| {
                c.as_object_mut()
                    .unwrap()
                    .remove("mac")
                    .map(drop)
                    .unwrap_or(())
            }),
        ),
        (
            "downgraded to v1",
            Box::new(|c| {
                c["version"] = 1.into();
                c.as_object_mut().unwrap().remove("mac");
            }),
        ),
    ];
    for (what, edit) in edits {
        let f = Fixture::new();
        f.init(Some(pass()));
        f.open(Some(&pass())).unwrap();
        f.edit_config(|c| edit(c));
        let e = f.open(Some(&pass())).unwrap_err();
        let msg = e.to_string();
        // A v1 config carries no MAC; its wrapped keys then no longer open (bound to v2).
        if what == "downgraded to v1" {
            assert!(
                e.is_input() && msg.contains("does not open"),
                "{what}: {msg}"
            );
        } else {
            let msg = config_error(e);
            assert!(msg.contains("does not authenticate"), "{what}: {msg}");
        }
    }
}

#[test]
fn kdf_parameters_out_of_bounds_are_refused_before_hashing() {
    for (key, value) in [
        ("m_kib", 4_194_304u64),
        ("t", 100_000),
        ("p", 255),
        ("m_kib", 1),
    ] {
        let f = Fixture::new();
        f.init(Some(pass()));
        f.edit_config(|c| c["encryption"]["kdf"][key] = value.into());
        let started = Instant::now();
        let e = config_error(f.open(Some(&pass())).unwrap_err());
        assert!(e.contains("out of bounds"), "{key}={value}: {e}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{key}={value}: hashed anyway"
        );
    }
}

#[test]
fn chunker_parameters_that_would_crash_the_chunker_are_refused() {
    let f = Fixture::new();
    f.init(None);
    f.edit_config(|c| c["chunker"]["min"] = 0.into());
    let e = config_error(f.open(None).unwrap_err());
    assert!(e.contains("chunker"), "{e}");
}

#[test]
fn a_v1_repository_is_read_written_and_migrated_keeping_ids() {
    let f = Fixture::new();
    let data = f.path("data");
    make_data(&data);
    let mut repo = f.init(Some(pass()));
    crate::migrate::downgrade_for_tests(&mut repo, Some(&pass()));
    f.hot(&repo, &data, Some("2025-01-01T00:00:00Z"));
    // Reopened: a v1 repository, read and written as v1.
    let v1 = f.open(Some(&pass())).unwrap();
    assert_eq!(v1.config.version, 1);
    f.hot(&v1, &data, Some("2025-01-02T00:00:00Z"));
    let before: Vec<String> = list_snapshots(&v1)
        .unwrap()
        .into_iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(before.len(), 2);
    // An edit of a v1 config cannot be detected; migration is what fixes that.
    let mut repo = f.open(Some(&pass())).unwrap();
    let r = migrate(&mut repo, Some(&pass()), &Silent).unwrap();
    assert_eq!(
        (r.from, r.to, r.objects),
        (1, 2, 2 + f.keys_under("index").len())
    );
    let v2 = f.open(Some(&pass())).unwrap();
    assert_eq!(v2.config.version, 2);
    assert_eq!(v2.config.migrated_from, Some(1));
    let after: Vec<String> = list_snapshots(&v2)
        .unwrap()
        .into_iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(before, after);
    assert!(verify(&v2, Some(1.0), &Silent).unwrap().ok());
    let target = f.path("restored");
    f.restore_to(&v2, "latest", &target, false);
    assert_same(&data, &target);
    // Migrating again is a no-op; an edit is now detected.
    let mut again = f.open(Some(&pass())).unwrap();
    assert_eq!(
        migrate(&mut again, Some(&pass()), &Silent).unwrap().objects,
        0
    );
    f.edit_config(|c| c["encryption"]["chunk_ids"] = "blake3".into());
    config_error(f.open(Some(&pass())).unwrap_err());
}

#[test]
fn a_plain_v1_repository_migrates_and_a_password_for_it_is_refused() {
    let f = Fixture::new();
    let data = f.path("data");
    make_data(&data);
    let mut repo = f.init(None);
    crate::migrate::downgrade_for_tests(&mut repo, None);
    f.hot(&repo, &data, None);
    let e = config_error(f.open(Some(&pass())).unwrap_err());
    assert!(e.contains("not encrypted"), "{e}");
    let mut repo = f.open(None).unwrap();
    migrate(&mut repo, None, &Silent).unwrap();
    let v2 = f.open(None).unwrap();
    assert_eq!(v2.config.version, 2);
    let target = f.path("restored");
    f.restore_to(&v2, "latest", &target, false);
    assert_same(&data, &target);
}

#[test]
fn a_short_passphrase_and_a_readable_key_file_are_noted() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::new();
    let notes = Notes::default();
    Secret::Passphrase("x".into()).note_weaknesses(None, None, &notes);
    assert!(notes.all().contains("1 characters"), "{}", notes.all());
    let key = f.path("repo.key");
    std::fs::write(&key, [7u8; 64]).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let notes = Notes::default();
    Secret::KeyFile(vec![7; 64]).note_weaknesses(Some(&key), None, &notes);
    assert!(
        notes.all().contains("readable by other users"),
        "{}",
        notes.all()
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let notes = Notes::default();
    Secret::KeyFile(vec![7; 64]).note_weaknesses(Some(&key), None, &notes);
    Secret::Passphrase("correct horse battery".into()).note_weaknesses(None, None, &notes);
    assert!(notes.all().is_empty(), "{}", notes.all());
}
