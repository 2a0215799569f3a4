//! PostgreSQL in a node's snapshot: `pg_dump -Fc` into the repository, `pg_restore` into a
//! named database, against the real PostgreSQL that scripts/test.sh starts on loopback.
use std::process::Command;
use std::time::Duration;

use crate::backup::{ManagedNode, ok};
use crate::support::*;

fn base_url() -> String {
    std::env::var("NODEWARDEN_PG_URL").unwrap_or_else(|_| {
        panic!("NODEWARDEN_PG_URL is not set: run scripts/test.sh, which starts a test PostgreSQL")
    })
}

fn db_url(name: &str) -> String {
    let base = base_url();
    format!("{}/{name}", base.rsplit_once('/').unwrap().0)
}

fn psql(url: &str, sql: &str) -> String {
    let o = Command::new("psql")
        .args(["-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", url, "-c", sql])
        .output()
        .expect("psql runs");
    assert!(
        o.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

struct Db(String);

impl Drop for Db {
    fn drop(&mut self) {
        // Never panic here: a panic while the test is already unwinding aborts the whole
        // test binary and hides every other result.
        let Ok(base) = std::env::var("NODEWARDEN_PG_URL") else {
            return;
        };
        let _ = Command::new("psql")
            .args([
                "-X",
                "-q",
                &base,
                "-c",
                &format!("drop database if exists {}", self.0),
            ])
            .output();
    }
}

#[test]
fn postgres_is_dumped_into_the_snapshot_and_restored_with_pg_restore() {
    let tag = std::process::id();
    let (src, dst) = (Db(format!("nw_src_{tag}")), Db(format!("nw_dst_{tag}")));
    psql(&base_url(), &format!("create database {}", src.0));
    psql(&base_url(), &format!("create database {}", dst.0));
    psql(
        &db_url(&src.0),
        "create table momentum (height bigint primary key, hash text not null); \
         insert into momentum select g, md5(g::text) from generate_series(1, 20000) g",
    );
    let tmp = tempfile::tempdir().unwrap();
    let node = ManagedNode::with_pg(tmp.path(), &[db_url(&src.0)]);
    wait_until("some blocks", Duration::from_secs(30), || {
        node.height() > 50
    });
    ok(&node.nw(&["init"]));
    ok(&node.nw(&["backup", "--node", "znn"]));
    // Changed after the snapshot: the restore must bring back the old state.
    psql(&db_url(&src.0), "delete from momentum where height > 100");
    let target = tmp.path().join("restored");
    let out = ok(&node.nw(&[
        "restore",
        "latest",
        "--target",
        target.to_str().unwrap(),
        "--pg-into",
        &db_url(&dst.0),
    ]));
    assert!(
        out.contains(&format!("restored PostgreSQL database {}", src.0)),
        "{out}"
    );
    let sum = "select count(*) || ':' || md5(string_agg(hash, ',' order by height)) from momentum";
    let restored = psql(&db_url(&dst.0), sum);
    let expected = psql(
        &base_url(),
        "select 20000 || ':' || md5(string_agg(md5(g::text), ',' order by g)) from generate_series(1, 20000) g",
    );
    assert_eq!(restored, expected);
    let o = node.nw(&["verify", "--read-data"]);
    assert!(ok(&o).starts_with("ok:"));
    // A database that cannot be dumped fails the backup with its name, password hidden.
    let bad = db_url("no_such_db_nodewarden").replace("nodewarden@", "nodewarden:hunter2@");
    let tmp2 = tempfile::tempdir().unwrap();
    let node2 = ManagedNode::with_pg(tmp2.path(), &[bad]);
    ok(&node2.nw(&["init"]));
    let o = node2.nw(&["backup", "--node", "znn"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no_such_db_nodewarden"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("hunter2"), "{}", stderr(&o));
}
