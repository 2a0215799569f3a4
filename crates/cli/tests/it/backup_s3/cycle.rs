//! A full backup cycle with encryption, where credentials come from, multipart packs.
use std::path::Path;
use std::time::Duration;

use super::{
    BUCKET, PASSWORD, Setup, assert_only_repository_objects, bytes_in, json, noise, one_line_error,
    random_tree, restore_same, snapshots, verify_read_data,
};
use crate::backup::ok;
use crate::s3::*;
use crate::support::*;

/// The sim's real LevelDB data dir, after a short sync; the sim is stopped.
fn sim_data_dir(dir: &Path) {
    let sim = SimProc::quick("zenon", dir);
    wait_until(
        "the sim to sync some blocks",
        Duration::from_secs(30),
        || {
            rpc(&sim.url, "stats.syncInfo", "[]")["result"]["currentHeight"]
                .as_u64()
                .unwrap_or(0)
                > 300
        },
    );
    let (status, _) = sim.stop();
    assert!(status.success(), "{status}");
}

#[test]
fn s3_full_cycle_with_encryption() {
    let setup = Setup::new();
    let data = setup.path("data");
    sim_data_dir(&data.join("znn"));
    let marker = b"NODEWARDEN-PLAINTEXT-MARKER-d41d8cd98f00";
    let mut secret = noise(1, 300_000);
    secret.extend_from_slice(marker);
    secret.extend(noise(2, 300_000));
    std::fs::write(data.join("wallet.bin"), &secret).unwrap();
    std::fs::write(data.join("small.txt"), b"first version\n").unwrap();
    std::fs::write(data.join("big.bin"), noise(3, 6 << 20)).unwrap();
    std::os::unix::fs::symlink("znn", data.join("current")).unwrap();
    let data_s = data.to_str().unwrap();
    let url = "s3://bkt/r1";
    let config = setup.config("nw.toml", url, &setup.s3.endpoint, "");

    // Unencrypted: refused, nothing written.
    let env: Vec<_> = setup
        .env
        .iter()
        .filter(|(k, _)| *k != "NODEWARDEN_PASSWORD")
        .cloned()
        .collect();
    let o = run_env(&env, &["--config", &config, "init", "--pack-size", "1MiB"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = one_line_error(&o);
    assert!(
        err.contains("s3://bkt/r1 is a remote repository and must be encrypted"),
        "{err}"
    );
    assert_eq!(setup.s3.keys(BUCKET, ""), Vec::<String>::new());

    let out = ok(&setup.nwc(&config, &["init", "--pack-size", "1MiB"]));
    assert!(out.contains("encrypted"), "{out}");
    let cfg: serde_json::Value =
        serde_json::from_slice(&setup.s3.get_object(BUCKET, "r1/config").unwrap()).unwrap();
    assert_eq!(cfg["pack_size"], 1 << 20, "{cfg}");
    assert!(cfg["encryption"].is_object(), "{cfg}");
    let o = setup.nwc(&config, &["init"]);
    assert_eq!(o.status.code(), Some(2), "init twice: {}", stderr(&o));

    let first = json(&setup.nwc(
        &config,
        &["backup", "--hot", data_s, "--node", "znn", "--json"],
    ));
    let id = first["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 64, "{first}");
    assert!(
        first["name"]
            .as_str()
            .unwrap()
            .starts_with("znn-h0-00000000-"),
        "{first}"
    );
    let size = first["size_bytes"].as_u64().unwrap();
    assert_eq!(size, bytes_in(&data), "{first}");
    assert!(size > 6 << 20, "{first}");
    assert_eq!(first["bytes_read"].as_u64(), Some(size), "{first}");
    assert!(first["files"].as_u64().unwrap() > 5, "{first}");
    assert_eq!(first["files_read"], first["files"], "{first}");
    assert!(first["new_chunks"].as_u64().unwrap() > 7, "{first}");
    let stored = first["stored_bytes"].as_u64().unwrap();
    assert!(stored > 6 << 20 && stored < size + (1 << 20), "{first}");
    assert_eq!(first["signed_by"], serde_json::Value::Null);
    let packs = setup.packs("r1");
    assert!(packs.len() >= 5, "1 MiB packs: {packs:?}");
    assert!(
        packs.values().all(|&s| s < 5 << 20),
        "packs are cut near 1 MiB: {packs:?}"
    );

    let snaps = snapshots(&setup, &config);
    assert_eq!(snaps.len(), 1);
    let s = &snaps[0];
    assert_eq!(s["id"], id.as_str());
    assert_eq!(s["name"], first["name"]);
    assert_eq!(s["node"], "znn");
    assert_eq!(s["kind"], "dir");
    assert_eq!(s["size_bytes"].as_u64(), Some(size));
    assert_eq!(s["signed"], false);
    verify_read_data(&setup, &config);

    // Change one small file: the second backup stores little.
    std::fs::write(data.join("small.txt"), b"second version\n").unwrap();
    let second = json(&setup.nwc(
        &config,
        &["backup", "--hot", data_s, "--node", "znn", "--json"],
    ));
    assert!(
        second["stored_bytes"].as_u64().unwrap() < 64 << 10,
        "an unchanged tree is not stored again: {second}"
    );
    assert!(second["files_read"].as_u64().unwrap() <= 2, "{second}");
    assert_eq!(snapshots(&setup, &config).len(), 2);

    let o = setup.nwc(&config, &["forget", "--keep-last", "1", "--prune"]);
    ok(&o);
    let snaps = snapshots(&setup, &config);
    assert_eq!(snaps.len(), 1);
    assert_eq!(snaps[0]["id"], second["id"]);
    assert_eq!(setup.snapshot_keys("r1").len(), 1);
    verify_read_data(&setup, &config);

    restore_same(&setup, &config, "latest", &data);
    assert_only_repository_objects(&setup, "r1");

    // verify reads what is in the bucket: a flipped byte in a pack is found and named.
    let (pack, _) = setup
        .packs("r1")
        .into_iter()
        .max_by_key(|(_, s)| *s)
        .unwrap();
    let good = setup.s3.get_object(BUCKET, &pack).unwrap();
    let mut bad = good.clone();
    bad[good.len() / 3] ^= 0x40;
    setup.s3.put_object(BUCKET, &pack, &bad);
    let o = setup.nwc(&config, &["verify", "--read-data"]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let id = pack.rsplit('/').next().unwrap();
    assert!(stdout(&o).contains(&id[..16]), "{}", stdout(&o));
    assert!(stdout(&o).contains("DAMAGED"), "{}", stdout(&o));
    setup.s3.put_object(BUCKET, &pack, &good);
    verify_read_data(&setup, &config);

    // Encrypted: no object shows the marker, nor the plain JSON of a snapshot.
    for (key, _) in setup.s3.list(BUCKET, "r1/") {
        let bytes = setup.s3.get_object(BUCKET, &key).unwrap();
        assert!(
            !bytes.windows(marker.len()).any(|w| w == marker),
            "{key} holds plaintext"
        );
        if key != "r1/config" {
            assert!(
                !bytes.windows(9).any(|w| w == b"small.txt"),
                "{key} names a file in plaintext"
            );
        }
    }
}

#[test]
fn s3_credentials_never_from_argv() {
    let setup = Setup::new();
    let endpoint = setup.s3.endpoint.clone();
    let home = setup.path("home");
    std::fs::create_dir_all(&home).unwrap();
    let base = vec![
        ("HOME", home.display().to_string()),
        ("NODEWARDEN_PASSWORD", PASSWORD.to_string()),
    ];
    let args = [
        "init",
        "--repo",
        "s3://bkt/creds",
        "--s3-endpoint",
        &endpoint,
    ];

    let o = run_env(&base, &args);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("nodewarden: "), "{err}");
    assert!(
        err.contains("no S3 credentials for s3://bkt/creds: "),
        "names the repository: {err}"
    );
    assert!(setup.s3.keys(BUCKET, "").is_empty());

    // No flag takes a key.
    for flag in [
        "--aws-access-key-id",
        "--access-key",
        "--s3-secret-access-key",
    ] {
        let mut a = args.to_vec();
        a.extend([flag, "AKIAEXAMPLE"]);
        let o = run_env(&setup.env, &a);
        assert_eq!(o.status.code(), Some(2), "{flag}: {}", stderr(&o));
    }
    let help = stdout(&run_env(&base, &["init", "--help"])).to_lowercase();
    assert!(
        !help.contains("--aws") && !help.contains("secret-access"),
        "{help}"
    );

    // A credentials file, with the profile chosen by AWS_PROFILE.
    let creds = setup.path("aws-credentials");
    std::fs::write(
        &creds,
        "[default]\naws_access_key_id = \n\n[backup]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    let mut file_env = base.clone();
    file_env.push(("AWS_SHARED_CREDENTIALS_FILE", creds.display().to_string()));
    file_env.push(("AWS_PROFILE", "backup".into()));
    let out = ok(&run_env(&file_env, &args));
    assert!(out.contains("created repository"), "{out}");
    assert!(setup.s3.get_object(BUCKET, "creds/config").is_some());
    let listed = ok(&run_env(
        &file_env,
        &[
            "snapshots",
            "--repo",
            "s3://bkt/creds",
            "--s3-endpoint",
            &endpoint,
        ],
    ));
    assert!(listed.contains("no snapshots"), "{listed}");

    let mut missing = file_env.clone();
    missing.retain(|(k, _)| *k != "AWS_PROFILE");
    missing.push(("AWS_PROFILE", "nope".into()));
    let o = run_env(
        &missing,
        &[
            "snapshots",
            "--repo",
            "s3://bkt/creds",
            "--s3-endpoint",
            &endpoint,
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = one_line_error(&o);
    assert!(
        err.contains("s3://bkt/creds") && err.contains("profile `nope`"),
        "{err}"
    );

    // A bad endpoint is named.
    let o = run_env(
        &setup.env,
        &[
            "snapshots",
            "--repo",
            "s3://bkt/creds",
            "--s3-endpoint",
            "localhost:9",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = one_line_error(&o);
    assert!(err.contains("localhost:9"), "{err}");
}

#[test]
fn s3_multipart_packs() {
    let setup = Setup::new();
    let data = setup.path("data");
    random_tree(&data, 31, 30);
    let proxy = FaultProxy::start(&setup.s3.endpoint, Faults::none());
    let config = setup.config(
        "nw.toml",
        "s3://bkt/m",
        &proxy.endpoint(),
        "part_size = \"5MiB\"\n",
    );
    ok(&setup.nwc(&config, &["init", "--pack-size", "12MiB"]));
    ok(&setup.nwc(&config, &["backup", "--hot", data.to_str().unwrap()]));

    let reqs = proxy.requests();
    let packs = |r: &&Request| r.path.contains("/packs/");
    let starts = reqs
        .iter()
        .filter(packs)
        .filter(|r| {
            r.method == "POST"
                && r.query
                    .split('&')
                    .any(|q| q == "uploads" || q == "uploads=")
        })
        .count();
    let parts = reqs
        .iter()
        .filter(packs)
        .filter(|r| {
            r.method == "PUT"
                && r.query.contains("partNumber=")
                && r.outcome == Outcome::Forwarded(200)
        })
        .collect::<Vec<_>>();
    let completes = reqs
        .iter()
        .filter(packs)
        .filter(|r| {
            r.method == "POST"
                && r.query.contains("uploadId=")
                && r.outcome == Outcome::Forwarded(200)
        })
        .count();
    assert!(starts >= 2, "{reqs:#?}");
    assert_eq!(completes, starts, "{reqs:#?}");
    assert!(parts.len() >= 2 * starts, "{parts:#?}");
    assert!(
        parts.iter().all(|p| p.body_len <= MIN_PART_SIZE),
        "5 MiB parts: {parts:#?}"
    );
    assert!(
        parts.iter().any(|p| p.body_len == MIN_PART_SIZE),
        "{parts:#?}"
    );
    let packs = setup.packs("m");
    assert!(
        packs.values().filter(|&&s| s > 12 << 20).count() >= 2,
        "{packs:?}"
    );
    assert_eq!(setup.s3.multipart_uploads(BUCKET), []);
    verify_read_data(&setup, &config);
}

#[test]
fn s3_missing_bucket_and_dead_endpoint_are_named() {
    let setup = Setup::new();
    let endpoint = setup.s3.endpoint.clone();
    let o = run_env(
        &setup.env,
        &[
            "init",
            "--repo",
            "s3://no-such-bucket/x",
            "--s3-endpoint",
            &endpoint,
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = one_line_error(&o);
    assert!(
        err.contains("the bucket `no-such-bucket` does not exist"),
        "{err}"
    );

    // Nothing listens: the retries are quick, and the cause is named, not just
    // "error sending request".
    let dead = format!("http://127.0.0.1:{}", dead_port());
    let started = std::time::Instant::now();
    let o = run_env(
        &setup.env,
        &["snapshots", "--repo", "s3://bkt/x", "--s3-endpoint", &dead],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = one_line_error(&o);
    assert!(
        err.contains("s3://bkt/x") && err.contains("Connection refused"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "gave up after {:?}",
        started.elapsed()
    );
}
