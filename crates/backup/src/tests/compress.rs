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

/// The chunk sizes `Ingest::read` cuts `data` into under `hint`.
fn cuts(repo: &crate::Repository, data: &[u8], hint: Hint) -> Vec<u64> {
    let index = crate::repo::Index::default();
    let (tx, rx) = std::sync::mpsc::sync_channel(1024);
    let ingest = crate::pack::Ingest {
        repo,
        index: &index,
        claimed: Default::default(),
        tx,
        progress: &crate::progress::Silent,
        level: Level::new(None),
    };
    let (ids, total) = ingest
        .read(data, Some(data.len() as u64), hint, "test")
        .unwrap();
    assert_eq!(total, data.len() as u64);
    drop(ingest);
    let blobs: HashMap<String, u64> = rx
        .into_iter()
        .flatten()
        .map(|b| (hex(&b.id), b.raw_len))
        .collect();
    ids.iter().map(|id| blobs[id]).collect()
}

#[test]
fn tables_are_cut_in_fixed_pieces_and_everything_else_by_content() {
    let f = Fixture::new();
    let repo = f.init(None);
    let max = u64::from(repo.config.chunker.max);
    let data = noise(3, (2 * max + 12_345) as usize);
    for hint in [
        Hint::Engine(Codec::Lz),
        Hint::Engine(Codec::Entropy),
        Hint::Plain,
    ] {
        assert_eq!(cuts(&repo, &data, hint), [max, max, 12_345], "{hint:?}");
    }
    // A whole number of pieces leaves no empty chunk behind.
    assert_eq!(
        cuts(&repo, &data[..2 * max as usize], Hint::Plain),
        [max, max]
    );
    let cdc = cuts(&repo, &data, Hint::Unknown);
    assert_eq!(cdc.iter().sum::<u64>(), data.len() as u64);
    assert!(cdc.len() > 3 && cdc.iter().all(|&c| c <= max), "{cdc:?}");
}

/// Restore writes chunks that start on a block boundary around the page cache and the
/// rest buffered, in the same file too: single-chunk files of and around the direct
/// threshold, a large file FastCDC cut at unaligned offsets, and a real table.
#[test]
fn restore_is_bit_exact_whichever_way_each_chunk_is_written() {
    let f = Fixture::new();
    let repo = f.init(Some(crate::Secret::KeyFile(vec![9; 32])));
    let data = f.path("data");
    std::fs::create_dir_all(&data).unwrap();
    let mib = 1 << 20;
    for (name, n) in [
        ("small", 5_000),
        ("below", mib - 1),
        ("exact", mib),
        ("blocks", 2 * mib + 4096),
        ("tail", 3 * mib + 17),
        ("cdc", 11 * mib + 4095),
    ] {
        std::fs::write(data.join(name), noise(n as u64, n)).unwrap();
    }
    crate::sniff::tests::write_db("rocksdb", "lz4", &data.join("rocks"));
    f.hot(&repo, &data, None);
    let out = f.path("out");
    f.restore_to(&repo, "latest", &out, false);
    assert_same(&data, &out);
}
