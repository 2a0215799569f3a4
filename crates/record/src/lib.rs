//! The recording store: one SQLite file (the user's, to query with `sqlite3`) holding runs
//! and their samples. Writes go through a background thread in batched transactions so the
//! watch loop never waits on the disk; readers stream samples back for analysis and CSV.
mod read;
mod remedies;
mod schema;
mod write;

pub use read::{Recording, RunInfo};
pub use write::{Recorder, RunChoice};

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("recording {path}: {source}")]
    Sqlite {
        path: String,
        source: rusqlite::Error,
    },
    #[error("recording {path}: {message}")]
    Invalid { path: String, message: String },
    #[error("recording {path}: the writer thread stopped")]
    WriterGone { path: String },
}

#[cfg(test)]
mod tests;
