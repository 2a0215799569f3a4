use bytes::Bytes;

use crate::{LocalStore, Store, StoreError, open_url};

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
    assert!(open_url("/tmp/repo").is_ok());
    assert!(open_url("file:///tmp/repo").is_ok());
    let e = open_url("s3://bucket/x").unwrap_err().to_string();
    assert!(e.contains("s3://bucket/x"), "{e}");
    let e = open_url("ftp://x").unwrap_err().to_string();
    assert!(e.contains("unknown scheme"), "{e}");
    assert!(open_url("file://relative").is_err());
}
