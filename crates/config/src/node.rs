//! One `[[node]]` table, and `--node NAME=KIND@URL` on the command line.

use std::path::PathBuf;
use std::time::Duration;

use nodewarden_rpc::{Kind, KindSpec};
use serde::{Deserialize, Deserializer};

use crate::duration::human_opt;

/// One `[[node]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    pub name: String,
    #[serde(deserialize_with = "kind_spec")]
    pub kind: KindSpec,
    /// Defaults to the kind's usual port on 127.0.0.1.
    pub rpc: Option<String>,
    pub data_dir: Option<PathBuf>,
    /// Process name (as in /proc/PID/comm) used for CPU/RSS/IO sampling.
    pub process: Option<String>,
    pub pid_file: Option<PathBuf>,
    pub service: Option<Service>,
    pub backup: Option<BackupSelection>,
    #[serde(default)]
    pub pg: Vec<String>,
    /// A zenon pillar's name, for the produced/expected momentum check.
    pub pillar: Option<String>,
    #[serde(default, deserialize_with = "human_opt::deserialize")]
    pub block_time: Option<Duration>,
    #[serde(default, deserialize_with = "human_opt::deserialize")]
    pub max_head_age: Option<Duration>,
    #[serde(default, deserialize_with = "human_opt::deserialize")]
    pub timeout: Option<Duration>,
    /// Where the node logs, for the tail captured when a stall begins.
    pub log: Option<LogSource>,
    /// Go's net/http/pprof of the node (geth `--pprof`), for a goroutine dump at a stall.
    pub pprof: Option<String>,
    /// Larger RPC answers are refused unread (default 8 MiB).
    pub max_answer: Option<nodewarden_model::repository::ByteSize>,
    /// Nodes of one network share a chain name; `watch` compares their block hashes.
    pub chain: Option<String>,
    /// A trusted node of its chain: the others are judged against it, not by majority.
    #[serde(default)]
    pub reference: bool,
    /// The watchdog: restart through `service` when stalled or without peers.
    pub remedy: Option<crate::remedy::RemedyConfig>,
}

/// How to stop and start the node around a freeze or a restore.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum Service {
    Systemd { systemd: String },
    Commands { stop: String, start: String },
}

/// Variables that hold the repository's or the object store's secrets: never passed to a
/// child (a `start` command that launches the node would keep them for its lifetime).
pub const SECRET_VARS: &[&str] = &[
    "NODEWARDEN_PASSWORD",
    "NODEWARDEN_FROM_PASSWORD",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
];

impl Service {
    /// The command that starts (`true`) or stops the node: `systemctl start|stop UNIT`
    /// or `sh -c COMMAND`, without [`SECRET_VARS`] in its environment.
    pub fn command(&self, start: bool) -> std::process::Command {
        let what = if start { "start" } else { "stop" };
        let mut c = match self {
            Service::Systemd { systemd } => {
                let mut c = std::process::Command::new("systemctl");
                c.args([what, systemd.as_str()]);
                c
            }
            Service::Commands { stop, start: up } => {
                let mut c = std::process::Command::new("sh");
                c.arg("-c").arg(if start { up } else { stop });
                c
            }
        };
        for v in SECRET_VARS {
            c.env_remove(v);
        }
        c
    }

    /// Runs the start or stop command to its end; the error is one line with the
    /// command's first line of stderr.
    pub fn run(&self, start: bool) -> Result<(), String> {
        let what = if start { "start" } else { "stop" };
        let out = self
            .command(start)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .output()
            .map_err(|e| format!("{what}: {e}"))?;
        if out.status.success() {
            return Ok(());
        }
        Err(format!(
            "the {what} command failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
        ))
    }
}

/// `log = { journald = "unit" }` or `log = { file = "/var/log/node.log" }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum LogSource {
    Journald { journald: String },
    File { file: PathBuf },
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupSelection {
    #[serde(default)]
    pub include: Vec<String>,
    #[serde(default)]
    pub critical: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
}

fn kind_spec<'de, D: Deserializer<'de>>(d: D) -> Result<KindSpec, D::Error> {
    let s = String::deserialize(d)?;
    s.parse().map_err(serde::de::Error::custom)
}

