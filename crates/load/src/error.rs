//! One-line errors naming the culprit: the file, line and key of a scenario, the URL of a
//! target, the path of a report.
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read scenario {path}: {source}")]
    ScenarioRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("scenario {origin}{}: {}{message}", line.map(|l| format!(":{l}")).unwrap_or_default(), key.as_ref().map(|k| format!("key `{k}`: ")).unwrap_or_default())]
    Scenario {
        origin: String,
        line: Option<usize>,
        key: Option<String>,
        message: String,
    },
    #[error("bad target URL {url:?}: {message}")]
    Url { url: String, message: String },
    #[error("no answer from {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("baseline {path}: {message}")]
    Baseline { path: PathBuf, message: String },
    #[error("{0}")]
    Usage(String),
}
