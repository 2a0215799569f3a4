//! `nodewarden.toml`: where it is looked for, what it may say, and the checks that turn a
//! typo into a one-line error naming the file, line and key.
mod check;
mod duration;
mod node;
mod remedy;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub use check::CheckConfig;
pub use node::{LogSource, NodeArg, NodeConfig, SECRET_VARS, Service};
pub use nodewarden_analyze::StallAfter;
pub use remedy::RemedyConfig;

pub const FILE_NAME: &str = "nodewarden.toml";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9866";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default, rename = "node")]
    pub nodes: Vec<NodeConfig>,
    #[serde(default)]
    pub watch: WatchConfig,
    pub repository: Option<RepositoryConfig>,
    /// Thresholds of `nodewarden check`.
    #[serde(default)]
    pub check: CheckConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WatchConfig {
    #[serde(with = "duration::human")]
    pub interval: Duration,
    pub listen: String,
    pub record: PathBuf,
    #[serde(deserialize_with = "duration::stall_after")]
    pub stall_after: StallAfter,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            interval: Duration::from_secs(2),
            listen: DEFAULT_LISTEN.to_string(),
            record: PathBuf::from("nodewarden.db"),
            stall_after: StallAfter::Auto,
        }
    }
}

/// The `[repository]` table: the typed settings shared with the command-line flags.
pub type RepositoryConfig = nodewarden_model::repository::RepositorySettings;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("config file {path}, line {line}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("config file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{0}")]
    Arg(String),
}

/// A loaded configuration and the file it came from, if any.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub config: Config,
    pub path: Option<PathBuf>,
}

impl Config {
    /// `--config` if given (it must exist), else `./nodewarden.toml`, else
    /// `$XDG_CONFIG_HOME/nodewarden/nodewarden.toml`; no file at all is an empty config.
    pub fn load(explicit: Option<&Path>) -> Result<Loaded, ConfigError> {
        let path = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => default_locations().into_iter().find(|p| p.is_file()),
        };
        let Some(path) = path else {
            return Ok(Loaded::default());
        };
        let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::Read {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let config = Config::parse(&text, &path)?;
        Ok(Loaded {
            config,
            path: Some(path),
        })
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = nodewarden_tomlspan::parse(text).map_err(|l| ConfigError::Parse {
            path: path.to_path_buf(),
            line: l.line.unwrap_or(1),
            message: l.message,
        })?;
        config.validate().map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for n in &self.nodes {
            n.validate()?;
            if !seen.insert(n.name.as_str()) {
                return Err(format!("node name `{}` appears twice", n.name));
            }
        }
        if self.watch.interval < Duration::from_millis(100) {
            return Err("watch.interval must be at least 100ms".into());
        }
        self.check.validate()?;
        if let Some(r) = &self.repository {
            if r.url.as_deref().is_none_or(str::is_empty) {
                return Err(
                    "[repository] needs `url` (a directory, file:///path or s3://bucket/prefix)"
                        .into(),
                );
            }
            r.remote_options()
                .map_err(|e| format!("[repository] {e}"))?;
        }
        Ok(())
    }

    /// Nodes given on the command line replace the file's, so `--node` always means
    /// "exactly these".
    pub fn with_node_args(mut self, args: &[NodeArg]) -> Config {
        if !args.is_empty() {
            self.nodes = args.iter().map(NodeArg::to_config).collect();
        }
        self
    }

    pub fn node(&self, name: &str) -> Result<&NodeConfig, ConfigError> {
        self.nodes.iter().find(|n| n.name == name).ok_or_else(|| {
            let known: Vec<&str> = self.nodes.iter().map(|n| n.name.as_str()).collect();
            ConfigError::Arg(if known.is_empty() {
                format!("no node named `{name}`: no nodes are configured (none in a config file, none given on the command line)")
            } else {
                format!("no node named `{name}` (configured: {})", known.join(", "))
            })
        })
    }
}

fn default_locations() -> Vec<PathBuf> {
    let mut v = vec![PathBuf::from(FILE_NAME)];
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
    if let Some(dir) = xdg {
        v.push(dir.join("nodewarden").join(FILE_NAME));
    }
    v
}

#[cfg(test)]
mod tests;