impl NodeConfig {
    pub fn new(name: &str, kind: KindSpec, rpc: Option<String>) -> NodeConfig {
        NodeConfig {
            name: name.to_string(),
            kind,
            rpc,
            data_dir: None,
            process: None,
            pid_file: None,
            service: None,
            backup: None,
            pg: Vec::new(),
            pillar: None,
            block_time: None,
            max_head_age: None,
            timeout: None,
            max_answer: None,
            log: None,
            pprof: None,
            chain: None,
            reference: false,
            remedy: None,
        }
    }

    /// The RPC answer-size limit for this node.
    pub fn max_answer_bytes(&self) -> usize {
        self.max_answer
            .map_or(nodewarden_rpc::DEFAULT_MAX_ANSWER, |b| {
                usize::try_from(b.0).unwrap_or(usize::MAX)
            })
    }

    /// The RPC URL, defaulting to the kind's usual port on loopback.
    pub fn rpc_url(&self) -> Result<String, String> {
        match (&self.rpc, self.kind) {
            (Some(url), _) => Ok(url.clone()),
            (None, KindSpec::Known(k)) => Ok(default_url(k)),
            (None, KindSpec::Auto) => Err(format!(
                "node `{}`: kind `auto` needs an explicit rpc URL",
                self.name
            )),
        }
    }

    /// How old the head may be for the node to count as synced.
    pub fn max_head_age(&self, kind: Kind) -> Duration {
        self.max_head_age.unwrap_or_else(|| match self.block_time {
            Some(bt) => (bt * 6).max(Duration::from_secs(60)),
            None => nodewarden_rpc::default_max_head_age(kind),
        })
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.name.is_empty() || self.name.chars().any(|c| c.is_control() || c == '"') {
            return Err(format!(
                "node name {:?} must be non-empty printable text without quotes",
                self.name
            ));
        }
        let url = self.rpc_url()?;
        check_url(&url).map_err(|e| format!("node `{}`: {e}", self.name))?;
        if let Some(c) = &self.chain
            && (c.is_empty() || c.chars().any(|c| c.is_control() || c == '"'))
        {
            return Err(format!(
                "node `{}`: chain {c:?} must be non-empty printable text without quotes",
                self.name
            ));
        }
        if self.reference && self.chain.is_none() {
            return Err(format!(
                "node `{}`: `reference = true` needs `chain = \"NAME\"` (the nodes it is a reference for)",
                self.name
            ));
        }
        if let Some(r) = &self.remedy {
            r.validate(&self.name, self.service.is_some())?;
        }
        if self.process.is_some() && self.pid_file.is_some() {
            return Err(format!(
                "node `{}`: give `process` or `pid_file`, not both",
                self.name
            ));
        }
        Ok(())
    }
}

pub fn default_url(kind: Kind) -> String {
    format!("http://127.0.0.1:{}", kind.default_port())
}

fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("rpc URL `{url}` must start with http:// or https://"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("rpc URL `{url}` has no host"));
    }
    Ok(())
}

/// `--node NAME=KIND@URL` (or `NAME=KIND` for the kind's default port on loopback).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeArg {
    pub name: String,
    pub kind: KindSpec,
    pub url: Option<String>,
}

impl std::str::FromStr for NodeArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let usage =
            || format!("`{s}` is not NAME=KIND@URL (e.g. znn=zenon@http://127.0.0.1:35997)");
        let (name, rest) = s.split_once('=').ok_or_else(usage)?;
        let (kind, url) = match rest.split_once('@') {
            Some((k, u)) => (k, Some(u.to_string())),
            None => (rest, None),
        };
        if name.is_empty() {
            return Err(usage());
        }
        let kind: KindSpec = kind.parse().map_err(|e| format!("`{s}`: {e}"))?;
        let arg = NodeArg {
            name: name.to_string(),
            kind,
            url,
        };
        arg.to_config().validate()?;
        Ok(arg)
    }
}

impl NodeArg {
    pub fn to_config(&self) -> NodeConfig {
        NodeConfig::new(&self.name, self.kind, self.url.clone())
    }
}
