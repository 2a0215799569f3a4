//! Crafted, swapped and damaged objects: each is named, none crashes the tool, and one bad
//! object never blocks the others.
use std::path::Path;

use super::harness::*;
use crate::format::{IndexFile, IndexPack, LockFile, SnapshotFile};
use crate::*;

fn two_snapshots(f: &Fixture, secret: Option<Secret>) -> (Repository, Vec<Listed>) {
    let data = f.path("data");
    make_data(&data);
    let repo = f.init(secret);
    f.hot(&repo, &data, Some("2025-01-01T00:00:00Z"));
    std::fs::write(data.join("nom/000099.ldb"), noise(7, 200_000)).unwrap();
    f.hot(&repo, &data, Some("2025-01-02T00:00:00Z"));
    let all = list_snapshots(&repo).unwrap();
    assert_eq!(all.len(), 2);
    (repo, all)
}

fn snap_key(l: &Listed) -> String {
    format!("snapshots/{}", l.id)
}

#[test]
fn an_encrypted_snapshot_copied_over_another_is_named_and_never_restored() {
    let f = Fixture::new();
    let (repo, all) = two_snapshots(&f, Some(Secret::Passphrase("pw-pw-pw-pw".into())));
    let (older, newer) = (&all[0], &all[1]);
    std::fs::copy(f.object(&snap_key(older)), f.object(&snap_key(newer))).unwrap();
    let (good, bad) = scan_snapshots(&repo).unwrap();
    assert_eq!(good.len(), 1);
    assert_eq!(good[0].id, older.id);
    assert_eq!(bad[0].key, snap_key(newer));
    let r = verify(&repo, None, &Silent).unwrap();
    assert!(!r.ok());
    assert!(
        r.problems.iter().any(|p| p.contains(&snap_key(newer))),
        "{:?}",
        r.problems
    );
    // The intact snapshot still restores.
    let target = f.path("t");
    f.restore_to(&repo, &older.id, &target, false);
}

#[test]
fn a_plain_snapshot_edited_and_recompressed_is_named_by_verify() {
    let f = Fixture::new();
    let (repo, all) = two_snapshots(&f, None);
    let key = snap_key(&all[1]);
    let raw = std::fs::read(f.object(&key)).unwrap();
    let json = zstd::stream::decode_all(&raw[..]).unwrap();
    let mut file: SnapshotFile = serde_json::from_slice(&json).unwrap();
    file.body = file
        .body
        .replace("\"mode\":384", "\"mode\":4095")
        .replace("wallet/keys/k1", "wallet/keys/k2");
    let forged = zstd::bulk::compress(&serde_json::to_vec(&file).unwrap(), 3).unwrap();
    std::fs::write(f.object(&key), forged).unwrap();
    let r = verify(&repo, None, &Silent).unwrap();
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains(&key) && p.contains("does not match its name")),
        "{:?}",
        r.problems
    );
    assert_eq!(list_snapshots(&repo).unwrap().len(), 1);
}

#[test]
fn short_and_odd_object_names_do_not_crash_listing_or_forget() {
    let f = Fixture::new();
    let (repo, all) = two_snapshots(&f, None);
    std::fs::copy(f.object(&snap_key(&all[0])), f.object("snapshots/abc")).unwrap();
    let notes = Notes::default();
    let listed = crate::snapshots::list_noting(&repo, &notes).unwrap();
    assert_eq!(listed.len(), 2);
    assert!(notes.all().contains("snapshots/abc"), "{}", notes.all());
    let policy = KeepPolicy {
        last: Some(1),
        ..Default::default()
    };
    let d = prune::forget(&repo, &policy, false, &Silent).unwrap();
    assert_eq!(d.iter().filter(|d| !d.keep).count(), 1);
}

#[test]
fn an_index_naming_pack_a_is_skipped_and_restore_still_works() {
    let f = Fixture::new();
    let (repo, all) = two_snapshots(&f, None);
    let forged = IndexFile {
        packs: vec![IndexPack {
            id: "a".into(),
            size: 10,
            blobs: vec![],
        }],
    };
    repo.save("index", &forged).unwrap();
    let index = repo.load_index().unwrap();
    assert_eq!(index.unreadable.len(), 1, "{:?}", index.unreadable);
    assert!(
        index.unreadable[0].1.contains("bad pack id"),
        "{:?}",
        index.unreadable
    );
    let target = f.path("t");
    f.restore_to(&repo, &all[1].id, &target, false);
    assert_same(&f.path("data"), &target);
    let e = prune(&repo, &Silent).unwrap_err().to_string();
    assert!(e.contains("repair index"), "{e}");
}

