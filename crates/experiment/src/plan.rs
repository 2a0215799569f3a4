//! The experiment file: two node commands, the stop condition, where results go. Checked
//! before anything starts: distinct ports and data dirs, a command that exists.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nodewarden_model::Kind;
use nodewarden_tomlspan::{self as span, Seg};
use serde::Deserialize;

use crate::ExperimentError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    output: PathBuf,
    #[serde(default, with = "crate::opt_duration")]
    interval: Option<Duration>,
    #[serde(default)]
    stop: RawStop,
    /// Empty both data dirs before every round (what `--repeat` needs).
    #[serde(default)]
    fresh: bool,
    start: Option<StartSnapshot>,
    a: Side,
    b: Side,
}

/// A snapshot restored into both data dirs before the nodes first start (and before every
/// round with `fresh`), so both builds begin at the same height.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartSnapshot {
    /// `latest` or a snapshot id (prefix).
    #[serde(default = "latest")]
    pub snapshot: String,
    /// Only snapshots of this node.
    pub from: Option<String>,
}

fn latest() -> String {
    "latest".into()
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStop {
    synced: Option<bool>,
    height: Option<u64>,
    #[serde(default, with = "crate::opt_duration")]
    deadline: Option<Duration>,
}

/// One build under test.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Side {
    pub name: String,
    pub kind: Kind,
    /// The program and its arguments.
    pub command: Vec<String>,
    pub rpc_port: u16,
    pub data_dir: PathBuf,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// When the race ends: both synced (default), both at a height, or the deadline.
#[derive(Debug, Clone, PartialEq)]
pub struct Stop {
    pub synced: bool,
    pub height: Option<u64>,
    pub deadline: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub output: PathBuf,
    pub interval: Duration,
    pub stop: Stop,
    pub a: Side,
    pub b: Side,
    /// Names the run in the recording, so a second invocation continues it.
    pub run_name: String,
    /// Both data dirs are emptied before every round.
    pub fresh: bool,
    /// Restored into each empty data dir before its node starts.
    pub start: Option<StartSnapshot>,
    /// B is started before A (rounds alternate, so neither always gets the head start).
    pub b_first: bool,
}

impl Plan {
    pub fn load(path: &Path) -> Result<Plan, ExperimentError> {
        let (text, base, stem) = crate::read_plan(path, "experiment")?;
        Plan::parse(&text, &path.display().to_string(), &base, &stem)
    }

    /// `origin` names the text in errors; relative paths are taken from `base`.
    pub fn parse(
        text: &str,
        origin: &str,
        base: &Path,
        stem: &str,
    ) -> Result<Plan, ExperimentError> {
        let bad = crate::plan_error(origin);
        let raw: Raw = span::parse(text).map_err(&bad)?;
        let invalid = |path: &[Seg], m: String| Err(bad(span::locate(text, path, m)));
        for (key, side) in [("a", &raw.a), ("b", &raw.b)] {
            if side.command.is_empty() || side.command[0].trim().is_empty() {
                return invalid(
                    &[Seg::Key(key), Seg::Key("command")],
                    "needs a program".into(),
                );
            }
            if side.name.is_empty() || side.name.chars().any(|c| c.is_control() || c == '"') {
                return invalid(
                    &[Seg::Key(key), Seg::Key("name")],
                    "must be printable text".into(),
                );
            }
            if side.rpc_port == 0 {
                return invalid(
                    &[Seg::Key(key), Seg::Key("rpc_port")],
                    "must be a port".into(),
                );
            }
        }
        if raw.a.name == raw.b.name {
            return invalid(
                &[Seg::Key("b"), Seg::Key("name")],
                format!("`{}` is A's name too", raw.b.name),
            );
        }
        if raw.a.rpc_port == raw.b.rpc_port {
            return invalid(
                &[Seg::Key("b"), Seg::Key("rpc_port")],
                format!(
                    "{} is A's port too: the two nodes would clash",
                    raw.b.rpc_port
                ),
            );
        }
        let resolve = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        let (da, db) = (resolve(&raw.a.data_dir), resolve(&raw.b.data_dir));
        if da == db || da.starts_with(&db) || db.starts_with(&da) {
            return invalid(
                &[Seg::Key("b"), Seg::Key("data_dir")],
                "overlaps A's data dir: the two nodes would share a database".into(),
            );
        }
        let stop = Stop {
            synced: raw.stop.synced.unwrap_or(raw.stop.height.is_none()),
            height: raw.stop.height,
            deadline: raw.stop.deadline.unwrap_or(Duration::from_secs(24 * 3600)),
        };
        let interval = raw.interval.unwrap_or(Duration::from_secs(2));
        if interval < Duration::from_millis(100) {
            return invalid(&[Seg::Key("interval")], "must be at least 100ms".into());
        }
        let side = |s: Side, data_dir: PathBuf| Side { data_dir, ..s };
        Ok(Plan {
            output: resolve(&raw.output),
            interval,
            stop,
            a: side(raw.a, da),
            b: side(raw.b, db),
            run_name: format!("ab-{stem}"),
            fresh: raw.fresh,
            start: raw.start,
            b_first: false,
        })
    }
}

impl Plan {
    /// Round `i` (1-based) of a repeated experiment: its own output dir and run, and the
    /// other build first in every second round.
    pub fn round(&self, i: u32) -> Plan {
        Plan {
            output: self.output.join(format!("round-{i}")),
            run_name: format!("{}-r{i}", self.run_name),
            b_first: i.is_multiple_of(2),
            ..self.clone()
        }
    }

    /// Empties both data dirs when the file asks for fresh rounds.
    pub fn prepare(&self) -> Result<(), ExperimentError> {
        if !self.fresh {
            return Ok(());
        }
        for d in [&self.a.data_dir, &self.b.data_dir] {
            if d.exists() {
                std::fs::remove_dir_all(d).map_err(|source| ExperimentError::Io {
                    path: d.clone(),
                    source,
                })?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
output = "out"
interval = "500ms"
[stop]
height = 5000
deadline = "10m"
[a]
name = "old"
kind = "zenon"
command = ["znnd-old", "--data", "a"]
rpc_port = 35997
data_dir = "a"
[b]
name = "new"
kind = "zenon"
command = ["znnd-new"]
rpc_port = 35998
data_dir = "b"
env = { GOGC = "200" }
"#;

    fn parse(text: &str) -> Result<Plan, ExperimentError> {
        Plan::parse(text, "ab.toml", Path::new("/x"), "ab")
    }

    #[test]
    fn a_good_plan_resolves_paths_and_stop() {
        let p = parse(GOOD).unwrap();
        assert_eq!(p.output, Path::new("/x/out"));
        assert_eq!(p.a.data_dir, Path::new("/x/a"));
        assert_eq!(p.stop.height, Some(5000));
        assert!(!p.stop.synced, "a height replaces the synced default");
        assert_eq!(p.b.env["GOGC"], "200");
        assert_eq!(p.run_name, "ab-ab");
    }

    #[test]
    fn clashes_and_typos_name_key_and_line() {
        let e = parse(&GOOD.replace("35998", "35997"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("b.rpc_port") && e.contains("line 17"), "{e}");
        let e = parse(&GOOD.replace("data_dir = \"b\"", "data_dir = \"a/b\""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("b.data_dir") && e.contains("overlaps"), "{e}");
        let e = parse(&GOOD.replace("rpc_port = 35997", "rpc_prot = 35997"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("rpc_prot"), "{e}");
        let e = parse(&GOOD.replace("command = [\"znnd-new\"]", "command = []"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("b.command"), "{e}");
        let e = parse(&GOOD.replace("\"10m\"", "\"soon\""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("soon"), "{e}");
    }
}
