use std::time::Duration;

use super::*;
use crate::error::SimError;

fn err(text: &str) -> SimError {
    Scenario::from_toml_str(text, "test.toml").expect_err("should be refused")
}

fn parts(e: &SimError) -> (Option<usize>, Option<String>, String) {
    match e {
        SimError::Scenario {
            origin,
            line,
            key,
            message,
        } => {
            assert_eq!(origin, "test.toml");
            (*line, key.clone(), message.clone())
        }
        other => panic!("not a scenario error: {other}"),
    }
}

#[test]
fn the_documented_example_parses() {
    let s = Scenario::from_toml_str(
        r#"
kind = "zenon"
seed = 7
chain_id = 1
start_height = 1
tip_height = 200000
block_time = "10s"
peers = 12
client_version = "go-zenon v0.0.8"
block_bytes = 512
eth_syncing_false_while_behind = false
net_peer_count = true
rss_growth = 1048576
[[phase]]
until = 100000
rate = 2000
batch = 1
[[phase]]
until = "tip"
rate = 150.5
batch = 20
[[stall]]
at = 150000
duration = "90s"
cause = "cpu"
[[pillar]]
name = "Pillar1"
expected = 120
produced_ratio = 1.0
"#,
        "test.toml",
    )
    .unwrap();
    assert_eq!(s.kind, Kind::Zenon);
    assert_eq!(s.rss_growth, 1 << 20);
    let (_, key, _) = parts(&err("rss_growth = 1000000000\n"));
    assert_eq!(key.as_deref(), Some("rss_growth"));
    assert_eq!(s.block_time, Some(Duration::from_secs(10)));
    assert_eq!(s.phases.len(), 2);
    assert_eq!(s.phases[0].until, Until::Height(100_000));
    assert_eq!(s.phases[1].until, Until::Tip);
    assert_eq!(s.phases[1].batch, 20);
    assert_eq!(s.stalls[0].duration, Duration::from_secs(90));
    assert_eq!(s.stalls[0].cause, StallCause::Cpu);
    assert_eq!(s.pillars[0].produced(), 120);
    assert_eq!(s.client_version_for(Kind::Zenon), "go-zenon v0.0.8");
}

