//! Whole directories made here, honest and hostile. The engines' own files are checked
//! against the engines' own counts in the CLI tests (plyvel, rocksdict).
use std::path::Path;

use crate::edit::encode::*;
use crate::log::write_records;
use crate::{DbError, inspect};

fn write_db(dir: &Path, records: &[Vec<u8>]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("CURRENT"), "MANIFEST-000005\n").unwrap();
    std::fs::write(dir.join("MANIFEST-000005"), write_records(records)).unwrap();
}

fn leveldb_records() -> Vec<Vec<u8>> {
    let mut first = Vec::new();
    varint(&mut first, 1);
    bytes(&mut first, b"leveldb.BytewiseComparator");
    let mut second = Vec::new();
    varint(&mut second, 2);
    varint(&mut second, 20);
    varint(&mut second, 3);
    varint(&mut second, 30);
    for n in 10..15 {
        leveldb_add(&mut second, 0, n, 2 << 20, b"a", b"z");
    }
    leveldb_add(&mut second, 1, 16, 4 << 20, b"b", b"c");
    let mut third = Vec::new();
    delete(&mut third, 0, 10);
    vec![first, second, third]
}

#[test]
fn a_leveldb_directory_with_obsolete_tables_and_a_wal() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("nom");
    write_db(&db, &leveldb_records());
    for n in 11..17 {
        std::fs::write(db.join(format!("{n:06}.ldb")), vec![0u8; 100]).unwrap();
    }
    std::fs::write(db.join("000010.ldb"), vec![0u8; 70]).unwrap(); // compacted away
    std::fs::write(db.join("000020.log"), vec![0u8; 50]).unwrap(); // live WAL
    std::fs::write(db.join("000019.log"), vec![0u8; 40]).unwrap(); // old WAL
    std::fs::write(db.join("LOCK"), b"").unwrap();
    let i = inspect(tmp.path()).unwrap();
    assert_eq!(i.engine, "leveldb");
    assert_eq!(i.databases.len(), 1);
    let d = &i.databases[0];
    assert_eq!((d.levels[0].files, d.levels[1].files), (4, 1));
    assert_eq!(d.levels[0].bytes, 8 << 20);
    // 000010 (compacted away), 000015 (never in the MANIFEST) and the old log.
    assert_eq!((d.obsolete_files, d.obsolete_bytes), (3, 210));
    assert_eq!((d.wal_files, d.wal_bytes), (1, 50));
    assert_eq!(d.next_file_number, Some(30));
    assert_eq!(i.levels[0].files, 4, "totals");
    assert_eq!(d.levels[1].smallest_key.as_deref(), Some("b"));
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
}

#[test]
fn a_node_dir_with_several_databases_and_rocksdb_families() {
    let tmp = tempfile::tempdir().unwrap();
    write_db(&tmp.path().join("nom"), &leveldb_records());
    let mut r = Vec::new();
    varint(&mut r, 200);
    varint(&mut r, 1);
    varint(&mut r, 201);
    bytes(&mut r, b"blocks");
    let mut add = Vec::new();
    varint(&mut add, 200);
    varint(&mut add, 1);
    for n in 0..25 {
        rocksdb_add(
            &mut add,
            0,
            100 + n,
            1 << 10,
            &[0xff, n as u8],
            &[0xff, 0xfe],
        );
    }
    write_db(&tmp.path().join("chains/x/db/full"), &[r, add]);
    let i = inspect(tmp.path()).unwrap();
    assert_eq!(i.engine, "mixed");
    assert_eq!(i.databases.len(), 2);
    let rocks = i.databases.iter().find(|d| d.engine == "rocksdb").unwrap();
    let blocks = rocks
        .column_families
        .iter()
        .find(|c| c.name == "blocks")
        .unwrap();
    assert_eq!(blocks.levels[0].files, 25);
    assert!(
        blocks.levels[0]
            .smallest_key
            .as_deref()
            .unwrap()
            .starts_with("0xff")
    );
    assert!(
        rocks
            .warnings
            .iter()
            .any(|w| w.contains("25 files in L0") && w.contains("slowed")),
        "{:?}",
        rocks.warnings
    );
    assert!(
        i.warnings.iter().any(|w| w.contains("chains/x/db/full")),
        "named per database"
    );
    assert_eq!(i.levels[0].files, 4 + 25);
}

#[test]
fn hostile_and_damaged_directories_fail_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    write_db(&db, &leveldb_records());

    std::fs::write(db.join("CURRENT"), "../../../etc/passwd\n").unwrap();
    let e = inspect(&db).unwrap_err().to_string();
    assert!(e.contains("CURRENT") && e.contains("does not name"), "{e}");

    std::fs::write(db.join("CURRENT"), "MANIFEST-000009\n").unwrap();
    let e = inspect(&db).unwrap_err();
    assert!(
        matches!(e, DbError::Io { .. }) && e.to_string().contains("MANIFEST-000009"),
        "{e}"
    );

    std::fs::write(db.join("CURRENT"), "MANIFEST-000005\n").unwrap();
    let mut bytes = std::fs::read(db.join("MANIFEST-000005")).unwrap();
    bytes[12] ^= 0x40;
    std::fs::write(db.join("MANIFEST-000005"), &bytes).unwrap();
    let e = inspect(&db).unwrap_err().to_string();
    assert!(
        e.contains("MANIFEST-000005") && e.contains("checksum"),
        "{e}"
    );

    std::fs::write(db.join("MANIFEST-000005"), b"").unwrap();
    let e = inspect(&db).unwrap_err().to_string();
    assert!(e.contains("no complete record"), "{e}");

    let e = inspect(&tmp.path().join("missing"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing"), "{e}");
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert!(matches!(inspect(&empty), Err(DbError::NotFound { .. })));
}

#[test]
fn a_manifest_being_appended_to_is_read_up_to_its_last_whole_record() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    write_db(&db, &leveldb_records());
    let mut bytes = std::fs::read(db.join("MANIFEST-000005")).unwrap();
    let whole = bytes.len();
    let mut extra = Vec::new();
    leveldb_add(&mut extra, 2, 99, 1 << 30, b"x", b"y");
    bytes.extend_from_slice(&write_records(&[extra])[..20]);
    std::fs::write(db.join("MANIFEST-000005"), &bytes).unwrap();
    let d = &inspect(&db).unwrap().databases[0];
    assert_eq!(d.levels.len(), 2, "the cut record is not applied");
    assert_eq!(d.manifest_partial_tail_bytes, (bytes.len() - whole) as u64);
    assert!(d.warnings.iter().any(|w| w.contains("partial record")));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// Arbitrary MANIFEST bytes, and arbitrary edits in a well-formed log: an inspection
    /// or an error, never a panic.
    #[test]
    fn any_manifest_inspects_or_fails_cleanly(
        raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4096),
        records in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200), 0..6),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        write_db(tmp.path(), &[]);
        std::fs::write(tmp.path().join("MANIFEST-000005"), &raw).unwrap();
        let _ = inspect(tmp.path());
        write_db(tmp.path(), &records);
        let _ = inspect(tmp.path());
    }
}
