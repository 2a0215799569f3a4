//! Tables written by the real engines (the C++ LevelDB through plyvel, RocksDB through
//! rocksdict) with each compression, then the same tables cut, bit-flipped and forged.
use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::prelude::*;

use super::*;

fn python() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let p = std::env::var_os("NODEWARDEN_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".cache/py/bin/python"));
    assert!(
        p.exists(),
        "{} not found: run scripts/test.sh, which installs plyvel and rocksdict (or set NODEWARDEN_PYTHON)",
        p.display()
    );
    p
}

/// Writes records that compress about as chain data does (hashes beside repeated text),
/// enough to flush several data blocks, and returns every table file.
const WRITE: &str = r#"
import hashlib, sys, os
engine, path, comp = sys.argv[1], sys.argv[2], sys.argv[3]
def recs():
    for i in range(3000):
        k = hashlib.sha256(b"%d" % i).digest()
        yield k, k + b"producer z1qqjnwjjpnue8xmmpanz6csze6tcmtzzdtfsww7 height %d " % i * 3
if engine == "leveldb":
    import plyvel
    db = plyvel.DB(path, create_if_missing=True, compression=None if comp == "none" else comp)
    for k, v in recs():
        db.put(k, v)
    db.compact_range()
    db.close()
else:
    from rocksdict import Rdict, Options, DBCompressionType
    o = Options(raw_mode=True)
    o.create_if_missing(True)
    o.set_compression_type(getattr(DBCompressionType, comp)())
    db = Rdict(path, o)
    for k, v in recs():
        db.put(k, v)
    db.flush()
    db.compact_range(None, None)
    db.close()
"#;

/// A database in `dir` written by `engine` (`leveldb`, `rocksdb`) with block compression
/// `comp` (`snappy`, `lz4`, `zstd`, `none`).
pub fn write_db(engine: &str, comp: &str, dir: &Path) {
    std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
    let out = Command::new(python())
        .args(["-c", WRITE, engine])
        .arg(dir)
        .arg(comp)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{engine} {comp}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn tables(engine: &str, comp: &str) -> Vec<Vec<u8>> {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    write_db(engine, comp, &dir);
    let found: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ldb" || x == "sst"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert!(!found.is_empty(), "{engine} {comp} wrote no table");
    found
}

#[test]
fn leveldb_tables_name_their_block_compression() {
    for t in tables("leveldb", "snappy") {
        assert_eq!(table(t.as_slice()), Hint::Engine(Codec::Lz));
    }
    for t in tables("leveldb", "none") {
        assert_eq!(table(t.as_slice()), Hint::Plain);
    }
}

#[test]
fn rocksdb_tables_name_their_compressor() {
    for (comp, want) in [
        ("snappy", Hint::Engine(Codec::Lz)),
        ("lz4", Hint::Engine(Codec::Lz)),
        ("zstd", Hint::Engine(Codec::Entropy)),
        ("none", Hint::Plain),
    ] {
        for t in tables("rocksdb", comp) {
            assert_eq!(table(t.as_slice()), want, "rocksdb {comp}");
        }
    }
}

#[test]
fn a_table_read_through_the_file_reads_as_in_memory() {
    let t = tables("leveldb", "snappy").remove(0);
    let tmp = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tmp.path(), &t).unwrap();
    let f = std::fs::File::open(tmp.path()).unwrap();
    assert_eq!(
        table(&SizedFile(&f, t.len() as u64)),
        Hint::Engine(Codec::Lz)
    );
    // A size listed larger than the file (it shrank since): the reads fail, no hint.
    assert_eq!(table(&SizedFile(&f, t.len() as u64 + 100)), Hint::Unknown);
}

#[test]
fn other_files_and_truncated_tables_are_unknown() {
    assert_eq!(table(&b""[..]), Hint::Unknown);
    assert_eq!(table(&[0u8; 4096][..]), Hint::Unknown);
    assert_eq!(table(&b"{\"json\": true}\n".repeat(100)[..]), Hint::Unknown);
    for t in tables("leveldb", "snappy")
        .into_iter()
        .chain(tables("rocksdb", "lz4"))
    {
        for cut in [1, 5, 47, 48, 53, 100, t.len() / 2] {
            assert_eq!(table(&t[..t.len() - cut]), Hint::Unknown, "cut {cut}");
        }
        // The footer alone: every handle points outside what is there.
        assert_eq!(table(&t[t.len() - 53..]), Hint::Unknown);
    }
}

#[test]
fn forged_footers_with_huge_handles_are_unknown() {
    let mut f = vec![0u8; 48];
    // metaindex and index handles of u64::MAX offsets and sizes.
    let mut p = 0;
    for _ in 0..2 {
        for _ in 0..2 {
            f[p..p + 9].fill(0xff);
            f[p + 9] = 0x01;
            p += 10;
        }
    }
    f[40..].copy_from_slice(&LEGACY_MAGIC.to_le_bytes());
    assert_eq!(table(f.as_slice()), Hint::Unknown);
    // A v6 RocksDB footer claiming a 4 GiB metaindex.
    let mut r = vec![0u8; 53];
    r[1..5].copy_from_slice(&[0x3e, 0, 0x7a, 0]);
    r[13..17].copy_from_slice(&u32::MAX.to_le_bytes());
    r[41..45].copy_from_slice(&6u32.to_le_bytes());
    r[45..].copy_from_slice(&ROCKSDB_MAGIC.to_le_bytes());
    assert_eq!(table(r.as_slice()), Hint::Unknown);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    /// Any bytes flipped anywhere in the tail of a real table: an answer, never a panic.
    #[test]
    fn damaged_tables_never_panic(flips in proptest::collection::vec((0usize..4096, any::<u8>()), 1..8)) {
        thread_local! {
            static T: Vec<u8> = tables("rocksdb", "lz4").remove(0);
            static L: Vec<u8> = tables("leveldb", "snappy").remove(0);
        }
        for t in [T.with(Clone::clone), L.with(Clone::clone)] {
            let mut t = t;
            let n = t.len();
            for &(at, b) in &flips {
                let i = n - 1 - at.min(n - 1);
                t[i] ^= b;
            }
            let _ = table(t.as_slice());
        }
    }
}