#[test]
fn an_empty_file_gets_the_defaults() {
    let s = Scenario::from_toml_str("", "test.toml").unwrap();
    assert_eq!(s, Scenario::default());
    assert_eq!(
        s.block_time_for(Kind::Ethereum),
        Kind::Ethereum.block_time()
    );
    assert_eq!(
        s.client_version_for(Kind::Substrate),
        format!("nodewarden-sim/v{}/substrate", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn shipped_scenarios_and_defaults_are_valid() {
    for (name, text) in [
        (
            "zenon-fast",
            include_str!("../../../../scenarios/zenon-fast.toml"),
        ),
        (
            "zenon-stalls",
            include_str!("../../../../scenarios/zenon-stalls.toml"),
        ),
        (
            "ethereum",
            include_str!("../../../../scenarios/ethereum.toml"),
        ),
        (
            "ethereum-anvil-like",
            include_str!("../../../../scenarios/ethereum-anvil-like.toml"),
        ),
        (
            "substrate",
            include_str!("../../../../scenarios/substrate.toml"),
        ),
    ] {
        let s = Scenario::from_toml_str(text, name).unwrap_or_else(|e| panic!("{e}"));
        if name == "zenon-stalls" {
            let causes: Vec<_> = s.stalls.iter().map(|s| s.cause).collect();
            assert_eq!(causes, [StallCause::Cpu, StallCause::Io, StallCause::Peers]);
        }
        if name == "ethereum-anvil-like" {
            assert!(!s.net_peer_count);
        }
    }
    for kind in Kind::ALL {
        let s = Scenario::default_for(kind);
        s.check("default").unwrap();
        assert_eq!(s.kind, kind);
    }
}

#[test]
fn round_trips_through_toml() {
    let mut s = Scenario::default_for(Kind::Zenon);
    s.block_time = Some(Duration::from_millis(1500));
    s.stalls = vec![Stall {
        at: 9,
        duration: Duration::from_secs(90),
        cause: StallCause::Io,
    }];
    let text = toml::to_string(&s).unwrap();
    assert_eq!(Scenario::from_toml_str(&text, "x").unwrap(), s);
}

#[test]
fn unknown_keys_are_named_with_file_and_line() {
    let e = err("seed = 1\nbogus = 2\n");
    let (line, key, msg) = parts(&e);
    assert_eq!(line, Some(2));
    assert_eq!(key.as_deref(), Some("bogus"));
    assert!(msg.contains("unknown field `bogus`"), "{msg}");
    let shown = e.to_string();
    assert!(
        shown.starts_with("scenario test.toml:2: key `bogus`: unknown field"),
        "{shown}"
    );
    assert!(!shown.contains('\n'));

    let e =
        err("[[phase]]\nuntil = 5\nrate = 1\n\n[[phase]]\nuntil = \"tip\"\nrate = 1\nspeed = 3\n");
    let (line, key, _) = parts(&e);
    assert_eq!(line, Some(8));
    assert_eq!(key.as_deref(), Some("phase[1].speed"));
}

#[test]
fn bad_toml_and_bad_types_name_the_line() {
    let (line, _, msg) = parts(&err("seed = 1\ntip_height = = 3\n"));
    assert_eq!(line, Some(2));
    assert!(!msg.is_empty());

    let (line, key, msg) = parts(&err("seed = 1\n\npeers = \"many\"\n"));
    assert_eq!((line, key.as_deref()), (Some(3), Some("peers")));
    assert!(msg.contains("invalid type"), "{msg}");

    let (line, key, _) = parts(&err(
        "[[stall]]\nat = 5\nduration = \"soon\"\ncause = \"cpu\"\n",
    ));
    assert_eq!((line, key.as_deref()), (Some(3), Some("stall[0].duration")));
    let (_, key, _) = parts(&err(
        "[[stall]]\nat = 5\nduration = \"1s\"\ncause = \"disk\"\n",
    ));
    assert_eq!(key.as_deref(), Some("stall[0].cause"));
    let (_, key, _) = parts(&err("kind = \"bitcoin\"\n"));
    assert_eq!(key.as_deref(), Some("kind"));
    let (_, key, _) = parts(&err("start_height = -1\n"));
    assert_eq!(key.as_deref(), Some("start_height"));
}

#[test]
fn out_of_range_values_are_refused_with_key_and_line() {
    let (line, key, msg) = parts(&err("[[phase]]\nuntil = \"tip\"\nrate = 0\n"));
    assert_eq!((line, key.as_deref()), (Some(3), Some("phase[0].rate")));
    assert!(msg.contains("must be > 0"), "{msg}");

    let (line, key, msg) = parts(&err(
        "[[phase]]\nuntil = 50\nrate = 1\n[[phase]]\nuntil = 50\nrate = 1\n",
    ));
    assert_eq!((line, key.as_deref()), (Some(5), Some("phase[1].until")));
    assert!(msg.contains("not increasing"), "{msg}");

    let (_, key, _) = parts(&err(
        "[[phase]]\nuntil = \"tip\"\nrate = 1\n[[phase]]\nuntil = 9\nrate = 1\n",
    ));
    assert_eq!(key.as_deref(), Some("phase[0].until"));
    let (_, key, _) = parts(&err("[[phase]]\nuntil = 9\nrate = 1\nbatch = 0\n"));
    assert_eq!(key.as_deref(), Some("phase[0].batch"));
    let (line, key, _) = parts(&err("tip_height = 5\nstart_height = 9\n"));
    assert_eq!((line, key.as_deref()), (Some(2), Some("start_height")));
    let (_, key, _) = parts(&err("block_time = \"0s\"\n"));
    assert_eq!(key.as_deref(), Some("block_time"));
    let (_, key, _) = parts(&err("block_bytes = 10\n"));
    assert_eq!(key.as_deref(), Some("block_bytes"));
    let (_, key, _) = parts(&err("chain_name = \"../x\"\n"));
    assert_eq!(key.as_deref(), Some("chain_name"));
    let (_, key, _) = parts(&err(
        "[[stall]]\nat = 9\nduration = \"1s\"\ncause = \"io\"\n[[stall]]\nat = 3\nduration = \"1s\"\ncause = \"io\"\n",
    ));
    assert_eq!(key.as_deref(), Some("stall[1].at"));
    let (_, key, _) = parts(&err("[[pillar]]\nname = \"P\"\nproduced_ratio = 1.5\n"));
    assert_eq!(key.as_deref(), Some("pillar[0].produced_ratio"));
    let (_, key, _) = parts(&err("[[pillar]]\nname = \"P\"\n[[pillar]]\nname = \"P\"\n"));
    assert_eq!(key.as_deref(), Some("pillar[1].name"));
    let (_, key, _) = parts(&err("[[pillar]]\nname = \"P\"\nevery = 10\nspread = 5\n"));
    assert_eq!(key.as_deref(), Some("pillar[0].spread"));
    let (_, key, _) = parts(&err("[[pillar]]\nname = \"P\"\nevery = 1\n"));
    assert_eq!(key.as_deref(), Some("pillar[0].every"));
    let (_, key, _) = parts(&err("[[pillar]]\nname = \"P\"\nspread = 1\n"));
    assert_eq!(key.as_deref(), Some("pillar[0].spread"));
}

#[test]
fn an_unreadable_file_is_named() {
    let path = std::path::Path::new("/nonexistent/nodewarden/scenario.toml");
    let e = Scenario::from_file(path).unwrap_err();
    assert!(matches!(e, SimError::ScenarioRead { .. }));
    assert!(
        e.to_string()
            .contains("/nonexistent/nodewarden/scenario.toml"),
        "{e}"
    );
}

#[test]
fn branch_keys_parse_and_bad_ones_name_their_key() {
    let sc = Scenario::from_toml_str("fork_at = 500\nmissing = [[10, 20]]\n", "s.toml").unwrap();
    assert_eq!(sc.branch(), Some((500, 8)));
    assert!(!sc.serves(15) && sc.serves(21));
    assert_eq!(Scenario::default().branch(), None);
    for (text, want) in [
        ("fork_seed = 3\n", "fork_seed"),
        ("fork_at = 0\n", "fork_at"),
        ("fork_at = 5\nfork_seed = 7\n", "must differ"),
        ("missing = [[20, 10]]\n", "ends before it starts"),
        ("missing = [[1]]\n", "missing"),
    ] {
        let e = Scenario::from_toml_str(text, "s.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("s.toml") && e.contains(want), "{text}: {e}");
    }
}