#[test]
fn a_zstd_frame_claiming_a_terabyte_is_refused_without_allocating() {
    let f = Fixture::new();
    let repo = f.init(None);
    // zstd frame header: magic, descriptor (8-byte content size), window, size = 2^40.
    let mut blob = vec![1u8];
    blob.extend_from_slice(&0xFD2FB528u32.to_le_bytes());
    blob.extend_from_slice(&[0xC0, 0x00]);
    blob.extend_from_slice(&(1u64 << 40).to_le_bytes());
    blob.extend_from_slice(&[0x01, 0x00, 0x00]);
    let e = repo
        .open_blob(&[0; 32], &blob, "pack x")
        .unwrap_err()
        .to_string();
    assert!(e.contains("claims 1099511627776 bytes"), "{e}");
}

#[test]
fn a_lock_dated_in_the_future_is_reported_not_obeyed_and_unlock_removes_it() {
    let f = Fixture::new();
    let data = f.path("data");
    make_data(&data);
    let repo = f.init(None);
    let forged = LockFile {
        hostname: "elsewhere".into(),
        pid: 1,
        time: "2099-01-01T00:00:00Z".into(),
        exclusive: true,
        what: "prune".into(),
    };
    std::fs::create_dir_all(f.object("locks")).unwrap();
    std::fs::write(
        f.object("locks/forged"),
        serde_json::to_vec(&forged).unwrap(),
    )
    .unwrap();
    let notes = Notes::default();
    let src = hot_source(&data, None).unwrap();
    backup(&repo, &src, &BackupOptions::default(), &notes).unwrap();
    assert!(
        notes.all().contains("dated in the future"),
        "{}",
        notes.all()
    );
    let removed = unlock(&repo, false, &Silent).unwrap();
    assert_eq!(removed, vec!["locks/forged".to_string()]);
}

#[test]
fn one_bad_snapshot_blocks_nothing_prune_waits_for_repair() {
    let f = Fixture::new();
    let (repo, all) = two_snapshots(&f, Some(Secret::Passphrase("pw-pw-pw-pw".into())));
    let bad = snap_key(&all[0]);
    let mut raw = std::fs::read(f.object(&bad)).unwrap();
    let n = raw.len();
    raw[n / 2] ^= 1;
    std::fs::write(f.object(&bad), raw).unwrap();
    // Listing, backup, forget and restore of the other snapshot go on.
    let notes = Notes::default();
    let src = hot_source(&f.path("data"), None).unwrap();
    backup(&repo, &src, &BackupOptions::default(), &notes).unwrap();
    assert!(notes.all().contains(&bad), "{}", notes.all());
    assert_eq!(list_snapshots(&repo).unwrap().len(), 2);
    let target = f.path("t");
    f.restore_to(&repo, &all[1].id, &target, false);
    // Prune must not decide what is garbage without the damaged snapshot's chunk list.
    let e = prune(&repo, &Silent).unwrap_err().to_string();
    assert!(e.contains(&bad) && e.contains("repair snapshots"), "{e}");
    let r = repair_snapshots(&repo, &Silent).unwrap();
    assert_eq!(r.quarantined, vec![bad.clone()]);
    assert!(f.object(&format!("quarantine/{bad}")).is_file());
    assert!(!f.object(&bad).exists());
    prune(&repo, &Silent).unwrap();
    assert!(verify(&repo, Some(1.0), &Silent).unwrap().ok());
}

#[test]
fn one_bad_index_file_is_rebuilt_from_pack_headers() {
    let f = Fixture::new();
    let (repo, all) = two_snapshots(&f, Some(Secret::Passphrase("pw-pw-pw-pw".into())));
    let files = f.keys_under("index");
    assert!(files.len() >= 2, "{files:?}");
    for key in &files {
        std::fs::write(f.object(key), b"garbage").unwrap();
    }
    let r = verify(&repo, None, &Silent).unwrap();
    for key in &files {
        assert!(
            r.problems.iter().any(|p| p.contains(key.as_str())),
            "{key}: {:?}",
            r.problems
        );
    }
    assert!(
        prune(&repo, &Silent)
            .unwrap_err()
            .to_string()
            .contains("repair index")
    );
    let rep = repair_index(&repo, &Silent).unwrap();
    assert_eq!(rep.index_files_replaced, files.len());
    assert!(rep.packs_skipped.is_empty());
    assert!(verify(&repo, Some(1.0), &Silent).unwrap().ok());
    for l in &all {
        let target = f.path(&format!("t-{}", &l.id[..8]));
        f.restore_to(&repo, &l.id, &target, false);
    }
    assert_same(&f.path("data"), &f.path(&format!("t-{}", &all[1].id[..8])));
}

