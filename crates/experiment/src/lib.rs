//! Experiments in one command. `ab`: two builds of a node started side by side from an
//! experiment file, watched and recorded as one run until both are synced (or reach a
//! height, or a deadline), stopped cleanly, and compared by height into a report, a CSV, a
//! shareable bundle and a one-paragraph verdict (docs/EXPERIMENTS.md). This crate sits at
//! the top like the binary (it drives the watch engine and writes through the recorder and
//! the renderers) so that the orchestration is a library with tests, not CLI code.
mod children;
pub mod drill;
mod plan;
mod race;
mod results;
mod seed;
mod verdict;

use std::path::PathBuf;

pub use plan::{Plan, Side, StartSnapshot, Stop};
pub use race::{RaceOutcome, StopReason, race};
pub use results::{Results, results};
pub use seed::seed;
pub use verdict::paragraph as verdict;

/// A plan file's text, the directory its relative paths start from, and its stem.
fn read_plan(
    path: &std::path::Path,
    default_stem: &str,
) -> Result<(String, PathBuf, String), ExperimentError> {
    let text = std::fs::read_to_string(path).map_err(|source| ExperimentError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let base = path
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .to_path_buf();
    let stem = path
        .file_stem()
        .map_or(default_stem.into(), |s| s.to_string_lossy().into_owned());
    Ok((text, base, stem))
}

/// A data dir a restore may fill: absent, or an empty directory (removed here, so the
/// restore's final rename can put the snapshot in its place). False when it holds anything.
fn make_room(dir: &std::path::Path) -> Result<bool, ExperimentError> {
    let empty = match std::fs::read_dir(dir) {
        Ok(mut d) => d.next().is_none(),
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    };
    if empty && dir.exists() {
        std::fs::remove_dir(dir).map_err(|source| ExperimentError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    Ok(empty)
}

/// Turns a located TOML error into the plan error naming `origin`, key and line.
fn plan_error(
    origin: &str,
) -> impl Fn(nodewarden_tomlspan::Located) -> ExperimentError + Copy + '_ {
    move |l| ExperimentError::Plan {
        origin: origin.to_string(),
        line: l.line,
        key: l.key,
        message: l.message,
    }
}

/// Durations in plan files: "90s", "2h 30m".
mod opt_duration {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s)
            .map(Some)
            .map_err(|e| serde::de::Error::custom(format!("`{s}`: {e}")))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    #[error("{origin}{}{}: {message}", line.map(|l| format!(", line {l}")).unwrap_or_default(), key.as_ref().map(|k| format!(", key `{k}`")).unwrap_or_default())]
    Plan {
        origin: String,
        line: Option<usize>,
        key: Option<String>,
        message: String,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("node {node}: cannot start `{program}`: {source}")]
    Start {
        node: String,
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Record(nodewarden_record::RecordError),
    #[error("{0}")]
    Output(String),
    /// The starting snapshot could not be found or restored.
    #[error("[start]: {0}")]
    Seed(String),
}

impl ExperimentError {
    /// The caller's mistake (exit 2) rather than a failure while running.
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            ExperimentError::Plan { .. } | ExperimentError::Start { .. }
        )
    }
}
