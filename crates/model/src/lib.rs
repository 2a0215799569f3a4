//! The types several nodewarden crates share, and nothing else: the node [`Kind`], the
//! [`SyncState`], one [`Sample`] and the [`SampleRow`] the watch records, and the views of
//! a node ([`NodeReport`], [`NodeView`]), and what the hardware probe measured
//! ([`hardware`]), and the backup repository's settings ([`repository`]). It sits below every engine and sink so that
//! sharing a type never means linking an HTTP client or SQLite.
mod dbpoint;
pub mod hardware;
mod kind;
mod remedy;
pub mod repository;
mod row;
mod sample;
mod view;

pub use dbpoint::{DbPoint, db_pressure};
pub use kind::{Kind, ParseKindError};
pub use remedy::RemedyEvent;
pub use row::SampleRow;
pub use sample::{CSV_COLUMNS, ParseStateError, Sample, SyncState};
pub use view::{
    BackupInfo, Backups, DbLevel, DbView, Forensics, Health, LATENCY_BUCKETS, LatencyHistogram,
    NodeReport, NodeView, ProcessView, WatchState, health,
};
