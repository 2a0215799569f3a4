//! Backup, restore, verify, prune, locks and signatures against a real local repository.
use super::harness::*;
use crate::*;

#[test]
fn hot_backup_restores_bit_exact_and_incremental_reads_only_changes() {
    let f = Fixture::new();
    let data = f.path("data");
    make_data(&data);
    let repo = f.init(None);
    let first = f.hot(&repo, &data, None);
    assert_eq!(first.files, 12, "{first:?}");
    assert_eq!(first.files_read, 12);
    assert!(
        first.stored_bytes < first.size_bytes,
        "the log compresses: {first:?}"
    );

    // Compaction churn: one table file gone, one new, the log appended.
    std::fs::remove_file(data.join("nom/000000.ldb")).unwrap();
    std::fs::write(data.join("nom/000010.ldb"), noise(10, 200_000)).unwrap();
    let mut log = std::fs::read(data.join("nom/000007.log")).unwrap();
    log.extend_from_slice(b"momentum 20000 ok\n");
    std::fs::write(data.join("nom/000007.log"), &log).unwrap();
    let second = f.hot(&repo, &data, None);
    assert_eq!(
        second.files_read, 2,
        "only the new table and the log: {second:?}"
    );
    assert!(second.stored_bytes < 300_000, "{second:?}");

    let all = list_snapshots(&repo).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].snapshot.parent, None);
    assert_eq!(all[1].snapshot.parent.as_deref(), Some(all[0].id.as_str()));
    let out = f.path("out");
    f.restore_to(&repo, "latest", &out, false);
    assert_same(&data, &out);
    let report = verify(&repo, Some(1.0), &Silent).unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert!(report.chunks_read > 0);
}

