//! Property tests over the decoders of everything an attacker can write into a repository:
//! arbitrary bytes, and structure-aware mutations of valid objects (so that the input gets
//! past the id check and the JSON parser and reaches the checks behind them). Each must
//! return a value or an error, never panic, abort or allocate without bound.
//!
//! In the suite they run a few cases each; `scripts/fuzz.sh` runs them for minutes with
//! `PROPTEST_CASES` raised and memory capped.
use proptest::prelude::*;
use serde_json::{Value, json};

use super::harness::*;
use crate::format::{IndexFile, LockFile, SnapshotFile};
use crate::*;

pub fn config(default_cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(default_cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A JSON value of any shape: what a mutation puts in place of a field.
pub fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop_oneof![
            Just(0u64),
            Just(1),
            Just(u32::MAX as u64),
            Just(u64::MAX),
            Just(1 << 40)
        ]
        .prop_map(Value::from),
        "[a-f0-9]{0,70}".prop_map(Value::from),
        "\\PC{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Replaces the value at one path (chosen by `pick`) of `v` with `with`.
pub fn mutate(v: &mut Value, pick: usize, with: Value) {
    let mut paths = Vec::new();
    collect(v, &mut Vec::new(), &mut paths);
    if paths.is_empty() {
        *v = with;
        return;
    }
    let path = &paths[pick % paths.len()];
    let mut cur = v;
    for step in path {
        cur = match step {
            Step::Key(k) => &mut cur[k.as_str()],
            Step::At(i) => &mut cur[*i],
        };
    }
    *cur = with;
}

enum Step {
    Key(String),
    At(usize),
}

fn collect(v: &Value, prefix: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    let here = |p: &Vec<Step>| {
        p.iter()
            .map(|s| match s {
                Step::Key(k) => Step::Key(k.clone()),
                Step::At(i) => Step::At(*i),
            })
            .collect()
    };
    out.push(here(prefix));
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                prefix.push(Step::Key(k.clone()));
                collect(c, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                prefix.push(Step::At(i));
                collect(c, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

/// Stores JSON as a plain repository does (zstd, named by its hash) so it passes the name
/// check and reaches the parsers.
fn store_named(repo: &Repository, folder: &str, json: &[u8]) -> String {
    let key = format!(
        "{folder}/{}",
        crate::format::hex(blake3::hash(json).as_bytes())
    );
    repo.put(&key, zstd::bulk::compress(json, 1).unwrap())
        .unwrap();
    key
}

fn sample_snapshot(f: &Fixture, repo: &Repository) -> Value {
    let data = f.path("data");
    std::fs::create_dir_all(data.join("d")).unwrap();
    std::fs::write(data.join("d/file"), b"content").unwrap();
    let _ = std::os::unix::fs::symlink("d/file", data.join("link"));
    f.hot(repo, &data, None);
    let l = list_snapshots(repo).unwrap().remove(0);
    serde_json::to_value(&l.snapshot).unwrap()
}

/// An encrypted repository's config, made once: Argon2id per case would make each case
/// cost a tenth of a second.
fn valid_config() -> &'static [u8] {
    static CONFIG: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    CONFIG.get_or_init(|| {
        let f = Fixture::new();
        f.init(Some(Secret::Passphrase("fuzz-fuzz".into())));
        std::fs::read(f.object("config")).unwrap()
    })
}

proptest! {
    #![proptest_config(config(24))]

    #[test]
    fn fuzz_blob_decoder(bytes in prop::collection::vec(any::<u8>(), 0..512), id in any::<[u8; 32]>()) {
        let f = Fixture::new();
        let repo = f.init(None);
        let _ = repo.open_blob(&id, &bytes, "pack fuzz");
        let enc = f.init_other(Some(Secret::KeyFile(vec![7; 32])));
        let _ = enc.open_blob(&id, &bytes, "pack fuzz");
    }

    #[test]
    fn fuzz_pack_header(
        tail in prop::collection::vec(any::<u8>(), 0..256),
        header in prop::collection::vec((any::<u64>(), any::<u64>(), any::<u64>()), 0..4),
        hlen in prop_oneof![Just(None), any::<u32>().prop_map(Some)],
    ) {
        let f = Fixture::new();
        let repo = f.init(None);
        // Structure-aware: a header listing blobs with arbitrary places, or raw bytes.
        let blobs: Vec<_> = header
            .iter()
            .map(|(o, l, r)| json!({"id": crate::format::hex(&[1; 32]), "offset": o, "length": l, "raw_len": r}))
            .collect();
        let h = serde_json::to_vec(&blobs).unwrap();
        let mut pack = crate::format::PACK_MAGIC.to_vec();
        pack.extend_from_slice(&tail);
        pack.extend_from_slice(&h);
        pack.extend_from_slice(&hlen.unwrap_or(h.len() as u32).to_le_bytes());
        let id = crate::pack::pack_header(&pack).map(crate::pack::pack_id).unwrap_or_else(|| "ab".repeat(32));
        let key = crate::format::pack_key(&id);
        repo.put(&key, pack.clone()).unwrap();
        let _ = crate::resume::header(&repo, &key, pack.len() as u64);
        let _ = repair_index(&repo, &Silent);
        let _ = repo.load_index();
    }

    #[test]
    fn fuzz_index_decoder(
        bytes in prop::collection::vec(any::<u8>(), 0..256),
        pick in any::<usize>(),
        with in any_json(),
    ) {
        let f = Fixture::new();
        let repo = f.init(None);
        repo.put(&format!("index/{}", "0".repeat(64)), bytes.clone()).unwrap();
        let valid = json!({"packs": [{"id": "ab".repeat(32), "size": 100, "blobs": [
            {"id": "cd".repeat(32), "offset": 8, "length": 50, "raw_len": 40}]}]});
        let mut v = valid;
        mutate(&mut v, pick, with);
        store_named(&repo, "index", &serde_json::to_vec(&v).unwrap());
        if let Ok(index) = repo.load_index() {
            for loc in index.chunks.values() {
                let _ = index.pack_of(loc);
            }
        }
        let _ = verify(&repo, Some(1.0), &Silent);
        let _ = serde_json::from_slice::<IndexFile>(&bytes);
    }

    #[test]
    fn fuzz_snapshot_decoder(
        bytes in prop::collection::vec(any::<u8>(), 0..256),
        name in "[a-f0-9]{1,70}",
        pick in any::<usize>(),
        with in any_json(),
    ) {
        let f = Fixture::new();
        let repo = f.init(None);
        let mut snap = sample_snapshot(&f, &repo);
        repo.put(&format!("snapshots/{name}"), bytes).unwrap();
        mutate(&mut snap, pick, with);
        let file = SnapshotFile { body: snap.to_string(), signature: None };
        store_named(&repo, "snapshots", &serde_json::to_vec(&file).unwrap());
        let (good, _bad) = scan_snapshots(&repo).unwrap();
        for l in &good {
            let _ = l.summary();
            for e in &l.snapshot.tree {
                let _ = check_entry(e);
            }
            let _ = check_trusted(&repo, l, &"00".repeat(32));
        }
        let _ = select(&good, "latest");
        let _ = verify(&repo, None, &Silent);
        let _ = crate::prune::forget(&repo, &KeepPolicy { last: Some(1), ..Default::default() }, true, &Silent);
    }

    #[test]
    fn fuzz_config_decoder(
        bytes in prop::collection::vec(any::<u8>(), 0..256),
        pick in any::<usize>(),
        with in any_json(),
    ) {
        let f = Fixture::new();
        let valid: Value = serde_json::from_slice(valid_config()).unwrap();
        let store = nodewarden_store::LocalStore::new(f.path("repo"));
        let _ = crate::repo::open_config(&bytes, &store, None);
        let mut v = valid;
        mutate(&mut v, pick, with);
        let raw = serde_json::to_vec(&v).unwrap();
        // A key file never runs Argon2id, so in-bounds parameters cost nothing here; the
        // bounds themselves are checked before the secret is looked at.
        for secret in [None, Some(Secret::KeyFile(vec![1; 32]))] {
            let _ = crate::repo::open_config(&raw, &store, secret.as_ref());
        }
    }

    #[test]
    fn fuzz_lock_decoder(
        bytes in prop::collection::vec(any::<u8>(), 0..256),
        time in prop_oneof!["\\PC{0,30}", Just("2099-01-01T00:00:00Z".to_string()), Just("1970-01-01T00:00:00Z".to_string())],
        pid in any::<u32>(),
        exclusive in any::<bool>(),
    ) {
        let f = Fixture::new();
        let repo = f.init(None);
        std::fs::create_dir_all(f.object("locks")).unwrap();
        std::fs::write(f.object("locks/raw"), &bytes).unwrap();
        let lock = LockFile { hostname: crate::lock::hostname(), pid, time, exclusive, what: "fuzz".into() };
        std::fs::write(f.object("locks/structured"), serde_json::to_vec(&lock).unwrap()).unwrap();
        let _ = crate::lock::Lock::shared(&repo, "fuzz", &Silent);
        let _ = unlock(&repo, false, &Silent);
    }
}
