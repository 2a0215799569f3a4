//! The simulator's error type.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything that can go wrong starting, running or stopping a simulated node.
///
/// `Display` is always a single line that names the culprit (file, key, path or
/// address), because the CLI prints it as the whole error message.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot read scenario file {}: {source}", path.display())]
    ScenarioRead { path: PathBuf, source: io::Error },

    /// Invalid TOML, an unknown key or a value out of range in a scenario.
    #[error("{}", scenario_message(origin, *line, key.as_deref(), message))]
    Scenario {
        /// The file name, or another description of where the text came from.
        origin: String,
        /// 1-based line of the offending key or value, when known.
        line: Option<usize>,
        /// Dotted key path, e.g. `phase[1].rate`, when known.
        key: Option<String>,
        message: String,
    },

    /// A bad start option (e.g. `--speed 0`).
    #[error("invalid {name}: {message}")]
    InvalidOption { name: &'static str, message: String },

    #[error("cannot create data dir {}: {source}", path.display())]
    DataDir { path: PathBuf, source: io::Error },

    #[error("data dir {} is in use: {} is held by another process", dir.display(), lock.display())]
    Locked { dir: PathBuf, lock: PathBuf },

    #[error("{}", bind_message(addr, source))]
    Bind { addr: SocketAddr, source: io::Error },

    #[error("LevelDB {}: {message}", path.display())]
    Db { path: PathBuf, message: String },

    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },

    /// The writer thread died or could not be started.
    #[error("sync engine: {0}")]
    Engine(String),
}

impl SimError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> SimError {
        SimError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn db(path: impl Into<PathBuf>, status: impl std::fmt::Display) -> SimError {
        SimError::Db {
            path: path.into(),
            message: one_line(&status.to_string()),
        }
    }
}

fn scenario_message(origin: &str, line: Option<usize>, key: Option<&str>, message: &str) -> String {
    let mut s = format!("scenario {origin}");
    if let Some(line) = line {
        s.push_str(&format!(":{line}"));
    }
    s.push_str(": ");
    if let Some(key) = key {
        s.push_str(&format!("key `{key}`: "));
    }
    s.push_str(&one_line(message));
    s
}

fn bind_message(addr: &SocketAddr, source: &io::Error) -> String {
    if source.kind() == io::ErrorKind::AddrInUse {
        format!("cannot listen on {addr}: address already in use")
    } else {
        format!("cannot listen on {addr}: {source}")
    }
}

/// Collapses multi-line messages (toml's errors carry a source snippet) so
/// `Display` stays a single line.
pub(crate) fn one_line(s: &str) -> String {
    s.split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}
