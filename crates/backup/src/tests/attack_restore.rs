//! Restore never writes outside its target, whatever the snapshot or a leftover staging
//! dir says; links come back as links.
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::harness::*;
use crate::format::{Entry, EntryKind, SnapshotFile};
use crate::*;

fn entry(path: &str, kind: EntryKind, target: Option<&str>) -> Entry {
    Entry {
        path: path.into(),
        kind,
        mode: if kind == EntryKind::Dir { 0o755 } else { 0o644 },
        size: 0,
        mtime_ns: 0,
        inode: 0,
        target: target.map(str::to_string),
        target_hex: None,
        chunks: vec![],
    }
}

/// A snapshot with exactly these entries, stored as a writer without the key could in a
/// plain repository.
fn crafted(repo: &Repository, tree: Vec<Entry>) -> String {
    let all = list_snapshots(repo).unwrap();
    let mut s = all[0].snapshot.clone();
    s.tree = tree;
    s.time = "2030-01-01T00:00:00Z".into();
    let body = serde_json::to_string(&s).unwrap();
    repo.save(
        "snapshots",
        &SnapshotFile {
            body,
            signature: None,
        },
    )
    .unwrap()
}

fn restore_id(repo: &Repository, id: &str, target: &Path) -> Result<RestoreReport> {
    let all = list_snapshots(repo).unwrap();
    let snap = all.iter().find(|l| l.id == id).unwrap();
    restore(
        repo,
        snap,
        target,
        &RestoreOptions::default(),
        None,
        &Silent,
    )
}

fn empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().next().is_none()
}

#[test]
fn links_out_of_the_data_dir_back_up_and_restore_as_links() {
    let f = Fixture::new();
    let data = f.path("node/data");
    make_data(&data);
    std::fs::create_dir_all(f.path("shared/keystore")).unwrap();
    std::fs::write(f.path("shared/keystore/key"), b"shared key").unwrap();
    std::os::unix::fs::symlink("../../shared/keystore", data.join("keystore")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", data.join("hostname")).unwrap();
    let repo = f.init(None);
    f.hot(&repo, &data, None);
    assert!(verify(&repo, Some(1.0), &Silent).unwrap().ok());
    let target = f.path("node/restored");
    f.restore_to(&repo, "latest", &target, false);
    assert_same(&data, &target);
    let link = std::fs::read_link(target.join("keystore")).unwrap();
    assert_eq!(link, Path::new("../../shared/keystore"));
    assert_eq!(
        std::fs::read(f.path("shared/keystore/key")).unwrap(),
        b"shared key"
    );
}

#[test]
fn a_non_utf8_link_target_is_restored_byte_for_byte() {
    let f = Fixture::new();
    let data = f.path("data");
    make_data(&data);
    let raw = std::ffi::OsStr::from_bytes(b"caf\xe9-\xff");
    std::os::unix::fs::symlink(raw, data.join("odd")).unwrap();
    let repo = f.init(None);
    f.hot(&repo, &data, None);
    let target = f.path("t");
    f.restore_to(&repo, "latest", &target, false);
    let back = std::fs::read_link(target.join("odd")).unwrap();
    assert_eq!(back.as_os_str().as_bytes(), b"caf\xe9-\xff");
}

#[test]
fn setuid_setgid_and_sticky_bits_are_dropped_unless_asked_for() {
    let f = Fixture::new();
    let data = f.path("data");
    make_data(&data);
    let tool = data.join("tool");
    std::fs::write(&tool, b"#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o4755)).unwrap();
    std::fs::set_permissions(data.join("nom"), std::fs::Permissions::from_mode(0o1755)).unwrap();
    let repo = f.init(None);
    f.hot(&repo, &data, None);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    let target = f.path("t");
    f.restore_to(&repo, "latest", &target, false);
    assert_eq!(mode(&target.join("tool")), 0o755);
    assert_eq!(mode(&target.join("nom")), 0o755);
    let kept = f.path("kept");
    let all = list_snapshots(&repo).unwrap();
    let opts = RestoreOptions {
        keep_setid: true,
        ..Default::default()
    };
    restore(&repo, &all[0], &kept, &opts, None, &Silent).unwrap();
    assert_eq!(mode(&kept.join("tool")), 0o4755);
    assert_eq!(mode(&kept.join("nom")), 0o1755);
}

/// The first crafted snapshot leaves a link in a staging dir; a second one that would
/// resume that dir writes below the link. Neither may reach `outside`.
#[test]
fn a_leftover_staging_dir_with_links_is_never_written_through() {
    let f = Fixture::new();
    let data = f.path("data");
    make_data(&data);
    let repo = f.init(None);
    f.hot(&repo, &data, None);
    let outside = f.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let id = crafted(
        &repo,
        vec![
            entry("d", EntryKind::Dir, None),
            entry("d/file", EntryKind::File, None),
        ],
    );
    let target = f.path("t");
    let staging = f.path(&format!(".t.nodewarden-staging-{}", &id[..16]));
    let journal = f.path(&format!(".t.nodewarden-staging-{}.journal", &id[..16]));
    // As left by another snapshot (old journal, or one naming a different snapshot) and as
    // left by this very snapshot (the journal matches): `d` is a link out.
    for journal_text in [
        String::new(),
        "nodewarden restore journal v2 snapshot 00\n".to_string(),
        format!("nodewarden restore journal v2 snapshot {id}\n"),
    ] {
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).unwrap();
        std::os::unix::fs::symlink(&outside, staging.join("d")).unwrap();
        std::fs::write(&journal, &journal_text).unwrap();
        let r = restore_id(&repo, &id, &target);
        assert!(
            empty(&outside),
            "wrote through a planted link ({journal_text:?}): {r:?}"
        );
        if r.is_ok() {
            assert!(target.join("d/file").is_file());
            assert!(!journal_text.ends_with(&format!("{id}\n")));
        }
    }
}

#[test]
fn crafted_link_chains_and_links_before_files_never_lead_outside() {
    let f = Fixture::new();
    let data = f.path("data");
    make_data(&data);
    let repo = f.init(None);
    f.hot(&repo, &data, None);
    let outside = f.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let up = "../".repeat(11);
    let mut tree = Vec::new();
    let mut dir = String::new();
    for i in 1..=10 {
        dir = if dir.is_empty() {
            format!("a{i}")
        } else {
            format!("{dir}/a{i}")
        };
        tree.push(entry(&dir, EntryKind::Dir, None));
    }
    tree.push(entry(
        &format!("{dir}/l1"),
        EntryKind::Symlink,
        Some(&"../".repeat(10)),
    ));
    let l2 = format!(
        "{dir}/l1/{up}{}",
        outside.display().to_string().trim_start_matches('/')
    );
    tree.push(entry("l2", EntryKind::Symlink, Some(&l2)));
    tree.push(entry("l2/x", EntryKind::File, None));
    tree.push(entry(
        "esc",
        EntryKind::Symlink,
        Some(outside.to_str().unwrap()),
    ));
    tree.push(entry("esc/y", EntryKind::File, None));
    tree.sort_by(|a, b| a.path.cmp(&b.path));
    let id = crafted(&repo, tree);
    for _ in 0..2 {
        let r = restore_id(&repo, &id, &f.path("t"));
        assert!(empty(&outside), "escaped: {r:?}");
    }
}