#[test]
fn a_signed_snapshot_replayed_into_another_repository_is_refused() {
    let f = Fixture::new();
    let data = f.path("data");
    make_data(&data);
    let a = f.init(None);
    let key = signing_key(&[3u8; 32], "k").unwrap();
    let opts = BackupOptions {
        sign: Some(key.clone()),
        ..Default::default()
    };
    backup(&a, &hot_source(&data, None).unwrap(), &opts, &Silent).unwrap();
    let signed = list_snapshots(&a).unwrap().remove(0);
    check_trusted(&a, &signed, &public_key_hex(&key)).unwrap();
    // Another repository: same data, so the replayed snapshot's chunks are all there.
    let other = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(nodewarden_store::LocalStore::new(other.path().join("repo")));
    let b = Repository::init(store, f.rt.handle().clone(), InitOptions::default()).unwrap();
    backup(
        &b,
        &hot_source(&data, None).unwrap(),
        &BackupOptions::default(),
        &Silent,
    )
    .unwrap();
    let dest = other.path().join("repo").join(snap_key(&signed));
    std::fs::copy(f.object(&snap_key(&signed)), &dest).unwrap();
    let replayed = list_snapshots(&b)
        .unwrap()
        .into_iter()
        .find(|l| l.id == signed.id)
        .unwrap();
    let e = check_trusted(&b, &replayed, &public_key_hex(&key))
        .unwrap_err()
        .to_string();
    assert!(e.contains("replayed"), "{e}");
    assert!(Path::new(&dest).exists());
}

#[test]
fn a_blob_opens_only_under_its_own_id() {
    let f = Fixture::new();
    let repo = f.init(Some(Secret::KeyFile(vec![9; 32])));
    let data = b"some chunk".to_vec();
    let id = repo.keys.chunk_id(&data);
    let blob = crate::pack::encode_blob(
        &repo,
        id,
        &data,
        crate::pack::Level::new(None),
        crate::sniff::Hint::Unknown,
    );
    assert_eq!(repo.open_blob(&id, &blob.sealed, "p").unwrap(), data);
    let mut other = id;
    other[0] ^= 1;
    let e = repo
        .open_blob(&other, &blob.sealed, "p")
        .unwrap_err()
        .to_string();
    assert!(e.contains("authentication failed"), "{e}");
}

/// A local store whose listings also show keys no nodewarden writes and the store refuses
/// to fetch (S3 "folder" markers made in a console, stray objects).
#[derive(Debug)]
struct StrayKeys(nodewarden_store::LocalStore);

impl nodewarden_store::Store for StrayKeys {
    fn describe(&self) -> String {
        self.0.describe()
    }
    fn put<'a>(
        &'a self,
        key: &'a str,
        data: bytes::Bytes,
    ) -> futures::future::BoxFuture<'a, nodewarden_store::StoreResult<()>> {
        self.0.put(key, data)
    }
    fn put_new<'a>(
        &'a self,
        key: &'a str,
        data: bytes::Bytes,
    ) -> futures::future::BoxFuture<'a, nodewarden_store::StoreResult<()>> {
        self.0.put_new(key, data)
    }
    fn get<'a>(
        &'a self,
        key: &'a str,
    ) -> futures::future::BoxFuture<'a, nodewarden_store::StoreResult<bytes::Bytes>> {
        self.0.get(key)
    }
    fn get_range<'a>(
        &'a self,
        key: &'a str,
        offset: u64,
        len: u64,
    ) -> futures::future::BoxFuture<'a, nodewarden_store::StoreResult<bytes::Bytes>> {
        self.0.get_range(key, offset, len)
    }
    fn list<'a>(
        &'a self,
        prefix: &'a str,
    ) -> futures::future::BoxFuture<
        'a,
        nodewarden_store::StoreResult<Vec<nodewarden_store::ObjectMeta>>,
    > {
        Box::pin(async move {
            let mut v = self.0.list(prefix).await?;
            for stray in [
                prefix.to_string(),
                format!("{prefix}x/"),
                format!("{prefix}ab"),
            ] {
                v.push(nodewarden_store::ObjectMeta {
                    key: stray,
                    size: 0,
                });
            }
            Ok(v)
        })
    }
    fn delete<'a>(
        &'a self,
        key: &'a str,
    ) -> futures::future::BoxFuture<'a, nodewarden_store::StoreResult<()>> {
        self.0.delete(key)
    }
}

#[test]
fn keys_that_are_not_objects_of_ours_block_nothing() {
    let f = Fixture::new();
    let (_, all) = two_snapshots(&f, None);
    let store = std::sync::Arc::new(StrayKeys(nodewarden_store::LocalStore::new(f.path("repo"))));
    let repo = Repository::open(store, f.rt.handle().clone(), None).unwrap();
    let (good, bad) = scan_snapshots(&repo).unwrap();
    assert_eq!(good.len(), 2);
    assert_eq!(bad.len(), 3, "{bad:?}");
    assert!(repo.load_index().unwrap().unreadable.len() == 3);
    let r = verify(&repo, Some(1.0), &Silent).unwrap();
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains("not a snapshot object name"))
    );
    backup(
        &repo,
        &hot_source(&f.path("data"), None).unwrap(),
        &BackupOptions::default(),
        &Silent,
    )
    .unwrap();
    repair_index(&repo, &Silent).unwrap();
    unlock(&repo, true, &Silent).unwrap();
    let target = f.path("t");
    f.restore_to(&repo, &all[1].id, &target, false);
}