#[test]
fn restore_replaces_the_target_and_delta_reuses_matching_data() {
    let f = Fixture::new();
    let data = f.path("data");
    make_data(&data);
    let repo = f.init(None);
    f.hot(&repo, &data, None);
    let out = f.path("out");
    f.restore_to(&repo, "latest", &out, false);
    // Damage the target: one file changed, one added; a delta restore puts it right and
    // reads the unchanged files from the target rather than the repository.
    std::fs::write(out.join("nom/000001.ldb"), b"garbage").unwrap();
    std::fs::write(out.join("stray"), b"x").unwrap();
    let r = f.restore_to(&repo, "latest", &out, true);
    assert_same(&data, &out);
    assert!(r.reused_bytes > r.bytes / 2, "{r:?}");
    let leftovers: Vec<_> = std::fs::read_dir(f.tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("nodewarden"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "staging and old dirs are removed: {leftovers:?}"
    );
}

#[test]
fn encrypted_repository_needs_the_secret_and_hides_content() {
    let f = Fixture::new();
    let data = f.path("data");
    make_data(&data);
    let pass = Secret::Passphrase("correct horse".into());
    let repo = f.init(Some(pass.clone()));
    f.hot(&repo, &data, None);
    let e = f.open(None).unwrap_err();
    assert!(
        e.is_input() && e.to_string().contains("NODEWARDEN_PASSWORD"),
        "{e}"
    );
    let e = f
        .open(Some(&Secret::Passphrase("wrong".into())))
        .unwrap_err();
    assert!(
        e.is_input() && e.to_string().contains("wrong passphrase"),
        "{e}"
    );
    // No plaintext of the compressible log anywhere in the repository.
    for meta in repo.list("").unwrap() {
        let raw = repo.get(&meta.key).unwrap();
        assert!(
            !raw.windows(9).any(|w| w == b"momentum "),
            "{} leaks plaintext",
            meta.key
        );
    }
    let repo = f.open(Some(&pass)).unwrap();
    let out = f.path("out");
    f.restore_to(&repo, "latest", &out, false);
    assert_same(&data, &out);
}

#[test]
fn key_file_repository_opens_with_the_key_only() {
    let f = Fixture::new();
    let key = Secret::KeyFile(noise(5, 64));
    let repo = f.init(Some(key.clone()));
    let data = f.path("data");
    make_data(&data);
    f.hot(&repo, &data, None);
    assert!(f.open(Some(&key)).is_ok());
    assert!(
        f.open(Some(&Secret::KeyFile(noise(6, 64))))
            .unwrap_err()
            .is_input()
    );
    assert!(
        f.open(Some(&Secret::Passphrase("x".into())))
            .unwrap_err()
            .is_input()
    );
}

#[test]
fn verify_names_the_damaged_snapshot_and_file() {
    let f = Fixture::new();
    let data = f.path("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("a.ldb"), noise(1, 100_000)).unwrap();
    let repo = f.init(None);
    f.hot(&repo, &data, Some("2025-01-01T00:00:00Z"));
    let pack = repo.list("packs/").unwrap().remove(0);
    let path = f.path("repo").join(&pack.key);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    assert!(
        verify(&repo, None, &Silent).unwrap().ok(),
        "structure alone cannot see a flipped byte"
    );
    let r = verify(&repo, Some(1.0), &Silent).unwrap();
    assert!(!r.ok());
    assert_eq!(
        r.damaged,
        ["test-h0-00000000-20250101T000000Z: a.ldb"],
        "{r:?}"
    );
    std::fs::remove_file(&path).unwrap();
    let r = verify(&repo, None, &Silent).unwrap();
    assert!(r.problems.iter().any(|p| p.contains("missing")), "{r:?}");
    assert_eq!(r.damaged.len(), 1);
}

#[test]
fn forget_and_prune_keep_what_live_snapshots_need() {
    let f = Fixture::new();
    let data = f.path("data");
    std::fs::create_dir_all(&data).unwrap();
    let repo = f.init(None);
    // Three generations, each replacing most of the data: the first is forgotten.
    for (i, day) in ["01", "02", "03"].iter().enumerate() {
        for j in 0..4u64 {
            std::fs::write(
                data.join(format!("t{j}.ldb")),
                noise(i as u64 * 10 + j, 400_000),
            )
            .unwrap();
        }
        f.hot(&repo, &data, Some(&format!("2025-03-{day}T10:00:00Z")));
    }
    let keep = list_snapshots(&repo).unwrap();
    let before: u64 = repo.list("packs/").unwrap().iter().map(|m| m.size).sum();
    let decisions = forget(
        &repo,
        &KeepPolicy {
            last: Some(2),
            ..Default::default()
        },
        false,
        &Silent,
    )
    .unwrap();
    assert_eq!(decisions.iter().filter(|d| d.keep).count(), 2);
    let report = prune(&repo, &Silent).unwrap();
    let after: u64 = repo.list("packs/").unwrap().iter().map(|m| m.size).sum();
    assert!(after < before * 3 / 4, "{before} → {after}: {report:?}");
    assert!(report.chunks_dropped >= 4, "{report:?}");
    assert_eq!(
        repo.list("index/").unwrap().len(),
        1,
        "prune leaves one index"
    );
    let r = verify(&repo, Some(1.0), &Silent).unwrap();
    assert!(r.ok(), "{:?}", r.problems);
    let out = f.path("out");
    f.restore_to(&repo, &keep[2].id, &out, false);
    assert_same(&data, &out);
    // A second prune has nothing to do.
    let again = prune(&repo, &Silent).unwrap();
    assert_eq!((again.packs_deleted, again.packs_repacked), (0, 0));
}

#[test]
fn a_dead_process_lock_is_stale_and_a_live_exclusive_one_blocks() {
    let f = Fixture::new();
    let repo = f.init(None);
    let dead = serde_json::json!({"hostname": crate::lock::hostname(), "pid": 999_999_999u32,
        "time": "2025-01-01T00:00:00Z", "exclusive": true, "what": "prune"});
    repo.put("locks/dead", serde_json::to_vec(&dead).unwrap())
        .unwrap();
    let data = f.path("data");
    make_data(&data);
    f.hot(&repo, &data, None);
    assert!(
        repo.list("locks/").unwrap().is_empty(),
        "stale lock removed, ours released"
    );
    let held = crate::lock::Lock::exclusive(&repo, "prune", &Silent).unwrap();
    let src = hot_source(&data, None).unwrap();
    let e = backup(&repo, &src, &BackupOptions::default(), &Silent).unwrap_err();
    assert!(e.to_string().contains("is locked by `prune`"), "{e}");
    drop(held);
    backup(&repo, &src, &BackupOptions::default(), &Silent).unwrap();
}

#[test]
fn a_held_lock_is_refreshed_so_it_never_looks_stale() {
    let f = Fixture::new();
    let repo = f.init(None);
    let every = std::time::Duration::from_millis(50);
    let held = crate::lock::Lock::take_refreshed(&repo, "backup x", false, &Silent, every).unwrap();
    let key = repo.list("locks/").unwrap().remove(0).key;
    let time = |repo: &crate::Repository| {
        let v: serde_json::Value = serde_json::from_slice(&repo.get(&key).unwrap()).unwrap();
        chrono::DateTime::parse_from_rfc3339(v["time"].as_str().unwrap()).unwrap()
    };
    let first = time(&repo);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while time(&repo) == first {
        assert!(
            std::time::Instant::now() < deadline,
            "the lock was never rewritten"
        );
        std::thread::sleep(every);
    }
    assert!(time(&repo) > first);
    drop(held);
    assert!(repo.list("locks/").unwrap().is_empty(), "released on drop");
}

#[test]
fn signatures_are_checked_against_the_trusted_key() {
    let f = Fixture::new();
    let data = f.path("data");
    make_data(&data);
    let repo = f.init(None);
    let key = signing_key(hex_seed(1).as_bytes(), "k").unwrap();
    let other = signing_key(hex_seed(2).as_bytes(), "k2").unwrap();
    let src = hot_source(&data, None).unwrap();
    let opts = BackupOptions {
        sign: Some(key.clone()),
        ..Default::default()
    };
    backup(&repo, &src, &opts, &Silent).unwrap();
    backup(&repo, &src, &BackupOptions::default(), &Silent).unwrap();
    let all = list_snapshots(&repo).unwrap();
    let signed = all.iter().find(|s| s.file.signature.is_some()).unwrap();
    let unsigned = all.iter().find(|s| s.file.signature.is_none()).unwrap();
    check_trusted(&repo, signed, &public_key_hex(&key)).unwrap();
    let e = check_trusted(&repo, signed, &public_key_hex(&other)).unwrap_err();
    assert!(e.to_string().contains("not by the trusted key"), "{e}");
    let e = check_trusted(&repo, unsigned, &public_key_hex(&key)).unwrap_err();
    assert!(e.to_string().contains("not signed"), "{e}");
    let mut forged = signed.clone();
    forged.file.body = forged
        .file
        .body
        .replace("\"node\":\"data\"", "\"node\":\"evil\"");
    assert_ne!(forged.file.body, signed.file.body);
    let e = check_trusted(&repo, &forged, &public_key_hex(&key)).unwrap_err();
    assert!(e.to_string().contains("does not match"), "{e}");
}

fn hex_seed(n: u8) -> String {
    crate::format::hex(&[n; 32])
}

#[test]
fn selectors_and_refused_manifest_entries() {
    let f = Fixture::new();
    let data = f.path("data");
    make_data(&data);
    let repo = f.init(None);
    f.hot(&repo, &data, Some("2025-01-01T00:00:00Z"));
    f.hot(&repo, &data, Some("2025-01-02T00:00:00Z"));
    let all = list_snapshots(&repo).unwrap();
    assert_eq!(select(&all, "latest").unwrap().id, all[1].id);
    assert_eq!(select(&all, &all[0].id[..8]).unwrap().id, all[0].id);
    assert_eq!(
        select(&all, "test-h0-00000000-20250101T000000Z")
            .unwrap()
            .id,
        all[0].id
    );
    assert!(select(&all, "zzzz").unwrap_err().is_input());
    assert!(select(&all, "").is_err());

    let entry = |path: &str, target: Option<&str>| Entry {
        path: path.into(),
        kind: if target.is_some() {
            EntryKind::Symlink
        } else {
            EntryKind::File
        },
        mode: 0o644,
        size: 0,
        mtime_ns: 0,
        inode: 0,
        target: target.map(str::to_string),
        target_hex: None,
        chunks: vec![],
    };
    for bad in [
        entry("../x", None),
        entry("/etc/passwd", None),
        entry("a/../../x", None),
    ] {
        let e = check_entry(&bad).unwrap_err().to_string();
        assert!(e.contains("refusing"), "{e}");
    }
    // Links are recreated as links, never followed while restoring: where they point is
    // the data's business (a keystore shared between nodes), as with tar.
    check_entry(&entry("a/b/l", Some("../c"))).unwrap();
    check_entry(&entry("a/l", Some("../../etc"))).unwrap();
    check_entry(&entry("l", Some("/etc/passwd"))).unwrap();
}

#[test]
fn prune_keeps_a_pack_whose_repack_would_be_identical() {
    let f = Fixture::new();
    let mut repo = f.init(None);
    repo.config.pack_size = 1; // one blob per pack: mostly header
    let data = f.path("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("CURRENT"), b"MANIFEST-000001\n").unwrap();
    std::fs::write(data.join("old.ldb"), noise(3, 5000)).unwrap();
    f.hot(&repo, &data, Some("2025-01-01T00:00:00Z"));
    std::fs::remove_file(data.join("old.ldb")).unwrap();
    f.hot(&repo, &data, Some("2025-01-02T00:00:00Z"));
    forget(
        &repo,
        &KeepPolicy {
            last: Some(1),
            ..Default::default()
        },
        false,
        &Silent,
    )
    .unwrap();
    let report = prune(&repo, &Silent).unwrap();
    assert_eq!(report.packs_deleted, 1, "{report:?}");
    let r = verify(&repo, Some(1.0), &Silent).unwrap();
    assert!(r.ok(), "{:?}", r.problems);
    let out = f.path("out");
    f.restore_to(&repo, "latest", &out, false);
    assert_same(&data, &out);
}

#[test]
fn prune_repacks_a_mostly_empty_pack() {
    let f = Fixture::new();
    let mut repo = f.init(None);
    repo.config.pack_size = 64 << 20; // everything of one backup in one pack
    let data = f.path("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("keep.ldb"), noise(1, 100_000)).unwrap();
    for i in 0..4 {
        std::fs::write(data.join(format!("gone{i}.ldb")), noise(10 + i, 200_000)).unwrap();
    }
    f.hot(&repo, &data, Some("2025-01-01T00:00:00Z"));
    for i in 0..4 {
        std::fs::remove_file(data.join(format!("gone{i}.ldb"))).unwrap();
    }
    f.hot(&repo, &data, Some("2025-01-02T00:00:00Z"));
    forget(
        &repo,
        &KeepPolicy {
            last: Some(1),
            ..Default::default()
        },
        false,
        &Silent,
    )
    .unwrap();
    let before: u64 = repo.list("packs/").unwrap().iter().map(|m| m.size).sum();
    let report = prune(&repo, &Silent).unwrap();
    assert_eq!(
        (report.packs_repacked, report.packs_written),
        (1, 1),
        "{report:?}"
    );
    let after: u64 = repo.list("packs/").unwrap().iter().map(|m| m.size).sum();
    assert!(after < before / 4, "{before} → {after}");
    let r = verify(&repo, Some(1.0), &Silent).unwrap();
    assert!(r.ok(), "{:?}", r.problems);
    let out = f.path("out");
    f.restore_to(&repo, "latest", &out, false);
    assert_same(&data, &out);
}
