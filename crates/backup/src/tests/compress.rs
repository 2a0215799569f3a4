//! What is compressed and what is stored raw: engine-compressed tables, incompressible
//! noise and compressible text, through `encode_blob` and through a whole backup.
use std::collections::HashMap;

use super::harness::*;
use crate::format::*;
use crate::pack::{Level, encode_blob};
use crate::sniff::{Codec, Hint};

/// The payload flag of a blob in an unencrypted repository (seal is the identity there).
fn flag(repo: &crate::Repository, data: &[u8], hint: Hint) -> u8 {
    let id = repo.keys.chunk_id(data);
    encode_blob(repo, id, data, Level::new(None), hint).sealed[0]
}

#[test]
fn the_hint_and_the_trial_decide_what_is_compressed() {
    let f = Fixture::new();
    let repo = f.init(None);
    let text = b"{\"height\": 1, \"hash\": \"ab\", \"state\": \"ok\"}\n".repeat(20_000);
    let random = noise(1, 1 << 20);
    assert_eq!(flag(&repo, &text, Hint::Unknown), BLOB_ZSTD);
    assert_eq!(flag(&repo, &text, Hint::Plain), BLOB_ZSTD);
    assert_eq!(flag(&repo, &text, Hint::Engine(Codec::Lz)), BLOB_ZSTD);
    // An entropy-coded table is never compressed again, whatever its bytes look like.
    assert_eq!(flag(&repo, &text, Hint::Engine(Codec::Entropy)), BLOB_RAW);
    // The trial sees noise and skips the real pass.
    assert_eq!(flag(&repo, &random, Hint::Unknown), BLOB_RAW);
    assert_eq!(flag(&repo, &random, Hint::Engine(Codec::Lz)), BLOB_RAW);
    // Small chunks get no trial; the 1/16 rule still stores noise raw.
    assert_eq!(flag(&repo, &random[..4096], Hint::Unknown), BLOB_RAW);
    // Noise with a compressible middle: the sample says compress, and it is.
    let mut mixed = random.clone();
    mixed[300_000..800_000].copy_from_slice(&text[..500_000]);
    assert_eq!(flag(&repo, &mixed, Hint::Unknown), BLOB_ZSTD);
}

#[test]
fn engine_tables_back_up_and_restore_bit_exact() {
    let f = Fixture::new();
    let repo = f.init(Some(crate::Secret::KeyFile(vec![7; 32])));
    let data = f.path("data");
    crate::sniff::tests::write_db("leveldb", "snappy", &data.join("nom"));
    crate::sniff::tests::write_db("rocksdb", "zstd", &data.join("rocks"));
    std::fs::write(data.join("config.json"), b"{\"a\": 1}\n".repeat(50_000)).unwrap();
    let report = f.hot(&repo, &data, None);
    assert!(report.stored_bytes < report.bytes_read, "{report:?}");
    let out = f.path("out");
    f.restore_to(&repo, "latest", &out, false);
    assert_same(&data, &out);

    // Which blobs are raw: the zstd tables' (stored at their size plus the seal), the
    // JSON's not.
    let index = repo.load_index().unwrap();
    let sizes: HashMap<String, (u64, u64)> = index
        .chunks
        .iter()
        .map(|(id, at)| (hex(id), (u64::from(at.length), u64::from(at.raw_len))))
        .collect();
    let snap = &crate::list_snapshots(&repo).unwrap()[0].snapshot;
    let overhead = 1 + repo.keys.prefix_len() as u64 + 16;
    let mut sst = 0;
    for e in &snap.tree {
        for c in &e.chunks {
            let (len, raw) = sizes[c];
            if e.path.starts_with("rocks/") && e.path.ends_with(".sst") {
                assert_eq!(len, raw + overhead, "{}", e.path);
                sst += 1;
            }
            if e.path == "config.json" {
                assert!(len < raw / 10, "{}: {len} of {raw}", e.path);
            }
        }
    }
    assert!(sst > 0, "no RocksDB table in the snapshot");
}
