//! Interrupted work resumes: a killed backup does not resend its packs, an interrupted
//! restore does not fetch them again.
use std::process::Stdio;
use std::time::Duration;

use super::{Setup, assert_same_tree, bytes_in, json, random_tree, restore_same, verify_read_data};
use crate::backup::ok;
use crate::s3::*;
use crate::support::*;

/// `nodewarden ARGS` with the setup's environment, running; killed (SIGKILL) on drop.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn pack_puts(proxy: &FaultProxy) -> Vec<Request> {
    proxy
        .requests()
        .into_iter()
        .filter(|r| {
            r.method == "PUT" && r.path.contains("/packs/") && r.outcome == Outcome::Forwarded(200)
        })
        .collect()
}

#[test]
fn s3_killed_backup_resumes_without_resending_packs() {
    let setup = Setup::new();
    let data = setup.path("data");
    random_tree(&data, 21, 30);
    let proxy = FaultProxy::start(&setup.s3.endpoint, Faults::none());
    let config = setup.config("nw.toml", "s3://bkt/k", &proxy.endpoint(), "");
    ok(&setup.nwc(&config, &["init", "--pack-size", "2MiB"]));
    proxy.clear();

    let data_s = data.to_str().unwrap();
    let child = command(&setup.env)
        .args([
            "--config",
            &config,
            "backup",
            "--hot",
            data_s,
            "--limit-upload",
            "4MiB",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    wait_until("4 pack uploads", Duration::from_secs(30), || {
        assert!(
            running.0.try_wait().unwrap().is_none(),
            "the capped backup ended before 4 packs were stored"
        );
        pack_puts(&proxy).len() >= 4
    });
    running.0.kill().unwrap();
    running.0.wait().unwrap();
    drop(running);
    let after_kill = setup.packs("k");
    assert!(after_kill.len() >= 4, "{after_kill:?}");
    let kill_bytes: u64 = after_kill.values().sum();
    assert!(
        setup.snapshot_keys("k").is_empty(),
        "killed before a snapshot"
    );

    proxy.clear();
    let o = setup.nwc(&config, &["backup", "--hot", data_s, "--json"]);
    let r = json(&o);
    let err = stderr(&o);
    assert!(err.contains("note: resuming: "), "{err}");
    let at_end = setup.packs("k");
    for k in after_kill.keys() {
        assert!(at_end.contains_key(k), "{k} was deleted");
    }
    let run2 = pack_puts(&proxy);
    for p in &run2 {
        assert!(
            !after_kill.keys().any(|k| p.path.ends_with(k.as_str())),
            "{} was sent again",
            p.path
        );
    }
    let sent: u64 = run2.iter().map(|p| p.body_len as u64).sum();
    let end_bytes: u64 = at_end.values().sum();
    let biggest = at_end.values().copied().max().unwrap();
    let total = bytes_in(&data);
    assert!(
        kill_bytes >= 4 * (2 << 20),
        "4 packs of 2+ MiB: {after_kill:?}"
    );
    assert!(
        end_bytes <= total + (64 << 10),
        "nothing is stored twice: {end_bytes} pack bytes for {total} bytes of random data"
    );
    assert!(
        sent <= end_bytes - kill_bytes + 2 * biggest,
        "run 2 sent {sent} pack bytes; {end_bytes} at the end, {kill_bytes} already there after the kill"
    );
    assert!(
        r["stored_bytes"].as_u64().unwrap() <= total - kill_bytes + 2 * biggest,
        "{r}"
    );
    verify_read_data(&setup, &config);
    restore_same(&setup, &config, "latest", &data);
}

#[test]
fn s3_interrupted_restore_resumes() {
    let setup = Setup::new();
    let data = setup.path("data");
    random_tree(&data, 51, 20);
    let proxy = FaultProxy::start(&setup.s3.endpoint, Faults::none());
    let config = setup.config("nw.toml", "s3://bkt/x", &proxy.endpoint(), "");
    ok(&setup.nwc(&config, &["init", "--pack-size", "1MiB"]));
    ok(&setup.nwc(&config, &["backup", "--hot", data.to_str().unwrap()]));
    let packs = setup.packs("x");
    assert!(packs.len() >= 6, "{packs:?}");
    proxy.clear();

    let target = setup.path("restored");
    let target_s = target.to_str().unwrap();
    let child = command(&setup.env)
        .args([
            "--config",
            &config,
            "restore",
            "latest",
            "--target",
            target_s,
            "--limit-download",
            "2MiB",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let pack_gets = |proxy: &FaultProxy| {
        proxy.count(|r| {
            r.method == "GET"
                && r.path.contains("/packs/")
                && matches!(r.outcome, Outcome::Forwarded(200 | 206))
        })
    };
    // Packs finished and journaled (one line each) next to the staging dir.
    let journal_lines = || -> usize {
        std::fs::read_dir(setup.tmp.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let n = p.file_name().unwrap().to_string_lossy();
                n.starts_with(".restored.nodewarden-staging-") && n.ends_with(".journal")
            })
            .map(|p| {
                std::fs::read(p)
                    .unwrap_or_default()
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
            })
            .sum()
    };
    wait_until("2 packs in the journal", Duration::from_secs(30), || {
        assert!(
            running.0.try_wait().unwrap().is_none(),
            "the capped restore ended before 2 packs were journaled"
        );
        journal_lines() >= 2
    });
    running.0.kill().unwrap();
    running.0.wait().unwrap();
    drop(running);
    assert!(!target.exists(), "nothing swapped in yet");
    let first_gets = pack_gets(&proxy);

    proxy.clear();
    let r = json(&setup.nwc(
        &config,
        &["restore", "latest", "--target", target_s, "--json"],
    ));
    let resumed = r["resumed_bytes"].as_u64().unwrap();
    assert!(resumed > 0 && resumed < bytes_in(&data), "{r}");
    let fetched = r["packs"].as_u64().unwrap();
    assert!(fetched > 0 && fetched < packs.len() as u64, "{r}");
    let second_gets = pack_gets(&proxy);
    assert!(
        second_gets < packs.len(),
        "packs fetched again: {second_gets} of {}",
        packs.len()
    );
    assert!(first_gets >= 2, "{first_gets}");
    assert_same_tree(&data, &target);
    let leftovers = nodewarden_leftovers(setup.tmp.path());
    assert!(
        leftovers.is_empty(),
        "staging and journal are gone: {leftovers:?}"
    );
}
