//! `copy` between a local and an S3 repository, both ways.
use super::{BUCKET, Setup, assert_same_tree, json, one_line_error, random_tree};
use crate::backup::ok;
use crate::s3::*;
use crate::support::*;

#[test]
fn s3_copy_round_trip_keeps_ids_and_signatures() {
    let setup = Setup::new();
    let data = setup.path("data");
    random_tree(&data, 41, 4);
    let local = setup.path("local");
    let local_s = local.to_str().unwrap();
    let key = setup.path("sign.key");
    std::fs::write(&key, "42".repeat(32)).unwrap();
    let plain: Vec<_> = setup
        .env
        .iter()
        .filter(|(k, _)| *k != "NODEWARDEN_PASSWORD")
        .cloned()
        .collect();
    let out = ok(&run_env(&plain, &["init", "--repo", local_s]));
    assert!(out.contains("NOT encrypted"), "{out}");
    let backup = |sign: bool| {
        let mut a = vec!["backup", "--hot", data.to_str().unwrap(), "--repo", local_s];
        if sign {
            a.extend(["--sign", key.to_str().unwrap()]);
        }
        ok(&run_env(&plain, &a));
    };
    backup(true);
    std::fs::write(data.join("db/CURRENT"), "MANIFEST-000009\n").unwrap();
    backup(true);
    let listed = |env: &[(&'static str, String)], repo: &str| -> Vec<(String, String)> {
        let v = json(&run_env(
            env,
            &[
                "snapshots",
                "--json",
                "--repo",
                repo,
                "--s3-endpoint",
                &setup.s3.endpoint,
            ],
        ));
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["id"].as_str().unwrap().to_string(),
                    s["signer"].as_str().unwrap_or("unsigned").to_string(),
                )
            })
            .collect()
    };
    let want = listed(&plain, local_s);
    assert_eq!(want.len(), 2);
    assert!(want.iter().all(|(_, s)| s.len() == 64), "{want:?}");

    let ep = &setup.s3.endpoint;
    let remote = "s3://bkt/copy";
    let copy = |from: &str, to: &str| {
        json(&setup.nw(&[
            "copy",
            "--from",
            from,
            "--to",
            to,
            "--s3-endpoint",
            ep,
            "--json",
        ]))
    };
    let r = copy(local_s, remote);
    assert_eq!(r["created"], true, "{r}");
    assert_eq!(r["copied"].as_array().unwrap().len(), 2, "{r}");
    assert_eq!(r["present"].as_array().unwrap().len(), 0, "{r}");
    assert!(r["chunks"].as_u64().unwrap() > 4, "{r}");
    assert!(
        r["destination_transfer"]["bytes_up"].as_u64().unwrap() > 4 << 20,
        "{r}"
    );
    assert_eq!(r["source_transfer"]["requests"], 0, "a local source: {r}");
    let cfg: serde_json::Value =
        serde_json::from_slice(&setup.s3.get_object(BUCKET, "copy/config").unwrap()).unwrap();
    assert!(
        cfg["encryption"].is_object(),
        "an S3 copy is encrypted: {cfg}"
    );
    assert_eq!(listed(&setup.env, remote), want);

    let again = copy(local_s, remote);
    assert_eq!(again["created"], false, "{again}");
    assert_eq!(again["copied"].as_array().unwrap().len(), 0, "{again}");
    assert_eq!(again["present"].as_array().unwrap().len(), 2, "{again}");
    assert_eq!(again["chunks"], 0, "{again}");
    assert!(
        again["destination_transfer"]["bytes_up"].as_u64().unwrap() < 4096,
        "{again}"
    );

    let back = setup.path("back");
    let back_s = back.to_str().unwrap();
    // The source's endpoint set apart: --s3-endpoint points nowhere, so only a source
    // opened with --from-s3-endpoint can answer.
    let nowhere = format!("http://127.0.0.1:{}", dead_port());
    let r = json(&setup.nw(&[
        "copy",
        "--from",
        remote,
        "--to",
        back_s,
        "--from-s3-endpoint",
        ep,
        "--s3-endpoint",
        &nowhere,
        "--json",
    ]));
    assert_eq!(r["created"], true, "{r}");
    assert_eq!(r["copied"].as_array().unwrap().len(), 2, "{r}");
    assert_eq!(listed(&setup.env, back_s), want);
    let target = setup.path("restored");
    let out = ok(&setup.nw(&[
        "restore",
        "latest",
        "--target",
        target.to_str().unwrap(),
        "--repo",
        back_s,
        "--trust",
        &want[1].1,
    ]));
    assert!(out.contains("restored"), "{out}");
    assert_same_tree(&data, &target);

    let other = setup.path("other");
    let other_s = other.to_str().unwrap();
    ok(&setup.nw(&["init", "--repo", other_s]));
    let o = setup.nw(&[
        "copy",
        "--from",
        remote,
        "--to",
        other_s,
        "--s3-endpoint",
        ep,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = one_line_error(&o);
    assert!(
        err.contains(other_s) && err.contains(remote),
        "names both: {err}"
    );
}
