use bytes::Bytes;

use crate::{LocalStore, RemoteOptions, Store, StoreError, open_url, parse_bytes};

#[tokio::test]
async fn put_get_list_delete_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let s = LocalStore::new(dir.path());
    s.put("packs/ab/abcd", Bytes::from_static(b"hello"))
        .await
        .unwrap();
    s.put("snapshots/1", Bytes::from_static(b"one"))
        .await
        .unwrap();
    s.put("snapshots/1", Bytes::from_static(b"uno"))
        .await
        .unwrap();
    assert_eq!(&s.get("snapshots/1").await.unwrap()[..], b"uno");
    assert_eq!(
        &s.get_range("packs/ab/abcd", 1, 3).await.unwrap()[..],
        b"ell"
    );
    assert!(s.get_range("packs/ab/abcd", 3, 10).await.is_err());
    let keys: Vec<String> = s
        .list("packs/")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(keys, ["packs/ab/abcd"]);
    let all = s.list("").await.unwrap();
    assert_eq!(all.len(), 2, "temp files are not listed: {all:?}");
    s.delete("packs/ab/abcd").await.unwrap();
    s.delete("packs/ab/abcd").await.unwrap();
    assert!(s.get("packs/ab/abcd").await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn put_new_refuses_an_existing_object() {
    let dir = tempfile::tempdir().unwrap();
    let s = LocalStore::new(dir.path());
    s.put_new("locks/a", Bytes::from_static(b"1"))
        .await
        .unwrap();
    let e = s
        .put_new("locks/a", Bytes::from_static(b"2"))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::AlreadyExists { .. }), "{e}");
    assert_eq!(&s.get("locks/a").await.unwrap()[..], b"1");
}

#[tokio::test]
async fn keys_cannot_escape_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let s = LocalStore::new(dir.path());
    for bad in ["../x", "/etc/passwd", "a//b", "a/./b", ""] {
        let e = s.put(bad, Bytes::new()).await.unwrap_err();
        assert!(matches!(e, StoreError::InvalidKey(_)), "{bad}: {e}");
    }
}

#[test]
fn urls_name_the_problem() {
    let o = RemoteOptions::default();
    assert!(open_url("/tmp/repo", &o).is_ok());
    assert!(open_url("file:///tmp/repo", &o).is_ok());
    let e = open_url("s3://Bucket/x", &o).unwrap_err().to_string();
    assert!(e.contains("s3://Bucket/x"), "{e}");
    let e = open_url("ftp://x", &o).unwrap_err().to_string();
    assert!(e.contains("unknown scheme"), "{e}");
    assert!(open_url("file://relative", &o).is_err());
}

#[test]
fn sizes_and_rates_parse() {
    assert_eq!(parse_bytes("1048576").unwrap(), 1 << 20);
    assert_eq!(parse_bytes("512KiB").unwrap(), 512 << 10);
    assert_eq!(parse_bytes("10MiB/s").unwrap(), 10 << 20);
    assert_eq!(parse_bytes("1.5G").unwrap(), 3 << 29);
    assert_eq!(parse_bytes("800k").unwrap(), 800 << 10);
    for bad in ["", "ten", "5 parsecs", "0", "-1M"] {
        let e = parse_bytes(bad).unwrap_err();
        assert!(e.contains(bad), "{bad}: {e}");
    }
}

#[tokio::test]
async fn stale_temp_files_are_removed_fresh_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let s = LocalStore::new(dir.path());
    s.put("a", Bytes::from_static(b"x")).await.unwrap();
    let tmp = dir.path().join(".tmp");
    std::fs::write(tmp.join("killed"), b"half a pack").unwrap();
    std::fs::write(tmp.join("writing"), b"in flight").unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(tmp.join("killed"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let hour = std::time::Duration::from_secs(3600);
    assert_eq!(s.remove_stale_temp(hour).await.unwrap(), 1);
    assert!(!tmp.join("killed").exists());
    assert!(tmp.join("writing").exists(), "a live writer's file stays");
    assert_eq!(&s.get("a").await.unwrap()[..], b"x");
}

#[tokio::test]
async fn delete_many_removes_across_folders_and_ignores_absent_keys() {
    let dir = tempfile::tempdir().unwrap();
    let s = LocalStore::new(dir.path());
    let keys: Vec<String> = [
        "packs/ab/ab01",
        "packs/cd/cd02",
        "snapshots/1",
        "snapshots/2",
    ]
    .map(String::from)
    .to_vec();
    for k in &keys {
        s.put(k, Bytes::from_static(b"x")).await.unwrap();
    }
    s.put("snapshots/3", Bytes::from_static(b"kept"))
        .await
        .unwrap();
    let mut with_absent = keys.clone();
    with_absent.push("packs/ef/never".into());
    s.delete_many(&with_absent).await.unwrap();
    let left: Vec<String> = s
        .list("")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(left, ["snapshots/3"]);
    // A key outside the root is refused, as for one delete.
    assert!(s.delete_many(&["../x".to_string()]).await.is_err());
}
