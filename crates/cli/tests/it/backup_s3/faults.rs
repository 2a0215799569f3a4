//! Injected faults: 10% errors, resets and stalls; a spent retry budget; a lost answer
//! to a create-if-absent PUT.
use std::time::{Duration, Instant};

use super::{
    BUCKET, Setup, assert_only_repository_objects, bytes_in, json, noise, one_line_error,
    random_tree, restore_same, snapshots, verify_read_data,
};
use crate::backup::ok;
use crate::s3::*;
use crate::support::*;

#[test]
fn s3_faults_10_percent() {
    let setup = Setup::new();
    let data = setup.path("data");
    random_tree(&data, 7, 20);
    let direct = setup.config("direct.toml", "s3://bkt/f", &setup.s3.endpoint, "");
    ok(&setup.nwc(&direct, &["init", "--pack-size", "1MiB"]));

    let proxy = FaultProxy::start(
        &setup.s3.endpoint,
        Faults {
            error_rate: 0.05,
            reset_rate: 0.03,
            stall_rate: 0.02,
            stall: Duration::from_secs(5),
            seed: 534,
            ..Faults::none()
        },
    );
    let config = setup.config(
        "faulty.toml",
        "s3://bkt/f",
        &proxy.endpoint(),
        "request_timeout = \"1s\"\n",
    );
    let started = Instant::now();
    let r = json(&setup.nwc(
        &config,
        &["backup", "--hot", data.to_str().unwrap(), "--json"],
    ));
    eprintln!(
        "backup through faults: {:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(r["size_bytes"].as_u64(), Some(bytes_in(&data)), "{r}");
    verify_read_data(&setup, &config);
    restore_same(&setup, &config, "latest", &data);

    let reqs = proxy.requests();
    let count = |f: &dyn Fn(Outcome) -> bool| reqs.iter().filter(|r| f(r.outcome)).count();
    let errors = count(&|o| matches!(o, Outcome::Injected(_)));
    let resets = count(&|o| matches!(o, Outcome::Reset | Outcome::ResetAfterForward(_)));
    let stalls = count(&|o| o == Outcome::Stalled);
    eprintln!(
        "{} requests: {errors} errors, {resets} resets, {stalls} stalls",
        reqs.len()
    );
    assert!(reqs.len() > 40, "{}", reqs.len());
    assert!(
        errors > 0 && resets > 0 && stalls > 0,
        "{errors} {resets} {stalls}"
    );
    assert!(
        reqs.iter()
            .any(|r| r.method == "PUT" && r.path.contains("/packs/") && r.outcome.is_fault()),
        "some pack upload was harmed"
    );
    // Everything the faults interrupted was finished by a retry.
    assert_eq!(
        setup.s3.keys(BUCKET, "f/snapshots/").len(),
        1,
        "one snapshot"
    );
    drop(proxy);
    assert_only_repository_objects(&setup, "f");
}

#[test]
fn s3_retry_budget_names_the_object() {
    let setup = Setup::new();
    let data = setup.path("data");
    random_tree(&data, 11, 3);
    let proxy = FaultProxy::start(&setup.s3.endpoint, Faults::none());
    let config = setup.config(
        "nw.toml",
        "s3://bkt/b",
        &proxy.endpoint(),
        "retries = 1\nrequest_timeout = \"5s\"\n",
    );
    ok(&setup.nwc(&config, &["init", "--pack-size", "1MiB"]));
    let good = json(&setup.nwc(
        &config,
        &["backup", "--hot", data.to_str().unwrap(), "--json"],
    ));
    let good_copy = setup.path("good");
    std::fs::create_dir_all(&good_copy).unwrap();
    for (rel, bytes) in dir_tree(&data) {
        let p = good_copy.join(rel.trim_end_matches('/'));
        if rel.ends_with('/') {
            std::fs::create_dir_all(&p).unwrap();
        } else {
            std::fs::write(&p, bytes).unwrap();
        }
    }
    let snaps_before = setup.snapshot_keys("b");
    assert_eq!(snaps_before.len(), 1);

    std::fs::write(data.join("db/new.ldb"), noise(99, 10 << 20)).unwrap();
    proxy.set_faults(Faults {
        error_rate: 1.0,
        path_contains: Some("/packs/".into()),
        seed: 3,
        ..Faults::none()
    });
    let started = Instant::now();
    // Two connections, so two uploaders, and more new packs than that: every uploader
    // fails while the packer still has packs to hand over.
    let o = setup.nwc(
        &config,
        &[
            "backup",
            "--hot",
            data.to_str().unwrap(),
            "--connections",
            "2",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}\n{}", stdout(&o), stderr(&o));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "retries = 1 gives up soon: {:?}",
        started.elapsed()
    );
    let err = one_line_error(&o);
    eprintln!("{err}");
    assert!(err.contains("packs/"), "names the pack object: {err}");
    let pack_puts = proxy.count(|r| r.method == "PUT" && r.path.contains("/packs/"));
    assert!(pack_puts >= 2, "tried and retried: {pack_puts}");
    assert_eq!(
        setup.s3.keys(BUCKET, "b/locks/"),
        Vec::<String>::new(),
        "the failed backup released its lock"
    );

    proxy.set_faults(Faults::none());
    let snaps = snapshots(&setup, &config);
    assert_eq!(snaps.len(), 1, "{snaps:?}");
    assert_eq!(snaps[0]["id"], good["id"]);
    assert_eq!(
        setup.snapshot_keys("b"),
        snaps_before,
        "no new snapshot object"
    );
    restore_same(&setup, &config, "latest", &good_copy);
}

/// A create-if-absent PUT (the repository config, every lock) whose answer is lost after
/// the server stored it: retried, and the object found is recognised as our own.
#[test]
fn s3_lost_answer_to_a_conditional_put_is_retried() {
    let setup = Setup::new();
    let data = setup.path("data");
    random_tree(&data, 3, 1);
    let proxy = FaultProxy::start(&setup.s3.endpoint, Faults::none());
    let config = setup.config("nw.toml", "s3://bkt/l", &proxy.endpoint(), "");
    // Seed 208 with rate 0.5: the first eligible request is reset, the next five pass.
    let lose_first = |path: &str| Faults {
        reset_rate: 0.5,
        reset_after_forward: 1.0,
        path_contains: Some(path.into()),
        method: Some("PUT".into()),
        seed: 208,
        ..Faults::none()
    };
    proxy.set_faults(lose_first("/bkt/l/config"));
    ok(&setup.nwc(&config, &["init", "--pack-size", "1MiB"]));
    proxy.set_faults(lose_first("/bkt/l/locks/"));
    let r = json(&setup.nwc(
        &config,
        &["backup", "--hot", data.to_str().unwrap(), "--json"],
    ));
    let lost: Vec<String> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.outcome == Outcome::ResetAfterForward(200))
        .map(|r| r.path)
        .collect();
    assert_eq!(lost.len(), 2, "{lost:?}");
    assert!(
        lost[0].ends_with("/l/config") && lost[1].contains("/l/locks/"),
        "{lost:?}"
    );
    assert_eq!(setup.snapshot_keys("l").len(), 1, "{r}");
    assert_only_repository_objects(&setup, "l");
    proxy.set_faults(Faults::none());
    let o = setup.nwc(&config, &["init"]);
    assert_eq!(o.status.code(), Some(2), "a second init is still refused");
    assert!(stderr(&o).contains("already"), "{}", stderr(&o));
}
