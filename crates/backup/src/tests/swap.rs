//! Freeze and the restore swap, on real directories.
use std::cell::Cell;
use std::os::unix::fs::MetadataExt;

use super::harness::*;
use crate::*;

struct FakeNode {
    starts_ok: bool,
    stops: Cell<u32>,
    starts: Cell<u32>,
}

impl ServiceControl for FakeNode {
    fn stop(&self) -> Result<()> {
        self.stops.set(self.stops.get() + 1);
        Ok(())
    }
    fn start(&self) -> Result<()> {
        self.starts.set(self.starts.get() + 1);
        if self.starts_ok || self.starts.get() > 1 {
            Ok(())
        } else {
            Err(BackupError::Service("node did not answer".into()))
        }
    }
}

#[test]
fn a_node_that_does_not_start_on_the_restored_data_is_rolled_back() {
    let f = Fixture::new();
    let data = f.path("data");
    make_data(&data);
    let repo = f.init(None);
    f.hot(&repo, &data, None);
    let target = f.path("live");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("old-state"), b"the node's own data").unwrap();
    let all = list_snapshots(&repo).unwrap();
    let node = FakeNode {
        starts_ok: false,
        stops: Cell::new(0),
        starts: Cell::new(0),
    };
    let e = restore(
        &repo,
        &all[0],
        &target,
        &RestoreOptions::default(),
        Some(&node),
        &Silent,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("rolled back"), "{e}");
    assert_eq!(
        std::fs::read(target.join("old-state")).unwrap(),
        b"the node's own data"
    );
    assert_eq!(
        (node.stops.get(), node.starts.get()),
        (2, 2),
        "stopped, started, stopped, restarted on the old data"
    );

    let node = FakeNode {
        starts_ok: true,
        stops: Cell::new(0),
        starts: Cell::new(0),
    };
    restore(
        &repo,
        &all[0],
        &target,
        &RestoreOptions::default(),
        Some(&node),
        &Silent,
    )
    .unwrap();
    assert_same(&data, &target);
    assert_eq!((node.stops.get(), node.starts.get()), (1, 1));
}

#[test]
fn freeze_links_tables_and_copies_the_rest() {
    let f = Fixture::new();
    let data = f.path("data");
    make_data(&data);
    let frozen = freeze(&data, &freeze_dir_for(&data), false).unwrap();
    assert_eq!(frozen.method, FreezeMethod::Hardlink);
    assert_eq!(frozen.linked, 6, "the six .ldb files");
    let ino = |p: &std::path::Path| std::fs::metadata(p).unwrap().ino();
    assert_eq!(
        ino(&data.join("nom/000001.ldb")),
        ino(&frozen.dir.join("nom/000001.ldb"))
    );
    assert_ne!(
        ino(&data.join("nom/CURRENT")),
        ino(&frozen.dir.join("nom/CURRENT"))
    );
    let dir = frozen.dir.clone();
    assert_eq!(
        tree(&data).keys().collect::<Vec<_>>(),
        tree(&dir).keys().collect::<Vec<_>>()
    );
    drop(frozen);
    assert!(!dir.exists(), "the freeze dir goes with the Frozen value");
}

#[test]
fn freeze_across_filesystems_copies_and_says_so() {
    // /dev/shm is a tmpfs: a link from there into the temp dir's filesystem fails (EXDEV).
    let shm = std::path::Path::new("/dev/shm");
    let f = Fixture::new();
    if !shm.is_dir()
        || std::fs::metadata(shm).unwrap().dev() == std::fs::metadata(f.tmp.path()).unwrap().dev()
    {
        eprintln!("skipped: no second filesystem at /dev/shm");
        return;
    }
    let data = tempfile::tempdir_in(shm).unwrap();
    make_data(data.path());
    let frozen = freeze(data.path(), &f.path("frozen"), false).unwrap();
    assert_eq!(frozen.method, FreezeMethod::Copy);
    assert_eq!(frozen.linked, 0);
    assert_same(data.path(), &frozen.dir);
}
