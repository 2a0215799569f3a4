use std::path::Path;
use std::time::Duration;

use nodewarden_rpc::{Kind, KindSpec};

use crate::{Config, ConfigError, NodeArg, Service, StallAfter};

const FULL: &str = r#"
[[node]]
name     = "znn-main"
kind     = "zenon"
rpc      = "http://127.0.0.1:35997"
data_dir = "/root/.znn"
process  = "znnd"
service  = { systemd = "go-zenon" }
backup   = { include = ["nom", "network", "consensus", "cache", "network-private-key"],
             critical = ["wallet", "config.json", "genesis.json"] }

[[node]]
name = "besu"
kind = "ethereum"
service = { stop = "systemctl stop besu", start = "systemctl start besu" }

[watch]
interval = "2s"
listen   = "127.0.0.1:9866"
record   = "nodewarden.db"
stall_after = "auto"

[repository]
url = "file:///var/backups/nodewarden"
"#;

#[test]
fn the_design_example_parses() {
    let c = Config::parse(FULL, Path::new("n.toml")).unwrap();
    assert_eq!(c.nodes.len(), 2);
    assert_eq!(c.nodes[0].kind, KindSpec::Known(Kind::Zenon));
    assert_eq!(
        c.nodes[0].service,
        Some(Service::Systemd {
            systemd: "go-zenon".into()
        })
    );
    assert_eq!(c.nodes[0].backup.as_ref().unwrap().critical.len(), 3);
    assert_eq!(c.nodes[1].rpc_url().unwrap(), "http://127.0.0.1:8545");
    assert!(matches!(c.nodes[1].service, Some(Service::Commands { .. })));
    assert_eq!(c.watch.interval, Duration::from_secs(2));
    assert_eq!(c.watch.stall_after, StallAfter::Auto);
    assert_eq!(
        c.repository.unwrap().url.as_deref(),
        Some("file:///var/backups/nodewarden")
    );
}

#[test]
fn unknown_keys_name_key_file_and_line() {
    let text = "[[node]]\nname = \"a\"\nkind = \"zenon\"\nrcp = \"http://x\"\n";
    let e = Config::parse(text, Path::new("/etc/nw.toml")).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, ConfigError::Parse { line: 4, .. }), "{msg}");
    assert!(msg.contains("/etc/nw.toml") && msg.contains("rcp"), "{msg}");
    assert!(!msg.contains('\n'), "one line: {msg}");

    let e = Config::parse("[watch]\nintervall = \"1s\"\n", Path::new("w.toml")).unwrap_err();
    assert!(e.to_string().contains("intervall"), "{e}");
    let e = Config::parse("[repo]\nurl = \"x\"\n", Path::new("w.toml")).unwrap_err();
    assert!(e.to_string().contains("repo"), "{e}");
}

#[test]
fn invalid_values_are_named() {
    let cases = [
        ("[[node]]\nname=\"a\"\nkind=\"bitcoin\"\n", "bitcoin"),
        (
            "[[node]]\nname=\"a\"\nkind=\"zenon\"\nrpc=\"127.0.0.1:35997\"\n",
            "must start with http",
        ),
        ("[[node]]\nname=\"a\"\nkind=\"auto\"\n", "explicit rpc"),
        (
            "[[node]]\nname=\"a\"\nkind=\"zenon\"\n[[node]]\nname=\"a\"\nkind=\"zenon\"\n",
            "twice",
        ),
        ("[watch]\ninterval=\"soon\"\n", "soon"),
        ("[watch]\nstall_after=\"sometime\"\n", "sometime"),
    ];
    for (text, needle) in cases {
        let e = Config::parse(text, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(needle) && e.contains("c.toml"), "{needle}: {e}");
    }
}

#[test]
fn node_args() {
    let a: NodeArg = "znn=zenon@http://127.0.0.1:35997".parse().unwrap();
    assert_eq!(
        (a.name.as_str(), a.kind),
        ("znn", KindSpec::Known(Kind::Zenon))
    );
    let b: NodeArg = "eth=ethereum".parse().unwrap();
    assert_eq!(b.to_config().rpc_url().unwrap(), "http://127.0.0.1:8545");
    let c: NodeArg = "x=auto@http://127.0.0.1:1".parse().unwrap();
    assert_eq!(c.kind, KindSpec::Auto);
    for bad in [
        "zenon@http://x",
        "=zenon",
        "a=auto",
        "a=zenon@ftp://x",
        "a=doge@http://x",
    ] {
        assert!(bad.parse::<NodeArg>().is_err(), "{bad}");
    }
    let cfg = Config::default().with_node_args(&[a, b]);
    assert_eq!(cfg.nodes.len(), 2);
    assert!(cfg.node("znn").is_ok());
    assert!(
        cfg.node("nope")
            .unwrap_err()
            .to_string()
            .contains("znn, eth")
    );
}

#[test]
fn missing_explicit_file_is_an_error() {
    let e = Config::load(Some(Path::new("/nonexistent/nw.toml"))).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/nw.toml"));
}

#[test]
fn chain_groups_and_references() {
    let text = r#"
[[node]]
name = "a"
kind = "zenon"
chain = "zenon-mainnet"
reference = true

[[node]]
name = "b"
kind = "zenon"
chain = "zenon-mainnet"

[[node]]
name = "c"
kind = "zenon"
"#;
    let c = Config::parse(text, Path::new("n.toml")).unwrap();
    let got: Vec<_> = c
        .nodes
        .iter()
        .map(|n| (n.chain.as_deref(), n.reference))
        .collect();
    assert_eq!(
        got,
        [
            (Some("zenon-mainnet"), true),
            (Some("zenon-mainnet"), false),
            (None, false)
        ]
    );
    for (bad, want) in [
        (
            "[[node]]\nname = \"a\"\nkind = \"zenon\"\nreference = true\n",
            "needs `chain",
        ),
        (
            "[[node]]\nname = \"a\"\nkind = \"zenon\"\nchain = \"\"\n",
            "chain \"\"",
        ),
        (
            "[[node]]\nname = \"a\"\nkind = \"zenon\"\nreference = \"yes\"\n",
            "line 4",
        ),
    ] {
        let e = Config::parse(bad, Path::new("n.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("n.toml") && e.contains(want), "{bad}: {e}");
    }
}

#[test]
fn remedy_rules_parse_with_defaults_and_need_a_service() {
    let toml = "[[node]]\nname = \"z\"\nkind = \"zenon\"\nservice = { systemd = \"go-zenon\" }\n[node.remedy]\nafter = \"30m\"\n";
    let c = Config::parse(toml, Path::new("n.toml")).unwrap();
    let r = c.nodes[0].remedy.clone().unwrap();
    assert_eq!(r.after, Some(Duration::from_secs(1800)));
    assert_eq!(
        (r.max, r.per, r.backoff),
        (2, Duration::from_secs(6 * 3600), Duration::from_secs(600))
    );
    assert!(r.enabled() && !r.dry_run);
    let e = Config::parse(
        "[[node]]\nname = \"z\"\nkind = \"zenon\"\n[node.remedy]\nafter = \"30m\"\n",
        Path::new("n.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("node `z`: [node.remedy] restarts through the node's `service`"),
        "{e}"
    );
    let e = Config::parse(
        "[[node]]\nname = \"z\"\nkind = \"zenon\"\n[node.remedy]\nafterr = \"30m\"\n",
        Path::new("n.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("afterr"), "{e}");
}
