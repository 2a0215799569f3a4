//! The one error type of the crate: everything that can go wrong is reading input.

/// An error reading samples. Line numbers are 1-based and count the header as line 1,
/// so they match what `sed -n Np` or an editor shows.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// A field could not be parsed.
    #[error("line {line}, column {column}: {message}")]
    Field {
        line: u64,
        column: &'static str,
        message: String,
    },
    /// A record is malformed as a whole (wrong number of fields, broken quoting).
    #[error("line {line}: {message}")]
    Record { line: u64, message: String },
    /// The header row is missing or lacks a required column.
    #[error("CSV header: {0}")]
    Header(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl AnalyzeError {
    /// The input line the error refers to, when there is one.
    pub fn line(&self) -> Option<u64> {
        match self {
            Self::Field { line, .. } | Self::Record { line, .. } => Some(*line),
            Self::Header(_) => Some(1),
            Self::Io(_) => None,
        }
    }

    /// The same error with its line moved down by `lines` (a chunk's offset in the file).
    pub(crate) fn shifted(mut self, lines: u64) -> Self {
        if let Self::Field { line, .. } | Self::Record { line, .. } = &mut self {
            *line += lines;
        }
        self
    }

    /// Converts a `csv` crate error, keeping its position when it has one.
    pub(crate) fn from_csv(err: csv::Error) -> Self {
        let line = err.position().map_or(0, csv::Position::line);
        match err.into_kind() {
            csv::ErrorKind::Io(e) => Self::Io(e),
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => Self::Record {
                line,
                message: format!("expected {expected_len} fields, found {len}"),
            },
            other => Self::Record {
                line,
                message: format!("{other:?}"),
            },
        }
    }
}
