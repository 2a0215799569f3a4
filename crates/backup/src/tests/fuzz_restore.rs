//! Property test of restore's path handling: crafted trees of directories, files and links
//! (names with `..`, `.`, `/`, NUL, links anywhere, entries in any order, duplicates) are
//! restored or refused, and nothing is ever created outside the target.
use proptest::prelude::*;

use super::fuzz::config;
use super::harness::*;
use crate::format::{Entry, EntryKind, SnapshotFile};
use crate::*;

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a".to_string()),
        Just("b".to_string()),
        Just("..".to_string()),
        Just(".".to_string()),
        Just("".to_string()),
        Just("x\0y".to_string()),
        "[a-c]{1,3}",
    ]
}

fn path() -> impl Strategy<Value = String> {
    (any::<bool>(), prop::collection::vec(name(), 1..4))
        .prop_map(|(abs, parts)| format!("{}{}", if abs { "/" } else { "" }, parts.join("/")))
}

fn entry() -> impl Strategy<Value = Entry> {
    let target = prop_oneof![
        path(),
        Just("../../../../outside".to_string()),
        Just("/tmp".to_string()),
        Just(String::new()),
    ];
    (path(), 0..3u8, target, any::<u32>()).prop_map(|(path, kind, target, mode)| {
        let kind = [EntryKind::Dir, EntryKind::File, EntryKind::Symlink][kind as usize];
        Entry {
            path,
            kind,
            mode: mode & 0o7777,
            size: 0,
            mtime_ns: 0,
            inode: 0,
            target: (kind == EntryKind::Symlink).then_some(target),
            target_hex: None,
            chunks: vec![],
        }
    })
}

fn files_under(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |rd| rd.count())
}

proptest! {
    #![proptest_config(config(12))]

    #[test]
    fn fuzz_restore_paths(tree in prop::collection::vec(entry(), 1..12), twice in any::<bool>()) {
        let f = Fixture::new();
        let data = f.path("data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("seed"), b"x").unwrap();
        let repo = f.init(None);
        f.hot(&repo, &data, None);
        let mut s = list_snapshots(&repo).unwrap().remove(0).snapshot;
        s.tree = tree;
        s.time = "2030-01-01T00:00:00Z".into();
        let body = serde_json::to_string(&s).unwrap();
        let id = repo.save("snapshots", &SnapshotFile { body, signature: None }).unwrap();
        let outside = f.path("outside");
        std::fs::create_dir_all(&outside).unwrap();
        let before = files_under(f.tmp.path());
        let all = list_snapshots(&repo).unwrap();
        let snap = all.iter().find(|l| l.id == id).unwrap();
        for _ in 0..if twice { 2 } else { 1 } {
            let _ = restore(&repo, snap, &f.path("work/t"), &RestoreOptions::default(), None, &Silent);
        }
        prop_assert_eq!(files_under(&outside), 0);
        // Only `work/` (target, staging, journal) may be new next to the repository.
        prop_assert!(files_under(f.tmp.path()) <= before + 1);
    }
}
