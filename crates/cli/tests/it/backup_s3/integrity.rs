//! A writer to the bucket without the key: an unencrypted config on S3 is refused, and an
//! authenticated one cannot be edited.
use super::{BUCKET, Setup, one_line_error};
use crate::backup::ok;
use crate::s3::*;
use crate::support::*;

#[test]
fn s3_config_edited_to_plain_or_otherwise_is_refused() {
    let setup = Setup::new();
    let data = setup.path("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("f"), b"data").unwrap();
    let config = setup.config("nw.toml", "s3://bkt/ri", &setup.s3.endpoint, "");
    ok(&setup.nwc(&config, &["init", "--pack-size", "1MiB"]));
    ok(&setup.nwc(&config, &["backup", "--hot", data.to_str().unwrap()]));
    let original = setup.s3.get_object(BUCKET, "ri/config").unwrap();
    let mut c: serde_json::Value = serde_json::from_slice(&original).unwrap();
    c["encryption"] = serde_json::Value::Null;
    setup
        .s3
        .put_object(BUCKET, "ri/config", &serde_json::to_vec(&c).unwrap());
    // Without a password too: a remote repository is never plain.
    let env: Vec<_> = setup
        .env
        .iter()
        .filter(|(k, _)| *k != "NODEWARDEN_PASSWORD")
        .cloned()
        .collect();
    for o in [
        setup.nwc(&config, &["snapshots"]),
        run_env(&env, &["--config", &config, "snapshots"]),
        run_env(
            &env,
            &[
                "--config",
                &config,
                "backup",
                "--hot",
                data.to_str().unwrap(),
            ],
        ),
    ] {
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let err = one_line_error(&o);
        assert!(
            err.contains("s3://bkt/ri") && err.contains("config"),
            "{err}"
        );
    }
    let mut c: serde_json::Value = serde_json::from_slice(&original).unwrap();
    c["pack_size"] = (2u64 << 20).into();
    setup
        .s3
        .put_object(BUCKET, "ri/config", &serde_json::to_vec(&c).unwrap());
    let o = setup.nwc(&config, &["snapshots"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(one_line_error(&o).contains("does not authenticate"));
    setup.s3.put_object(BUCKET, "ri/config", &original);
    assert_eq!(super::snapshots(&setup, &config).len(), 1);
}
