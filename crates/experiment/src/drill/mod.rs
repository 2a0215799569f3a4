//! The failover drill: restore a snapshot into a fresh directory, bring the node up through
//! its service, wait until it has caught up, check its chain against a reference, and time
//! every phase — optionally the failback too (docs/EXPERIMENTS.md). The file names nodes of
//! the configuration (`[[node]]` with `data_dir` and `service`) rather than repeating them.
mod run;

use std::path::{Path, PathBuf};
use std::time::Duration;

use nodewarden_config::{Config, NodeArg, NodeConfig};
use nodewarden_tomlspan::{self as span, Seg};
use serde::{Deserialize, Serialize};

use crate::ExperimentError;

pub use run::drill;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    output: PathBuf,
    node: String,
    #[serde(default = "latest")]
    snapshot: String,
    from: Option<String>,
    reference: Option<String>,
    #[serde(default)]
    within: u64,
    crosscheck: Option<u64>,
    #[serde(default, with = "crate::opt_duration")]
    timeout: Option<Duration>,
    #[serde(default)]
    keep: bool,
    failback: Option<RawFailback>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFailback {
    node: String,
}

fn latest() -> String {
    "latest".into()
}

/// Heights compared with the reference when the file does not say.
const CROSSCHECK: u64 = 1000;

/// A checked drill file.
#[derive(Debug, Clone)]
pub struct DrillPlan {
    /// Results: `OUTPUT/drills.jsonl`, one line per drill, kept across drills.
    pub output: PathBuf,
    /// The node brought up from the snapshot.
    pub node: NodeConfig,
    /// `latest`, or a snapshot id (prefix).
    pub snapshot: String,
    /// Only snapshots of this node.
    pub from: Option<String>,
    /// Caught up means within `within` blocks of its head; its hashes are compared.
    pub reference: Option<NodeConfig>,
    pub within: u64,
    /// The last N heights compared with the reference (0: no comparison).
    pub crosscheck: u64,
    /// For each leg's catch-up.
    pub timeout: Duration,
    /// Leave the restored node running and its data in place.
    pub keep: bool,
    /// Back up the drilled node and bring this one up from that snapshot.
    pub failback: Option<NodeConfig>,
    /// Names the drill in `drills.jsonl`.
    pub name: String,
}

/// One timed step of a leg.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Phase {
    pub name: String,
    pub seconds: f64,
}

/// Bringing one node up from a snapshot.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Leg {
    pub node: String,
    pub snapshot: String,
    pub snapshot_height: Option<u64>,
    pub bytes: u64,
    pub files: u64,
    pub phases: Vec<Phase>,
    /// Restore, start and catch-up: from nothing to a node that serves the chain's head.
    pub recovery_seconds: f64,
    /// Heights compared with the reference, and whether they agreed.
    pub compared: Option<u64>,
    pub agree: Option<bool>,
    /// Height when caught up, and the reference's.
    pub height: Option<u64>,
    pub reference_height: Option<u64>,
}

/// What `drills.jsonl` keeps of each drill.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DrillResult {
    pub drill: String,
    /// RFC 3339, UTC.
    pub started: String,
    pub ok: bool,
    /// Why it failed, naming the phase.
    pub error: Option<String>,
    pub failover: Option<Leg>,
    pub failback: Option<Leg>,
    pub total_seconds: f64,
}

impl DrillPlan {
    pub fn load(path: &Path, config: &Config) -> Result<DrillPlan, ExperimentError> {
        let (text, base, stem) = crate::read_plan(path, "drill")?;
        DrillPlan::parse(&text, &path.display().to_string(), &base, &stem, config)
    }

    /// `origin` names the text in errors; a relative `output` is taken from `base`.
    pub fn parse(
        text: &str,
        origin: &str,
        base: &Path,
        stem: &str,
        config: &Config,
    ) -> Result<DrillPlan, ExperimentError> {
        let bad = crate::plan_error(origin);
        let raw: Raw = span::parse(text).map_err(&bad)?;
        let invalid = |path: &[Seg], m: String| bad(span::locate(text, path, m));
        let restorable = |key: &[Seg], name: &str| -> Result<NodeConfig, ExperimentError> {
            let n = config
                .node(name)
                .map_err(|e| invalid(key, e.to_string()))?
                .clone();
            if n.service.is_none() {
                return Err(invalid(
                    key,
                    format!("node `{name}` has no `service` to start it with"),
                ));
            }
            match &n.data_dir {
                None => Err(invalid(key, format!("node `{name}` has no `data_dir`"))),
                Some(d) if !empty_or_absent(d) => Err(invalid(
                    key,
                    format!(
                        "node `{name}`'s data dir {} is not empty: a drill restores into a fresh directory and never over data",
                        d.display()
                    ),
                )),
                Some(_) => Ok(n),
            }
        };
        let node = restorable(&[Seg::Key("node")], &raw.node)?;
        let failback = match &raw.failback {
            Some(f) => {
                let key = [Seg::Key("failback"), Seg::Key("node")];
                let n = restorable(&key, &f.node)?;
                if n.name == node.name || n.data_dir == node.data_dir {
                    return Err(invalid(
                        &key,
                        "must be another node with another data dir than `node`".into(),
                    ));
                }
                Some(n)
            }
            None => None,
        };
        let reference = match &raw.reference {
            None => None,
            Some(r) if r.contains('@') => Some(
                format!("reference={r}")
                    .parse::<NodeArg>()
                    .map_err(|e| invalid(&[Seg::Key("reference")], e))?
                    .to_config(),
            ),
            Some(r) => Some(
                config
                    .node(r)
                    .map_err(|e| invalid(&[Seg::Key("reference")], e.to_string()))?
                    .clone(),
            ),
        };
        if raw.crosscheck.is_some_and(|n| n > 0) && reference.is_none() {
            return Err(invalid(
                &[Seg::Key("crosscheck")],
                "needs a `reference` to compare with".into(),
            ));
        }
        if raw.snapshot.trim().is_empty() {
            return Err(invalid(
                &[Seg::Key("snapshot")],
                "`latest` or a snapshot id".into(),
            ));
        }
        let crosscheck = reference
            .as_ref()
            .map_or(0, |_| raw.crosscheck.unwrap_or(CROSSCHECK));
        let output = if raw.output.is_absolute() {
            raw.output.clone()
        } else {
            base.join(&raw.output)
        };
        Ok(DrillPlan {
            output,
            node,
            snapshot: raw.snapshot,
            from: raw.from,
            reference,
            within: raw.within,
            crosscheck,
            timeout: raw.timeout.unwrap_or(Duration::from_secs(3600)),
            keep: raw.keep,
            failback,
            name: stem.to_string(),
        })
    }
}

fn empty_or_absent(d: &Path) -> bool {
    match std::fs::read_dir(d) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

/// The earlier drills of `output` (from `drills.jsonl`), oldest first; lines that do not
/// parse are skipped (a file edited by hand must not stop the next drill).
pub fn history(output: &Path) -> Vec<DrillResult> {
    std::fs::read_to_string(output.join("drills.jsonl"))
        .map(|t| {
            t.lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
